"""Data locations of the GUI, and the run settings that persist between launches."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
from PySide6.QtCore import QSettings

APP_NAME = "sedd-gui"
DATA_DIR_VARIABLE = "SEDD_GUI_DATA_DIR"
MAX_RECENT_CHECKPOINTS = 8


def data_dir() -> Path:
    """Return the directory for the history database: $SEDD_GUI_DATA_DIR, else the platform's user data dir."""
    override = os.environ.get(DATA_DIR_VARIABLE)
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def open_settings() -> QSettings:
    """Return the QSettings of the app; with $SEDD_GUI_DATA_DIR set, an INI file in that directory.

    The override keeps tests and benchmarks away from the user's own settings.
    """
    if os.environ.get(DATA_DIR_VARIABLE):
        return QSettings(str(data_dir() / "settings.ini"), QSettings.Format.IniFormat)
    return QSettings(APP_NAME, APP_NAME)


@dataclass
class RunSettings:
    """Settings of the next run; checkpoint None means the shipped model."""

    num_candidates: int = 8
    steps: int = 128
    temperature: float = 1.0
    seed: int = 0
    device: str = "auto"
    checkpoint: str | None = None
    recent_checkpoints: list[str] = field(default_factory=list)
    prompt: str = ""


def load_run_settings(settings: QSettings) -> RunSettings:
    """Read the run settings, falling back to defaults for missing or unreadable values."""
    defaults = RunSettings()

    def number(key: str, kind, default):
        try:
            return kind(settings.value(key, default))
        except (TypeError, ValueError):
            return default

    recent = settings.value("recent_checkpoints", [])
    if isinstance(recent, str):
        recent = [recent]
    checkpoint = settings.value("checkpoint", "") or None
    return RunSettings(
        num_candidates=number("num_candidates", int, defaults.num_candidates),
        steps=number("steps", int, defaults.steps),
        temperature=number("temperature", float, defaults.temperature),
        seed=number("seed", int, defaults.seed),
        device=str(settings.value("device", defaults.device)),
        checkpoint=str(checkpoint) if checkpoint else None,
        recent_checkpoints=[str(path) for path in recent or []][:MAX_RECENT_CHECKPOINTS],
        prompt=str(settings.value("prompt", "")),
    )


def save_run_settings(settings: QSettings, values: RunSettings) -> None:
    settings.setValue("num_candidates", values.num_candidates)
    settings.setValue("steps", values.steps)
    settings.setValue("temperature", values.temperature)
    settings.setValue("seed", values.seed)
    settings.setValue("device", values.device)
    settings.setValue("checkpoint", values.checkpoint or "")
    settings.setValue("recent_checkpoints", values.recent_checkpoints[:MAX_RECENT_CHECKPOINTS])
    settings.setValue("prompt", values.prompt)
    settings.sync()
