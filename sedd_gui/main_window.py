"""The main window: prompt editor, model and sampling settings, live plot, candidates and history.

The window owns the engine objects and two kinds of worker thread (checkpoint loading
and sampling). Workers report through queued signals, so every widget update below
runs in the GUI thread.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QGroupBox, QHBoxLayout, QInputDialog, QLabel, QMainWindow,
                               QMenu, QProgressBar, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from core.checkpoint import LoadedModel
from core.data import DataError, FastaRecord, read_fasta
from core.prompt import PromptError, parse_prompt

from .candidate_table import CandidateTable
from .candidates import CandidateRow, build_rows
from .denoising_plot import DenoisingPlot
from .fasta import format_fasta, parse_fasta_text
from .history import HistoryStore, RunRecord, StoredCandidate, utc_now
from .history_panel import HistoryPanel, local_time
from .message_banner import MessageBanner
from .prompt_cells import FIXED, prompt_cells
from .prompt_editor import PromptEditor
from .residue_strip import ResidueStrip, sequence_cells
from .settings import RunSettings, load_run_settings, save_run_settings
from .settings_panel import SettingsPanel
from .workers import (CheckpointLoader, InfillWorker, ProgressUpdate, RunOutcome, RunRequest, start_worker,
                      stop_thread)

try:
    from .structure_panel import StructurePanel
except ImportError:
    StructurePanel = None

log = logging.getLogger(__name__)

USE_SETTINGS = object()  # MainWindow(checkpoint=...) default: the checkpoint saved in the settings


STRUCTURE_DOCK_WIDTH = 520  # pixels at start-up; the user can drag the dock wider

class MainWindow(QMainWindow):
    """The sedd-gui window. ``checkpoint`` None opens the shipped model."""

    runFinished = Signal(object)  # RunOutcome, after the run is shown and saved
    runFailed = Signal(str)
    modelChanged = Signal()  # a checkpoint finished loading, or failed to

    def __init__(self, settings: QSettings, history: HistoryStore, checkpoint=USE_SETTINGS,
                 prompt: str | None = None, show_structures: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("sedd-gui: protein infilling with discrete diffusion")
        self._settings = settings
        self._history = history
        self._values: RunSettings = load_run_settings(settings)
        self._loaded: LoadedModel | None = None
        self._model_error: str | None = None
        self._checkpoint_path: str | None = None
        self._loader: CheckpointLoader | None = None
        self._loader_thread = None
        self._worker: InfillWorker | None = None
        self._run_thread = None
        self._run_request: RunRequest | None = None
        self._run_reference: dict[int, str] = {}
        self._run_started = ""
        self._run_clock = 0.0
        self._live_filled: list[set[int]] = []
        self._live_sequences: list[str] = []
        self._current_run_id: int | None = None
        self._run_seed = 0
        self._strip_candidate = 0  # candidate number in the candidate strip, 0 when none
        self._closed = False

        self._build_widgets(show_structures and StructurePanel is not None)
        self._build_actions()
        self.settings_panel.set_values(self._values)
        self.editor.set_text(prompt if prompt is not None else self._values.prompt)
        self._refresh_history()
        if history.problem:
            self._show_history_problem(history.problem)

        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            available = self.screen().availableGeometry()
            self.resize(min(1900, int(available.width() * 0.95)), min(1100, int(available.height() * 0.95)))

        chosen = self._values.checkpoint if checkpoint is USE_SETTINGS else checkpoint
        chosen = str(chosen) if chosen is not None else None
        self.settings_panel.add_recent_checkpoint(chosen)
        self.load_checkpoint(chosen)

    # Layout -------------------------------------------------------------------

    def _build_widgets(self, show_structures: bool) -> None:
        self.banner = MessageBanner()

        self.editor = PromptEditor()
        self.editor.promptChanged.connect(self._update_run_state)
        self.editor.fastaPasted.connect(self._paste_fasta)
        open_fasta = QPushButton("Open FASTA…")
        open_fasta.setToolTip("Load a sequence from a FASTA file as the prompt")
        open_fasta.clicked.connect(lambda: self.open_fasta())
        prompt_box = QGroupBox("Prompt")
        prompt_layout = QHBoxLayout(prompt_box)
        prompt_layout.addWidget(self.editor, 1)
        prompt_buttons = QVBoxLayout()
        prompt_buttons.addWidget(open_fasta)
        prompt_buttons.addStretch(1)
        prompt_layout.addLayout(prompt_buttons)

        self.settings_panel = SettingsPanel()
        self.settings_panel.checkpointRequested.connect(self.load_checkpoint)
        self.history_panel = HistoryPanel()
        self.history_panel.openRequested.connect(self.open_history_run)
        self.history_panel.deleteRequested.connect(self._delete_history_run)
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(self.settings_panel, "Settings")
        self.side_tabs.addTab(self.history_panel, "History")

        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("runButton")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.start_run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_run)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("idle")
        self.progress_bar.setValue(0)
        self.run_hint = QLabel()
        self.run_hint.setObjectName("runHint")
        self.run_hint.setWordWrap(True)
        self.run_hint.setStyleSheet("color: #8a5a00;")
        run_buttons = QHBoxLayout()
        run_buttons.addWidget(self.run_button, 1)
        run_buttons.addWidget(self.cancel_button, 1)
        run_box = QWidget()
        run_layout = QVBoxLayout(run_box)
        run_layout.setContentsMargins(4, 0, 4, 4)
        run_layout.addLayout(run_buttons)
        run_layout.addWidget(self.progress_bar)
        run_layout.addWidget(self.run_hint)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.side_tabs, 1)
        left_layout.addWidget(run_box)

        self.plot = DenoisingPlot()
        self.candidate_label = QLabel("Selected candidate")
        self.candidate_strip = ResidueStrip(editable=False)
        self.candidate_strip.setObjectName("candidateStrip")
        self.candidate_strip.set_placeholder("Run the model to see a candidate fill in here.")
        self.candidate_strip.cellHovered.connect(self._strip_cell_hovered)
        self.candidate_strip.cellClicked.connect(self._strip_cell_clicked)
        self.table = CandidateTable()
        self.table.currentCandidateChanged.connect(self._show_candidate)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._table_menu)

        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the selected sequences, one per line")
        self.copy_button.clicked.connect(self.copy_selected)
        self.export_all_button = QPushButton("Export all…")
        self.export_all_button.clicked.connect(lambda: self.export_fasta(selected_only=False))
        self.export_selected_button = QPushButton("Export selected…")
        self.export_selected_button.clicked.connect(lambda: self.export_fasta(selected_only=True))
        self.use_as_prompt_button = QPushButton("Use as prompt")
        self.use_as_prompt_button.setToolTip("Make the selected candidate the new prompt, to mask and infill again")
        self.use_as_prompt_button.clicked.connect(self.use_selected_as_prompt)
        table_buttons = QHBoxLayout()
        for button in (self.copy_button, self.export_all_button, self.export_selected_button,
                       self.use_as_prompt_button):
            table_buttons.addWidget(button)
        table_buttons.addStretch(1)

        candidates = QWidget()
        candidates_layout = QVBoxLayout(candidates)
        candidates_layout.setContentsMargins(0, 0, 0, 0)
        candidates_layout.addWidget(self.candidate_label)
        candidates_layout.addWidget(self.candidate_strip)
        candidates_layout.addWidget(self.table, 1)
        candidates_layout.addLayout(table_buttons)

        results = QSplitter(Qt.Orientation.Vertical)
        results.addWidget(self.plot)
        results.addWidget(candidates)
        results.setStretchFactor(0, 2)
        results.setStretchFactor(1, 3)

        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(left)
        body.addWidget(results)
        body.setStretchFactor(0, 0)
        body.setStretchFactor(1, 1)
        body.setSizes([340, 1100])

        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(6, 6, 6, 6)
        central_layout.addWidget(self.banner)
        central_layout.addWidget(prompt_box)
        central_layout.addWidget(body, 1)
        self.setCentralWidget(central)

        self.structure_panel = None
        self.structure_dock = None
        if show_structures:
            self.structure_panel = StructurePanel()
            self.structure_panel.structureReady.connect(self._structure_ready)
            self.structure_panel.residueSelected.connect(self._structure_residue_selected)
            dock = QDockWidget("Structure", self)
            dock.setObjectName("structureDock")
            dock.setWidget(self.structure_panel)
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            self.structure_dock = dock
            # Leave most of the width to the prompt, plot and candidate table.
            self.resizeDocks([dock], [STRUCTURE_DOCK_WIDTH], Qt.Orientation.Horizontal)

        self.statusBar().showMessage("Ready")

    def _build_actions(self) -> None:
        self.run_action = QAction("&Run", self)
        self.run_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.run_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.run_action.triggered.connect(self.start_run)
        self.cancel_action = QAction("&Cancel run", self)
        self.cancel_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_action.triggered.connect(self.cancel_run)
        self.cancel_action.setEnabled(False)

        open_fasta = QAction("Open &FASTA…", self)
        open_fasta.setShortcut(QKeySequence.StandardKey.Open)
        open_fasta.triggered.connect(lambda: self.open_fasta())
        open_checkpoint = QAction("Open &checkpoint…", self)
        open_checkpoint.triggered.connect(self.settings_panel.choose_directory)
        export_all = QAction("&Export all candidates…", self)
        export_all.triggered.connect(lambda: self.export_fasta(selected_only=False))
        export_selected = QAction("Export &selected candidates…", self)
        export_selected.setShortcut(QKeySequence("Ctrl+E"))
        export_selected.triggered.connect(lambda: self.export_fasta(selected_only=True))
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        copy = QAction("&Copy selected sequences", self)
        copy.setShortcut(QKeySequence("Ctrl+Shift+C"))
        copy.triggered.connect(self.copy_selected)
        use = QAction("&Use selected as prompt", self)
        use.setShortcut(QKeySequence("Ctrl+U"))
        use.triggered.connect(self.use_selected_as_prompt)

        file_menu = self.menuBar().addMenu("&File")
        for action in (open_fasta, open_checkpoint, None, export_all, export_selected, None, quit_action):
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        run_menu = self.menuBar().addMenu("&Run")
        run_menu.addAction(self.run_action)
        run_menu.addAction(self.cancel_action)
        candidates_menu = self.menuBar().addMenu("&Candidates")
        candidates_menu.addAction(copy)
        candidates_menu.addAction(use)
        if self.structure_dock is not None:
            view_menu = self.menuBar().addMenu("&View")
            toggle = self.structure_dock.toggleViewAction()
            toggle.setText("&Structure panel")
            view_menu.addAction(toggle)
        self.addAction(self.run_action)
        self.addAction(self.cancel_action)

    # Checkpoints --------------------------------------------------------------

    def load_checkpoint(self, directory: str | None) -> None:
        """Load a checkpoint directory (None: the shipped model) in a worker thread."""
        if self.is_running() or self._loader_thread is not None:
            return
        self._checkpoint_path = directory
        self._loaded = None
        self._model_error = None
        self.editor.set_model_length(None)
        self.settings_panel.show_loading(directory)
        self.settings_panel.set_checkpoint_enabled(False)
        self._update_run_state()
        self._loader = CheckpointLoader(directory)
        self._loader.loaded.connect(self._model_loaded)
        self._loader.failed.connect(self._model_failed)
        self._loader_thread = start_worker(self._loader)

    def _finish_loading(self) -> None:
        stop_thread(self._loader_thread)
        self._loader_thread = None
        self._loader = None
        self.settings_panel.set_checkpoint_enabled(True)

    def _model_loaded(self, loaded: LoadedModel) -> None:
        self._finish_loading()
        self._loaded = loaded
        self._values.checkpoint = self._checkpoint_path
        self.settings_panel.show_model(loaded)
        self.editor.set_model_length(loaded.config.max_length)
        self.statusBar().showMessage(f"Model {loaded.name} loaded from {loaded.path}", 5000)
        self._update_run_state()
        self.modelChanged.emit()

    def _model_failed(self, message: str) -> None:
        self._finish_loading()
        self._model_error = message
        self.settings_panel.show_model_error(message)
        self.banner.show_message(f"The model could not be loaded: {message}. "
                                 "Open another checkpoint in Settings → Model.", "error")
        self._update_run_state()
        self.modelChanged.emit()

    def model(self) -> LoadedModel | None:
        return self._loaded

    def model_error(self) -> str | None:
        return self._model_error

    # Run state ----------------------------------------------------------------

    def is_running(self) -> bool:
        return self._run_thread is not None

    def run_blocker(self) -> str | None:
        """Return why Run is disabled, or None when a run can start."""
        if self.is_running():
            return "A run is in progress."
        if self._loaded is None:
            if self._model_error is not None:
                return "No model is loaded: open a checkpoint in Settings → Model."
            return "Loading the model…"
        return self.editor.run_blocker()

    def _update_run_state(self) -> None:
        blocker = self.run_blocker()
        self.run_button.setEnabled(blocker is None)
        self.run_action.setEnabled(blocker is None)
        self.run_button.setToolTip(blocker or "Start sampling (Ctrl+Return)")
        running = self.is_running()
        self.cancel_button.setEnabled(running)
        self.cancel_action.setEnabled(running)
        self.settings_panel.set_checkpoint_enabled(not running and self._loader_thread is None)
        # The prompt editor shows prompt errors itself, so the hint covers the other reasons.
        prompt_problem = self.editor.run_blocker()
        self.run_hint.setText("" if running or blocker is None or blocker == prompt_problem else blocker)

    # Running ------------------------------------------------------------------

    def start_run(self) -> None:
        """Start sampling with the current prompt and settings; does nothing while Run is disabled."""
        if self.run_blocker() is not None:
            return
        self.settings_panel.update_run_settings(self._values)
        self._values.prompt = self.editor.text()
        save_run_settings(self._settings, self._values)

        prompt = self.editor.prompt()
        values = self._values
        self._run_request = RunRequest(prompt, values.num_candidates, values.steps, values.temperature, values.seed,
                                       values.device)
        self._run_reference = self.editor.reference()
        self._run_started = utc_now()
        self._run_clock = time.monotonic()
        self._current_run_id = None
        fixed_positions = self._fixed_layout_masked(prompt)
        self._live_filled = [set(fixed_positions) for _ in range(values.num_candidates)]
        self._live_sequences = []

        self.banner.hide()
        self.plot.reset(values.num_candidates, values.steps)
        self.table.set_rows([CandidateRow(b + 1, "") for b in range(values.num_candidates)])
        self._strip_candidate = 0
        self.table.select_candidate(1)
        self.candidate_strip.set_cells([])
        self.candidate_strip.set_placeholder("Waiting for the first step…")
        self.progress_bar.setRange(0, values.steps)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat(f"step 0 / {values.steps}")

        self._worker = InfillWorker(self._loaded, self._run_request)
        self._worker.progress.connect(self._run_progress)
        self._worker.done.connect(self._run_done)
        self._worker.failed.connect(self._run_failed)
        self._run_thread = start_worker(self._worker)
        self.statusBar().showMessage(f"Sampling {values.num_candidates} candidates with {values.steps} steps…")
        self._update_run_state()

    @staticmethod
    def _fixed_layout_masked(prompt) -> list[int]:
        """Masked positions when the prompt has no variable span (the same for every candidate), else []."""
        if prompt.has_variable_spans:
            return []
        return [cell.position for cell in prompt_cells(prompt) if cell.kind != FIXED]

    def cancel_run(self) -> None:
        """Ask the sampler to stop before its next step; the partial candidates are kept."""
        if self._worker is None:
            return
        self._worker.cancel()
        self.cancel_button.setEnabled(False)
        self.cancel_action.setEnabled(False)
        self.statusBar().showMessage("Cancelling after the current step…")

    def _run_progress(self, update: ProgressUpdate) -> None:
        if self._closed or self._worker is None:
            return
        self.plot.append(update.steps, update.masked)
        step = update.steps[-1]
        self.progress_bar.setValue(step)
        left = update.elapsed_s / step * (update.total_steps - step)
        self.progress_bar.setFormat(f"step {step} / {update.total_steps} · about {_format_seconds(left)} left")

        for filled, sequence in zip(self._live_filled, update.sequences):
            filled.update(i for i, letter in enumerate(sequence) if letter == "_")
        self._live_sequences = update.sequences
        self.table.source.update_sequences(update.sequences, [frozenset(f) for f in self._live_filled])
        self._show_candidate(self.table.current_candidate())

    def _run_done(self, outcome: RunOutcome) -> None:
        if self._closed:
            return
        self._finish_run()
        result = outcome.result
        prompt = result.prompt
        rows = build_rows(result.candidates, prompt.fixed_residues, self._run_reference)
        self.table.set_rows(rows)
        if not self.table.current_candidate():
            self.table.select_candidate(1)
        self._offer_structures(rows)
        self._show_candidate(self.table.current_candidate())
        self._save_run(outcome)

        if result.cancelled:
            self.progress_bar.setFormat(f"cancelled at step {result.steps_done} / {result.steps}")
            self.statusBar().showMessage(
                f"Run cancelled at step {result.steps_done} of {result.steps}: the partial candidates are kept, "
                "'_' marks residues that were still masked.")
        else:
            self.progress_bar.setValue(result.steps)
            self.progress_bar.setFormat(f"done: {result.steps} steps in {_format_seconds(outcome.elapsed_s)}")
            self.statusBar().showMessage(
                f"Finished {len(result.candidates)} candidates in {_format_seconds(outcome.elapsed_s)} "
                f"on {outcome.device} ({result.forward_calls} network calls).")
        self.runFinished.emit(outcome)

    def _run_failed(self, message: str) -> None:
        if self._closed:
            return
        self._finish_run()
        self.progress_bar.setFormat("failed")
        self.banner.show_message(message, "error")
        self.statusBar().showMessage("The run failed; see the message at the top.")
        self.runFailed.emit(message)

    def _finish_run(self) -> None:
        stop_thread(self._run_thread)
        self._run_thread = None
        self._worker = None
        self.candidate_strip.set_placeholder("Select a candidate to see its residues.")
        self._update_run_state()

    def _save_run(self, outcome: RunOutcome) -> None:
        result = outcome.result
        request = self._run_request
        record = RunRecord(
            prompt=result.prompt.text, reference=self._run_reference,
            checkpoint_path=str(self._loaded.path), checkpoint_name=self._loaded.name,
            num_candidates=request.num_candidates, steps=request.steps, temperature=request.temperature,
            seed=request.seed, device=outcome.device, steps_done=result.steps_done, cancelled=result.cancelled,
            started=self._run_started, finished=utc_now(), elapsed_s=outcome.elapsed_s,
            candidates=[StoredCandidate(c.index, c.sequence, list(c.filled), c.score, c.complete)
                        for c in result.candidates],
            trajectory=outcome.trajectory)
        problem_before = self._history.problem
        self._current_run_id = self._history.add_run(record)
        self._run_seed = request.seed
        if self._history.problem and self._history.problem != problem_before:
            self._show_history_problem(self._history.problem)
        self._refresh_history()

    # Candidates ---------------------------------------------------------------

    def _show_candidate(self, candidate: int) -> None:
        if candidate != self._strip_candidate:
            self.candidate_strip.set_marked_cell(-1)
            self._strip_candidate = candidate
        row = self.table.source.row_for_candidate(candidate) if candidate else None
        if row is None or not row.sequence:
            self.candidate_label.setText("Selected candidate")
            self.candidate_strip.set_cells([])
            return
        state = f"rank {row.rank}, score {row.score:.3f}" if row.rank is not None else (
            "running" if self.is_running() else "incomplete")
        self.candidate_label.setText(f"Candidate {row.index} ({state}): {row.length} residues, "
                                     f"{len(row.filled)} filled by the model (underlined)")
        self.candidate_strip.set_cells(sequence_cells(row.sequence, row.filled))
        if self.structure_panel is not None and not self.is_running() and "_" not in row.sequence:
            self.structure_panel.set_candidate(row.sequence, sorted(row.filled))
            # set_candidate clears the panel's highlight, so re-apply the strip's mark, e.g. one set during the run.
            self._highlight_strip_cell(self.candidate_strip.marked_cell())

    # Residue highlight between the candidate strip and the structure panel ----

    def _strip_cell_hovered(self, cell: int) -> None:
        """Highlight the hovered residue in 3D. Leaving the strip returns the highlight to the marked residue."""
        self._highlight_strip_cell(cell if cell >= 0 else self.candidate_strip.marked_cell())

    def _strip_cell_clicked(self, cell: int) -> None:
        self.candidate_strip.set_marked_cell(cell)
        self._highlight_strip_cell(cell)

    def _structure_residue_selected(self, position: int) -> None:
        """Mark in the strip the residue clicked in the pLDDT plot, when the plot shows this candidate."""
        if self._structure_shows_strip():
            self.candidate_strip.set_marked_cell(self.candidate_strip.cell_for_position(position))

    def _highlight_strip_cell(self, cell: int) -> None:
        """Highlight the residue of strip cell ``cell`` in the structure panel. Cell -1 clears the highlight."""
        if self.structure_panel is None or not self._structure_shows_strip():
            return
        cells = self.candidate_strip.cells()
        position = cells[cell].position if 0 <= cell < len(cells) else None
        self.structure_panel.highlight_residue(-1 if position is None else position)

    def _structure_shows_strip(self) -> bool:
        """Return whether the structure panel shows the structure of the sequence in the candidate strip."""
        if self.structure_panel is None:
            return False
        shown = self.structure_panel.shown_structure()
        sequence = "".join(cell.label for cell in self.candidate_strip.cells())
        return shown is not None and shown is self.structure_panel.structure_for(sequence)

    def _table_menu(self, point) -> None:
        menu = QMenu(self)
        menu.addAction("Copy sequences", self.copy_selected)
        menu.addAction("Copy as FASTA", lambda: self.copy_selected(as_fasta=True))
        menu.addAction("Export selected…", lambda: self.export_fasta(selected_only=True))
        menu.addAction("Use as prompt", self.use_selected_as_prompt)
        menu.exec(self.table.viewport().mapToGlobal(point))

    def _fasta_records(self, rows: list[CandidateRow]) -> list[FastaRecord]:
        records = []
        for row in rows:
            parts = [f"candidate_{row.index}"]
            if row.rank is not None:
                parts.append(f"rank={row.rank}")
            if row.score is not None:
                parts.append(f"score={row.score:.4f}")
            parts += [f"length={row.length}", f"filled={len(row.filled)}", f"seed={self._run_seed}"]
            if self._current_run_id is not None:
                parts.append(f"run={self._current_run_id}")
            records.append(FastaRecord(" ".join(parts), row.sequence))
        return records

    def copy_selected(self, as_fasta: bool = False) -> None:
        rows = [row for row in self.table.selected_rows() if row.sequence]
        if not rows:
            self.statusBar().showMessage("Select candidates in the table to copy them.", 5000)
            return
        text = format_fasta(self._fasta_records(rows)) if as_fasta else "\n".join(row.sequence for row in rows) + "\n"
        QGuiApplication.clipboard().setText(text)
        self.statusBar().showMessage(f"Copied {len(rows)} sequence(s).", 5000)

    def export_fasta(self, path: str | Path | None = None, selected_only: bool = False) -> Path | None:
        """Write all (or the selected) candidates as FASTA to ``path``, asking for a file when it is None."""
        rows = self.table.selected_rows() if selected_only else self.table.rows_in_view_order()
        rows = [row for row in rows if row.sequence]
        if not rows:
            missing_step = "Select candidates" if selected_only else "Run the model"
            self.statusBar().showMessage(f"Nothing to export: {missing_step} first.", 5000)
            return None
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Export candidates as FASTA", "candidates.fasta",
                                                    "FASTA files (*.fasta *.fa *.faa);;All files (*)")
            if not chosen:
                return None
            path = chosen
        path = Path(path)
        try:
            path.write_text(format_fasta(self._fasta_records(rows)))
        except OSError as error:
            self.banner.show_message(f"Could not write {path}: {error.strerror or error}. "
                                     "Choose another folder or file name.", "error")
            return None
        self.statusBar().showMessage(f"Exported {len(rows)} candidate(s) to {path}", 5000)
        return path

    def use_selected_as_prompt(self) -> None:
        candidate = self.table.current_candidate()
        row = self.table.source.row_for_candidate(candidate) if candidate else None
        if row is None or not row.sequence:
            self.statusBar().showMessage("Select a candidate to use it as the prompt.", 5000)
            return
        reference = {i: letter for i, letter in enumerate(row.sequence) if letter != "_"}
        self.editor.set_text(row.sequence, reference)
        self.statusBar().showMessage(f"Candidate {row.index} is now the prompt: click cells to mask residues.", 5000)

    # FASTA input --------------------------------------------------------------

    def choose_record(self, records: list[FastaRecord]) -> int | None:
        """Ask which record to use; return its index, or None when the user cancels."""
        items = [f"{record.header} ({len(record.sequence)} residues)" for record in records]
        item, accepted = QInputDialog.getItem(self, "Choose a sequence",
                                              f"The FASTA text has {len(records)} records:", items, 0, False)
        return items.index(item) if accepted else None

    def _use_records(self, records: list[FastaRecord], source: str) -> None:
        index = 0 if len(records) == 1 else self.choose_record(records)
        if index is None:
            return
        record = records[index]
        self.editor.set_sequence(record.sequence)
        self.statusBar().showMessage(f"Prompt set to {record.header} from {source}: click cells to mask residues.",
                                     8000)

    def open_fasta(self, path: str | Path | None = None) -> None:
        """Load a FASTA record as the prompt, asking for a file when ``path`` is None."""
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(self, "Open a FASTA file", "",
                                                    "FASTA files (*.fasta *.fa *.faa *.fas *.gz);;All files (*)")
            if not chosen:
                return
            path = chosen
        try:
            records = read_fasta(path)
        except DataError as error:
            self.banner.show_message(f"Could not open the FASTA file: {error}", "error")
            return
        self._use_records(records, Path(path).name)

    def _paste_fasta(self, text: str) -> None:
        try:
            records = parse_fasta_text(text, "The pasted text")
        except ValueError as error:
            self.banner.show_message(str(error), "error")
            return
        self._use_records(records, "the clipboard")

    # History ------------------------------------------------------------------

    def history(self) -> HistoryStore:
        return self._history

    def _refresh_history(self) -> None:
        self.history_panel.set_runs(self._history.list_runs())

    def _show_history_problem(self, message: str) -> None:
        self.history_panel.set_problem(message)
        self.banner.show_message(message, "warning")

    def _delete_history_run(self, run_id: int) -> None:
        self._history.delete_run(run_id)
        if self._current_run_id == run_id:
            self._current_run_id = None
        self._refresh_history()

    def open_history_run(self, run_id: int) -> None:
        """Show a stored run: its prompt, settings, plot and candidates, with any predicted structures."""
        if self.is_running():
            self.statusBar().showMessage("Wait for the run to finish or cancel it before opening another.", 5000)
            return
        try:
            record = self._history.load_run(run_id)
        except KeyError as error:
            self.banner.show_message(str(error), "error")
            return
        self.editor.set_text(record.prompt, record.reference)
        self.settings_panel.candidates_spin.setValue(record.num_candidates)
        self.settings_panel.steps_spin.setValue(record.steps)
        self.settings_panel.temperature_spin.setValue(record.temperature)
        self.settings_panel.seed_spin.setValue(record.seed)

        try:
            fixed = parse_prompt(record.prompt).fixed_residues
        except PromptError:
            fixed = ""
        rows = build_rows(record.candidates, fixed, record.reference)
        self._current_run_id = run_id
        self._run_seed = record.seed
        self.table.set_rows(rows)
        self._strip_candidate = 0
        for structure in self._history.structures(run_id):
            self.table.source.set_structure_scores(structure.sequence, structure.mean_plddt, structure.ptm)
            if self.structure_panel is not None:
                self.structure_panel.add_structure(structure.sequence, structure.pdb_text, structure.backend,
                                                   structure.ptm)
        self._offer_structures(rows)
        self.plot.show_trajectory(record.trajectory, record.steps)
        self.table.select_candidate(1)
        self._show_candidate(self.table.current_candidate())
        self.progress_bar.setRange(0, record.steps)
        self.progress_bar.setValue(record.steps_done)
        state = "cancelled" if record.cancelled else "finished"
        self.progress_bar.setFormat(f"run {run_id}: {state} at step {record.steps_done} / {record.steps}")
        note = ""
        if self._loaded is not None and str(self._loaded.path) != record.checkpoint_path:
            note = f" It was sampled with {record.checkpoint_name} ({record.checkpoint_path})."
        self.statusBar().showMessage(f"Showing run {run_id} from {local_time(record.started)}.{note}")

    def current_run_id(self) -> int | None:
        return self._current_run_id

    # Structures ---------------------------------------------------------------

    def _offer_structures(self, rows: list[CandidateRow]) -> None:
        """Give the structure panel the complete candidates, for its Fold all button."""
        if self.structure_panel is not None:
            self.structure_panel.set_candidates([row.sequence for row in rows if row.complete])

    def _structure_ready(self, sequence: str, mean_plddt: float, ptm: float, pdb_text: str, backend: str) -> None:
        """Fill pLDDT and pTM of the folded candidate and store the structure with the current run."""
        plddt_value = mean_plddt if math.isfinite(mean_plddt) else None
        ptm_value = ptm if math.isfinite(ptm) else None
        self.table.source.set_structure_scores(sequence, plddt_value, ptm_value)
        if self._current_run_id is not None:
            self._history.add_structure(self._current_run_id, sequence, pdb_text, plddt_value, ptm_value, backend)

    # Closing ------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop the workers, save what a running sampler has so far, and store the settings."""
        if self._worker is not None:
            worker = self._worker
            worker.cancel()
            stop_thread(self._run_thread)
            if worker.outcome is not None:
                self._save_run(worker.outcome)
        self._run_thread = None
        self._worker = None
        stop_thread(self._loader_thread)
        self._loader_thread = None
        if self.structure_panel is not None:
            self.structure_panel.shutdown()
        self._closed = True

        self.settings_panel.update_run_settings(self._values)
        self._values.prompt = self.editor.text()
        save_run_settings(self._settings, self._values)
        self._settings.setValue("window/geometry", self.saveGeometry())
        self._settings.sync()
        self._history.close()
        super().closeEvent(event)


def _format_seconds(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"
