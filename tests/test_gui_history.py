"""The SQLite run history: round trips, and locked, damaged or read-only databases that fall back to memory."""

from __future__ import annotations

import math
import sqlite3

import pytest
from PySide6.QtCore import Qt

from sedd_gui import history as history_module
from sedd_gui.history import DATABASE_NAME, HistoryStore, RunRecord, StoredCandidate, utc_now
from sedd_gui.main_window import MainWindow
from sedd_gui.settings import data_dir, open_settings


def make_record(prompt="MK[3]V", seed=1) -> RunRecord:
    candidates = [StoredCandidate(1, "MKAAAV", [2, 3, 4], -1.25, True),
                  StoredCandidate(2, "MKC_CV", [2, 3, 4], -2.5, False)]
    return RunRecord(prompt=prompt, reference={2: "L"}, checkpoint_path="/models/acyp", checkpoint_name="acyp",
                     num_candidates=2, steps=8, temperature=0.9, seed=seed, device="cpu", steps_done=8,
                     cancelled=False, started=utc_now(), finished=utc_now(), elapsed_s=0.5,
                     candidates=candidates, trajectory=[(1, [3, 3]), (2, [1, 2]), (8, [0, 1])])


def test_run_round_trips(tmp_path):
    store = HistoryStore(tmp_path / DATABASE_NAME)
    record = make_record()
    run_id = store.add_run(record)
    assert record.run_id == run_id
    store.close()

    reopened = HistoryStore(tmp_path / DATABASE_NAME)
    loaded = reopened.load_run(run_id)
    assert loaded == record
    summary = reopened.list_runs()[0]
    assert summary.run_id == run_id
    assert summary.best_score == -1.25
    assert summary.num_candidates == 2
    assert reopened.problem is None
    assert not reopened.in_memory


def test_runs_listed_newest_first(tmp_path):
    store = HistoryStore(tmp_path / DATABASE_NAME)
    first = store.add_run(make_record(seed=1))
    second = store.add_run(make_record(seed=2))
    assert [run.run_id for run in store.list_runs()] == [second, first]
    store.delete_run(first)
    assert [run.run_id for run in store.list_runs()] == [second]
    with pytest.raises(KeyError):
        store.load_run(first)


def test_structure_round_trips(tmp_path):
    store = HistoryStore(tmp_path / DATABASE_NAME)
    run_id = store.add_run(make_record())
    store.add_structure(run_id, "MKAAAV", "ATOM      1  N   MET A   1\n", 81.5, math.nan, "esmfold")
    [structure] = store.structures(run_id)
    assert structure.sequence == "MKAAAV"
    assert structure.mean_plddt == 81.5
    assert structure.ptm is None
    assert structure.backend == "esmfold"
    assert structure.pdb_text.startswith("ATOM")


def test_damaged_file_falls_back_to_memory(tmp_path):
    path = tmp_path / DATABASE_NAME
    path.write_bytes(b"this is not an SQLite file at all" * 100)
    store = HistoryStore(path)
    assert store.in_memory
    assert "damaged" in store.problem
    assert str(path) in store.problem
    run_id = store.add_run(make_record())
    assert store.load_run(run_id).prompt == "MK[3]V"
    assert path.read_bytes().startswith(b"this is not")


def test_unusable_directory_falls_back_to_memory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the data directory should be")
    store = HistoryStore(blocker / DATABASE_NAME)
    assert store.in_memory
    assert "cannot be used" in store.problem
    assert store.add_run(make_record()) == 1


def test_read_only_database_keeps_old_runs(tmp_path, monkeypatch):
    path = tmp_path / DATABASE_NAME
    writable = HistoryStore(path)
    old = writable.add_run(make_record(seed=1))
    writable.close()

    # Running as root ignores file modes, so open the file through SQLite's read-only mode instead.
    connect = sqlite3.connect
    monkeypatch.setattr(history_module.sqlite3, "connect",
                        lambda target, **kwargs: connect(f"file:{target}?mode=ro", uri=True, **kwargs)
                        if target != ":memory:" else connect(target, **kwargs))
    store = HistoryStore(path)
    assert store.problem is None
    new = store.add_run(make_record(seed=2))
    assert "read-only" in store.problem
    assert store.in_memory
    assert {run.run_id for run in store.list_runs()} == {old, new}
    monkeypatch.undo()
    assert [run.run_id for run in HistoryStore(path).list_runs()] == [old]


def test_locked_database_falls_back_to_memory(tmp_path):
    path = tmp_path / DATABASE_NAME
    HistoryStore(path).close()
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        store = HistoryStore(path)
        assert "locked" in store.problem
        assert store.add_run(make_record()) >= 1
        assert len(store.list_runs()) == 1
    finally:
        holder.rollback()
        holder.close()


def test_database_locked_after_opening(tmp_path):
    path = tmp_path / DATABASE_NAME
    store = HistoryStore(path)
    assert store.problem is None
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        run_id = store.add_run(make_record())
        assert "locked" in store.problem
        assert store.load_run(run_id).seed == 1
    finally:
        holder.rollback()
        holder.close()


def test_window_works_with_damaged_history(qtbot, tmp_path, monkeypatch, tiny_checkpoint):
    monkeypatch.setenv("SEDD_GUI_DATA_DIR", str(tmp_path / "data"))
    path = data_dir() / DATABASE_NAME
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage" * 500)

    window = MainWindow(open_settings(), HistoryStore(path), checkpoint=str(tiny_checkpoint), prompt="MK[4]V",
                        show_structures=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.model() is not None, timeout=10_000)
    assert "damaged" in window.banner.text()
    assert window.banner.level == "warning"
    assert not window.history_panel.problem_label.isHidden()

    window.settings_panel.steps_spin.setValue(8)
    window.settings_panel.candidates_spin.setValue(2)
    with qtbot.waitSignal(window.runFinished, timeout=30_000):
        qtbot.mouseClick(window.run_button, Qt.MouseButton.LeftButton)
    assert len(window.history_panel.run_ids()) == 1
    window.close()
