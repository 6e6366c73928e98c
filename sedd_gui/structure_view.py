"""The embedded 3D view: py3Dmol's HTML in a QWebEngineView, with 3Dmol.js loaded from local resources.

py3Dmol writes a page that loads 3Dmol.js from a URL; here that URL is the file name
``3Dmol-min.js``, resolved against the page's base URL (the shipped ``resources/3dmol``
folder), so the view works offline. A small script of our own, ``VIEW_SCRIPT``, colours
the cartoon and highlights residues, so that changing the colouring or the highlighted
residue runs JavaScript instead of reloading the page.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtWebEngineCore import QWebEnginePage
from PySide6.QtWebEngineWidgets import QWebEngineView

from core.checkpoint import resources_dir
from core.folding.structure import Structure, parse_residues

log = logging.getLogger(__name__)

THREEDMOL_FILE = "3Dmol-min.js"

# pLDDT bands and colours of the AlphaFold Protein Structure Database, highest first:
# (lower bound, exclusive; colour; label).
PLDDT_BANDS = (
    (90.0, "#0053D6", "Very high (pLDDT > 90)"),
    (70.0, "#65CBF3", "Confident (90 ≥ pLDDT > 70)"),
    (50.0, "#FFDB13", "Low (70 ≥ pLDDT > 50)"),
    (-1.0, "#FF7D45", "Very low (pLDDT ≤ 50)"),
)
FILLED_COLOR = "#C2185B"
FIXED_COLOR = "#B0B0B0"
HIGHLIGHT_COLOR = "#00C853"
NO_PLDDT_COLOR = "#9E9E9E"

COLOR_MODES = ("plddt", "filled", "chain")

# QWebEngineView.setHtml fails (loadFinished(False)) above 2 MB of HTML; larger pages
# are written to a temporary file and loaded from there.
SET_HTML_LIMIT_BYTES = 2 * 1024 * 1024 - 64 * 1024
# Time the page has, after loading, to load 3Dmol.js and build the model.
READY_TIMEOUT_MS = 20000


def plddt_band_color(value: float) -> str:
    """Return the AlphaFold DB colour of a pLDDT value on the 0-100 scale."""
    for lower, color, _ in PLDDT_BANDS:
        if value > lower:
            return color
    return PLDDT_BANDS[-1][1]


def threedmol_dir() -> Path:
    """Return the folder that contains the shipped 3Dmol.js build."""
    return resources_dir() / "3dmol"


# Runs after py3Dmol's own script has created the viewer. `sedd` contains the structure's
# residues and the current colouring. Console messages starting with "sedd:" report
# readiness and errors to the Qt side.
VIEW_SCRIPT = """
var sedd = {mode: "plddt", highlighted: -1, indexByKey: {}};

function seddResidueIndex(atom) {
  var index = sedd.indexByKey[atom.chain + ":" + atom.resi];
  return index === undefined ? -1 : index;
}

function seddBandColor(value) {
  for (var i = 0; i < sedd.bands.length; i++) {
    if (value > sedd.bands[i][0]) return sedd.bands[i][1];
  }
  return sedd.bands[sedd.bands.length - 1][1];
}

function seddCartoonStyle() {
  if (sedd.mode === "plddt" && sedd.plddt.length > 0) {
    return {colorfunc: function(atom) {
      var index = seddResidueIndex(atom);
      return index < 0 ? sedd.colors.none : seddBandColor(sedd.plddt[index]);
    }};
  }
  if (sedd.mode === "filled") {
    return {colorfunc: function(atom) {
      return sedd.filled.has(seddResidueIndex(atom)) ? sedd.colors.filled : sedd.colors.fixed;
    }};
  }
  return sedd.chains.length > 1 ? {colorscheme: "chain"} : {color: "spectrum"};
}

function seddSelection(index) {
  var key = sedd.keys[index];
  return {chain: key[0], resi: key[1]};
}

function seddApply() {
  var viewer = window.viewer;
  viewer.setStyle({}, {cartoon: seddCartoonStyle()});
  viewer.setStyle({hetflag: true}, {stick: {radius: 0.2}});
  sedd.filled.forEach(function(index) {
    viewer.addStyle(seddSelection(index), {stick: {radius: 0.25, color: sedd.colors.filled}});
  });
  viewer.removeAllLabels();
  if (sedd.highlighted >= 0) {
    var selection = seddSelection(sedd.highlighted);
    viewer.addStyle(selection, {stick: {radius: 0.35, color: sedd.colors.highlight}});
    viewer.addStyle({chain: selection.chain, resi: selection.resi, atom: "CA"},
                    {sphere: {radius: 1.1, color: sedd.colors.highlight, opacity: 0.85}});
    viewer.addLabel(sedd.labels[sedd.highlighted],
                    {fontSize: 13, fontColor: "black", backgroundColor: "white", backgroundOpacity: 0.8,
                     borderColor: sedd.colors.highlight, borderThickness: 1.5, inFront: true},
                    {chain: selection.chain, resi: selection.resi, atom: "CA"});
  }
  viewer.render();
}

function seddSetMode(mode) { sedd.mode = mode; seddApply(); }
function seddHighlight(index) { sedd.highlighted = index; seddApply(); }

function seddInit(data) {
  sedd.keys = data.keys;
  sedd.labels = data.labels;
  sedd.plddt = data.plddt;
  sedd.filled = new Set(data.filled);
  sedd.mode = data.mode;
  sedd.bands = data.bands;
  sedd.colors = data.colors;
  sedd.chains = data.chains;
  sedd.keys.forEach(function(key, index) { sedd.indexByKey[key[0] + ":" + key[1]] = index; });
  window.viewer.setHoverable({}, false);
  seddApply();
  window.viewer.zoomTo();
  window.viewer.render();
  console.log("sedd:ready " + window.viewer.getModel().selectedAtoms({}).length);
}

window.addEventListener("error", function(event) {
  console.log("sedd:error " + event.message);
});
"""


def build_view_html(structure: Structure, filled: list[int], mode: str, script_url: str) -> str:
    """Build the page that shows ``structure``: py3Dmol's viewer plus VIEW_SCRIPT.

    ``filled`` are 0-based residue indices, in file order, to highlight as infilled.
    ``script_url`` is where the page loads 3Dmol.js from: a file name relative to the
    page's base URL, or a file URL.
    """
    import py3Dmol

    residues = parse_residues(structure.pdb)
    data = {
        "keys": [[residue.chain, residue.number] for residue in residues],
        "labels": [f"{residue.letter}{index + 1} · {residue.name} {residue.chain}{residue.number}"
                   + (f" · pLDDT {structure.plddt[index]:.1f}" if structure.plddt else "")
                   for index, residue in enumerate(residues)],
        "plddt": [round(value, 2) for value in structure.plddt],
        "filled": [index for index in filled if 0 <= index < len(residues)],
        "mode": mode,
        "bands": [[lower, color] for lower, color, _ in PLDDT_BANDS],
        "colors": {"filled": FILLED_COLOR, "fixed": FIXED_COLOR, "highlight": HIGHLIGHT_COLOR,
                   "none": NO_PLDDT_COLOR},
        "chains": sorted({residue.chain for residue in residues}),
    }

    view = py3Dmol.view(data=structure.pdb, format="pdb", js=script_url)
    page = io.StringIO()
    view.write_html(page, fullpage=True)
    html = page.getvalue()
    viewer_name = f"viewer_{view.uniqueid}"

    start = (f"<script>\n{VIEW_SCRIPT}\n$3Dmolpromise.then(function() {{\n"
             f"  window.viewer = {viewer_name};\n  seddInit({json.dumps(data)});\n}});\n</script>\n")
    head = "<head><meta charset=\"utf-8\"><style>html, body { margin: 0; overflow: hidden; }</style></head>\n"
    html = html.replace("<html>", "<html>\n" + head, 1)
    return html.replace("</body>", start + "</body>", 1)


class _ConsolePage(QWebEnginePage):
    """A page that forwards console messages of the view script as signals and logs the rest."""

    consoleMessage = Signal(str)

    def javaScriptConsoleMessage(self, level, message, line, source):
        if message.startswith("sedd:"):
            self.consoleMessage.emit(message)
        else:
            log.debug("3D view console (%s:%d): %s", source, line, message)


class StructureView(QWebEngineView):
    """Shows one structure at a time. ``ready`` carries the atom count once 3Dmol.js built the model;
    ``failed`` carries a message when the page or 3Dmol.js could not load."""

    ready = Signal(int)
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._page = _ConsolePage(self)
        self.setPage(self._page)
        self._page.consoleMessage.connect(self._on_console)
        self.loadFinished.connect(self._on_load_finished)
        self._ready_timer = QTimer(self)
        self._ready_timer.setSingleShot(True)
        self._ready_timer.timeout.connect(self._on_ready_timeout)
        self._temporary = None
        self.is_ready = False
        self.atom_count = 0
        # What the page should show; calls made while it loads are applied once it is ready.
        self._mode = "plddt"
        self._built_mode = "plddt"
        self._highlighted = -1

    def show_structure(self, structure: Structure, filled: list[int], mode: str = "plddt") -> None:
        """Load a page for ``structure``; ``ready`` or ``failed`` follows."""
        if mode not in COLOR_MODES:
            raise ValueError(f"unknown colour mode {mode!r}: use one of {', '.join(COLOR_MODES)}")
        folder = threedmol_dir()
        script = folder / THREEDMOL_FILE
        self.is_ready = False
        self.atom_count = 0
        self._mode = self._built_mode = mode
        self._highlighted = -1
        if not script.is_file():
            self.failed.emit(f"3Dmol.js not found at {script}: reinstall sedd-gui to restore its resources")
            return

        html = build_view_html(structure, filled, mode, THREEDMOL_FILE)
        if len(html.encode()) <= SET_HTML_LIMIT_BYTES:
            self.setHtml(html, QUrl.fromLocalFile(str(folder) + os.sep))
        else:
            self.load(QUrl.fromLocalFile(self._write_large_page(structure, filled, mode, script)))

    def _write_large_page(self, structure: Structure, filled: list[int], mode: str, script: Path) -> str:
        if self._temporary is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="sedd-structure-view-")
        path = Path(self._temporary.name) / "view.html"
        html = build_view_html(structure, filled, mode, QUrl.fromLocalFile(str(script)).toString())
        path.write_text(html, encoding="utf-8")
        return str(path)

    def set_color_mode(self, mode: str) -> None:
        if mode not in COLOR_MODES:
            raise ValueError(f"unknown colour mode {mode!r}: use one of {', '.join(COLOR_MODES)}")
        self._mode = mode
        self._run_when_ready(f"seddSetMode({json.dumps(mode)});")

    def highlight_residue(self, index: int) -> None:
        """Highlight residue ``index`` (0-based, file order) with green sticks and a label; -1 clears it."""
        self._highlighted = int(index)
        self._run_when_ready(f"seddHighlight({int(index)});")

    def run_script(self, script: str, callback=None) -> None:
        """Run JavaScript in the page; ``callback`` receives its result."""
        if callback is None:
            self.page().runJavaScript(script)
        else:
            self.page().runJavaScript(script, 0, callback)

    def _run_when_ready(self, script: str) -> None:
        if self.is_ready and self._page is not None:
            self._page.runJavaScript(script)

    def _on_load_finished(self, ok: bool) -> None:
        if not ok:
            self.failed.emit("the 3D view page failed to load")
            return
        self._ready_timer.start(READY_TIMEOUT_MS)

    def _on_console(self, message: str) -> None:
        if message.startswith("sedd:ready"):
            self._ready_timer.stop()
            self.is_ready = True
            self.atom_count = int(message.split()[1])
            if self._mode != self._built_mode:
                self._run_when_ready(f"seddSetMode({json.dumps(self._mode)});")
            if self._highlighted >= 0:
                self._run_when_ready(f"seddHighlight({self._highlighted});")
            self.ready.emit(self.atom_count)
        elif message.startswith("sedd:error"):
            log.warning("3D view script error: %s", message.removeprefix("sedd:error "))

    def _on_ready_timeout(self) -> None:
        self.failed.emit(f"3Dmol.js did not start within {READY_TIMEOUT_MS // 1000} s: check that "
                         f"{threedmol_dir() / THREEDMOL_FILE} is the 3Dmol.js build and that WebGL works "
                         "(see the log for the page's messages)")

    def cleanup(self) -> None:
        """Delete the page and the temporary files; the view shows nothing afterwards.

        QtWebEngine warns at exit when a page outlives its profile, which happens when
        the view is still alive as the application shuts down.
        """
        self._ready_timer.stop()
        if self._page is not None:
            self._page.deleteLater()
            self._page = None
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None
