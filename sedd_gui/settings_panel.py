"""Model and sampling settings: checkpoint chooser with model facts, candidates, steps, temperature, seed, device."""

from __future__ import annotations

import random
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from core.alphabet import RESIDUES, STANDARD_RESIDUES, UNKNOWN_RESIDUE
from core.checkpoint import DEFAULT_CHECKPOINT, LoadedModel
from core.device import available_devices

from .settings import MAX_RECENT_CHECKPOINTS, RunSettings

DEVICE_LABELS = {"auto": "Auto", "cpu": "CPU", "cuda": "CUDA", "mps": "MPS"}
MAX_SEED = 2**31 - 1


def format_parameters(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.2f} M"
    if count >= 1_000:
        return f"{count / 1_000:.1f} k"
    return str(count)


def describe_model(loaded: LoadedModel) -> str:
    """Return rich text with the model's name, size, alphabet, maximum length and parametrisation."""
    alphabet = f"{len(STANDARD_RESIDUES)} amino acids + {UNKNOWN_RESIDUE}"
    config = loaded.config
    lines = [
        f"<b>{loaded.name}</b>",
        f"{format_parameters(loaded.model.num_parameters())} parameters "
        f"({config.n_layers} layers, width {config.d_model}, {config.n_heads} heads)",
        f"Alphabet: {alphabet} ({RESIDUES})",
        f"Maximum length: {loaded.max_residues} residues",
        f"{loaded.parametrisation.capitalize()} score network",
    ]
    return "<br>".join(lines)


class SettingsPanel(QWidget):
    """Checkpoint chooser and run settings; the owner loads checkpoints and reads ``run_settings``."""

    checkpointRequested = Signal(object)  # a directory path as str, or None for the shipped model

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)

        self.checkpoint_combo = QComboBox()
        self.checkpoint_combo.setObjectName("checkpointCombo")
        self.checkpoint_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.checkpoint_combo.setMinimumContentsLength(16)
        self.checkpoint_combo.addItem(f"Shipped model ({DEFAULT_CHECKPOINT.name})", None)
        self.checkpoint_combo.setItemData(0, str(DEFAULT_CHECKPOINT), Qt.ItemDataRole.ToolTipRole)
        self.checkpoint_combo.activated.connect(self._combo_activated)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open a checkpoint directory (config.json and model.safetensors)")
        self.open_button.clicked.connect(self.choose_directory)
        self.model_label = QLabel("Loading the model…")
        self.model_label.setObjectName("modelInfo")
        self.model_label.setWordWrap(True)
        self.model_label.setTextFormat(Qt.TextFormat.RichText)
        self.model_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        chooser = QHBoxLayout()
        chooser.addWidget(self.checkpoint_combo, 1)
        chooser.addWidget(self.open_button)
        model_box = QGroupBox("Model")
        model_layout = QVBoxLayout(model_box)
        model_layout.addLayout(chooser)
        model_layout.addWidget(self.model_label)

        self.candidates_spin = QSpinBox()
        self.candidates_spin.setRange(1, 64)
        self.candidates_spin.setToolTip("How many candidates to sample in one batch")
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 4096)
        self.steps_spin.setToolTip("Denoising steps from t = 1 to t = eps; more steps unmask fewer positions at once")
        self.temperature_spin = QDoubleSpinBox()
        self.temperature_spin.setRange(0.05, 5.0)
        self.temperature_spin.setSingleStep(0.05)
        self.temperature_spin.setDecimals(2)
        self.temperature_spin.setToolTip("Below 1 favours likely residues, above 1 flattens the distribution")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, MAX_SEED)
        self.seed_spin.setToolTip("Random seed: the same seed, settings and device give the same candidates")
        new_seed = QPushButton("New")
        new_seed.setToolTip("Draw a new random seed")
        new_seed.clicked.connect(lambda: self.seed_spin.setValue(random.randint(0, MAX_SEED)))
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(new_seed)
        self.device_combo = QComboBox()
        self.device_combo.setObjectName("deviceCombo")
        self._fill_devices()

        sampling_box = QGroupBox("Sampling")
        form = QFormLayout(sampling_box)
        form.addRow("Candidates", self.candidates_spin)
        form.addRow("Steps", self.steps_spin)
        form.addRow("Temperature", self.temperature_spin)
        form.addRow("Seed", seed_row)
        form.addRow("Device", self.device_combo)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(model_box)
        layout.addWidget(sampling_box)
        layout.addStretch(1)

    # Devices ------------------------------------------------------------------

    def _fill_devices(self) -> None:
        available = available_devices()
        model: QStandardItemModel = QStandardItemModel(self.device_combo)
        self.device_combo.setModel(model)
        for name, label in DEVICE_LABELS.items():
            if name == "auto":
                label = f"Auto ({DEVICE_LABELS[available[0]]})"
            self.device_combo.addItem(label, name)
            item = model.item(self.device_combo.count() - 1)
            if name != "auto" and name not in available:
                item.setEnabled(False)
                item.setToolTip(f"{label} is not available on this machine")

    def device_available(self, name: str) -> bool:
        index = self.device_combo.findData(name)
        return index >= 0 and self.device_combo.model().item(index).isEnabled()

    # Values -------------------------------------------------------------------

    def set_values(self, values: RunSettings) -> None:
        self.candidates_spin.setValue(values.num_candidates)
        self.steps_spin.setValue(values.steps)
        self.temperature_spin.setValue(values.temperature)
        self.seed_spin.setValue(min(max(values.seed, 0), MAX_SEED))
        device = values.device if self.device_available(values.device) else "auto"
        self.device_combo.setCurrentIndex(self.device_combo.findData(device))
        for path in reversed(values.recent_checkpoints):
            self.add_recent_checkpoint(path, select=False)

    def update_run_settings(self, values: RunSettings) -> None:
        """Copy the widget values into ``values``."""
        values.num_candidates = self.candidates_spin.value()
        values.steps = self.steps_spin.value()
        values.temperature = round(self.temperature_spin.value(), 4)
        values.seed = self.seed_spin.value()
        values.device = self.device_combo.currentData()
        values.recent_checkpoints = [self.checkpoint_combo.itemData(i) for i in range(1, self.checkpoint_combo.count())]

    # Checkpoints --------------------------------------------------------------

    def add_recent_checkpoint(self, path: str | None, select: bool = True) -> None:
        """Put ``path`` first among the opened checkpoints (None is the shipped model) and optionally select it."""
        if path is None:
            if select:
                self.checkpoint_combo.setCurrentIndex(0)
            return
        path = str(Path(path))
        existing = self.checkpoint_combo.findData(path)
        if existing > 0:
            self.checkpoint_combo.removeItem(existing)
        self.checkpoint_combo.insertItem(1, Path(path).name or path, path)
        self.checkpoint_combo.setItemData(1, path, Qt.ItemDataRole.ToolTipRole)
        while self.checkpoint_combo.count() > MAX_RECENT_CHECKPOINTS + 1:
            self.checkpoint_combo.removeItem(self.checkpoint_combo.count() - 1)
        if select:
            self.checkpoint_combo.setCurrentIndex(1)

    def choose_directory(self) -> None:
        directory = QFileDialog.getExistingDirectory(self, "Open a checkpoint directory")
        if directory:
            self.add_recent_checkpoint(directory)
            self.checkpointRequested.emit(directory)

    def _combo_activated(self, index: int) -> None:
        self.checkpointRequested.emit(self.checkpoint_combo.itemData(index))

    def show_loading(self, path: str | None) -> None:
        directory_text = path if path is not None else str(DEFAULT_CHECKPOINT)
        self.model_label.setText(f"Loading {directory_text}…")

    def show_model(self, loaded: LoadedModel) -> None:
        self.model_label.setText(describe_model(loaded))
        self.model_label.setToolTip(str(loaded.path))

    def show_model_error(self, message: str) -> None:
        self.model_label.setText(f"<span style='color:#b00020'>{_escape(message)}</span><br>"
                                 "Open another checkpoint with <b>Open…</b>.")
        self.model_label.setToolTip("")

    def set_checkpoint_enabled(self, enabled: bool) -> None:
        self.checkpoint_combo.setEnabled(enabled)
        self.open_button.setEnabled(enabled)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
