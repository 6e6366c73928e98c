"""Checkpoints as a directory: ``config.json`` plus ``model.safetensors``.

config.json contains the model config, the alphabet, the noise schedule, the
parametrisation and training metadata. Weights are read with safetensors, so loading
never unpickles anything. Saving writes into a temporary sibling directory and
renames it into place, so a crash never leaves a half-written checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .alphabet import alphabet_description
from .model import ModelConfig, ScoreNetwork
from .noise import LogLinearNoise

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT_VERSION = 1


def resources_dir() -> Path:
    """Return the directory of shipped resources, installed (sedd_resources) or in a source checkout."""
    try:
        import sedd_resources
        return Path(sedd_resources.__file__).resolve().parent
    except ImportError:
        return Path(__file__).resolve().parent.parent / "resources"


DEFAULT_CHECKPOINT = resources_dir() / "checkpoints" / "acyp"


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message names the file and the fix."""


@dataclass
class LoadedModel:
    """A model ready for sampling, with the name and metadata from its checkpoint."""

    model: ScoreNetwork
    config: ModelConfig
    noise: LogLinearNoise
    path: Path
    metadata: dict = field(default_factory=dict)
    name: str = ""

    @property
    def max_residues(self) -> int:
        return self.config.max_length - 2

    @property
    def parametrisation(self) -> str:
        return "time-conditioned" if self.config.time_conditioning else "time-independent"


def save_checkpoint(directory: str | Path, model: ScoreNetwork, noise: LogLinearNoise, metadata: dict | None = None,
                    half_precision: bool = False, extra_files: dict[str, dict[str, torch.Tensor]] | None = None,
                    extra_json: dict[str, dict] | None = None) -> Path:
    """Write a checkpoint directory atomically and return its path.

    extra_files / extra_json: more safetensors and JSON files to write beside the model
    (the trainer uses them for optimizer and EMA state).
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    config = {
        "format_version": FORMAT_VERSION,
        "name": (metadata or {}).get("name", directory.name),
        "model": model.config.to_dict(),
        "parametrisation": "time-conditioned" if model.config.time_conditioning else "time-independent",
        "alphabet": alphabet_description(),
        "noise": noise.to_dict(),
        "metadata": metadata or {},
    }
    dtype = torch.float16 if half_precision else torch.float32
    weights = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()}

    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        staging.chmod(0o755)  # mkdtemp creates the directory readable by its owner only
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
        save_file(weights, str(staging / WEIGHTS_FILE), metadata={"format": "pt"})
        for name, tensors in (extra_files or {}).items():
            save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(staging / name))
        for name, data in (extra_json or {}).items():
            (staging / name).write_text(json.dumps(data, indent=2) + "\n")
        for path in staging.iterdir():
            path.chmod(0o644)
        _replace_directory(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def _replace_directory(source: Path, target: Path) -> None:
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(source, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(source, target)


def read_config(directory: str | Path) -> dict:
    """Read and check config.json of a checkpoint directory."""
    directory = Path(directory)
    path = directory / CONFIG_FILE
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint directory not found: {directory}. Pass a directory that contains "
                              f"{CONFIG_FILE} and {WEIGHTS_FILE}")
    if not path.is_file():
        raise CheckpointError(f"missing {path}: a checkpoint directory needs {CONFIG_FILE} and {WEIGHTS_FILE}")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"invalid JSON in {path}: {error}") from None
    if not isinstance(config, dict) or "model" not in config:
        raise CheckpointError(f"{path} has no 'model' section: it is not a sedd-gui checkpoint")
    alphabet = config.get("alphabet")
    if alphabet != alphabet_description():
        raise CheckpointError(f"{path} was trained with a different alphabet ({alphabet}); this version uses "
                              f"{alphabet_description()}. Retrain the model or use a matching version of sedd-gui")
    return config


def load_checkpoint(directory: str | Path | None = None, device: torch.device | str = "cpu") -> LoadedModel:
    """Load a checkpoint directory (default: the shipped AcyP model) onto ``device`` for inference."""
    directory = Path(directory) if directory is not None else DEFAULT_CHECKPOINT
    config = read_config(directory)
    try:
        model_config = ModelConfig.from_dict(config["model"])
        noise = LogLinearNoise.from_dict(config.get("noise", {}))
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"invalid model settings in {directory / CONFIG_FILE}: {error}") from None

    weights_path = directory / WEIGHTS_FILE
    if not weights_path.is_file():
        raise CheckpointError(f"missing {weights_path}: copy the weights file next to {CONFIG_FILE}")
    try:
        weights = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"cannot read {weights_path}: {error}. The file is damaged or not safetensors") from None

    model = ScoreNetwork(model_config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{weights_path} does not match {CONFIG_FILE}: missing tensors {missing[:5]}, "
                              f"unexpected tensors {unexpected[:5]}")
    for name, tensor in weights.items():
        if tensor.shape != expected[name].shape:
            raise CheckpointError(f"{weights_path}: tensor {name} has shape {tuple(tensor.shape)} but "
                                  f"{CONFIG_FILE} implies {tuple(expected[name].shape)}")
    model.load_state_dict({k: v.float() for k, v in weights.items()})
    model.to(device).eval()
    return LoadedModel(model, model_config, noise, directory, config.get("metadata", {}),
                       config.get("name", directory.name))
