"""The main window driven through qtbot: running, cancelling, the live plot, candidates, FASTA and history."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication

from core.data import read_fasta
from core.device import available_devices
from sedd_gui.app import prepare_qt_environment
from sedd_gui.candidate_table import COLUMN_RANK, COLUMN_SCORE
from sedd_gui.history import DATABASE_NAME, HistoryStore
from sedd_gui.main_window import MainWindow
from sedd_gui.settings import data_dir, open_settings
from sedd_gui.workers import InfillWorker

# QtWebEngine reads its settings when the QApplication starts, which happens after collection.
prepare_qt_environment()

PROMPT = "MKV[5]GLE{ST}AA"
RUN_TIMEOUT_MS = 30_000


@pytest.fixture
def gui_data(tmp_path, monkeypatch):
    """A private data directory, so that settings and history never touch the user's own."""
    directory = tmp_path / "data"
    monkeypatch.setenv("SEDD_GUI_DATA_DIR", str(directory))
    return directory


@pytest.fixture
def slow_steps(monkeypatch):
    """Make every sampling step take at least 2 ms, so that a 4096-step run is still going when cancelled."""
    original = InfillWorker._on_step

    def slow_on_step(self, report):
        time.sleep(0.002)
        original(self, report)

    monkeypatch.setattr(InfillWorker, "_on_step", slow_on_step)


def open_window(qtbot, checkpoint, prompt=None, show_structures=False) -> MainWindow:
    """Open the window on ``checkpoint``; the structure panel (a web view, slow to start) only on request."""
    window = MainWindow(open_settings(), HistoryStore(data_dir() / DATABASE_NAME),
                        checkpoint=str(checkpoint) if checkpoint is not None else None, prompt=prompt,
                        show_structures=show_structures)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.model() is not None or window.model_error() is not None, timeout=10_000)
    return window


@pytest.fixture
def window(qtbot, gui_data, tiny_checkpoint):
    window = open_window(qtbot, tiny_checkpoint, PROMPT)
    yield window
    window.close()
    assert not window.is_running()


def configure(window, candidates=4, steps=16, seed=0):
    window.settings_panel.candidates_spin.setValue(candidates)
    window.settings_panel.steps_spin.setValue(steps)
    window.settings_panel.seed_spin.setValue(seed)


def run_to_end(qtbot, window):
    with qtbot.waitSignal(window.runFinished, timeout=RUN_TIMEOUT_MS) as blocker:
        qtbot.mouseClick(window.run_button, Qt.MouseButton.LeftButton)
    return blocker.args[0]


def test_model_facts_are_shown(window):
    text = window.settings_panel.model_label.text()
    assert "tiny-test-model" in text
    assert "parameters" in text
    assert "20 amino acids + X" in text
    assert "46 residues" in text


def test_run_fills_table_and_keeps_fixed_residues(qtbot, window):
    configure(window, candidates=4, steps=16)
    outcome = run_to_end(qtbot, window)
    assert not outcome.result.cancelled

    rows = window.table.rows_in_view_order()
    assert [row.index for row in rows] == [1, 2, 3, 4]
    for row in rows:
        assert row.complete
        assert len(row.sequence) == 14
        assert row.sequence[:3] == "MKV"
        assert row.sequence[8:11] == "GLE"
        assert row.sequence[11] in "ST"
        assert row.sequence[12:] == "AA"
        assert "_" not in row.sequence
        assert row.filled == frozenset({3, 4, 5, 6, 7, 11})
        assert row.identity == pytest.approx(100 * 8 / 14)
    assert sorted(row.rank for row in rows) == [1, 2, 3, 4]
    best = min(rows, key=lambda row: row.rank)
    assert best.score == max(row.score for row in rows)
    assert window.run_button.isEnabled()
    assert not window.cancel_button.isEnabled()
    assert window.progress_bar.value() == 16


def test_same_seed_gives_same_candidates(qtbot, window):
    configure(window, candidates=3, steps=12, seed=7)
    first = [c.sequence for c in run_to_end(qtbot, window).result.candidates]
    second = [c.sequence for c in run_to_end(qtbot, window).result.candidates]
    assert first == second


def test_plot_ends_at_zero_and_never_increases(qtbot, window):
    configure(window, candidates=5, steps=40)
    run_to_end(qtbot, window)
    assert window.plot.curve_count() == 5
    for candidate in range(5):
        steps, masked = window.plot.curve_data(candidate)
        assert list(steps) == list(range(1, 41))
        assert masked[-1] == 0
        assert np.all(np.diff(masked) <= 0)
        assert masked[0] <= 6


def test_table_sorts_by_score(qtbot, window):
    configure(window, candidates=6, steps=16)
    run_to_end(qtbot, window)
    window.table.sortByColumn(COLUMN_SCORE, Qt.SortOrder.DescendingOrder)
    scores = [row.score for row in window.table.rows_in_view_order()]
    assert scores == sorted(scores, reverse=True)
    window.table.sortByColumn(COLUMN_RANK, Qt.SortOrder.AscendingOrder)
    assert [row.rank for row in window.table.rows_in_view_order()] == [1, 2, 3, 4, 5, 6]


def test_selected_candidate_fills_strip(qtbot, window):
    configure(window, candidates=3, steps=16)
    run_to_end(qtbot, window)
    window.table.select_candidate(2)
    row = window.table.source.row_for_candidate(2)
    cells = window.candidate_strip.cells()
    assert "".join(cell.label for cell in cells) == row.sequence
    assert [cell.filled for cell in cells] == [i in row.filled for i in range(len(row.sequence))]
    assert "Candidate 2" in window.candidate_label.text()


def test_invalid_prompt_disables_run(qtbot, window):
    window.editor.set_text("")
    qtbot.keyClicks(window.editor.text_edit, "MKV[5GLE")
    assert not window.run_button.isEnabled()
    assert not window.run_action.isEnabled()
    assert window.editor.message_label.text() == (
        "Position 4: '[' is not closed: write [n] or [a-b], e.g. [12] or [5-10]")
    assert window.run_button.toolTip() == window.editor.message_label.text()
    for _ in range(3):
        qtbot.keyClick(window.editor.text_edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(window.editor.text_edit, "]GLE")
    assert window.editor.text() == "MKV[5]GLE"
    assert window.run_button.isEnabled()


def test_prompt_too_long_for_model_disables_run(qtbot, window):
    window.editor.set_text("A" * 44 + "[5]")
    assert not window.run_button.isEnabled()
    assert "this model allows at most 46" in window.editor.message_label.text()


def test_strip_click_updates_prompt_text(qtbot, window):
    window.editor.set_sequence("MKVLAGE")
    strip = window.editor.strip
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=strip.cell_rect(3).center())
    assert window.editor.text() == "MKV_AGE"
    assert window.run_button.isEnabled()
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=strip.cell_rect(3).center())
    assert window.editor.text() == "MKVLAGE"
    assert not window.run_button.isEnabled()


def test_recovery_against_masked_sequence(qtbot, window):
    window.editor.set_sequence("MKVLAGEWRT")
    strip = window.editor.strip
    qtbot.mousePress(strip, Qt.MouseButton.LeftButton, pos=strip.cell_rect(2).center())
    qtbot.mouseRelease(strip, Qt.MouseButton.LeftButton, pos=strip.cell_rect(5).center())
    assert window.editor.text() == "MK[4]EWRT"
    configure(window, candidates=3, steps=12)
    run_to_end(qtbot, window)
    for row in window.table.rows_in_view_order():
        same = sum(row.sequence[i] == "MKVLAGEWRT"[i] for i in range(2, 6))
        assert row.recovery == pytest.approx(100 * same / 4)


def test_ctrl_return_runs_and_escape_cancels(qtbot, gui_data, tiny_checkpoint, slow_steps):
    window = open_window(qtbot, tiny_checkpoint, "MK[30]V")
    configure(window, candidates=4, steps=4096)
    window.activateWindow()
    window.editor.text_edit.setFocus()
    qtbot.keyClick(window.editor.text_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert window.is_running()
    assert window.editor.text() == "MK[30]V"
    qtbot.waitUntil(lambda: window.progress_bar.value() > 0, timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(window.runFinished, timeout=RUN_TIMEOUT_MS) as blocker:
        qtbot.keyClick(window.editor.text_edit, Qt.Key.Key_Escape)
    assert blocker.args[0].result.cancelled
    window.close()


def test_cancel_keeps_partial_candidates(qtbot, gui_data, tiny_checkpoint, slow_steps):
    window = open_window(qtbot, tiny_checkpoint, "MK[30]V")
    configure(window, candidates=4, steps=4096)
    qtbot.mouseClick(window.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.progress_bar.value() > 0, timeout=RUN_TIMEOUT_MS)
    assert window.cancel_button.isEnabled()
    assert not window.run_button.isEnabled()
    assert len(window.candidate_strip.cells()) == 33

    with qtbot.waitSignal(window.runFinished, timeout=RUN_TIMEOUT_MS) as blocker:
        qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    result = blocker.args[0].result
    assert result.cancelled
    assert result.steps_done < 4096
    rows = window.table.rows_in_view_order()
    assert len(rows) == 4
    assert all(row.sequence.startswith("MK") and row.sequence.endswith("V") for row in rows)
    assert any("_" in row.sequence for row in rows)
    assert all(row.rank is None for row in rows if "_" in row.sequence)
    assert "cancelled" in window.statusBar().currentMessage()
    assert window.run_button.isEnabled()

    stored = window.history().load_run(window.current_run_id())
    assert stored.cancelled
    assert stored.steps_done == result.steps_done
    window.close()


def test_close_during_run_stops_worker(qtbot, gui_data, tiny_checkpoint, slow_steps):
    window = open_window(qtbot, tiny_checkpoint, "MK[30]V")
    configure(window, candidates=4, steps=4096)
    qtbot.mouseClick(window.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.progress_bar.value() > 0, timeout=RUN_TIMEOUT_MS)
    thread = window._run_thread
    assert thread.isRunning()

    window.close()
    assert thread.isFinished()
    assert not window.is_running()
    runs = HistoryStore(data_dir() / DATABASE_NAME).list_runs()
    assert len(runs) == 1
    assert runs[0].cancelled


def test_fasta_export_round_trips(qtbot, window, tmp_path):
    configure(window, candidates=4, steps=16)
    run_to_end(qtbot, window)
    path = window.export_fasta(tmp_path / "all.fasta")
    records = read_fasta(path)
    rows = window.table.rows_in_view_order()
    assert [record.sequence for record in records] == [row.sequence for row in rows]
    assert records[0].header.startswith("candidate_1 rank=")
    assert f"run={window.current_run_id()}" in records[0].header

    window.table.clearSelection()
    selection = window.table.selectionModel()
    for row in (1, 3):
        selection.select(window.table.proxy.index(row, 0),
                         QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    selected = read_fasta(window.export_fasta(tmp_path / "selected.fasta", selected_only=True))
    assert [record.sequence for record in selected] == [rows[1].sequence, rows[3].sequence]


def test_export_to_missing_folder_shows_message(qtbot, window, tmp_path):
    configure(window, candidates=2, steps=8)
    run_to_end(qtbot, window)
    assert window.export_fasta(tmp_path / "missing" / "out.fasta") is None
    assert "Could not write" in window.banner.text()


def test_copy_selected_sequences(qtbot, window):
    configure(window, candidates=2, steps=8)
    run_to_end(qtbot, window)
    window.table.selectAll()
    window.copy_selected()
    rows = window.table.rows_in_view_order()
    assert QGuiApplication.clipboard().text() == "".join(row.sequence + "\n" for row in rows)


def test_use_candidate_as_prompt(qtbot, window):
    configure(window, candidates=2, steps=8)
    run_to_end(qtbot, window)
    window.table.select_candidate(2)
    qtbot.mouseClick(window.use_as_prompt_button, Qt.MouseButton.LeftButton)
    sequence = window.table.source.row_for_candidate(2).sequence
    assert window.editor.text() == sequence
    strip = window.editor.strip
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=strip.cell_rect(4).center())
    assert window.editor.text() == sequence[:4] + "_" + sequence[5:]
    assert window.editor.reference() == {4: sequence[4]}


def test_open_fasta_chooses_record(qtbot, window, tmp_path):
    path = tmp_path / "two.fasta"
    path.write_text(">first\nMKVLAG\n>second protein\nGGHHKK\nLL\n")
    offered = []

    def choose(records):
        offered.append([record.header for record in records])
        return 1

    window.choose_record = choose
    window.open_fasta(path)
    assert offered == [["first", "second protein"]]
    assert window.editor.text() == "GGHHKKLL"
    assert "second protein" in window.statusBar().currentMessage()


def test_open_fasta_cancel_keeps_prompt(qtbot, window, tmp_path):
    path = tmp_path / "two.fasta"
    path.write_text(">a\nMK\n>b\nVL\n")
    window.choose_record = lambda records: None
    window.open_fasta(path)
    assert window.editor.text() == PROMPT


def test_open_bad_fasta_shows_message(qtbot, window, tmp_path):
    path = tmp_path / "bad.fasta"
    path.write_text("MKVL\n")
    window.open_fasta(path)
    assert "sequence data before the first '>' header" in window.banner.text()
    assert window.editor.text() == PROMPT


def test_paste_fasta_replaces_prompt(qtbot, window):
    QGuiApplication.clipboard().setText(">pasted\nMKVLA\nGEW\n")
    window.editor.text_edit.paste()
    assert window.editor.text() == "MKVLAGEW"
    QGuiApplication.clipboard().setText("[3]")
    window.editor.text_edit.paste()
    assert window.editor.text() == "MKVLAGEW[3]"


def test_history_reopens_run(qtbot, window):
    configure(window, candidates=3, steps=20, seed=5)
    run_to_end(qtbot, window)
    run_id = window.current_run_id()
    sequences = [row.sequence for row in window.table.rows_in_view_order()]
    scores = [row.score for row in window.table.rows_in_view_order()]
    curve = window.plot.curve_data(0)[1].copy()

    window.editor.set_text("GG[4]")
    window.settings_panel.seed_spin.setValue(99)
    configure(window, candidates=2, steps=8, seed=99)
    run_to_end(qtbot, window)
    assert window.history_panel.run_ids() == [run_id + 1, run_id]

    window.side_tabs.setCurrentWidget(window.history_panel)
    window.history_panel.table.selectRow(1)
    qtbot.mouseClick(window.history_panel.open_button, Qt.MouseButton.LeftButton)
    assert window.editor.text() == PROMPT
    assert window.settings_panel.seed_spin.value() == 5
    assert window.settings_panel.steps_spin.value() == 20
    assert [row.sequence for row in window.table.rows_in_view_order()] == sequences
    assert [row.score for row in window.table.rows_in_view_order()] == pytest.approx(scores)
    assert list(window.plot.curve_data(0)[1]) == list(curve)
    assert window.current_run_id() == run_id


def test_history_deletes_run(qtbot, window):
    configure(window, candidates=2, steps=8)
    run_to_end(qtbot, window)
    run_to_end(qtbot, window)
    first, second = window.history_panel.run_ids()
    window.history_panel.table.selectRow(1)
    qtbot.mouseClick(window.history_panel.delete_button, Qt.MouseButton.LeftButton)
    assert window.history_panel.run_ids() == [first]
    assert [run.run_id for run in window.history().list_runs()] == [first]
    assert second < first


def test_history_survives_restart(qtbot, gui_data, tiny_checkpoint):
    window = open_window(qtbot, tiny_checkpoint, PROMPT)
    configure(window, candidates=2, steps=8)
    run_to_end(qtbot, window)
    window.close()
    reopened = open_window(qtbot, tiny_checkpoint)
    assert len(reopened.history_panel.run_ids()) == 1
    assert reopened.editor.text() == PROMPT
    assert reopened.settings_panel.steps_spin.value() == 8
    reopened.close()


def test_settings_persist_between_windows(qtbot, gui_data, tiny_checkpoint):
    window = open_window(qtbot, tiny_checkpoint, "MK_")
    configure(window, candidates=5, steps=33, seed=12)
    window.settings_panel.temperature_spin.setValue(0.7)
    window.close()
    reopened = open_window(qtbot, tiny_checkpoint)
    panel = reopened.settings_panel
    assert panel.candidates_spin.value() == 5
    assert panel.steps_spin.value() == 33
    assert panel.seed_spin.value() == 12
    assert panel.temperature_spin.value() == pytest.approx(0.7)
    assert reopened.editor.text() == "MK_"
    reopened.close()


def test_saved_checkpoint_is_reopened(qtbot, gui_data, tiny_checkpoint):
    window = open_window(qtbot, tiny_checkpoint, "MK_")
    window.close()
    window = MainWindow(open_settings(), HistoryStore(None), prompt="MK_", show_structures=False)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.model() is not None, timeout=10_000)
    assert window.model().path == tiny_checkpoint
    window.close()


def test_unavailable_devices_are_disabled(window):
    combo = window.settings_panel.device_combo
    model = combo.model()
    for name in ("cuda", "mps"):
        index = combo.findData(name)
        assert model.item(index).isEnabled() == (name in available_devices())
    assert model.item(combo.findData("cpu")).isEnabled()
    assert combo.currentData() == "auto"


def test_bad_checkpoint_shows_message(qtbot, gui_data, tmp_path, tiny_checkpoint):
    window = open_window(qtbot, tmp_path / "nowhere", PROMPT)
    assert window.model() is None
    assert "checkpoint directory not found" in window.model_error()
    assert "checkpoint directory not found" in window.banner.text()
    assert "Open another checkpoint" in window.settings_panel.model_label.text()
    assert not window.run_button.isEnabled()
    assert "No model is loaded" in window.run_hint.text()

    with qtbot.waitSignal(window.modelChanged, timeout=10_000):
        window.load_checkpoint(str(tiny_checkpoint))
    assert window.model() is not None
    assert window.run_button.isEnabled()
    window.close()


def test_damaged_weights_show_message(qtbot, gui_data, tmp_path, tiny_checkpoint):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((tiny_checkpoint / "config.json").read_text())
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    window = open_window(qtbot, broken, PROMPT)
    assert window.model() is None
    assert "model.safetensors" in window.model_error()
    window.close()


def test_gpu_out_of_memory_is_reported(qtbot, window, monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr("sedd_gui.workers.infill", out_of_memory)
    with qtbot.waitSignal(window.runFailed, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(window.run_button, Qt.MouseButton.LeftButton)
    assert "ran out of memory" in window.banner.text()
    assert "fewer candidates" in window.banner.text()
    assert window.run_button.isEnabled()
    assert not window.is_running()


def test_unexpected_engine_error_is_reported(qtbot, window, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("shape mismatch in attention")

    monkeypatch.setattr("sedd_gui.workers.infill", broken)
    with qtbot.waitSignal(window.runFailed, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(window.run_button, Qt.MouseButton.LeftButton)
    assert "RuntimeError: shape mismatch in attention" in window.banner.text()
    assert window.run_button.isEnabled()


def test_structure_panel_fills_table_and_history(qtbot, gui_data, tiny_checkpoint):
    structure_panel = pytest.importorskip("sedd_gui.structure_panel")
    from test_structure_fixtures import backbone_pdb

    window = open_window(qtbot, tiny_checkpoint, PROMPT, show_structures=True)
    panel = window.structure_panel
    assert isinstance(panel, structure_panel.StructurePanel)
    configure(window, candidates=3, steps=12)
    run_to_end(qtbot, window)
    assert panel.fold_all_button.isVisibleTo(panel)

    window.table.select_candidate(2)
    row = window.table.source.row_for_candidate(2)
    assert panel._sequence == row.sequence
    assert panel._filled == sorted(row.filled)

    pdb_text = backbone_pdb(row.sequence)
    panel.structureReady.emit(row.sequence, 71.25, math.nan, pdb_text, "test-backend")
    assert window.table.source.row_for_candidate(2).plddt == 71.25
    assert window.table.source.row_for_candidate(2).ptm is None
    run_id = window.current_run_id()
    [stored] = window.history().structures(run_id)
    assert stored.sequence == row.sequence
    assert stored.mean_plddt == 71.25

    configure(window, candidates=2, steps=8, seed=3)
    run_to_end(qtbot, window)
    assert window.table.source.row_for_candidate(2).plddt is None
    window.open_history_run(run_id)
    assert window.table.source.row_for_candidate(2).plddt == 71.25
    assert panel.structure_for(row.sequence) is not None
    window.close()
    assert not panel.is_folding()
