"""Residue cells of a prompt, and the text edits that mask or unmask cells.

A prompt has one cell per residue position: a fixed letter, a masked position of
``_`` or ``[n]``, or a restricted position ``{ST}``. A variable span ``[a-b]`` is a
single cell because its length is drawn per candidate, and positions after it have no
fixed number. Masking and unmasking rewrite only the segments they touch, so the rest
of the user's text (spacing, line breaks, ``___`` versus ``[3]``) stays as typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.prompt import Prompt

FIXED = "fixed"
MASKED = "masked"
RESTRICTED = "restricted"
VARIABLE = "variable"


class MaskEditError(ValueError):
    """A mask edit that cannot be written as prompt text, such as unmasking a position whose residue is unknown."""


@dataclass(frozen=True)
class PromptCell:
    """One residue position of a prompt.

    ``label`` is the residue letter, '_', the allowed letters of a restricted position,
    or '[a-b]' for a variable span. ``segment`` indexes ``Prompt.segments``. ``position``
    is the 0-based residue index, None after a variable span.
    """

    kind: str
    label: str
    segment: int
    position: int | None

    @property
    def masked(self) -> bool:
        return self.kind != FIXED

    @property
    def toggleable(self) -> bool:
        return self.kind != VARIABLE


def prompt_cells(prompt: Prompt) -> list[PromptCell]:
    """Return the cells of ``prompt`` in order."""
    cells: list[PromptCell] = []
    position: int | None = 0
    for index, segment in enumerate(prompt.segments):
        if not segment.masked:
            kinds_and_labels = [(FIXED, segment.residue)]
        elif segment.variable:
            kinds_and_labels = [(VARIABLE, f"[{segment.min_length}-{segment.max_length}]")]
        elif prompt.text[segment.start] == "{":
            kinds_and_labels = [(RESTRICTED, segment.allowed.letters())]
        else:
            kinds_and_labels = [(MASKED, "_")] * segment.min_length

        for kind, label in kinds_and_labels:
            cells.append(PromptCell(kind, label, index, position))
            if position is not None:
                position = None if kind == VARIABLE else position + 1
    return cells


def set_masked(prompt: Prompt, indices: Iterable[int], masked: bool, reference: Mapping[int, str]) -> str:
    """Return the prompt text with the cells at ``indices`` masked (or unmasked).

    Cells already in the requested state and variable spans are left alone. Unmasking
    a cell puts back ``reference[position]``, the residue known for that position, and
    raises MaskEditError when there is none. Masked cells that end up next to each other
    merge into one ``[n]`` span unless all of them were untouched.
    """
    cells = prompt_cells(prompt)
    targets = {i for i in indices if 0 <= i < len(cells) and cells[i].toggleable and cells[i].masked != masked}
    if not targets:
        return prompt.text
    if not masked:
        for i in sorted(targets):
            position = cells[i].position
            if position is None or position not in reference:
                position_text = "after a variable span" if position is None else f"{position + 1}"
                raise MaskEditError(f"no residue is known for position {position_text}: "
                                    "type the letter in the prompt instead")

    cells_by_segment: dict[int, list[int]] = {}
    for i, cell in enumerate(cells):
        cells_by_segment.setdefault(cell.segment, []).append(i)

    # Pieces are ("text", text) or ("mask", count, original text or None when edited).
    text = prompt.text
    pieces: list[tuple] = []
    cursor = 0
    for index, segment in enumerate(prompt.segments):
        if segment.start > cursor:
            pieces.append(("text", text[cursor : segment.start]))
        original = text[segment.start : segment.end]
        members = cells_by_segment[index]
        if not any(i in targets for i in members):
            plain_span = cells[members[0]].kind == MASKED
            pieces.append(("mask", segment.min_length, original) if plain_span else ("text", original))
        else:
            for i in members:
                if i not in targets:
                    pieces.append(("mask", 1, None) if cells[i].masked else ("text", cells[i].label))
                elif masked:
                    pieces.append(("mask", 1, None))
                else:
                    pieces.append(("text", reference[cells[i].position]))
        cursor = segment.end
    if cursor < len(text):
        pieces.append(("text", text[cursor:]))
    return _join_pieces(pieces)


def _join_pieces(pieces: list[tuple]) -> str:
    out: list[str] = []
    group: list[tuple] = []

    def flush() -> None:
        if not group:
            return
        if all(piece[2] is not None for piece in group):
            out.extend(piece[2] for piece in group)
        else:
            total = sum(piece[1] for piece in group)
            out.append("_" if total == 1 else f"[{total}]")
        group.clear()

    for piece in pieces:
        if piece[0] == "mask":
            group.append(piece)
        else:
            flush()
            out.append(piece[1])
    flush()
    return "".join(out)
