"""GUI responsiveness benchmark: the largest event-loop stall of the window during a long run.

Opens the real main window (offscreen unless QT_QPA_PLATFORM names another platform), runs a
1024-step infill of 8 candidates on human acylphosphatase 1 with 20 residues masked,
and meanwhile fires a QTimer every 5 ms in the GUI thread. The gap between two probe
ticks minus the interval is a stall: time in which the window could not react to
input or repaint. Prints one JSON object with the stalls, the run time and the time
spent in the progress slot (plot, table and strip updates).

Run: python benchmarks/gui_responsiveness.py [--checkpoint DIR] [--steps 1024] [--candidates 8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402
from PySide6.QtCore import QEventLoop, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from core.checkpoint import DEFAULT_CHECKPOINT  # noqa: E402

# Human acylphosphatase 1 (UniProt P07311), 99 residues, with residues 41-60 masked.
ACYP1 = "MAEGDTLISVDYEIFGKVQGVFFRKHTQAEGKKLGLVGWVQNTDRGTVQGQLQGPISKVRHMQEWLETRGSPKSHIDKANFNNEKVILKLDYSDFQIVK"
PROMPT = ACYP1[:40] + "[20]" + ACYP1[60:]
TARGET_STALL_MS = 100.0
SETTLE_S = 1.0  # let the window finish its first layout and paint before measuring


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="checkpoint directory")
    parser.add_argument("--steps", type=int, default=1024, help="sampling steps")
    parser.add_argument("--candidates", type=int, default=8, help="candidates sampled in one batch")
    parser.add_argument("--prompt", default=PROMPT, help="prompt to infill")
    parser.add_argument("--probe-ms", type=int, default=5, help="interval of the probe timer in milliseconds")
    parser.add_argument("--no-structures", action="store_true", help="open the window without the structure panel")
    args = parser.parse_args()

    if not (Path(args.checkpoint) / "config.json").is_file():
        print(f"error: no checkpoint at {args.checkpoint}: train one or pass --checkpoint DIR", file=sys.stderr)
        return 2
    data_dir = tempfile.mkdtemp(prefix="sedd-gui-bench-")
    os.environ["SEDD_GUI_DATA_DIR"] = data_dir

    from sedd_gui.app import prepare_qt_environment
    prepare_qt_environment()
    app = QApplication([sys.argv[0]])
    from sedd_gui.history import HistoryStore
    from sedd_gui.main_window import MainWindow
    from sedd_gui.settings import open_settings

    window = MainWindow(open_settings(), HistoryStore(None), checkpoint=args.checkpoint, prompt=args.prompt,
                        show_structures=not args.no_structures)
    window.resize(1500, 950)
    window.show()
    wait_until(app, lambda: window.model() is not None or window.model_error() is not None, 120)
    if window.model() is None:
        print(f"error: {window.model_error()}", file=sys.stderr)
        return 2
    wait_until(app, lambda: False, SETTLE_S)

    panel = window.settings_panel
    panel.candidates_spin.setValue(args.candidates)
    panel.steps_spin.setValue(args.steps)
    panel.seed_spin.setValue(0)
    if window.run_blocker() is not None:
        print(f"error: cannot run: {window.run_blocker()}", file=sys.stderr)
        return 2

    # Time every progress update that the window handles (plot, table, strip).
    slot_ms: list[float] = []
    original_progress = window._run_progress

    def timed_progress(update):
        start = time.perf_counter()
        original_progress(update)
        slot_ms.append((time.perf_counter() - start) * 1000)

    ticks: list[float] = []
    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(args.probe_ms)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))

    outcomes = []
    window.runFinished.connect(outcomes.append)
    window.runFailed.connect(lambda message: outcomes.append(message))
    probe.start()
    started = time.perf_counter()
    window.start_run()
    window._worker.progress.disconnect(window._run_progress)
    window._worker.progress.connect(timed_progress)
    wait_until(app, lambda: bool(outcomes), 3600)
    run_s = time.perf_counter() - started
    probe.stop()
    outcome = outcomes[0]
    window.close()
    if isinstance(outcome, str):
        print(f"error: the run failed: {outcome}", file=sys.stderr)
        return 1

    gaps_ms = [(b - a) * 1000 for a, b in zip(ticks, ticks[1:])]
    stalls_ms = [gap - args.probe_ms for gap in gaps_ms]
    loaded = window.model()
    result = {
        "benchmark": "gui_responsiveness",
        "checkpoint": str(loaded.path),
        "model": {"name": loaded.name, "parameters": loaded.model.num_parameters(),
                  "time_conditioned": loaded.config.time_conditioning},
        "prompt_residues": len(outcome.result.candidates[0].sequence),
        "masked": len(outcome.result.candidates[0].filled),
        "steps": args.steps,
        "candidates": args.candidates,
        "structure_panel": window.structure_panel is not None,
        "run_s": round(run_s, 3),
        "forward_calls": outcome.result.forward_calls,
        "progress_updates": len(slot_ms),
        "progress_slot_ms": {"max": round(max(slot_ms), 2), "mean": round(statistics.fmean(slot_ms), 2)},
        "probe_interval_ms": args.probe_ms,
        "probe_ticks": len(ticks),
        "stall_ms": {"max": round(max(stalls_ms), 2),
                     "p99": round(quantile(stalls_ms, 0.99), 2),
                     "median": round(statistics.median(stalls_ms), 2)},
        "target_max_stall_ms": TARGET_STALL_MS,
        "meets_target": max(stalls_ms) <= TARGET_STALL_MS,
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "python": platform.python_version(), "torch": torch.__version__,
                    "qt_platform": os.environ["QT_QPA_PLATFORM"]},
    }
    print(json.dumps(result))
    return 0


def wait_until(app: QApplication, condition, timeout_s: float) -> None:
    """Run the Qt event loop until ``condition()`` is true (checked every 10 ms) or ``timeout_s`` passed."""
    loop = QEventLoop()
    deadline = time.perf_counter() + timeout_s
    check = QTimer()
    check.setInterval(10)
    check.timeout.connect(lambda: loop.quit() if condition() or time.perf_counter() > deadline else None)
    check.start()
    loop.exec()
    check.stop()


def quantile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


if __name__ == "__main__":
    sys.exit(main())
