"""Sampling benchmark: cached versus uncached Tweedie tau-leaping.

For 1024 and 128 steps, a 20-residue span in a 100-residue sequence and a fully masked
100-residue sequence, 8 candidates, with and without the network-output cache, print
one JSON object per line:

    steps, masked, candidates, cached, forward_calls, nfe_per_candidate_max, seconds

Run: python benchmarks/sampling.py [--checkpoint DIR] [--device auto]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import torch

from core.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint
from core.device import resolve_device
from core.infill import infill

# Human acylphosphatase 1 (UniProt P07311, 99 residues) with residues 41-60 masked and one alanine
# appended, so that the prompt has 100 residues.
CONTEXT = "MAEGDTLISVDYEIFGKVQGVFFRKHTQAEGKKLGLVGWVQNTDRGTVQGQLQGPISKVRHMQEWLETRGSPKSHIDKANFNNEKVILKLDYSDFQIVK"
SPAN_PROMPT = CONTEXT[:40] + "[20]" + CONTEXT[60:] + "A" * (100 - len(CONTEXT))
FULL_PROMPT = "[100]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    device = resolve_device(args.device)
    loaded = load_checkpoint(args.checkpoint, device)
    print(json.dumps({"machine": platform.processor() or platform.machine(), "device": str(device),
                      "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "checkpoint": str(args.checkpoint)}), file=sys.stderr)
    infill(loaded, SPAN_PROMPT, num_candidates=args.candidates, steps=8, seed=args.seed)  # warm-up

    for steps in (1024, 128):
        for name, prompt in (("span20", SPAN_PROMPT), ("full", FULL_PROMPT)):
            for cached in (True, False):
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                result = infill(loaded, prompt, num_candidates=args.candidates, steps=steps, seed=args.seed,
                                cached=cached)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                seconds = time.perf_counter() - start
                masked = 20 if name == "span20" else 100
                print(json.dumps({"steps": steps, "masked": masked, "candidates": args.candidates, "cached": cached,
                                  "forward_calls": result.forward_calls,
                                  "nfe_per_candidate_max": max(result.nfe_per_candidate),
                                  "seconds": round(seconds, 3)}), flush=True)


if __name__ == "__main__":
    main()
