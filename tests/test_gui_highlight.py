"""Residue highlighting shared by the candidate strip, the pLDDT plot and the 3D view, and the empty pLDDT plot."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from sedd_gui.residue_strip import MARKED_OUTLINE_COLOR, ResidueStrip, StripCell, sequence_cells
from sedd_gui.structure_plot import PlddtPlot
from test_gui_window import PROMPT, configure, gui_data, open_window, run_to_end  # noqa: F401 (fixture)

SEQUENCE = "MKVLAGLESAA"


@pytest.fixture
def strip(qtbot):
    widget = ResidueStrip(editable=False)
    widget.set_cells(sequence_cells(SEQUENCE, {3, 4}))
    widget.resize(400, widget.heightForWidth(400))
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def leave(widget) -> None:
    QApplication.sendEvent(widget, QEvent(QEvent.Type.Leave))


def cell_center(strip: ResidueStrip, index: int) -> QPoint:
    return strip.cell_rect(index).center()


def test_strip_click_reports_cell(qtbot, strip):
    with qtbot.waitSignal(strip.cellClicked, timeout=1000) as clicked:
        qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=cell_center(strip, 6))
    assert clicked.args == [6]


def test_editable_strip_click_requests_mask(qtbot):
    strip = ResidueStrip(editable=True)
    strip.set_cells([StripCell(letter, False, position) for position, letter in enumerate(SEQUENCE)])
    strip.resize(400, strip.heightForWidth(400))
    qtbot.addWidget(strip)
    strip.show()
    qtbot.waitExposed(strip)
    clicks = []
    strip.cellClicked.connect(clicks.append)

    with qtbot.waitSignal(strip.maskRequested, timeout=1000) as requested:
        qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=cell_center(strip, 2))
    assert requested.args == [[2], True]
    assert clicks == []


def test_strip_hover_reports_changes_only(qtbot, strip):
    hovered = []
    strip.cellHovered.connect(hovered.append)
    rect = strip.cell_rect(3)

    qtbot.mouseMove(strip, rect.center())
    qtbot.mouseMove(strip, rect.topLeft() + QPoint(2, 2))
    qtbot.mouseMove(strip, cell_center(strip, 4))
    leave(strip)
    leave(strip)
    assert hovered == [3, 4, -1]


def test_strip_marked_cell_outlined(strip):
    strip.set_marked_cell(5)
    assert strip.marked_cell() == 5
    image = strip.grab().toImage()
    marked = strip.cell_rect(5)
    plain = strip.cell_rect(6)
    assert image.pixelColor(marked.left() + 1, marked.center().y()) == QColor(MARKED_OUTLINE_COLOR)
    assert image.pixelColor(plain.left() + 1, plain.center().y()) != QColor(MARKED_OUTLINE_COLOR)


def test_strip_mark_cleared_when_out_of_range(strip):
    strip.set_marked_cell(len(SEQUENCE))
    assert strip.marked_cell() == -1
    strip.set_marked_cell(8)
    strip.set_cells(sequence_cells(SEQUENCE[:5]))
    assert strip.marked_cell() == -1


def test_strip_cell_for_position(strip):
    assert strip.cell_for_position(7) == 7
    assert strip.cell_for_position(len(SEQUENCE)) == -1


def test_empty_plddt_plot_has_no_ticks(qtbot):
    plot = PlddtPlot()
    qtbot.addWidget(plot)
    axis = plot.getAxis("bottom")
    assert plot.is_empty()
    assert plot._empty_text.isVisible()
    assert axis._tickLevels == [[]]

    plot.set_data([80.0, 60.0, 95.0], [1], ["M1", "K2", "V3"])
    assert not plot.is_empty()
    assert not plot._empty_text.isVisible()
    assert axis._tickLevels is None

    plot.clear_data()
    assert plot._empty_text.isVisible()
    assert axis._tickLevels == [[]]


def test_plddt_axis_labels_whole_residues():
    plot = PlddtPlot()
    levels = plot.getAxis("bottom").tickValues(0.5, 3.5, 600)
    values = [value for _, level in levels for value in level]
    assert values
    assert all(float(value).is_integer() for value in values)
    plot.deleteLater()


@pytest.fixture
def folded_window(qtbot, gui_data, tiny_checkpoint, monkeypatch):
    """A window with the structure panel after a run, showing candidate 2 with a cached structure.

    ``window.highlight_calls`` records every call to the panel's ``highlight_residue``.
    """
    pytest.importorskip("sedd_gui.structure_panel")
    from test_structure_fixtures import backbone_pdb

    window = open_window(qtbot, tiny_checkpoint, PROMPT, show_structures=True)
    configure(window, candidates=3, steps=12)
    run_to_end(qtbot, window)
    panel = window.structure_panel
    sequence = window.table.source.row_for_candidate(2).sequence
    panel.add_structure(sequence, backbone_pdb(sequence), "test-backend")
    window.table.select_candidate(2)
    assert panel.shown_structure() is panel.structure_for(sequence)

    calls = []
    original = panel.highlight_residue

    def record(index):
        calls.append(index)
        original(index)

    monkeypatch.setattr(panel, "highlight_residue", record)
    window.highlight_calls = calls
    yield window
    window.close()


def test_strip_click_highlights_in_structure(qtbot, folded_window):
    window = folded_window
    strip = window.candidate_strip
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=cell_center(strip, 5))
    assert window.highlight_calls == [5]
    assert strip.marked_cell() == 5
    assert window.structure_panel.plot._cursor.isVisible()
    assert window.structure_panel.plot._cursor.value() == 6


def test_strip_hover_highlights_then_restores(qtbot, folded_window):
    window = folded_window
    strip = window.candidate_strip
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=cell_center(strip, 1))
    window.highlight_calls.clear()

    qtbot.mouseMove(strip, cell_center(strip, 9))
    qtbot.mouseMove(strip, strip.cell_rect(9).topLeft() + QPoint(2, 2))
    qtbot.mouseMove(strip, cell_center(strip, 10))
    leave(strip)
    assert window.highlight_calls == [9, 10, 1]
    assert window.structure_panel.plot._cursor.value() == 2


def test_plot_click_marks_strip(qtbot, folded_window):
    window = folded_window
    panel = window.structure_panel
    with qtbot.waitSignal(panel.residueSelected, timeout=1000):
        panel.plot.residueClicked.emit(7)
    assert window.candidate_strip.marked_cell() == 7


def test_candidate_change_clears_mark(qtbot, folded_window):
    window = folded_window
    strip = window.candidate_strip
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=cell_center(strip, 4))
    assert strip.marked_cell() == 4

    window.table.select_candidate(3)
    assert strip.marked_cell() == -1
    assert not window.structure_panel.plot._cursor.isVisible()


def test_unfolded_candidate_not_highlighted(qtbot, folded_window):
    window = folded_window
    window.table.select_candidate(1)
    window.highlight_calls.clear()
    strip = window.candidate_strip
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=cell_center(strip, 3))
    assert strip.marked_cell() == 3
    assert window.highlight_calls == []
