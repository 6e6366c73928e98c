"""Token alphabet: special tokens, amino acids, and the absorbing MASK token.

Token ids: PAD, BOS and EOS first, then the 20 standard amino acids and X. These
``NUM_REAL`` tokens are the ones a sequence can contain; MASK (= NUM_REAL) is the
absorbing state of the diffusion and never appears in clean data.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>")
STANDARD_RESIDUES = "ACDEFGHIKLMNPQRSTVWY"
UNKNOWN_RESIDUE = "X"
RESIDUES = STANDARD_RESIDUES + UNKNOWN_RESIDUE

PAD, BOS, EOS = 0, 1, 2
FIRST_RESIDUE = len(SPECIAL_TOKENS)
NUM_REAL = len(SPECIAL_TOKENS) + len(RESIDUES)
MASK = NUM_REAL
VOCAB_SIZE = NUM_REAL + 1

RESIDUE_TO_ID = {aa: FIRST_RESIDUE + i for i, aa in enumerate(RESIDUES)}
ID_TO_CHAR = {**{v: k for k, v in RESIDUE_TO_ID.items()}, PAD: "", BOS: "", EOS: "", MASK: "_"}

# Hints for characters that biologists meet in sequence files but this alphabet lacks.
_REPLACEMENT_HINTS = {
    "B": "B (D or N) is ambiguous: write D, N, or {DN} to let the model choose",
    "Z": "Z (E or Q) is ambiguous: write E, Q, or {EQ} to let the model choose",
    "J": "J (I or L) is ambiguous: write I, L, or {IL} to let the model choose",
    "U": "U (selenocysteine) is not modelled: write C in its place",
    "O": "O (pyrrolysine) is not modelled: write K in its place",
    "*": "'*' (stop) is not part of a sequence: remove it",
    "-": "'-' (alignment gap) is not a residue: remove gaps before infilling",
    ".": "'.' (alignment gap) is not a residue: remove gaps before infilling",
}


class AlphabetError(ValueError):
    """A character that is not an amino acid of this alphabet."""

    def __init__(self, char: str, position: int, context: str = "sequence"):
        self.char = char
        self.position = position
        hint = _REPLACEMENT_HINTS.get(char.upper())
        if hint is None:
            hint = f"use one of {RESIDUES} (X for an unknown residue)"
        super().__init__(f"invalid character {char!r} at position {position + 1} of the {context}: {hint}")


def alphabet_description() -> dict:
    """Return the alphabet as stored in a checkpoint's config.json."""
    return {"special": list(SPECIAL_TOKENS), "residues": RESIDUES, "mask_id": MASK}


def clean_sequence(text: str) -> str:
    """Uppercase ``text`` and drop whitespace, without checking the characters."""
    return "".join(text.split()).upper()


def encode_residues(sequence: str, context: str = "sequence") -> list[int]:
    """Convert residue letters to token ids (case-insensitive, whitespace ignored).

    Raises AlphabetError naming the first invalid character and its 1-based position
    in ``sequence`` as given.
    """
    ids = []
    for position, char in enumerate(sequence):
        if char.isspace():
            continue
        token = RESIDUE_TO_ID.get(char.upper())
        if token is None:
            raise AlphabetError(char, position, context)
        ids.append(token)
    return ids


def encode_sequence(sequence: str, length: int) -> torch.Tensor:
    """Encode a clean sequence as BOS + residues + EOS + PAD up to ``length`` tokens."""
    residues = encode_residues(sequence)
    if len(residues) + 2 > length:
        raise ValueError(
            f"sequence of {len(residues)} residues is too long for this model: "
            f"at most {length - 2} residues fit"
        )
    tokens = torch.full((length,), PAD, dtype=torch.long)
    tokens[0] = BOS
    tokens[1 : 1 + len(residues)] = torch.tensor(residues, dtype=torch.long)
    tokens[1 + len(residues)] = EOS
    return tokens


def decode_residues(tokens) -> str:
    """Turn token ids into residue letters; MASK becomes '_', special tokens vanish."""
    return "".join(ID_TO_CHAR[int(t)] for t in tokens)


@dataclass(frozen=True)
class ResidueSet:
    """Allowed real tokens at one position, as a frozenset of token ids."""

    tokens: frozenset

    @classmethod
    def standard(cls) -> "ResidueSet":
        return cls(frozenset(RESIDUE_TO_ID[aa] for aa in STANDARD_RESIDUES))

    def letters(self) -> str:
        return "".join(aa for aa in RESIDUES if RESIDUE_TO_ID[aa] in self.tokens)
