"""Exact denoisers for toy distributions, where p(x_0[i] | x_t) is computed from a known joint."""

from __future__ import annotations

import itertools
import math

import torch

from core.alphabet import MASK, NUM_REAL
from core.model import log_expm1


class ExactDenoiser:
    """Factorised denoiser of a known joint distribution over whole token sequences.

    support: list of token-id tuples of equal length L; probabilities: their masses.
    log_probs(x_t)[b, i, y] = log P(x_0[i] = y | the unmasked tokens of x_t[b]).
    """

    def __init__(self, support: list[tuple[int, ...]], probabilities: list[float], time_conditioned: bool = False):
        self.support = torch.tensor(support, dtype=torch.long)  # (S, L)
        self.probs = torch.tensor(probabilities, dtype=torch.float64)
        self.probs = self.probs / self.probs.sum()
        self.time_conditioned = time_conditioned
        self.num_real = NUM_REAL
        self.calls = 0

    def log_probs(self, tokens: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        tokens = tokens.cpu()
        visible = tokens != MASK  # (B, L)
        # consistent[b, s]: support sequence s agrees with every visible token of x_t[b].
        agrees = (self.support[None] == tokens[:, None]) | ~visible[:, None]
        consistent = agrees.all(dim=-1)
        weights = consistent.double() * self.probs[None]  # (B, S)
        one_hot = torch.nn.functional.one_hot(self.support, NUM_REAL).double()  # (S, L, V)
        mass = torch.einsum("bs,slv->blv", weights, one_hot)
        mass = mass / mass.sum(dim=-1, keepdim=True)
        return torch.log(mass).float()

    def log_score(self, tokens: torch.Tensor, sigma_bar: torch.Tensor) -> torch.Tensor:
        return self.log_probs(tokens) - log_expm1(sigma_bar.float())[:, None, None]

    def exact_neg_log_likelihood(self, sequence: tuple[int, ...]) -> float:
        for s, p in zip(self.support.tolist(), self.probs.tolist()):
            if tuple(s) == tuple(sequence):
                return -math.log(p)
        raise KeyError(sequence)


def masking_patterns(length: int):
    """Every subset of positions, as boolean tuples."""
    return itertools.product([False, True], repeat=length)
