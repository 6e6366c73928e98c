"""The 3D view in a real QWebEngineView: local 3Dmol.js, atom count, a rendered image that is not blank."""

from __future__ import annotations

import base64

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QColor, QImage

from core.folding import structure_from_pdb
from sedd_gui import structure_view
from sedd_gui.structure_view import (PLDDT_BANDS, SET_HTML_LIMIT_BYTES, StructureView, build_view_html,
                                     plddt_band_color)
from test_folding_backbone import backbone_pdb
from test_structure_fixtures import qapp_webengine  # noqa: F401 (fixture)

SEQUENCE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"
LOAD_TIMEOUT_MS = 60000


def run_js(qtbot, view: StructureView, script: str):
    """Run ``script`` in the view's page and return its result."""
    results = []
    view.run_script(script, results.append)
    qtbot.waitUntil(lambda: len(results) > 0, timeout=10000)
    return results[0]


def rendered_image(qtbot, view: StructureView) -> QImage:
    uri = run_js(qtbot, view, "viewer.pngURI()")
    assert uri.startswith("data:image/png;base64,")
    image = QImage.fromData(base64.b64decode(uri.split(",", 1)[1]))
    assert not image.isNull()
    return image


def count_pixels(image: QImage, predicate, step: int = 3) -> int:
    count = 0
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            if predicate(QColor(image.pixel(x, y))):
                count += 1
    return count


def is_background(color: QColor) -> bool:
    return color.red() > 245 and color.green() > 245 and color.blue() > 245


def is_blue(color: QColor) -> bool:
    return color.blue() > 90 and color.blue() > color.red() + 50 and color.blue() > color.green() + 20


def is_magenta(color: QColor) -> bool:
    return color.red() > 90 and color.red() > color.green() + 50 and color.blue() > color.green() + 20


@pytest.fixture
def view(qtbot, qapp_webengine):
    widget = StructureView()
    widget.resize(500, 400)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.cleanup()
    widget.deleteLater()
    qtbot.wait(20)


def show_and_wait(qtbot, view: StructureView, structure, filled=(), mode="plddt") -> int:
    with qtbot.waitSignal(view.ready, timeout=LOAD_TIMEOUT_MS) as blocker:
        view.show_structure(structure, list(filled), mode)
    return blocker.args[0]


@pytest.mark.parametrize("value,color", [(95.0, "#0053D6"), (90.5, "#0053D6"), (90.0, "#65CBF3"), (70.1, "#65CBF3"),
                                         (70.0, "#FFDB13"), (50.1, "#FFDB13"), (50.0, "#FF7D45"), (0.0, "#FF7D45")])
def test_plddt_band_colors(value, color):
    assert plddt_band_color(value) == color


def test_band_colors_are_alphafold_db():
    assert [color for _, color, _ in PLDDT_BANDS] == ["#0053D6", "#65CBF3", "#FFDB13", "#FF7D45"]


def test_page_refers_to_local_library():
    structure = structure_from_pdb(backbone_pdb(SEQUENCE), backend="file")
    html = build_view_html(structure, [1, 2], "plddt", "3Dmol-min.js")
    assert "loadScriptAsync('3Dmol-min.js')" in html
    assert "cdn" not in html.lower()
    assert "seddInit(" in html


def test_view_loads_local_3dmol_and_counts_atoms(qtbot, view):
    structure = structure_from_pdb(backbone_pdb(SEQUENCE), backend="file")
    atoms = show_and_wait(qtbot, view, structure)

    assert atoms == 4 * len(SEQUENCE)
    assert run_js(qtbot, view, "viewer.getModel().selectedAtoms({}).length") == 4 * len(SEQUENCE)
    script = run_js(qtbot, view, "document.querySelector('script[src]').src")
    expected = QUrl.fromLocalFile(str(structure_view.threedmol_dir() / "3Dmol-min.js")).toString()
    assert script == expected
    assert run_js(qtbot, view, "typeof $3Dmol") == "object"


def test_rendered_image_not_blank(qtbot, view):
    structure = structure_from_pdb(backbone_pdb(SEQUENCE, plddt=[95.0] * len(SEQUENCE)), backend="file")
    show_and_wait(qtbot, view, structure)
    image = rendered_image(qtbot, view)

    pixels = count_pixels(image, lambda color: True)
    drawn = pixels - count_pixels(image, is_background)
    assert drawn > pixels * 0.01
    # Every residue is very high, so the cartoon is the very-high blue.
    assert count_pixels(image, is_blue) > drawn * 0.3


def test_filled_mode_colours_infilled_residues(qtbot, view):
    structure = structure_from_pdb(backbone_pdb(SEQUENCE, plddt=[95.0] * len(SEQUENCE)), backend="file")
    show_and_wait(qtbot, view, structure, filled=range(len(SEQUENCE)), mode="filled")
    image = rendered_image(qtbot, view)
    assert count_pixels(image, is_magenta) > 50
    assert count_pixels(image, is_blue) == 0

    view.set_color_mode("plddt")
    qtbot.waitUntil(lambda: run_js(qtbot, view, "sedd.mode") == "plddt", timeout=5000)
    assert count_pixels(rendered_image(qtbot, view), is_blue) > 50


def test_highlight_residue_sets_label(qtbot, view):
    structure = structure_from_pdb(backbone_pdb(SEQUENCE), backend="file")
    show_and_wait(qtbot, view, structure)
    view.highlight_residue(4)
    qtbot.waitUntil(lambda: run_js(qtbot, view, "sedd.highlighted") == 4, timeout=5000)
    assert run_js(qtbot, view, "sedd.labels[4]").startswith("Y5 · TYR A5 · pLDDT")

    view.highlight_residue(-1)
    qtbot.waitUntil(lambda: run_js(qtbot, view, "sedd.highlighted") == -1, timeout=5000)


def test_large_structure_loads_from_file(qtbot, view):
    # Enough backbone atoms that the page exceeds setHtml's 2 MB limit.
    length = 7000
    sequence = (SEQUENCE * (length // len(SEQUENCE) + 1))[:length]
    pdb = backbone_pdb(sequence, plddt=[80.0] * length, torsions=[(-57.0, -47.0)] * length)
    structure = structure_from_pdb(pdb, backend="file")
    assert len(build_view_html(structure, [], "plddt", "3Dmol-min.js").encode()) > SET_HTML_LIMIT_BYTES

    atoms = show_and_wait(qtbot, view, structure)
    assert atoms == 4 * length


def test_missing_library_reports_failure(qtbot, view, tmp_path, monkeypatch):
    monkeypatch.setattr(structure_view, "threedmol_dir", lambda: tmp_path)
    structure = structure_from_pdb(backbone_pdb(SEQUENCE), backend="file")
    with qtbot.waitSignal(view.failed, timeout=5000) as blocker:
        view.show_structure(structure, [], "plddt")
    assert "3Dmol.js not found" in blocker.args[0]


def test_unknown_colour_mode():
    with pytest.raises(ValueError, match="unknown colour mode 'hydrophobicity'"):
        StructureView.set_color_mode(None, "hydrophobicity")


def test_changes_while_loading_applied(qtbot, view):
    structure = structure_from_pdb(backbone_pdb(SEQUENCE), backend="file")
    with qtbot.waitSignal(view.ready, timeout=LOAD_TIMEOUT_MS):
        view.show_structure(structure, [], "plddt")
        view.set_color_mode("chain")
        view.highlight_residue(7)
    qtbot.waitUntil(lambda: run_js(qtbot, view, "sedd.mode") == "chain", timeout=5000)
    qtbot.waitUntil(lambda: run_js(qtbot, view, "sedd.highlighted") == 7, timeout=5000)
