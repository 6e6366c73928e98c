"""Training, resuming, DDP on two CPU processes, evaluation and bad FASTA files."""

import gzip
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from core.checkpoint import load_checkpoint
from core.data import DataError, is_validation, load_dataset, read_fasta, split_sequences
from core.evaluate import evaluate
from core.train import STATE_JSON, TrainConfig, TrainingError, batch_indices, learning_rate, train

REPO = Path(__file__).resolve().parent.parent
MOTIFS = ["MKVLAGHE", "MRVIAGNE", "MKTLSGHD"]


def write_family(path: Path, count: int = 120, seed: int = 0, duplicates: int = 0) -> Path:
    """Write a small synthetic family: a conserved motif, a variable middle and a fixed tail."""
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        middle = "".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in range(rng.randint(4, 10)))
        lines += [f">seq{i}", rng.choice(MOTIFS) + middle + "WQPL"]
    for i in range(duplicates):
        lines += [f">dup{i}", lines[1]]
    path.write_text("\n".join(lines) + "\n")
    return path


def small_config(tmp_path: Path, **overrides) -> TrainConfig:
    options = dict(data=str(write_family(tmp_path / "family.fasta")), output=str(tmp_path / "run"), d_model=32,
                   layers=2, heads=2, max_length=32, steps=60, batch_size=16, lr=3e-3, warmup=5,
                   eval_every=20, save_every=20, val_fraction=0.2, device="cpu")
    options.update(overrides)
    return TrainConfig(**options)


def test_training_lowers_validation_elbo(tmp_path):
    config = small_config(tmp_path, steps=240, eval_every=80, save_every=80, warmup=10)
    output = train(config)
    history = json.loads((output / STATE_JSON).read_text())["history"]
    assert [h["step"] for h in history] == [80, 160, 240]
    assert history[-1]["val_bits_per_residue"] < history[0]["val_bits_per_residue"] - 0.2
    loaded = load_checkpoint(output)
    assert "sha256(sequence)" in loaded.metadata["split"]["rule"]
    assert loaded.metadata["steps"] == 240


def test_resume_reaches_the_same_state(tmp_path, monkeypatch, capsys):
    straight = train(small_config(tmp_path, output=str(tmp_path / "straight"), steps=30, save_every=10))

    # Crash at step 15: the run directory keeps the checkpoint of step 10.
    real_batch_indices = batch_indices

    def crash_at_step_15(step, *args, **kwargs):
        if step == 15:
            raise KeyboardInterrupt
        return real_batch_indices(step, *args, **kwargs)

    monkeypatch.setattr("core.train.batch_indices", crash_at_step_15)
    with pytest.raises(KeyboardInterrupt):
        train(small_config(tmp_path, output=str(tmp_path / "resumed"), steps=30, save_every=10))
    monkeypatch.setattr("core.train.batch_indices", real_batch_indices)
    assert json.loads((tmp_path / "resumed" / STATE_JSON).read_text())["step"] == 10

    resumed = train(small_config(tmp_path, output=str(tmp_path / "resumed"), steps=30, save_every=10, resume=True))
    assert "resumed from" in capsys.readouterr().err
    a = load_file(str(straight / "training_state.safetensors"))
    b = load_file(str(resumed / "training_state.safetensors"))
    for key in a:
        if key.startswith("weights."):
            assert torch.allclose(a[key], b[key], atol=1e-6), key


def test_existing_run_needs_resume(tmp_path):
    config = small_config(tmp_path, steps=5, save_every=5)
    train(config)
    with pytest.raises(TrainingError, match="pass --resume"):
        train(config)


def test_resume_without_state_is_rejected(tmp_path):
    with pytest.raises(TrainingError, match="no training state"):
        train(small_config(tmp_path, resume=True))


def test_batches_cover_each_epoch_once():
    seen = torch.cat([batch_indices(step, 50, 10, seed=1) for step in range(5)])
    assert sorted(seen.tolist()) == list(range(50))
    assert not torch.equal(batch_indices(5, 50, 10, seed=1), batch_indices(0, 50, 10, seed=1))


def test_learning_rate_warms_up_then_decays():
    config = TrainConfig(data="", output="", lr=1e-3, warmup=10, steps=100)
    assert learning_rate(0, config) == pytest.approx(1e-4)
    assert learning_rate(9, config) == pytest.approx(1e-3)
    assert learning_rate(99, config) < 2e-4


def test_split_keeps_duplicates_together(tmp_path):
    sequences = [f"MKV{'A' * i}GL" for i in range(300)]
    sequences += sequences[:100]  # exact duplicates under other ids
    train_set, val_set = split_sequences(sequences, 0.2)
    assert not set(train_set) & set(val_set)
    assert 30 < len(set(val_set)) < 90
    assert split_sequences(sequences, 0.2) == (train_set, val_set)
    assert all(is_validation(s, 0.2) for s in val_set)


def test_gzip_fasta_is_read(tmp_path):
    plain = write_family(tmp_path / "f.fasta", count=5)
    packed = tmp_path / "f.fasta.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert [r.sequence for r in read_fasta(packed)] == [r.sequence for r in read_fasta(plain)]


def test_invalid_and_long_records_are_counted(tmp_path):
    path = tmp_path / "mixed.fasta"
    path.write_text(">ok\nMKVLA\n>bad\nMKBZ\n>long\n" + "A" * 40 + "\n>ok2\nmkvla\n")
    dataset = load_dataset(path, max_residues=30)
    assert dataset.sequences == ["MKVLA", "MKVLA"]
    assert (dataset.skipped_invalid, dataset.skipped_too_long) == (1, 1)
    assert "2 skipped (1 with characters outside the alphabet, 1 longer" in dataset.summary()


@pytest.mark.parametrize("content, fragment", [
    (b"", "no FASTA records"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00binary", "not a text FASTA file"),
    (b"MKVLA\nGGG\n", "before the first '>' header"),
    (b">a\nMKB\n>b\n12345\n", "none of its 2 records is usable"),
])
def test_bad_fasta_files_are_rejected(tmp_path, content, fragment):
    path = tmp_path / "bad.fasta"
    path.write_bytes(content)
    with pytest.raises(DataError, match=fragment):
        load_dataset(path, max_residues=100)


def test_missing_fasta_is_rejected(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_dataset(tmp_path / "absent.fasta", max_residues=100)


def test_evaluation_is_repeatable(tmp_path, tiny_model):
    sequences = [r.sequence for r in read_fasta(write_family(tmp_path / "f.fasta", count=30))]
    first = evaluate(tiny_model, sequences, grid=4, recovery_sequences=10)
    second = evaluate(tiny_model, sequences, grid=4, recovery_sequences=10)
    assert first == second
    assert 0 < first.bits_per_residue < 100
    assert first.bits_per_residue_stderr > 0
    assert 0 <= first.infill_recovery <= 1
    assert 3.0 < first.baseline_frequency_entropy_bits < 4.5


DDP_WRAPPER = """
import os, sys
import core.train as train_module
from core.cli import main
log = sys.argv[1]
original = train_module.save_checkpoint
def recording_save(*args, **kwargs):
    with open(log, "a") as handle:
        handle.write(os.environ["RANK"] + "\\n")
    return original(*args, **kwargs)
train_module.save_checkpoint = recording_save
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path):
    data = write_family(tmp_path / "family.fasta")
    wrapper = tmp_path / "wrapper.py"
    wrapper.write_text(DDP_WRAPPER)
    log = tmp_path / "saves.log"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(wrapper), str(log), "train", "--data", str(data), "--output", str(tmp_path / "run"),
               "--d-model", "32", "--layers", "1", "--heads", "2", "--max-length", "32", "--steps", "6",
               "--batch-size", "8", "--warmup", "2", "--save-every", "3", "--eval-every", "3",
               "--device", "cpu", "--verbose"]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=environment, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    firsts = {}
    for line in done.stderr.splitlines():
        if "first batch indices" in line:
            rank = line.split("rank ")[1].split("/")[0]
            firsts[rank] = set(json.loads(line.split("indices ")[1]))
    assert set(firsts) == {"0", "1"}
    assert firsts["0"] and firsts["1"]
    assert not firsts["0"] & firsts["1"]
    assert log.read_text().split() == ["0", "0"]
    assert load_checkpoint(tmp_path / "run").metadata["steps"] == 6


def test_non_finite_loss_stops_and_keeps_checkpoint(tmp_path, monkeypatch):
    import core.train as train_module

    real_loss = train_module.score_entropy_loss
    calls = {"count": 0}

    def loss_that_explodes(*args, **kwargs):
        calls["count"] += 1
        value = real_loss(*args, **kwargs)
        return value * float("nan") if calls["count"] > 12 else value

    monkeypatch.setattr(train_module, "score_entropy_loss", loss_that_explodes)
    config = small_config(tmp_path, steps=30, save_every=10, eval_every=100)
    with pytest.raises(TrainingError, match="the loss became nan at step 12"):
        train(config)
    assert json.loads((tmp_path / "run" / STATE_JSON).read_text())["step"] == 10
    assert load_checkpoint(tmp_path / "run").metadata["steps"] == 10
