"""Denoising score entropy for the absorbing process (Lou et al., 2024, eq. 9 and 14).

For a masked position i with clean token x0[i], predicted log-scores ls[i, y] over the
real tokens, and r = 1 / expm1(sigmabar):

    term(i) = sum_y exp(ls[i, y]) - r * ls[i, x0[i]] + r * (log r - 1)
            = r * (sum_y q[y] - log q[x0[i]] - 1),    q = exp(ls - log r),

which is >= 0 and zero exactly when q is the indicator of x0[i], i.e. when the score
equals the denoising target. The second form keeps every quantity O(1) for small
sigmabar, where r is large. The sequence loss is sigma(t) * sum of terms over masked
positions, in nats. Its average over t ~ U[eps, 1] bounds -log p(x0) from above.
"""

from __future__ import annotations

import torch

from .alphabet import MASK
from .model import log_expm1


def score_entropy_terms(log_score: torch.Tensor, x0: torch.Tensor, sigma_bar: torch.Tensor) -> torch.Tensor:
    """Per-position score entropy divided by r, shape (B, L); positions are not filtered.

    log_score: (B, L, V) log-scores over real tokens; x0: (B, L) clean ids; sigma_bar: (B,).
    """
    log_r = -log_expm1(sigma_bar.float())[:, None, None]
    log_q = log_score.float() - log_r
    total = torch.exp(log_q).sum(dim=-1)
    at_clean = log_q.gather(-1, x0[..., None]).squeeze(-1)
    return total - at_clean - 1.0


def score_entropy_loss(log_score: torch.Tensor, x0: torch.Tensor, xt: torch.Tensor,
                       sigma_bar: torch.Tensor, sigma_rate: torch.Tensor) -> torch.Tensor:
    """Per-sequence loss sigma(t) * sum over masked positions of the score entropy, in nats, shape (B,)."""
    terms = score_entropy_terms(log_score, x0, sigma_bar)
    terms = torch.where(xt == MASK, terms, torch.zeros_like(terms))
    # sigma * r = sigma / expm1(sigmabar), computed in log space to stay finite for small sigmabar.
    weight = torch.exp(torch.log(sigma_rate.float()) - log_expm1(sigma_bar.float()))
    return weight * terms.sum(dim=-1)
