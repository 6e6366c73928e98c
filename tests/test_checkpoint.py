"""Checkpoint directories: round trip, and clear errors for every kind of damage."""

import json
import pickle

import pytest
import torch

from core.checkpoint import CONFIG_FILE, WEIGHTS_FILE, CheckpointError, load_checkpoint, save_checkpoint
from core.model import ModelConfig, ScoreNetwork
from core.noise import LogLinearNoise
from conftest import build_tiny_checkpoint


def test_round_trip_keeps_weights_and_config(tmp_path):
    directory = build_tiny_checkpoint(tmp_path / "model", time_conditioning=True)
    loaded = load_checkpoint(directory)
    config = json.loads((directory / CONFIG_FILE).read_text())
    assert loaded.config.time_conditioning
    assert loaded.parametrisation == "time-conditioned"
    assert config["alphabet"]["residues"] == "ACDEFGHIKLMNPQRSTVWYX"
    assert config["noise"] == {"type": "loglinear", "eps": 0.001}
    assert loaded.name == "tiny-test-model"
    tokens = torch.randint(0, 24, (2, 48))
    sigma = torch.tensor([0.5, 1.5])
    again = load_checkpoint(directory)
    assert torch.equal(loaded.model.log_score(tokens, sigma), again.model.log_score(tokens, sigma))


def test_half_precision_checkpoint_loads(tmp_path):
    model = ScoreNetwork(ModelConfig(d_model=32, n_layers=1, n_heads=2, max_length=20))
    save_checkpoint(tmp_path / "half", model, LogLinearNoise(), half_precision=True)
    loaded = load_checkpoint(tmp_path / "half")
    assert next(loaded.model.parameters()).dtype == torch.float32
    assert (tmp_path / "half" / WEIGHTS_FILE).stat().st_size < 0.6 * sum(p.numel() * 4 for p in model.parameters())


def test_missing_directory(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nowhere")


def test_missing_config(tmp_path):
    directory = build_tiny_checkpoint(tmp_path / "m")
    (directory / CONFIG_FILE).unlink()
    with pytest.raises(CheckpointError, match=f"missing .*{CONFIG_FILE}"):
        load_checkpoint(directory)


def test_missing_weights(tmp_path):
    directory = build_tiny_checkpoint(tmp_path / "m")
    (directory / WEIGHTS_FILE).unlink()
    with pytest.raises(CheckpointError, match=f"missing .*{WEIGHTS_FILE}"):
        load_checkpoint(directory)


def test_wrong_shapes_name_the_tensor(tmp_path):
    directory = build_tiny_checkpoint(tmp_path / "m")
    config = json.loads((directory / CONFIG_FILE).read_text())
    config["model"]["max_length"] = 48
    config["model"]["d_model"] = 64
    config["model"]["n_heads"] = 4
    (directory / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"model.safetensors: tensor .* has shape"):
        load_checkpoint(directory)


def test_different_alphabet_is_rejected(tmp_path):
    directory = build_tiny_checkpoint(tmp_path / "m")
    config = json.loads((directory / CONFIG_FILE).read_text())
    config["alphabet"]["residues"] = "ACDEFGHIKLMNPQRSTVWYXBZ"
    (directory / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="different alphabet"):
        load_checkpoint(directory)


def test_invalid_json(tmp_path):
    directory = build_tiny_checkpoint(tmp_path / "m")
    (directory / CONFIG_FILE).write_text("{not json")
    with pytest.raises(CheckpointError, match="invalid JSON"):
        load_checkpoint(directory)


def test_pickle_file_is_never_unpickled(tmp_path):
    directory = build_tiny_checkpoint(tmp_path / "m")
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (directory / WEIGHTS_FILE).write_bytes(pickle.dumps(Payload()))
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(directory)
    assert not marker.exists()


def test_save_replaces_existing_checkpoint_atomically(tmp_path):
    directory = build_tiny_checkpoint(tmp_path / "m", seed=1)
    first = load_checkpoint(directory).model.head.weight.clone()
    build_tiny_checkpoint(tmp_path / "m", seed=2)
    second = load_checkpoint(directory).model.head.weight
    assert not torch.equal(first, second)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
