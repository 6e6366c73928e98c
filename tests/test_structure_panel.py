"""The structure panel driven as a user would: fold, cache, cancel, remote opt-in, open, export, highlight."""

from __future__ import annotations

import math
import os
import socket
import time

import pytest
from PySide6.QtCore import QPointF, Qt

from core.folding import FoldError
from core.folding.server import FoldServer, start_in_thread
from sedd_gui import structure_panel as panel_module
from sedd_gui.structure_panel import (SOFTWARE_GL_FLAGS, StructurePanel, configure_webengine_environment,
                                      legend_html)
from test_folding_fixtures import TEST_SEQUENCE, tiny_esmfold_dir  # noqa: F401 (fixture)
from test_folding_backbone import BackboneBackend, backbone_pdb
from test_structure_fixtures import qapp_webengine  # noqa: F401 (fixture)

LOAD_TIMEOUT_MS = 60000
OTHER_SEQUENCE = "GSHMLEDPVRRLQEALKK"


def run_js(qtbot, panel: StructurePanel, script: str):
    results = []
    panel.view.run_script(script, results.append)
    qtbot.waitUntil(lambda: len(results) > 0, timeout=10000)
    return results[0]


@pytest.fixture
def panel(qtbot, qapp_webengine):
    widget = StructurePanel()
    widget.resize(900, 800)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()
    widget.deleteLater()
    qtbot.wait(20)


def use_tiny_model(panel: StructurePanel, model_dir: str) -> None:
    panel.backend_combo.setCurrentIndex(panel.backend_combo.findData("hf"))
    panel.model_edit.setText(model_dir)
    panel.device_combo.setCurrentText("cpu")


def wait_until_idle(qtbot, panel: StructurePanel) -> None:
    qtbot.waitUntil(lambda: not panel.is_folding(), timeout=LOAD_TIMEOUT_MS)


def test_candidate_without_structure_offers_fold(panel):
    panel.set_candidate(TEST_SEQUENCE, [3, 4, 5])
    assert panel.view_stack.currentWidget() is panel.placeholder
    assert "not folded yet" in panel.placeholder.text()
    assert panel.fold_button.isEnabled()
    assert not panel.export_button.isEnabled()
    assert not panel.cancel_button.isEnabled()


def test_fold_selected_emits_and_shows(qtbot, panel, tiny_esmfold_dir):
    use_tiny_model(panel, tiny_esmfold_dir)
    panel.set_candidate(TEST_SEQUENCE, [3, 4, 5])

    with qtbot.waitSignal(panel.structureReady, timeout=LOAD_TIMEOUT_MS) as ready:
        qtbot.mouseClick(panel.fold_button, Qt.MouseButton.LeftButton)
    sequence, mean_plddt, ptm, pdb_text, backend = ready.args
    assert sequence == TEST_SEQUENCE
    assert 0.0 <= mean_plddt <= 100.0
    assert 0.0 <= ptm <= 1.0
    assert pdb_text.count("\nATOM") > len(TEST_SEQUENCE)
    assert backend == "hf"

    wait_until_idle(qtbot, panel)
    assert panel.view_stack.currentWidget() is panel.view
    qtbot.waitUntil(lambda: panel.view.is_ready, timeout=LOAD_TIMEOUT_MS)
    atom_lines = [line for line in panel.shown_structure().pdb.splitlines() if line.startswith("ATOM")]
    assert panel.view.atom_count == len(atom_lines)
    assert run_js(qtbot, panel, "JSON.stringify(Array.from(sedd.filled).sort((a, b) => a - b))") == "[3,4,5]"
    assert f"mean pLDDT {mean_plddt:.1f}" in panel.info_label.text()
    assert "Folding finished" in panel.status_label.text()
    assert not panel.fold_button.isEnabled()
    assert panel.export_button.isEnabled()


def test_structures_cached_per_sequence(qtbot, panel, tiny_esmfold_dir, monkeypatch):
    use_tiny_model(panel, tiny_esmfold_dir)
    panel.set_candidate(TEST_SEQUENCE, [1])
    with qtbot.waitSignal(panel.structureReady, timeout=LOAD_TIMEOUT_MS):
        panel.fold_selected()
    wait_until_idle(qtbot, panel)
    first = panel.structure_for(TEST_SEQUENCE)

    panel.set_candidate(OTHER_SEQUENCE, [0])
    assert panel.view_stack.currentWidget() is panel.placeholder

    def no_new_backend(*args, **kwargs):
        raise AssertionError("a cached structure must not be folded again")

    monkeypatch.setattr(panel_module, "create_backend", no_new_backend)
    panel.set_candidate(TEST_SEQUENCE.lower(), [1, 2])
    assert panel.shown_structure() is first
    assert panel.view_stack.currentWidget() is panel.view
    assert not panel.fold_button.isEnabled()


def test_fold_all_reports_progress(qtbot, panel, tiny_esmfold_dir):
    use_tiny_model(panel, tiny_esmfold_dir)
    sequences = [TEST_SEQUENCE, OTHER_SEQUENCE, "MKVLAAGIVG"]
    panel.set_candidates(sequences)
    assert panel.fold_all_button.isVisible()
    panel.set_candidate(OTHER_SEQUENCE, [2, 3])

    received = []
    panel.structureReady.connect(lambda *args: received.append(args[0]))
    qtbot.mouseClick(panel.fold_all_button, Qt.MouseButton.LeftButton)
    assert panel.progress.isVisible()
    assert panel.progress.maximum() == 3
    wait_until_idle(qtbot, panel)

    assert received == sequences
    assert all(panel.structure_for(sequence) is not None for sequence in sequences)
    assert panel.shown_structure() is panel.structure_for(OTHER_SEQUENCE)
    assert not panel.progress.isVisible()
    assert not panel.fold_all_button.isEnabled()


def test_cancel_stops_after_current_fold(qtbot, panel, monkeypatch):
    slow = BackboneBackend(seconds=0.6)
    monkeypatch.setattr(panel_module, "create_backend", lambda name, **options: slow)
    use_tiny_model(panel, "unused")
    sequences = [TEST_SEQUENCE, OTHER_SEQUENCE, "MKVLAAGIVG", "GGSGGSGGS"]
    panel.set_candidate(sequences[-1], [])

    received = []
    panel.structureReady.connect(lambda *args: received.append(args[0]))
    panel.fold_all(sequences)
    qtbot.waitUntil(lambda: slow.started == 1, timeout=5000)
    assert panel.cancel_button.isEnabled()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert "Cancelling" in panel.status_label.text()
    wait_until_idle(qtbot, panel)

    assert slow.started == 1
    assert received == [TEST_SEQUENCE]
    assert panel.status_label.text() == "Folding cancelled."
    assert "cancelled" in panel.placeholder.text()
    assert panel.fold_button.isEnabled()


def test_fold_failure_shown(qtbot, panel, monkeypatch):
    class BrokenBackend:
        name = "hf"

        def fold(self, sequence):
            raise FoldError("ESMFold weights 'facebook/esmfold_v1' are neither in the Hugging Face cache nor a folder")

    monkeypatch.setattr(panel_module, "create_backend", lambda name, **options: BrokenBackend())
    panel.set_candidate(TEST_SEQUENCE, [])
    with qtbot.waitSignal(panel.foldFailed, timeout=10000) as failed:
        panel.fold_selected()
    wait_until_idle(qtbot, panel)
    assert failed.args[0] == TEST_SEQUENCE
    assert "Hugging Face cache" in failed.args[1]
    assert "1 fold failed" in panel.status_label.text()
    assert "Hugging Face cache" in panel.status_label.text()
    assert "failed" in panel.placeholder.text()


def test_remote_is_opt_in(qtbot, panel):
    changes = []
    panel.remoteFoldingChanged.connect(changes.append)
    panel.set_candidate(TEST_SEQUENCE, [])
    panel.backend_combo.setCurrentIndex(panel.backend_combo.findData("remote"))

    assert not panel.consent_check.isChecked()
    assert not panel.fold_button.isEnabled()
    assert "Tick" in panel.fold_button.toolTip()
    assert not panel.remote_banner.isVisible()
    assert not panel.remote_folding_enabled()

    panel.url_edit.setText("http://fold.example.org:8000/foldSequence/v1/pdb/")
    panel.consent_check.setChecked(True)
    assert panel.remote_folding_enabled()
    assert changes[-1] is True
    assert panel.remote_banner.isVisible()
    assert "fold.example.org" in panel.remote_banner.text()
    assert "not encrypted" in panel.remote_banner.text()
    assert panel.fold_button.isEnabled()

    panel.backend_combo.setCurrentIndex(panel.backend_combo.findData("hf"))
    assert changes[-1] is False
    assert not panel.remote_banner.isVisible()


def test_remote_fold_through_loopback_server(qtbot, panel):
    server = FoldServer(BackboneBackend(), port=0)
    thread = start_in_thread(server)
    try:
        panel.backend_combo.setCurrentIndex(panel.backend_combo.findData("remote"))
        panel.url_edit.setText(server.url)
        panel.consent_check.setChecked(True)
        assert "not encrypted" not in panel.remote_banner.text()
        panel.set_candidate(TEST_SEQUENCE, [0, 1])
        with qtbot.waitSignal(panel.structureReady, timeout=LOAD_TIMEOUT_MS) as ready:
            panel.fold_selected()
        wait_until_idle(qtbot, panel)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert ready.args[4] == "remote"
    assert not math.isnan(ready.args[2])


def test_remote_refused_connection_message(qtbot, panel):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    panel.backend_combo.setCurrentIndex(panel.backend_combo.findData("remote"))
    panel.url_edit.setText(f"http://127.0.0.1:{port}/")
    panel.consent_check.setChecked(True)
    panel.set_candidate(TEST_SEQUENCE, [])
    with qtbot.waitSignal(panel.foldFailed, timeout=10000) as failed:
        panel.fold_selected()
    wait_until_idle(qtbot, panel)
    assert "connection refused" in failed.args[1]


def test_invalid_remote_url_message(panel):
    panel.backend_combo.setCurrentIndex(panel.backend_combo.findData("remote"))
    panel.url_edit.setText("fold-server:8000")
    panel.consent_check.setChecked(True)
    panel.set_candidate(TEST_SEQUENCE, [])
    panel.fold_selected()
    assert not panel.is_folding()
    assert "invalid fold server URL" in panel.status_label.text()


def test_open_matching_file_becomes_candidate_structure(qtbot, panel, tmp_path):
    path = tmp_path / "candidate.pdb"
    path.write_text(backbone_pdb(TEST_SEQUENCE, plddt=[0.8] * len(TEST_SEQUENCE)))
    panel.set_candidate(TEST_SEQUENCE, [2, 3])

    with qtbot.waitSignal(panel.structureReady, timeout=5000) as ready:
        panel.open_structure_file(path)
    assert ready.args[0] == TEST_SEQUENCE
    assert ready.args[1] == pytest.approx(80.0)
    assert math.isnan(ready.args[2])
    assert ready.args[4] == "file"
    assert panel.structure_for(TEST_SEQUENCE) is panel.shown_structure()
    assert "matches the selected candidate" in panel.info_label.text()
    qtbot.waitUntil(lambda: panel.view.is_ready, timeout=LOAD_TIMEOUT_MS)
    assert panel.view.atom_count == 4 * len(TEST_SEQUENCE)


def test_open_unrelated_file_not_cached(qtbot, panel, tmp_path):
    path = tmp_path / "other.pdb"
    path.write_text(backbone_pdb(OTHER_SEQUENCE))
    panel.set_candidate(TEST_SEQUENCE, [2, 3])
    received = []
    panel.structureReady.connect(lambda *args: received.append(args))

    panel.open_structure_file(path)
    assert received == []
    assert panel.structure_for(TEST_SEQUENCE) is None
    assert panel.shown_structure().sequence == OTHER_SEQUENCE
    assert "other.pdb" in panel.info_label.text()


def test_open_crystal_bfactors_coloured_by_chain(panel, tmp_path):
    path = tmp_path / "crystal.pdb"
    path.write_text(backbone_pdb(OTHER_SEQUENCE, plddt=[20.0 + 9.0 * i for i in range(len(OTHER_SEQUENCE))]))
    panel.open_structure_file(path)
    assert panel.shown_structure().plddt == []
    assert "not pLDDT" in panel.status_label.text()
    assert "no pLDDT" in panel.legend_label.text()


def test_open_missing_file_message(panel, tmp_path):
    assert panel.open_structure_file(tmp_path / "absent.cif") is None
    assert "not found" in panel.status_label.text()


def test_export_pdb(panel, tmp_path):
    assert not panel.export_pdb(tmp_path / "nothing.pdb")
    source = tmp_path / "in.pdb"
    source.write_text(backbone_pdb(OTHER_SEQUENCE))
    panel.open_structure_file(source)

    target = tmp_path / "out.pdb"
    assert panel.export_pdb(target)
    assert target.read_text() == panel.shown_structure().pdb
    assert not panel.export_pdb(tmp_path / "absent" / "out.pdb")
    assert "Cannot write" in panel.status_label.text()


def test_add_structure_from_history(panel):
    pdb = backbone_pdb(TEST_SEQUENCE, plddt=[0.9] * len(TEST_SEQUENCE))
    structure = panel.add_structure(TEST_SEQUENCE, pdb, "hf", ptm=0.5)
    assert structure.plddt[0] == pytest.approx(90.0)
    panel.set_candidate(TEST_SEQUENCE, [])
    assert panel.shown_structure() is structure
    assert "pTM 0.500" in panel.info_label.text()


def test_highlight_residue_in_view_and_plot(qtbot, panel, tmp_path):
    path = tmp_path / "candidate.pdb"
    path.write_text(backbone_pdb(TEST_SEQUENCE))
    panel.set_candidate(TEST_SEQUENCE, [5, 6, 7])
    panel.open_structure_file(path)
    qtbot.waitUntil(lambda: panel.view.is_ready, timeout=LOAD_TIMEOUT_MS)

    panel.highlight_residue(9)
    qtbot.waitUntil(lambda: run_js(qtbot, panel, "sedd.highlighted") == 9, timeout=5000)
    assert panel.plot._cursor.isVisible()
    assert panel.plot._cursor.value() == 10

    panel.highlight_residue(-1)
    qtbot.waitUntil(lambda: run_js(qtbot, panel, "sedd.highlighted") == -1, timeout=5000)
    assert not panel.plot._cursor.isVisible()


def test_plot_hover_and_click_highlight(qtbot, panel, tmp_path):
    path = tmp_path / "candidate.pdb"
    path.write_text(backbone_pdb(TEST_SEQUENCE))
    panel.set_candidate(TEST_SEQUENCE, [])
    panel.open_structure_file(path)
    qtbot.waitUntil(lambda: panel.view.is_ready, timeout=LOAD_TIMEOUT_MS)
    view_box = panel.plot.getPlotItem().getViewBox()

    panel.plot._on_mouse_moved(view_box.mapViewToScene(QPointF(12, 50)))
    qtbot.waitUntil(lambda: run_js(qtbot, panel, "sedd.highlighted") == 11, timeout=5000)

    with qtbot.waitSignal(panel.residueSelected, timeout=2000) as selected:
        panel._on_plot_clicked(panel.plot.residue_at(view_box.mapViewToScene(QPointF(20.2, 40))))
    assert selected.args == [19]

    # Leaving the plot returns the 3D highlight to the clicked residue.
    panel.plot._on_mouse_moved(QPointF(-1000, -1000))
    qtbot.waitUntil(lambda: run_js(qtbot, panel, "sedd.highlighted") == 19, timeout=5000)


def test_plot_shades_infilled_spans(panel):
    pdb = backbone_pdb(TEST_SEQUENCE)
    panel.add_structure(TEST_SEQUENCE, pdb, "hf")
    panel.set_candidate(TEST_SEQUENCE, [2, 3, 4, 10, 11, 30])
    regions = [span.getRegion() for span in panel.plot._spans]
    assert regions == [(2.5, 5.5), (10.5, 12.5), (30.5, 31.5)]
    image = panel.plot.grab()
    assert not image.isNull()


def test_colour_mode_changes_view_and_legend(qtbot, panel, tmp_path):
    path = tmp_path / "candidate.pdb"
    path.write_text(backbone_pdb(TEST_SEQUENCE))
    panel.set_candidate(TEST_SEQUENCE, [1, 2])
    panel.open_structure_file(path)
    qtbot.waitUntil(lambda: panel.view.is_ready, timeout=LOAD_TIMEOUT_MS)
    assert "Very high" in panel.legend_label.text()

    panel.color_combo.setCurrentIndex(panel.color_combo.findData("filled"))
    qtbot.waitUntil(lambda: run_js(qtbot, panel, "sedd.mode") == "filled", timeout=5000)
    assert "infilled residues" in panel.legend_label.text()
    assert "Very high" not in panel.legend_label.text()

    panel.color_combo.setCurrentIndex(panel.color_combo.findData("chain"))
    qtbot.waitUntil(lambda: run_js(qtbot, panel, "sedd.mode") == "chain", timeout=5000)
    assert "rainbow" in panel.legend_label.text()


def test_legend_texts():
    assert "Confident" in legend_html("plddt", True, 1)
    assert "#0053D6" in legend_html("plddt", True, 1)
    assert "3 chains" in legend_html("chain", True, 3)


def test_configure_webengine_flags(monkeypatch):
    monkeypatch.setenv("QTWEBENGINE_CHROMIUM_FLAGS", "--enable-logging --no-sandbox")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    value = configure_webengine_environment(software_gl=True)
    flags = value.split()
    assert flags[:2] == ["--enable-logging", "--no-sandbox"]
    assert flags.count("--no-sandbox") == 1
    for flag in SOFTWARE_GL_FLAGS:
        assert flag in flags
    assert "--disable-gpu-compositing" in flags
    assert "--disable-gpu" not in flags
    assert os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] == value


def test_configure_webengine_flags_with_gpu_as_user(monkeypatch):
    monkeypatch.setenv("QTWEBENGINE_CHROMIUM_FLAGS", "")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    flags = configure_webengine_environment(software_gl=False).split()
    assert flags == ["--disable-gpu-compositing"]


def test_shutdown_waits_for_worker(qtbot, panel, monkeypatch):
    slow = BackboneBackend(seconds=0.5)
    monkeypatch.setattr(panel_module, "create_backend", lambda name, **options: slow)
    panel.set_candidate(TEST_SEQUENCE, [])
    panel.fold_all([TEST_SEQUENCE, OTHER_SEQUENCE])
    qtbot.waitUntil(lambda: slow.started == 1, timeout=5000)
    thread = panel._thread
    panel.shutdown()
    assert thread.isFinished()
    assert slow.started == 1
