"""Tweedie tau-leaping sampler with infill constraints (absorbing process).

Time runs from 1 down to eps in N equal steps. For one step from t to s < t, with
delta = sigmabar(t) - sigmabar(s), a masked position unmasks with probability

    P(jump) = (exp(delta) - 1) * sum_y s[i, y]         (= (t - s) / t for a factorised model)

and, if it jumps, takes token y with probability proportional to s[i, y]^(1/T)
restricted to the position's allowed tokens (T = temperature). After the last step,
positions that are still masked are drawn from the same restricted distribution (the
final denoising step). Fixed positions never change, and all positions of a step are
updated in parallel from the same x_t.

Categorical draws use float64 inverse-CDF sampling on the CPU from a seeded
torch.Generator, so candidates are reproducible for a given seed and device and rare
tokens keep their probability.

With a time-independent network, a candidate whose tokens did not change since its
last network evaluation reuses that output, and only changed candidates go through the
network: each candidate is evaluated at most (masked positions + 1) times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol

import torch

from .alphabet import MASK
from .noise import LogLinearNoise


class Denoiser(Protocol):
    """Interface of a model that the sampler can drive."""

    time_conditioned: bool
    num_real: int

    def log_probs(self, tokens: torch.Tensor) -> torch.Tensor: ...

    def log_score(self, tokens: torch.Tensor, sigma_bar: torch.Tensor) -> torch.Tensor: ...


@dataclass
class StepReport:
    """Progress after one sampling step.

    step: steps done (1..steps); masked: masked positions left per candidate;
    tokens: (B, L) current token ids on the CPU.
    """

    step: int
    steps: int
    masked: list[int]
    tokens: torch.Tensor


@dataclass
class SampleResult:
    """Final tokens (B, L) on the CPU, per-candidate scores and counters.

    log_prob_sum / filled: summed model log-probability (nats, temperature 1) of each
    filled token at the moment it was unmasked, and how many tokens were filled.
    A cancelled run keeps MASK wherever it had not unmasked yet.
    """

    tokens: torch.Tensor
    log_prob_sum: torch.Tensor
    filled: torch.Tensor
    steps_done: int
    cancelled: bool
    forward_calls: int = 0
    nfe_per_candidate: list[int] = field(default_factory=list)

    @property
    def mean_log_prob(self) -> torch.Tensor:
        """Mean model log-probability per filled residue (nats); higher means more typical."""
        return self.log_prob_sum / self.filled.clamp(min=1)


class _NetworkCache:
    """Calls the network and, when allowed, reuses each candidate's last output."""

    def __init__(self, model: Denoiser, batch: int, device: torch.device, cached: bool):
        self.model = model
        self.device = device
        self.cached = cached and not model.time_conditioned
        self.log_probs: torch.Tensor | None = None
        self.log_total: torch.Tensor | None = None
        self.stale = torch.ones(batch, dtype=torch.bool)
        self.forward_calls = 0
        self.nfe = torch.zeros(batch, dtype=torch.long)

    @torch.no_grad()
    def evaluate(self, tokens: torch.Tensor, sigma_bar: float) -> torch.Tensor:
        """Return log p(x_0 | x_t) over real tokens, (B, L, V) float64 on the CPU.

        For a time-conditioned model, also store ``log_total`` (B, L): the log of the
        summed score, whose exponential estimates the unmasking hazard.
        """
        batch = tokens.shape[0]
        rows = torch.arange(batch) if not self.cached or self.log_probs is None else torch.nonzero(self.stale).flatten()
        if len(rows) == 0:
            return self.log_probs

        x = tokens[rows].to(self.device)
        if self.model.time_conditioned:
            sigma = torch.full((len(rows),), sigma_bar, device=self.device)
            log_score = self.model.log_score(x, sigma).to("cpu", torch.float64)
            self.log_total = torch.logsumexp(log_score, dim=-1)
            out = log_score - self.log_total[..., None]
        else:
            out = self.model.log_probs(x).to("cpu", torch.float64)
        self.forward_calls += 1
        self.nfe[rows] += 1
        self.stale[rows] = False

        if len(rows) == batch:
            self.log_probs = out
        else:
            self.log_probs[rows] = out
        return self.log_probs

    def jump_probability(self, delta: float, t: float, s: float) -> torch.Tensor | float:
        """Probability that a masked position unmasks between times t and s."""
        if not self.model.time_conditioned:
            return (t - s) / t
        return (torch.expm1(torch.tensor(delta, dtype=torch.float64)) * self.log_total.exp()).clamp(0, 1)


def _restricted_distribution(log_probs: torch.Tensor, allowed: torch.Tensor, temperature: float) -> torch.Tensor:
    """Probabilities (float64) over allowed tokens, sharpened by 1 / temperature."""
    scaled = log_probs / temperature
    scaled = scaled.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scaled, dim=-1)


def _draw_categorical(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Draw one index per row of probs (N, V) by float64 inverse-CDF sampling."""
    cdf = probs.cumsum(dim=-1)
    u = torch.rand(probs.shape[0], 1, dtype=torch.float64, generator=generator) * cdf[:, -1:]
    index = torch.searchsorted(cdf, u, right=True).clamp(max=probs.shape[-1] - 1)
    return index.squeeze(-1)


def sample(model: Denoiser, tokens: torch.Tensor, free: torch.Tensor, allowed: torch.Tensor, *,
           steps: int = 128, temperature: float = 1.0, seed: int = 0, device: torch.device | str = "cpu",
           noise: LogLinearNoise | None = None, cached: bool = True,
           should_stop: Callable[[], bool] | None = None) -> Iterator[StepReport]:
    """Fill the free positions of ``tokens`` by reverse diffusion; yield a StepReport per step.

    tokens: (B, L) ids with MASK at free positions; free: (B, L) bool; allowed:
    (B, L, V) bool. The generator's return value (StopIteration.value) is a SampleResult;
    ``run`` wraps this. ``should_stop`` is polled before every step. When it returns True, the
    run ends with what has been unmasked so far.
    """
    if steps < 1:
        raise ValueError(f"steps={steps} is invalid: use at least 1 step")
    if not temperature > 0:
        raise ValueError(f"temperature={temperature} is invalid: use a value above 0, e.g. 1.0")
    noise = noise or LogLinearNoise()
    device = torch.device(device)
    tokens = tokens.clone().cpu()
    free = free.cpu()
    allowed = allowed.cpu()
    bad = free & ~allowed.any(dim=-1)
    if bad.any():
        raise ValueError("a free position allows no token: give every masked position at least one residue")
    tokens[free] = MASK

    batch = tokens.shape[0]
    generator = torch.Generator().manual_seed(int(seed))
    cache = _NetworkCache(model, batch, device, cached)
    log_prob_sum = torch.zeros(batch, dtype=torch.float64)
    filled = torch.zeros(batch, dtype=torch.long)
    times = torch.linspace(1.0, noise.eps, steps + 1, dtype=torch.float64)

    def fill(positions: torch.Tensor, log_probs: torch.Tensor) -> None:
        rows, cols = positions.unbind(-1)
        chosen = _draw_categorical(_restricted_distribution(log_probs[rows, cols], allowed[rows, cols], temperature),
                                   generator)
        tokens[rows, cols] = chosen
        log_prob_sum.index_add_(0, rows, log_probs[rows, cols].gather(-1, chosen[:, None]).squeeze(-1))
        filled.index_add_(0, rows, torch.ones_like(rows))
        cache.stale[rows] = True

    def result(steps_done: int, cancelled: bool) -> SampleResult:
        return SampleResult(tokens.clone(), log_prob_sum.clone(), filled.clone(), steps_done, cancelled,
                            cache.forward_calls, cache.nfe.tolist())

    for step in range(steps):
        if should_stop is not None and should_stop():
            return result(step, True)
        masked = tokens == MASK
        if masked.any():
            t, s = float(times[step]), float(times[step + 1])
            sigma_t = float(noise.total(torch.tensor(t, dtype=torch.float64)))
            sigma_s = float(noise.total(torch.tensor(s, dtype=torch.float64)))
            log_probs = cache.evaluate(tokens, sigma_t)
            jump = cache.jump_probability(sigma_t - sigma_s, t, s)
            draws = torch.rand(tokens.shape, dtype=torch.float64, generator=generator)
            unmask = masked & (draws < jump)
            if unmask.any():
                fill(torch.nonzero(unmask), log_probs)

            # Final denoising step: whatever is still masked at t = eps is drawn from p(y | x_eps).
            if step == steps - 1 and (tokens == MASK).any():
                log_probs = cache.evaluate(tokens, sigma_s)
                fill(torch.nonzero(tokens == MASK), log_probs)
        yield StepReport(step + 1, steps, (tokens == MASK).sum(dim=1).tolist(), tokens.clone())
    return result(steps, False)


def run(model: Denoiser, tokens: torch.Tensor, free: torch.Tensor, allowed: torch.Tensor,
        on_step: Callable[[StepReport], None] | None = None, **options) -> SampleResult:
    """Run ``sample`` to the end, passing each StepReport to ``on_step``; return the SampleResult."""
    iterator = sample(model, tokens, free, allowed, **options)
    while True:
        try:
            report = next(iterator)
        except StopIteration as stop:
            return stop.value
        if on_step is not None:
            on_step(report)
