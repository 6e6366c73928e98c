"""The window on the shipped AcyP checkpoint: a real acylphosphatase with a masked span."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from core.checkpoint import DEFAULT_CHECKPOINT
from sedd_gui.app import prepare_qt_environment
from sedd_gui.history import HistoryStore
from sedd_gui.main_window import MainWindow
from sedd_gui.settings import open_settings

prepare_qt_environment()

# Human acylphosphatase 1 (UniProt P07311) with its residues 21-28 (VFFRKHTQ) masked as a span of 6 to 10.
LEFT = "MAEGDTLISVDYEIFGKVQG"
RIGHT = "AEGKKLGLVGWVQNTDRGTVQGQLQGPISKVRHMQEWLETRGSPKSHIDKANFNNEKVILKLDYSDFQIVK"
PROMPT = f"{LEFT}[6-10]{RIGHT}"


@pytest.fixture
def shipped():
    if not (DEFAULT_CHECKPOINT / "config.json").is_file():
        pytest.skip(f"the shipped checkpoint is not there yet ({DEFAULT_CHECKPOINT / 'config.json'} is missing)")
    return DEFAULT_CHECKPOINT


def test_window_infills_acyp_with_shipped_model(qtbot, tmp_path, monkeypatch, shipped):
    monkeypatch.setenv("SEDD_GUI_DATA_DIR", str(tmp_path / "data"))
    window = MainWindow(open_settings(), HistoryStore(None), checkpoint=None, prompt=PROMPT, show_structures=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.model() is not None or window.model_error() is not None, timeout=60_000)
    assert window.model_error() is None
    assert window.model().path == shipped
    assert window.editor.run_blocker() is None

    window.settings_panel.candidates_spin.setValue(2)
    window.settings_panel.steps_spin.setValue(24)
    with qtbot.waitSignal(window.runFinished, timeout=120_000):
        qtbot.mouseClick(window.run_button, Qt.MouseButton.LeftButton)
    rows = window.table.rows_in_view_order()
    assert len(rows) == 2
    for row in rows:
        assert row.complete
        assert row.sequence.startswith(LEFT)
        assert row.sequence.endswith(RIGHT)
        assert 6 <= row.length - len(LEFT) - len(RIGHT) <= 10
        assert row.score is not None
    window.close()
