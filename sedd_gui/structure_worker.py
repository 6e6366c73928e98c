"""The folding worker: folds a list of sequences in a QThread and reports through signals."""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, QThread, Signal, Slot

from core.folding import FoldError

log = logging.getLogger(__name__)


class FoldWorker(QObject):
    """Folds ``sequences`` one after another with ``backend``; ``cancel`` may be called from any thread.

    A fold that has started runs to its end, because neither ESMFold nor an HTTP request
    can be interrupted midway. Cancelling stops the folds that have not started.
    """

    status = Signal(int, int, str)  # sequences done, total, what is happening now
    folded = Signal(str, object)  # sequence, core.folding.Structure
    failed = Signal(str, str)  # sequence, message
    finished = Signal(bool)  # True when cancelled

    def __init__(self, backend, sequences: list[str]):
        super().__init__()
        self._backend = backend
        self._sequences = list(sequences)
        self._cancel = threading.Event()

    @property
    def sequences(self) -> list[str]:
        return list(self._sequences)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @Slot()
    def run(self) -> None:
        total = len(self._sequences)
        for done, sequence in enumerate(self._sequences):
            if self._cancel.is_set():
                break
            if getattr(self._backend, "loaded", True) is False:
                self.status.emit(done, total, f"Loading {self._backend.name} model (this can take minutes)…")
            self.status.emit(done, total, f"Folding {done + 1} of {total} ({len(sequence)} residues)…")
            try:
                structure = self._backend.fold(sequence)
            except (FoldError, ValueError) as error:
                self.failed.emit(sequence, str(error))
                continue
            except Exception as error:  # noqa: BLE001 (a model crash must reach the user, not kill the thread)
                log.exception("folding %d residues failed", len(sequence))
                self.failed.emit(sequence, f"folding failed: {error!r}")
                continue
            self.folded.emit(sequence, structure)
        self.finished.emit(self._cancel.is_set())


def start_worker(worker: FoldWorker) -> QThread:
    """Move ``worker`` to a new QThread, start it, and make the thread quit when the worker finishes."""
    thread = QThread()
    thread.setObjectName("fold-worker")
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    worker.finished.connect(thread.quit)
    thread.start()
    return thread
