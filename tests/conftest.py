"""Shared fixtures: tiny models that tests build themselves, and the path of the real data if given."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from core.checkpoint import load_checkpoint, save_checkpoint
from core.model import ModelConfig, ScoreNetwork
from core.noise import LogLinearNoise

from sedd_gui.structure_panel import configure_webengine_environment

# QtWebEngine reads its Chromium flags once, before the first QApplication exists.
configure_webengine_environment()

# Two cores are shared by the test process and whatever else runs; one thread keeps timings stable.
torch.set_num_threads(1)

TINY_LENGTH = 48


def build_tiny_checkpoint(directory: Path, time_conditioning: bool = False, seed: int = 0) -> Path:
    """Save an untrained two-layer model of 48 tokens to ``directory`` and return it."""
    torch.manual_seed(seed)
    config = ModelConfig(d_model=32, n_layers=2, n_heads=2, max_length=TINY_LENGTH,
                         time_conditioning=time_conditioning)
    model = ScoreNetwork(config)
    # Random head weights so that the untrained model prefers some residues over others.
    torch.nn.init.normal_(model.head.weight, std=0.5)
    return save_checkpoint(directory, model, LogLinearNoise(), {"name": "tiny-test-model"})


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny")


@pytest.fixture(scope="session")
def tiny_model(tiny_checkpoint):
    return load_checkpoint(tiny_checkpoint)


@pytest.fixture(scope="session")
def acyp_fasta() -> Path | None:
    """The AcyP FASTA file named by SEDD_ACYP_FASTA, or None; tests that need it skip without it."""
    value = os.environ.get("SEDD_ACYP_FASTA")
    return Path(value) if value and Path(value).is_file() else None
