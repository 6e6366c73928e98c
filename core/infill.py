"""Infilling a prompt with a loaded model: the entry point shared by the CLI and the GUI."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

import torch

from .alphabet import decode_residues
from .checkpoint import LoadedModel
from .prompt import Prompt, encode_layouts, parse_prompt
from .sampler import SampleResult, StepReport, run


@dataclass
class Candidate:
    """One infilled sequence.

    filled: 0-based residue indices that the model filled in.
    score: mean model log-probability (nats) of the filled residues when they were
    unmasked. Higher means more typical of the training family.
    complete: False when a cancelled run left masked residues ('_' in the sequence).
    """

    index: int
    sequence: str
    filled: list[int]
    score: float
    complete: bool

    @property
    def length(self) -> int:
        return len(self.sequence)


@dataclass
class InfillResult:
    prompt: Prompt
    candidates: list[Candidate]
    seed: int
    steps: int
    steps_done: int
    temperature: float
    cancelled: bool
    forward_calls: int
    nfe_per_candidate: list[int]


def infill(loaded: LoadedModel, prompt: str | Prompt, num_candidates: int = 4, steps: int = 128,
           temperature: float = 1.0, seed: int = 0, device: torch.device | str | None = None,
           cached: bool = True, on_step: Callable[[StepReport], None] | None = None,
           should_stop: Callable[[], bool] | None = None) -> InfillResult:
    """Fill the masked spans of ``prompt``; each candidate's span lengths come from its own seeded Random."""
    if num_candidates < 1:
        raise ValueError(f"num_candidates={num_candidates} is invalid: ask for at least 1 candidate")
    if isinstance(prompt, str):
        prompt = parse_prompt(prompt, loaded.config.max_length)
    else:
        prompt.check_fits(loaded.config.max_length)
    layouts = [prompt.realise(random.Random(f"{seed}:{b}")) for b in range(num_candidates)]
    batch = encode_layouts(layouts, loaded.config.max_length)
    device = device if device is not None else next(loaded.model.parameters()).device
    result: SampleResult = run(loaded.model, batch.tokens, batch.free, batch.allowed, on_step=on_step,
                               steps=steps, temperature=temperature, seed=seed, device=device,
                               noise=loaded.noise, cached=cached, should_stop=should_stop)
    candidates = []
    scores = result.mean_log_prob
    for b, layout in enumerate(layouts):
        sequence = decode_residues(result.tokens[b, 1 : len(layout) + 1])
        candidates.append(Candidate(b + 1, sequence, layout.masked_positions, float(scores[b]), "_" not in sequence))
    return InfillResult(prompt, candidates, seed, steps, result.steps_done, temperature, result.cancelled,
                        result.forward_calls, result.nfe_per_candidate)
