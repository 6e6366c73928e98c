"""Shared loading logic of the backends that run ESMFold in this process."""

from __future__ import annotations

import threading


class LocalModelBackend:
    """Base of local backends: loads the model once, on first use, under a lock.

    Subclasses implement ``_load_model`` and raise FoldError when it is unavailable.
    """

    def __init__(self):
        self._model = None
        self._load_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory, so that the next fold starts without loading."""
        return self._model is not None

    def load(self):
        """Load the model onto the device (once), raising FoldError when it is unavailable."""
        with self._load_lock:
            if self._model is None:
                self._model = self._load_model()
            return self._model

    def _load_model(self):
        raise NotImplementedError
