"""Candidate rows for the table: sequences with their score, rank and comparisons with the prompt."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass
class CandidateRow:
    """One candidate as the table shows it.

    ``index`` is the 1-based candidate number, and candidate b draws its span lengths
    from the seed and b. ``score`` is the mean log-probability per filled residue in
    nats, None while the run is still going. ``identity`` is the percent of residues
    identical to the prompt's fixed residues at their positions. ``recovery`` is the
    percent of filled residues equal to the residue they replaced, None when no
    replaced residue is known. ``plddt`` and ``ptm`` stay None until a structure is predicted.
    """

    index: int
    sequence: str
    filled: frozenset = field(default_factory=frozenset)
    score: float | None = None
    complete: bool = False
    identity: float | None = None
    recovery: float | None = None
    rank: int | None = None
    plddt: float | None = None
    ptm: float | None = None

    @property
    def length(self) -> int:
        return len(self.sequence)


def fixed_identity(sequence: str, filled: Iterable[int], fixed_residues: str) -> float | None:
    """Return the percent of ``sequence`` identical to the prompt's fixed residues.

    The positions not in ``filled`` hold the fixed context in order. Returns None when
    their number differs from ``len(fixed_residues)``, so the layouts do not match.
    """
    filled = set(filled)
    context = [i for i in range(len(sequence)) if i not in filled]
    if not sequence or len(context) != len(fixed_residues):
        return None
    same = sum(1 for i, letter in zip(context, fixed_residues) if sequence[i] == letter)
    return 100.0 * same / len(sequence)


def recovery(sequence: str, filled: Iterable[int], reference: Mapping[int, str]) -> float | None:
    """Return the percent of filled residues equal to the reference residue at that position.

    Only filled positions with a known reference residue and no remaining mask count.
    """
    known = [i for i in filled if i in reference and i < len(sequence) and sequence[i] != "_"]
    if not known:
        return None
    same = sum(1 for i in known if sequence[i] == reference[i])
    return 100.0 * same / len(known)


def assign_ranks(rows: list[CandidateRow]) -> None:
    """Rank rows by score, best (highest) first; incomplete candidates and rows without a score get no rank."""
    scored = sorted((row for row in rows if row.complete and row.score is not None),
                    key=lambda row: (-row.score, row.index))
    for row in rows:
        row.rank = None
    for rank, row in enumerate(scored, start=1):
        row.rank = rank


def build_rows(candidates, fixed_residues: str, reference: Mapping[int, str]) -> list[CandidateRow]:
    """Turn finished candidates (anything with index, sequence, filled, score, complete) into ranked rows."""
    rows = []
    for candidate in candidates:
        filled = frozenset(candidate.filled)
        rows.append(CandidateRow(candidate.index, candidate.sequence, filled, candidate.score, candidate.complete,
                                 fixed_identity(candidate.sequence, filled, fixed_residues),
                                 recovery(candidate.sequence, filled, reference)))
    assign_ranks(rows)
    return rows
