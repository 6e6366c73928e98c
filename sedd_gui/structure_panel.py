"""The structure panel: fold candidates with ESMFold or a fold server, and inspect them in 3D.

The panel shows the structure of the selected candidate (``set_candidate``), coloured
by pLDDT band with the infilled residues as sticks, and a per-residue pLDDT plot.
Folding runs in a QThread (``structure_worker``); results are cached per sequence and
announced with ``structureReady``. Call ``configure_webengine_environment`` before the
QApplication exists, and ``shutdown`` before the window closes.
"""

from __future__ import annotations

import glob
import logging
import math
import os
import shlex
import urllib.parse
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QThread, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QProgressBar,
                               QPushButton, QSpinBox, QSplitter, QStackedWidget, QVBoxLayout, QWidget)

from core.folding import BACKEND_LABELS, FoldError, Structure, create_backend, read_structure_file, structure_from_pdb
from core.folding.hf import DEFAULT_MODEL
from core.folding.remote import ESM_ATLAS_URL, PUBLIC_MAX_RESIDUES
from core.folding.structure import parse_residues

from .structure_plot import PlddtPlot
from .structure_view import FILLED_COLOR, FIXED_COLOR, PLDDT_BANDS, StructureView
from .structure_worker import FoldWorker, start_worker

log = logging.getLogger(__name__)

WEBENGINE_FLAGS_VARIABLE = "QTWEBENGINE_CHROMIUM_FLAGS"
SOFTWARE_GL_FLAGS = ("--use-angle=swiftshader", "--enable-unsafe-swiftshader")

BACKEND_CHOICES = (
    ("esmfold", "Local ESMFold (fair-esm)"),
    ("hf", "Local ESMFold (transformers)"),
    ("remote", "Remote fold server"),
)
COLOR_CHOICES = (
    ("plddt", "pLDDT"),
    ("filled", "Infilled span"),
    ("chain", "Chain / rainbow"),
)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def has_gpu_device() -> bool:
    """Return whether this machine exposes a GPU render node (Linux DRM) or an NVIDIA device file."""
    return bool(glob.glob("/dev/dri/renderD*") or glob.glob("/dev/nvidia[0-9]*"))


def configure_webengine_environment(software_gl: bool | None = None) -> str:
    """Set QTWEBENGINE_CHROMIUM_FLAGS for the 3D view and return the flags; call before QApplication exists.

    Adds ``--no-sandbox`` when running as root (Chromium's sandbox refuses root),
    software WebGL through SwiftShader when there is no GPU (``--disable-gpu`` would turn
    WebGL off, and 3Dmol.js needs it), and ``--disable-gpu-compositing``, without which
    the window stays white under Xvfb. Flags already in the variable are kept.
    ``software_gl`` forces SwiftShader on or off; None decides from ``has_gpu_device``
    and from QT_QPA_PLATFORM=offscreen. Also sets Qt's AA_ShareOpenGLContexts.
    """
    flags = shlex.split(os.environ.get(WEBENGINE_FLAGS_VARIABLE, ""))
    required = []
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        required.append("--no-sandbox")
    if software_gl is None:
        software_gl = os.environ.get("QT_QPA_PLATFORM") == "offscreen" or not has_gpu_device()
    if software_gl:
        required.extend(SOFTWARE_GL_FLAGS)
    required.append("--disable-gpu-compositing")

    for flag in required:
        if flag not in flags:
            flags.append(flag)
    value = " ".join(flags)
    os.environ[WEBENGINE_FLAGS_VARIABLE] = value

    if QCoreApplication.instance() is None:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    else:
        log.warning("configure_webengine_environment was called after the QApplication was created: "
                    "QtWebEngine may ignore %s", WEBENGINE_FLAGS_VARIABLE)
    return value


def _labelled_row(*items) -> QWidget:
    """Lay out widgets and (label text, widget) pairs side by side in one widget."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for item in items:
        if isinstance(item, tuple):
            label, widget = item
            layout.addWidget(QLabel(label))
            layout.addWidget(widget, 1 if isinstance(widget, QLineEdit) else 0)
        else:
            layout.addWidget(item)
    return row


def _swatch(color: str, text: str) -> str:
    return f'<span style="color:{color}; font-size:15px;">■</span>&nbsp;{text}'


def legend_html(mode: str, has_plddt: bool, chains: int) -> str:
    """Return the rich-text legend of a colour mode."""
    if mode == "plddt" and has_plddt:
        items = [_swatch(color, label) for _, color, label in PLDDT_BANDS]
        items.append(_swatch(FILLED_COLOR, "infilled residues (sticks)"))
    elif mode == "plddt":
        items = ["no pLDDT in this structure: shown by chain", _swatch(FILLED_COLOR, "infilled residues (sticks)")]
    elif mode == "filled":
        items = [_swatch(FIXED_COLOR, "fixed residues"), _swatch(FILLED_COLOR, "infilled residues")]
    elif chains > 1:
        items = [f"one colour per chain ({chains} chains)"]
    else:
        items = ['<span style="color:#0000ff">■</span><span style="color:#00c000">■</span>'
                 '<span style="color:#e0c000">■</span><span style="color:#ff0000">■</span>'
                 "&nbsp;rainbow from N- to C-terminus"]
    return "&nbsp;&nbsp; ".join(items)


class StructurePanel(QWidget):
    """Folds candidates and shows their structures; see the module docstring."""

    # sequence, mean pLDDT (0-100, NaN when unknown), pTM (NaN when unknown), PDB text, backend name
    structureReady = Signal(str, float, float, str, str)
    foldFailed = Signal(str, str)  # sequence, message
    residueSelected = Signal(int)  # 0-based residue clicked in the pLDDT plot
    remoteFoldingChanged = Signal(bool)  # whether folds now send sequences to a server

    def __init__(self, parent=None):
        super().__init__(parent)
        self._structures: dict[str, Structure] = {}
        self._sequence: str | None = None
        self._filled: list[int] = []
        self._shown: Structure | None = None
        self._shown_filled: list[int] = []
        self._shown_title = ""
        self._pinned = -1
        self._backend = None
        self._backend_key = None
        self._worker: FoldWorker | None = None
        self._thread: QThread | None = None
        self._failures: list[str] = []
        self._candidate_sequences: list[str] = []
        self._shown_labels: list[str] = []

        self._build_backend_row()
        self._build_action_row()
        self._build_view_area()
        self._connect()
        self._on_backend_changed()
        self._update_buttons()

        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # Layout -------------------------------------------------------------------

    def _build_backend_row(self) -> None:
        self.backend_combo = QComboBox()
        for name, label in BACKEND_CHOICES:
            self.backend_combo.addItem(label, name)
        self.backend_combo.setToolTip("Where structures are predicted")

        self.device_combo = QComboBox()
        self.device_combo.addItems(["auto", "cpu", "cuda"])
        self.device_combo.setToolTip("Device for local ESMFold; auto picks a GPU when there is one")
        self.weights_edit = QLineEdit()
        self.weights_edit.setPlaceholderText("torch hub cache (default)")
        self.weights_edit.setToolTip("Folder with esmfold_3B_v1.pt and the ESM-2 3B weight files")
        self.model_edit = QLineEdit(DEFAULT_MODEL)
        self.model_edit.setToolTip("Hugging Face model id (read from the local cache only) or a model folder")

        self.url_edit = QLineEdit(ESM_ATLAS_URL)
        self.url_edit.setToolTip("Fold server speaking the ESM Atlas API, e.g. one started with 'sedd serve-fold'")
        self.consent_check = QCheckBox("Send sequences to this server")
        self.consent_check.setToolTip("Remote folding sends each sequence over the network to the URL above")
        self.max_residues_spin = QSpinBox()
        self.max_residues_spin.setRange(1, 100000)
        self.max_residues_spin.setValue(PUBLIC_MAX_RESIDUES)
        self.max_residues_spin.setToolTip("Longest sequence the server accepts; the public ESM Atlas takes 400")

        # One group of options per backend; only the chosen backend's group is visible.
        self.esmfold_options = _labelled_row(("Weights folder:", self.weights_edit))
        self.hf_options = _labelled_row(("Model:", self.model_edit))
        self.remote_options = _labelled_row(("Server URL:", self.url_edit), self.consent_check,
                                            ("Max residues:", self.max_residues_spin))
        self.backend_options = {"esmfold": self.esmfold_options, "hf": self.hf_options,
                                "remote": self.remote_options}

        self.remote_banner = QLabel()
        self.remote_banner.setWordWrap(True)
        self.remote_banner.setStyleSheet("background: #fff3cd; color: #5c4400; border: 1px solid #e6cf86; "
                                         "border-radius: 3px; padding: 3px 6px;")
        self.remote_banner.hide()

    def _build_action_row(self) -> None:
        self.fold_button = QPushButton("Fold selected")
        self.fold_button.setToolTip("Predict the structure of the selected candidate")
        self.fold_all_button = QPushButton("Fold all")
        self.fold_all_button.setToolTip("Predict the structures of all candidates not folded yet")
        self.fold_all_button.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the fold that is running")
        self.open_button = QPushButton("Open PDB/mmCIF…")
        self.export_button = QPushButton("Export PDB…")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setMaximumHeight(18)
        self.progress.hide()
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def _build_view_area(self) -> None:
        self.view = StructureView()
        self.view.setMinimumSize(320, 240)
        self.placeholder = QLabel()
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: #606060; background: white;")
        self.view_stack = QStackedWidget()
        self.view_stack.addWidget(self.placeholder)
        self.view_stack.addWidget(self.view)

        self.color_combo = QComboBox()
        for name, label in COLOR_CHOICES:
            self.color_combo.addItem(label, name)
        self.legend_label = QLabel()
        self.legend_label.setWordWrap(True)
        self.info_label = QLabel()
        self.info_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plot = PlddtPlot()

        backend_row = QHBoxLayout()
        backend_row.addWidget(QLabel("Backend:"))
        backend_row.addWidget(self.backend_combo)
        self.device_label = QLabel("Device:")
        backend_row.addWidget(self.device_label)
        backend_row.addWidget(self.device_combo)
        backend_row.addStretch(1)

        # The backend's own options get a row of their own, so the panel stays narrow.
        options_row = QHBoxLayout()
        options_row.addWidget(self.esmfold_options, 1)
        options_row.addWidget(self.hf_options, 1)

        action_row = QHBoxLayout()
        for button in (self.fold_button, self.fold_all_button, self.cancel_button):
            action_row.addWidget(button)
        action_row.addWidget(self.progress, 1)
        action_row.addStretch(0)
        action_row.addWidget(self.open_button)
        action_row.addWidget(self.export_button)

        color_row = QHBoxLayout()
        color_row.addWidget(QLabel("Colour by:"))
        color_row.addWidget(self.color_combo)
        color_row.addWidget(self.legend_label, 1)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.view_stack, 1)
        top_layout.addLayout(color_row)
        top_layout.addWidget(self.info_label)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.plot)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(backend_row)
        layout.addLayout(options_row)
        layout.addWidget(self.remote_options)
        layout.addWidget(self.remote_banner)
        layout.addLayout(action_row)
        layout.addWidget(self.status_label)
        layout.addWidget(self.splitter, 1)
        self._show_placeholder("Select a candidate, then press Fold selected, or open a PDB or mmCIF file.")

    def _connect(self) -> None:
        self.backend_combo.currentIndexChanged.connect(self._on_backend_changed)
        self.consent_check.toggled.connect(self._on_backend_changed)
        self.url_edit.textChanged.connect(self._on_backend_changed)
        self.fold_button.clicked.connect(self.fold_selected)
        self.fold_all_button.clicked.connect(lambda: self.fold_all(self._candidate_sequences))
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button.clicked.connect(self._choose_file_to_open)
        self.export_button.clicked.connect(self._choose_export_file)
        self.color_combo.currentIndexChanged.connect(self._on_color_changed)
        self.plot.residueHovered.connect(self._on_plot_hovered)
        self.plot.residueClicked.connect(self._on_plot_clicked)
        self.view.failed.connect(self._on_view_failed)

    # Public API ---------------------------------------------------------------

    def set_candidate(self, sequence: str, filled: list[int]) -> None:
        """Select a candidate: show its structure if one is cached, else offer to fold it.

        ``filled`` are the 0-based indices of the residues the model infilled.
        """
        self._sequence = sequence.upper()
        self._filled = sorted(set(int(index) for index in filled))
        structure = self._structures.get(self._sequence)
        if structure is not None:
            self._show(structure, self._filled, self._title_for(structure))
        elif self._is_busy_with(self._sequence):
            self._show_placeholder("Folding this candidate…")
        else:
            self._show_placeholder(f"This candidate ({len(self._sequence)} residues) is not folded yet: "
                                   "press Fold selected.")
        self._update_buttons()

    def set_candidates(self, sequences: list[str]) -> None:
        """Give the sequences that Fold all folds, and show the Fold all button when there are any."""
        self._candidate_sequences = [sequence.upper() for sequence in sequences]
        self.fold_all_button.setVisible(bool(self._candidate_sequences))
        self._update_buttons()

    def add_structure(self, sequence: str, pdb_text: str, backend: str, ptm: float | None = None) -> Structure:
        """Cache a structure from elsewhere (e.g. the run history) without announcing it; return it."""
        structure = structure_from_pdb(pdb_text, backend=backend, ptm=ptm)
        self._store(sequence.upper(), structure)
        return structure

    def structure_for(self, sequence: str) -> Structure | None:
        """Return the cached structure of ``sequence``, or None."""
        return self._structures.get(sequence.upper())

    def fold_selected(self) -> None:
        """Fold the selected candidate, unless its structure is cached already."""
        if self._sequence is not None:
            self.fold_all([self._sequence])

    def fold_all(self, sequences: list[str]) -> None:
        """Fold every sequence of ``sequences`` that has no cached structure, in one worker."""
        if self.is_folding():
            self._set_status("A fold is running: wait for it or press Cancel.", error=True)
            return
        pending = list(dict.fromkeys(sequence.upper() for sequence in sequences
                                     if sequence.upper() not in self._structures))
        if not pending:
            self._set_status("All of these candidates are folded already.")
            return
        try:
            backend = self._current_backend()
        except (ValueError, FoldError) as error:
            self._set_status(str(error), error=True)
            return

        self._failures = []
        self._worker = FoldWorker(backend, pending)
        self._worker.status.connect(self._on_worker_status)
        self._worker.folded.connect(self._on_folded)
        self._worker.failed.connect(self._on_failed)
        self._worker.finished.connect(self._on_worker_finished)
        self.progress.setRange(0, len(pending))
        self.progress.setValue(0)
        self.progress.show()
        self._thread = start_worker(self._worker)
        if self._sequence in pending:
            self._show_placeholder("Folding this candidate…")
        self._update_buttons()

    def cancel(self) -> None:
        """Stop folding after the fold that is running."""
        if self._worker is not None:
            self._worker.cancel()
            self._set_status("Cancelling: the fold that is running will finish first…")
            self.cancel_button.setEnabled(False)

    def is_folding(self) -> bool:
        return self._thread is not None

    def highlight_residue(self, index: int) -> None:
        """Highlight residue ``index`` (0-based) in the 3D view and the plot; -1 clears the highlight."""
        self._pinned = index if self._shown is not None and 0 <= index < len(self._shown_labels) else -1
        self._apply_highlight(self._pinned)

    def open_structure_file(self, path: str | Path) -> Structure | None:
        """Show a PDB or mmCIF file; it becomes the selected candidate's structure when the sequences match."""
        try:
            structure = read_structure_file(path)
        except FoldError as error:
            self._set_status(str(error), error=True)
            return None

        name = Path(path).name
        if self._sequence is not None and structure.sequence == self._sequence:
            self._store(self._sequence, structure)
            self._announce(self._sequence, structure)
            self._show(structure, self._filled, f"{name} (matches the selected candidate)")
        else:
            self._show(structure, [], name)
        self._set_status(f"Opened {path}" + ("" if structure.plddt else
                                             ": its B-factors are not pLDDT values, so it is coloured by chain"))
        return structure

    def export_pdb(self, path: str | Path) -> bool:
        """Write the structure on display as PDB; returns False (with a status message) when it cannot."""
        if self._shown is None:
            self._set_status("No structure to export: fold a candidate or open a file first.", error=True)
            return False
        try:
            Path(path).write_text(self._shown.pdb)
        except OSError as error:
            self._set_status(f"Cannot write {path}: {error.strerror}", error=True)
            return False
        self._set_status(f"Structure written to {path}")
        return True

    def remote_folding_enabled(self) -> bool:
        """Return whether folding now sends sequences to a server."""
        return self.backend_combo.currentData() == "remote" and self.consent_check.isChecked()

    def shown_structure(self) -> Structure | None:
        return self._shown

    def shutdown(self) -> None:
        """Cancel folding and wait for the worker thread; call before the window closes."""
        if self._worker is not None:
            self._worker.cancel()
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
            self._thread = None
        self._worker = None
        self.view.cleanup()

    # Backends -----------------------------------------------------------------

    def _backend_options(self) -> tuple[str, dict]:
        name = self.backend_combo.currentData()
        device = self.device_combo.currentText()
        if name == "esmfold":
            return name, {"weights_dir": self.weights_edit.text().strip() or None, "device": device}
        if name == "hf":
            return name, {"model": self.model_edit.text().strip() or DEFAULT_MODEL, "device": device}
        return name, {"url": self.url_edit.text().strip(), "max_residues": self.max_residues_spin.value()}

    def _current_backend(self):
        name, options = self._backend_options()
        if name == "remote" and not self.consent_check.isChecked():
            raise ValueError("Remote folding is off: tick 'Send sequences to this server' to allow it.")
        key = (name, tuple(sorted(options.items())))
        if key != self._backend_key:
            # A new backend drops the old one, and with it any model it had loaded.
            self._backend = create_backend(name, **options)
            self._backend_key = key
        return self._backend

    def _on_backend_changed(self, *_):
        name = self.backend_combo.currentData()
        for backend, options in self.backend_options.items():
            options.setVisible(backend == name)
        self.device_label.setVisible(name != "remote")
        self.device_combo.setVisible(name != "remote")

        remote = self.remote_folding_enabled()
        if remote:
            url = self.url_edit.text().strip()
            parts = urllib.parse.urlsplit(url)
            text = f"Remote folding is on: each sequence you fold is sent to {parts.hostname or url}."
            if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
                text += " The connection is not encrypted (http)."
            self.remote_banner.setText(text)
        self.remote_banner.setVisible(remote)
        self.remoteFoldingChanged.emit(remote)
        self._update_buttons()

    # Worker results -----------------------------------------------------------

    def _on_worker_status(self, done: int, total: int, text: str) -> None:
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} of {total} folded")
        if not self._worker or not self._worker.cancelled:
            self._set_status(text)

    def _on_folded(self, sequence: str, structure: Structure) -> None:
        self._store(sequence, structure)
        self.progress.setValue(self.progress.value() + 1)
        self._announce(sequence, structure)
        if sequence == self._sequence:
            self._show(structure, self._filled, self._title_for(structure))

    def _on_failed(self, sequence: str, message: str) -> None:
        self._failures.append(message)
        self.foldFailed.emit(sequence, message)
        if sequence == self._sequence:
            self._show_placeholder("Folding this candidate failed: see the message above.")
        self._set_status(message, error=True)

    def _on_worker_finished(self, cancelled: bool) -> None:
        thread = self._thread
        self._thread = None
        self._worker = None
        if thread is not None:
            thread.quit()
            thread.wait()
            thread.deleteLater()
        self.progress.hide()
        if cancelled:
            self._set_status("Folding cancelled.")
            if self._sequence is not None and self._sequence not in self._structures:
                self._show_placeholder("Folding was cancelled: press Fold selected to fold this candidate.")
        elif self._failures:
            count = len(self._failures)
            self._set_status(("1 fold failed: " if count == 1 else f"{count} folds failed; the last: ")
                             + self._failures[-1], error=True)
        else:
            self._set_status("Folding finished.")
        self._update_buttons()

    def _store(self, sequence: str, structure: Structure) -> None:
        self._structures[sequence] = structure

    def _announce(self, sequence: str, structure: Structure) -> None:
        ptm = math.nan if structure.ptm is None else float(structure.ptm)
        self.structureReady.emit(sequence, float(structure.mean_plddt), ptm, structure.pdb, structure.backend)

    def _is_busy_with(self, sequence: str) -> bool:
        return self._worker is not None and sequence in self._worker.sequences

    # Display ------------------------------------------------------------------

    def _title_for(self, structure: Structure) -> str:
        return BACKEND_LABELS.get(structure.backend, structure.backend)

    def _show(self, structure: Structure, filled: list[int], title: str) -> None:
        residues = parse_residues(structure.pdb)
        self._shown = structure
        self._shown_filled = [index for index in filled if 0 <= index < len(residues)]
        self._shown_title = title
        self._shown_labels = [f"{r.letter}{i + 1}" + (f" · pLDDT {structure.plddt[i]:.1f}" if structure.plddt else "")
                              for i, r in enumerate(residues)]
        self._pinned = -1

        self.view_stack.setCurrentWidget(self.view)
        self.view.show_structure(structure, self._shown_filled, self.color_combo.currentData())
        self.plot.set_data(structure.plddt, self._shown_filled, self._shown_labels)
        self.plot.show()
        self._update_info()
        self._update_legend()
        self._update_buttons()

    def _show_placeholder(self, text: str) -> None:
        self._shown = None
        self._shown_labels = []
        self._pinned = -1
        self.placeholder.setText(text)
        self.view_stack.setCurrentWidget(self.placeholder)
        self.plot.clear_data()
        self.plot.hide()
        self.info_label.clear()
        self._update_legend()
        self._update_buttons()

    def _update_info(self) -> None:
        structure = self._shown
        if structure is None:
            self.info_label.clear()
            return
        parts = [self._shown_title, f"{len(self._shown_labels)} residues"]
        if structure.plddt:
            parts.append(f"mean pLDDT {structure.mean_plddt:.1f}")
        if structure.ptm is not None:
            parts.append(f"pTM {structure.ptm:.3f}")
        if structure.seconds > 0:
            parts.append(f"{structure.seconds:.1f} s")
        if self._shown_filled:
            parts.append(f"{len(self._shown_filled)} infilled")
        self.info_label.setText("  ·  ".join(parts))

    def _update_legend(self) -> None:
        if self._shown is None:
            self.legend_label.clear()
            return
        chains = len({residue.chain for residue in parse_residues(self._shown.pdb)})
        self.legend_label.setText(legend_html(self.color_combo.currentData(), bool(self._shown.plddt), chains))

    def _update_buttons(self) -> None:
        busy = self.is_folding()
        remote_blocked = self.backend_combo.currentData() == "remote" and not self.consent_check.isChecked()
        can_fold = not busy and not remote_blocked
        self.fold_button.setEnabled(can_fold and self._sequence is not None
                                    and self._sequence not in self._structures)
        self.fold_all_button.setEnabled(can_fold and any(sequence not in self._structures
                                                         for sequence in self._candidate_sequences))
        tip = ("Tick 'Send sequences to this server' to fold remotely" if remote_blocked
               else "Predict the structure of the selected candidate")
        self.fold_button.setToolTip(tip)
        self.cancel_button.setEnabled(busy and not (self._worker and self._worker.cancelled))
        self.export_button.setEnabled(self._shown is not None)
        for widget in (self.backend_combo, self.device_combo, *self.backend_options.values()):
            widget.setEnabled(not busy)

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status_label.setStyleSheet("color: #a00000;" if error else "color: #303030;")
        self.status_label.setText(text)
        if error:
            log.warning("structure panel: %s", text)

    # Highlighting and colour --------------------------------------------------

    def _on_color_changed(self, *_):
        self.view.set_color_mode(self.color_combo.currentData())
        self._update_legend()

    def _on_plot_hovered(self, index: int) -> None:
        self._apply_highlight(index if index >= 0 else self._pinned)

    def _on_plot_clicked(self, index: int) -> None:
        self._pinned = index
        self._apply_highlight(index)
        self.residueSelected.emit(index)

    def _apply_highlight(self, index: int) -> None:
        self.plot.set_cursor(index)
        self.view.highlight_residue(index)

    def _on_view_failed(self, message: str) -> None:
        self._set_status(f"The 3D view cannot show the structure: {message}", error=True)

    # File dialogs -------------------------------------------------------------

    def _choose_file_to_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open structure", "",
                                              "Structures (*.pdb *.ent *.cif *.mmcif *.pdb.gz *.cif.gz);;"
                                              "All files (*)")
        if path:
            self.open_structure_file(path)

    def _choose_export_file(self) -> None:
        if self._shown is None:
            return
        suggested = "structure.pdb"
        if self._sequence is not None and self._shown is self._structures.get(self._sequence):
            suggested = f"candidate_{len(self._sequence)}aa_{self._shown.backend}.pdb"
        path, _ = QFileDialog.getSaveFileName(self, "Export PDB", suggested, "PDB files (*.pdb);;All files (*)")
        if path:
            self.export_pdb(path)
