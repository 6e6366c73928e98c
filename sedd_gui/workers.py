"""Worker objects that run the engine off the GUI thread and report through signals.

Each worker lives in its own QThread. It never touches a widget: progress, results and
errors leave the thread as queued signals, and the window's slots update widgets in
the GUI thread. Sampling progress is coalesced here, in the worker thread, so that at
most one update per ``PROGRESS_INTERVAL_S`` crosses to the GUI however fast the steps
are, and the plot can never slow the sampler down.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PySide6.QtCore import QObject, QThread, Signal, Slot

from core.alphabet import decode_residues
from core.checkpoint import CheckpointError, LoadedModel, load_checkpoint
from core.device import resolve_device
from core.infill import InfillResult, infill
from core.prompt import Prompt, PromptError
from core.sampler import StepReport

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.05  # at most about 20 progress updates per second reach the GUI


@dataclass
class RunRequest:
    """A sampling request; ``device`` is a name that ``core.device.resolve_device`` accepts."""

    prompt: Prompt
    num_candidates: int
    steps: int
    temperature: float
    seed: int
    device: str


@dataclass
class ProgressUpdate:
    """Steps reported since the previous update.

    ``steps`` are 1-based step numbers, and ``masked`` gives for each of them the masked
    positions left per candidate. ``sequences`` are the candidates' residues after the
    last of those steps, with '_' where still masked. ``elapsed_s`` counts seconds since
    the run started.
    """

    steps: list[int]
    total_steps: int
    masked: list[list[int]]
    sequences: list[str]
    elapsed_s: float


@dataclass
class RunOutcome:
    """A finished or cancelled run with its timing and the full masked-count trajectory."""

    result: InfillResult
    device: str
    elapsed_s: float
    trajectory: list[tuple[int, list[int]]] = field(default_factory=list)


class InfillWorker(QObject):
    """Runs ``core.infill.infill`` once; ``cancel`` may be called from any thread."""

    progress = Signal(object)  # ProgressUpdate
    done = Signal(object)  # RunOutcome, also for a cancelled run
    failed = Signal(str)

    def __init__(self, loaded: LoadedModel, request: RunRequest, interval_s: float = PROGRESS_INTERVAL_S):
        super().__init__()
        self._loaded = loaded
        self._request = request
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._pending_steps: list[int] = []
        self._pending_masked: list[list[int]] = []
        self._trajectory: list[tuple[int, list[int]]] = []
        self._latest_tokens: torch.Tensor | None = None
        self._total_steps = request.steps
        self._last_emit = 0.0
        self._started = 0.0
        self.outcome: RunOutcome | None = None  # set before ``done`` is emitted

    def cancel(self) -> None:
        self._stop.set()

    @Slot()
    def run(self) -> None:
        request = self._request
        self._started = time.monotonic()
        try:
            device = resolve_device(request.device)
            self._loaded.model.to(device)
            result = infill(self._loaded, request.prompt, num_candidates=request.num_candidates, steps=request.steps,
                            temperature=request.temperature, seed=request.seed, device=device,
                            on_step=self._on_step, should_stop=self._stop.is_set)
        except torch.cuda.OutOfMemoryError:
            self.failed.emit(f"The GPU ran out of memory while sampling {request.num_candidates} candidates: "
                             "ask for fewer candidates or choose the CPU device.")
            return
        except (PromptError, CheckpointError, ValueError) as error:
            self.failed.emit(f"The run could not start: {error}")
            return
        except Exception as error:  # the thread must report every failure instead of dying silently
            log.exception("infill failed")
            self.failed.emit(f"Sampling failed: {type(error).__name__}: {error}. Details are in the log.")
            return
        self._flush()
        self.outcome = RunOutcome(result, str(device), time.monotonic() - self._started, self._trajectory)
        self.done.emit(self.outcome)

    def _on_step(self, report: StepReport) -> None:
        self._pending_steps.append(report.step)
        self._pending_masked.append(list(report.masked))
        self._trajectory.append((report.step, list(report.masked)))
        self._latest_tokens = report.tokens
        self._total_steps = report.steps
        now = time.monotonic()
        if now - self._last_emit >= self._interval_s or report.step == report.steps:
            self._flush()
            self._last_emit = now

    def _flush(self) -> None:
        if not self._pending_steps:
            return
        sequences = [decode_residues(row) for row in self._latest_tokens]
        update = ProgressUpdate(self._pending_steps, self._total_steps, self._pending_masked, sequences,
                                time.monotonic() - self._started)
        self._pending_steps, self._pending_masked = [], []
        self.progress.emit(update)


class CheckpointLoader(QObject):
    """Loads a checkpoint directory on the CPU; None loads the shipped model."""

    loaded = Signal(object)  # LoadedModel
    failed = Signal(str)

    def __init__(self, directory: str | Path | None):
        super().__init__()
        self.directory = directory

    @Slot()
    def run(self) -> None:
        try:
            loaded = load_checkpoint(self.directory, device="cpu")
        except CheckpointError as error:
            self.failed.emit(str(error))
            return
        except Exception as error:  # a damaged file can raise from torch or safetensors internals
            log.exception("loading checkpoint %s failed", self.directory)
            self.failed.emit(f"Loading the checkpoint failed: {type(error).__name__}: {error}")
            return
        self.loaded.emit(loaded)


def start_worker(worker: QObject) -> QThread:
    """Move ``worker`` to a new QThread, call its ``run`` slot there and return the started thread."""
    thread = QThread()
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    thread.start()
    return thread


def stop_thread(thread: QThread | None) -> None:
    """Ask a worker thread's event loop to end and wait for it, so that the QThread can be destroyed."""
    if thread is None:
        return
    thread.quit()
    thread.wait()
