"""Prompt syntax for infilling, shared by the command line and the GUI.

- a letter: a fixed residue (case-insensitive; whitespace is ignored);
- ``_``: one masked residue;
- ``[n]``: n masked residues;
- ``[a-b]``: a masked span whose length is drawn per candidate from a..b inclusive;
- ``{ST}``: one masked residue restricted to the listed residues.

Masked positions of ``_`` and ``[...]`` may take any of the 20 standard amino acids
(never X or a special token). A prompt becomes BOS + residues + EOS + PAD up to the
model's length.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

import torch

from .alphabet import (BOS, EOS, MASK, NUM_REAL, PAD, RESIDUE_TO_ID, RESIDUES, AlphabetError,
                       ResidueSet)

_NUMBER = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")


class PromptError(ValueError):
    """An invalid prompt; ``position`` is the 0-based character index in the prompt text."""

    def __init__(self, position: int, reason: str):
        self.position = position
        self.reason = reason
        super().__init__(f"position {position + 1}: {reason}")


@dataclass(frozen=True)
class Segment:
    """One element of a prompt and the characters [start, end) of the text it came from.

    ``residue`` is set for a fixed residue. Otherwise the segment is a masked span of
    ``min_length``..``max_length`` positions, each allowed the tokens in ``allowed``.
    """

    start: int
    end: int
    residue: str | None = None
    min_length: int = 1
    max_length: int = 1
    allowed: ResidueSet = field(default_factory=ResidueSet.standard)

    @property
    def masked(self) -> bool:
        return self.residue is None

    @property
    def variable(self) -> bool:
        return self.min_length != self.max_length


@dataclass(frozen=True)
class Layout:
    """One realisation of a prompt: per residue, a fixed letter or None (masked), and its allowed set."""

    residues: tuple
    allowed: tuple

    def __len__(self) -> int:
        return len(self.residues)

    @property
    def masked_positions(self) -> list[int]:
        return [i for i, r in enumerate(self.residues) if r is None]


@dataclass(frozen=True)
class Prompt:
    """A parsed prompt: the text and its segments."""

    text: str
    segments: tuple

    @property
    def min_length(self) -> int:
        return sum(s.min_length for s in self.segments)

    @property
    def max_length(self) -> int:
        return sum(s.max_length for s in self.segments)

    @property
    def has_variable_spans(self) -> bool:
        return any(s.variable for s in self.segments)

    @property
    def fixed_residues(self) -> str:
        return "".join(s.residue for s in self.segments if not s.masked)

    @property
    def masked_count_range(self) -> tuple[int, int]:
        spans = [s for s in self.segments if s.masked]
        return sum(s.min_length for s in spans), sum(s.max_length for s in spans)

    def realise(self, rng: random.Random) -> Layout:
        """Draw the length of every variable span and return the resulting layout."""
        residues, allowed = [], []
        for segment in self.segments:
            if not segment.masked:
                residues.append(segment.residue)
                allowed.append(None)
                continue
            length = segment.min_length
            if segment.variable:
                length = rng.randint(segment.min_length, segment.max_length)
            residues.extend([None] * length)
            allowed.extend([segment.allowed] * length)
        return Layout(tuple(residues), tuple(allowed))

    def check_fits(self, model_length: int) -> None:
        """Raise PromptError unless every realisation fits in ``model_length`` tokens."""
        limit = model_length - 2
        if self.max_length > limit:
            what = "can reach" if self.has_variable_spans else "has"
            raise PromptError(
                len(self.text) - 1 if self.text else 0,
                f"the prompt {what} {self.max_length} residues but this model allows at most {limit}: "
                "shorten the sequence or the masked spans",
            )


def parse_prompt(text: str, model_length: int | None = None) -> Prompt:
    """Parse prompt text into a Prompt, raising PromptError with position and fix for bad input."""
    segments = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char == "_":
            segments.append(Segment(i, i + 1))
            i += 1
        elif char == "[":
            segment, i = _parse_span(text, i)
            segments.append(segment)
        elif char == "{":
            segment, i = _parse_set(text, i)
            segments.append(segment)
        elif char in "]}":
            raise PromptError(i, f"unmatched {char!r}: remove it or add the opening bracket")
        elif char.upper() in RESIDUE_TO_ID:
            segments.append(Segment(i, i + 1, residue=char.upper()))
            i += 1
        elif char.isdigit():
            raise PromptError(i, f"a number outside brackets: write a masked span as [{char}]")
        else:
            raise PromptError(i, str(AlphabetError(char, i, "prompt")).split(": ", 1)[1])
    if not segments:
        raise PromptError(0, "the prompt is empty: type a sequence with masked spans, e.g. MKV[5]GLE")
    prompt = Prompt(text, tuple(segments))
    if model_length is not None:
        prompt.check_fits(model_length)
    return prompt


def _parse_span(text: str, start: int) -> tuple[Segment, int]:
    close = text.find("]", start + 1)
    other = text.find("[", start + 1)
    if close < 0 or (0 <= other < close):
        raise PromptError(start, "'[' is not closed: write [n] or [a-b], e.g. [12] or [5-10]")
    inner = text[start + 1 : close]
    match = _NUMBER.fullmatch(inner)
    if match is None:
        raise PromptError(start, f"[{inner}] is not a span length: write [n] or [a-b] with whole numbers, e.g. [5-10]")
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) is not None else low
    if low == 0 or high == 0:
        raise PromptError(start, f"[{inner}] masks no residue: a span needs at least 1 position")
    if low > high:
        raise PromptError(start, f"[{inner}] is a reversed range: write [{high}-{low}]")
    return Segment(start, close + 1, min_length=low, max_length=high), close + 1


def _parse_set(text: str, start: int) -> tuple[Segment, int]:
    close = text.find("}", start + 1)
    other = text.find("{", start + 1)
    if close < 0 or (0 <= other < close):
        raise PromptError(start, "'{' is not closed: list the allowed residues as {ST}")
    tokens = set()
    for offset, char in enumerate(text[start + 1 : close], start=start + 1):
        if char.isspace() or char == ",":
            continue
        token = RESIDUE_TO_ID.get(char.upper())
        if token is None:
            raise PromptError(offset, f"{char!r} in a residue set is not an amino acid: use letters from {RESIDUES}")
        tokens.add(token)
    if not tokens:
        raise PromptError(start, "an empty residue set {} allows nothing: list residues, e.g. {ST}")
    return Segment(start, close + 1, allowed=ResidueSet(frozenset(tokens))), close + 1


@dataclass
class EncodedLayouts:
    """A batch of layouts as tensors for the sampler.

    tokens: (B, L) ids with MASK at masked positions.
    free: (B, L) bool, True where the sampler fills in.
    allowed: (B, L, NUM_REAL) bool, the tokens each free position may take.
    """

    tokens: torch.Tensor
    free: torch.Tensor
    allowed: torch.Tensor
    layouts: list

    @property
    def lengths(self) -> list[int]:
        return [len(layout) for layout in self.layouts]


def encode_layouts(layouts: list[Layout], model_length: int) -> EncodedLayouts:
    """Encode layouts as BOS + residues + EOS + PAD, each ``model_length`` tokens long."""
    batch = len(layouts)
    tokens = torch.full((batch, model_length), PAD, dtype=torch.long)
    free = torch.zeros((batch, model_length), dtype=torch.bool)
    allowed = torch.zeros((batch, model_length, NUM_REAL), dtype=torch.bool)
    for b, layout in enumerate(layouts):
        if len(layout) + 2 > model_length:
            raise ValueError(f"layout of {len(layout)} residues does not fit in {model_length} tokens")
        tokens[b, 0] = BOS
        for i, (residue, allowed_set) in enumerate(zip(layout.residues, layout.allowed), start=1):
            if residue is None:
                tokens[b, i] = MASK
                free[b, i] = True
                allowed[b, i, list(allowed_set.tokens)] = True
            else:
                tokens[b, i] = RESIDUE_TO_ID[residue]
        tokens[b, len(layout) + 1] = EOS
    return EncodedLayouts(tokens, free, allowed, list(layouts))
