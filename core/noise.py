"""Log-linear noise schedule and the absorbing forward process.

Lou, Meng and Ermon, "Discrete Diffusion Modeling by Estimating the Ratios of the Data
Distribution" (ICML 2024, arXiv:2310.16834). With eps = 1e-3 and t in [0, 1]:

    sigmabar(t) = -log(1 - (1 - eps) t),   sigma(t) = (1 - eps) / (1 - (1 - eps) t),

so a token is masked at time t with probability 1 - exp(-sigmabar(t)) = (1 - eps) t.
Noise levels are dimensionless; times are in [0, 1].
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from .alphabet import MASK


@dataclass(frozen=True)
class LogLinearNoise:
    """The log-linear schedule; ``eps`` keeps sigmabar finite at t = 1."""

    eps: float = 1e-3

    def total(self, t: torch.Tensor) -> torch.Tensor:
        """Total noise sigmabar(t)."""
        return -torch.log1p(-(1 - self.eps) * t)

    def rate(self, t: torch.Tensor) -> torch.Tensor:
        """Noise rate sigma(t) = d sigmabar / dt."""
        return (1 - self.eps) / (1 - (1 - self.eps) * t)

    def mask_probability(self, t: torch.Tensor) -> torch.Tensor:
        """P(x_t = MASK | x_0 real) = 1 - exp(-sigmabar(t)) = (1 - eps) t."""
        return (1 - self.eps) * t

    def to_dict(self) -> dict:
        return {"type": "loglinear", **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> "LogLinearNoise":
        if data.get("type", "loglinear") != "loglinear":
            raise ValueError(f"unknown noise schedule {data.get('type')!r}: only 'loglinear' is supported")
        return cls(eps=float(data.get("eps", 1e-3)))


def corrupt(x0: torch.Tensor, mask_probability: torch.Tensor, generator: torch.Generator | None = None,
            maskable: torch.Tensor | None = None) -> torch.Tensor:
    """Sample x_t from the forward process: each maskable token becomes MASK independently.

    x0: (B, L) token ids; mask_probability: (B,). Returns x_t with the same shape.
    """
    draws = torch.rand(x0.shape, generator=generator, device=x0.device)
    masked = draws < mask_probability[:, None]
    if maskable is not None:
        masked &= maskable
    return torch.where(masked, torch.full_like(x0, MASK), x0)


def absorbing_rate_matrix(num_real: int, dtype=torch.float64) -> torch.Tensor:
    """Rate matrix Q of the absorbing process over num_real + 1 states (rows: to, columns: from)."""
    size = num_real + 1
    q = torch.zeros(size, size, dtype=dtype)
    idx = torch.arange(num_real)
    q[idx, idx] = -1.0
    q[num_real, idx] = 1.0
    return q


def absorbing_transition_matrix(total_noise: float, num_real: int, dtype=torch.float64) -> torch.Tensor:
    """Closed form of exp(total_noise * Q) (rows: to, columns: from)."""
    size = num_real + 1
    stay = torch.exp(torch.tensor(-total_noise, dtype=dtype))
    p = torch.zeros(size, size, dtype=dtype)
    idx = torch.arange(num_real)
    p[idx, idx] = stay
    p[num_real, idx] = 1 - stay
    p[num_real, num_real] = 1.0
    return p
