"""Worker objects run directly in the test thread: coalesced progress, results and error messages."""

from __future__ import annotations

import time

from core.prompt import parse_prompt
from sedd_gui.workers import CheckpointLoader, InfillWorker, RunRequest


def collect(worker: InfillWorker) -> dict:
    received = {"progress": [], "done": [], "failed": []}
    worker.progress.connect(received["progress"].append)
    worker.done.connect(received["done"].append)
    worker.failed.connect(received["failed"].append)
    return received


def test_progress_is_coalesced_without_losing_steps(tiny_model):
    request = RunRequest(parse_prompt("MK[20]V"), num_candidates=3, steps=300, temperature=1.0, seed=0, device="cpu")
    worker = InfillWorker(tiny_model, request, interval_s=10.0)
    received = collect(worker)
    worker.run()

    updates = received["progress"]
    assert len(updates) == 2  # the first step, then everything else at the last step
    steps = [step for update in updates for step in update.steps]
    assert steps == list(range(1, 301))
    masked = [row for update in updates for row in update.masked]
    assert len(masked) == 300
    assert all(len(row) == 3 for row in masked)
    assert masked[-1] == [0, 0, 0]
    assert updates[-1].sequences == [c.sequence for c in received["done"][0].result.candidates]
    assert received["failed"] == []


def test_trajectory_matches_progress(tiny_model):
    request = RunRequest(parse_prompt("M[6]V"), num_candidates=2, steps=50, temperature=1.0, seed=1, device="cpu")
    worker = InfillWorker(tiny_model, request, interval_s=0.0)
    received = collect(worker)
    worker.run()

    outcome = received["done"][0]
    assert worker.outcome is outcome
    assert len(received["progress"]) == 50
    assert [step for step, _ in outcome.trajectory] == list(range(1, 51))
    assert outcome.device == "cpu"
    assert outcome.elapsed_s > 0


def test_cancel_before_start_returns_empty_run(tiny_model):
    request = RunRequest(parse_prompt("M[6]V"), num_candidates=2, steps=50, temperature=1.0, seed=1, device="cpu")
    worker = InfillWorker(tiny_model, request)
    received = collect(worker)
    worker.cancel()
    worker.run()

    result = received["done"][0].result
    assert result.cancelled
    assert result.steps_done == 0
    assert all(candidate.sequence == "M______V" for candidate in result.candidates)
    assert received["progress"] == []


def test_unavailable_device_is_reported(tiny_model):
    request = RunRequest(parse_prompt("M[6]V"), num_candidates=1, steps=5, temperature=1.0, seed=0, device="tpu")
    worker = InfillWorker(tiny_model, request)
    received = collect(worker)
    worker.run()
    assert received["done"] == []
    assert received["failed"] == ["The run could not start: unknown device 'tpu': use one of auto, cpu, cuda, cuda:N, mps"]


def test_loader_reports_missing_directory(tmp_path):
    loader = CheckpointLoader(tmp_path / "absent")
    messages, models = [], []
    loader.failed.connect(messages.append)
    loader.loaded.connect(models.append)
    loader.run()
    assert models == []
    assert messages[0].startswith("checkpoint directory not found")


def test_loader_loads_checkpoint(tiny_checkpoint):
    loader = CheckpointLoader(tiny_checkpoint)
    models = []
    loader.loaded.connect(models.append)
    start = time.perf_counter()
    loader.run()
    assert models[0].name == "tiny-test-model"
    assert time.perf_counter() - start < 30
