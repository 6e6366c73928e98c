"""Prompt cells, mask edits and the prompt editor widget: inline errors and clicks on the residue strip."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from core.prompt import parse_prompt
from sedd_gui.prompt_cells import FIXED, MASKED, RESTRICTED, VARIABLE, MaskEditError, prompt_cells, set_masked
from sedd_gui.prompt_editor import PromptEditor


def test_cells_of_every_segment_kind():
    cells = prompt_cells(parse_prompt("MK[3]{ST}[2-4]W"))
    assert [cell.kind for cell in cells] == [FIXED, FIXED, MASKED, MASKED, MASKED, RESTRICTED, VARIABLE, FIXED]
    assert [cell.position for cell in cells] == [0, 1, 2, 3, 4, 5, 6, None]
    assert cells[5].label == "ST"
    assert cells[6].label == "[2-4]"
    assert not cells[6].toggleable


def test_mask_one_residue_keeps_rest_of_text():
    prompt = parse_prompt("MKV LE\nGG")
    assert set_masked(prompt, [2], True, {}) == "MK_ LE\nGG"


def test_mask_next_to_span_merges():
    prompt = parse_prompt("ACD___EF")
    assert set_masked(prompt, [2], True, {}) == "AC[4]EF"


def test_untouched_spans_keep_their_spelling():
    prompt = parse_prompt("A___C[2]D")
    assert set_masked(prompt, [7], True, {}) == "A___C[3]"


def test_unmask_inside_span_splits_it():
    prompt = parse_prompt("MK[5]G")
    reference = {2: "A", 3: "C", 4: "D", 5: "E", 6: "F"}
    assert set_masked(prompt, [4], False, reference) == "MK[2]D[2]G"
    assert set_masked(prompt, [2, 3, 4, 5, 6], False, reference) == "MKACDEFG"


def test_unmask_restricted_position():
    prompt = parse_prompt("M{ST}K")
    assert set_masked(prompt, [1], False, {1: "T"}) == "MTK"


def test_unmask_without_reference_raises():
    prompt = parse_prompt("MK_G")
    with pytest.raises(MaskEditError, match="position 3"):
        set_masked(prompt, [2], False, {})


def test_variable_span_is_never_toggled():
    prompt = parse_prompt("M[2-4]K")
    assert set_masked(prompt, [1], False, {1: "A"}) == "M[2-4]K"
    assert set_masked(prompt, [2], True, {}) == "M[2-4]_"


def test_masks_stay_parseable_with_same_length():
    text = "MKVLAGE{DE}W_Y[3]P"
    prompt = parse_prompt(text)
    cells = prompt_cells(prompt)
    for index, cell in enumerate(cells):
        if cell.kind == FIXED:
            edited = parse_prompt(set_masked(prompt, [index], True, {}))
            assert len(prompt_cells(edited)) == len(cells)
            assert edited.masked_count_range[0] == prompt.masked_count_range[0] + 1


@pytest.fixture
def editor(qtbot):
    widget = PromptEditor()
    qtbot.addWidget(widget)
    widget.resize(700, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def click_cell(qtbot, editor, index, button=Qt.MouseButton.LeftButton):
    qtbot.mouseClick(editor.strip, button, pos=editor.strip.cell_rect(index).center())


@pytest.mark.parametrize("text, position, reason", [
    ("MKV[5GLE", 4, "'[' is not closed"),
    ("MKV1GLE", 4, "a number outside brackets"),
    ("MKVB[3]", 4, "ambiguous"),
    ("MK[0]V", 3, "masks no residue"),
    ("MK{}V", 3, "empty residue set"),
    ("MKV]", 4, "unmatched"),
])
def test_invalid_prompt_shows_position_and_reason(qtbot, editor, text, position, reason):
    qtbot.keyClicks(editor.text_edit, text)
    assert editor.prompt() is None
    assert editor.error() is not None
    assert editor.message_label.text().startswith(f"Position {position}:")
    assert reason in editor.message_label.text()
    assert editor.run_blocker() == editor.message_label.text()
    assert len(editor.text_edit.extraSelections()) == 1


def test_prompt_longer_than_model_is_invalid(qtbot, editor):
    editor.set_model_length(12)
    qtbot.keyClicks(editor.text_edit, "MKVLAG[5]EW")
    assert editor.prompt() is None
    assert "at most 10" in editor.message_label.text()


def test_prompt_without_mask_cannot_run(qtbot, editor):
    qtbot.keyClicks(editor.text_edit, "MKVLAG")
    assert editor.prompt() is not None
    assert "no masked position" in editor.run_blocker()


def test_valid_prompt_has_no_error(qtbot, editor):
    qtbot.keyClicks(editor.text_edit, "MKV[2-3]LE")
    assert editor.run_blocker() is None
    assert editor.message_label.text() == "7-8 residues, 2-3 masked."
    assert editor.text_edit.extraSelections() == []


def test_strip_has_one_cell_per_position(qtbot, editor):
    editor.set_text("MK[3]{ST}V")
    labels = [cell.label for cell in editor.strip.cells()]
    assert labels == ["M", "K", "_", "_", "_", "ST", "V"]
    assert [cell.masked for cell in editor.strip.cells()] == [False, False, True, True, True, True, False]


def test_click_masks_and_unmasks_cell(qtbot, editor):
    editor.set_text("MKVLE")
    click_cell(qtbot, editor, 2)
    assert editor.text() == "MK_LE"
    assert editor.strip.cells()[2].masked
    click_cell(qtbot, editor, 2)
    assert editor.text() == "MKVLE"


def test_drag_masks_range(qtbot, editor):
    editor.set_text("MKVLEW")
    strip = editor.strip
    qtbot.mousePress(strip, Qt.MouseButton.LeftButton, pos=strip.cell_rect(1).center())
    qtbot.mouseMove(strip, pos=strip.cell_rect(3).center())
    qtbot.mouseRelease(strip, Qt.MouseButton.LeftButton, pos=strip.cell_rect(4).center())
    assert editor.text() == "M[4]W"
    assert editor.reference() == {1: "K", 2: "V", 3: "L", 4: "E"}


def test_unmask_typed_mask_shows_notice(qtbot, editor):
    editor.set_text("MK_LE")
    click_cell(qtbot, editor, 2)
    assert editor.text() == "MK_LE"
    assert "No residue is known for position 3" in editor.message_label.text()


def test_click_is_undoable(qtbot, editor):
    editor.set_text("MKVLE")
    click_cell(qtbot, editor, 0)
    assert editor.text() == "_KVLE"
    editor.text_edit.undo()
    assert editor.text() == "MKVLE"


def test_typing_shifts_reset_reference(qtbot, editor):
    editor.set_sequence("MKVLE")
    click_cell(qtbot, editor, 2)
    assert editor.reference() == {2: "V"}
    editor.text_edit.moveCursor(editor.text_edit.textCursor().MoveOperation.Start)
    qtbot.keyClicks(editor.text_edit, "A")
    assert editor.text() == "AMK_LE"
    assert editor.reference() == {}


def test_variable_span_cell_does_not_toggle(qtbot, editor):
    editor.set_text("MK[2-5]V")
    click_cell(qtbot, editor, 2)
    assert editor.text() == "MK[2-5]V"


def test_right_click_does_nothing(qtbot, editor):
    editor.set_text("MKV_E")
    click_cell(qtbot, editor, 1, Qt.MouseButton.RightButton)
    assert editor.text() == "MKV_E"


def test_cells_wrap_into_rows_of_ten(qtbot, editor):
    editor.set_text("A" * 95 + "[5]")
    strip = editor.strip
    first, last = strip.cell_rect(0), strip.cell_rect(99)
    assert last.top() > first.top()
    per_row = sum(1 for i in range(100) if strip.cell_rect(i).top() == first.top())
    assert per_row % 10 == 0
    qtbot.waitUntil(lambda: strip.height() >= last.bottom())
    assert strip.cell_at(QPoint(first.center())) == 0
