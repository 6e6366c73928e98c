"""Score network: a bidirectional transformer over token ids.

Two parametrisations of the concrete score s(x_t, sigmabar)[i, y] (see core.loss):

- time-conditioned, as in the original SEDD (Lou et al., 2024): the network receives
  sigmabar through adaptive layer norm and outputs log-scores directly, offset by
  -log(expm1(sigmabar)) so that an untrained network starts at the right scale;
- time-independent (factorised, Ou et al., arXiv:2406.03736): the network outputs
  log p(x_0[i] = y | x_t) and the log-score adds the analytic factor
  log r(sigmabar) = -log(expm1(sigmabar)). Its output changes only when x_t changes,
  which makes cached sampling exact.

Attention uses torch.nn.functional.scaled_dot_product_attention, so CUDA gets the
flash or memory-efficient kernels.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from .alphabet import NUM_REAL, VOCAB_SIZE


@dataclass
class ModelConfig:
    """Architecture of the score network; saved in the checkpoint's config.json."""

    d_model: int = 256
    n_layers: int = 6
    n_heads: int = 8
    max_length: int = 130  # tokens, BOS and EOS included
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    time_conditioning: bool = False
    vocab_size: int = VOCAB_SIZE
    num_real: int = NUM_REAL

    def __post_init__(self):
        if self.d_model % self.n_heads != 0:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}: pick sizes that divide")
        if (self.d_model // self.n_heads) % 2 != 0:
            raise ValueError(f"head size {self.d_model // self.n_heads} must be even for rotary embeddings")
        if self.max_length < 3:
            raise ValueError(f"max_length={self.max_length} leaves no room for a residue between BOS and EOS")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config fields {sorted(unknown)}")
        return cls(**data)


def log_expm1(x: torch.Tensor) -> torch.Tensor:
    """log(exp(x) - 1), accurate for small and large x > 0."""
    return torch.where(x < 20, torch.log(torch.expm1(x.clamp(max=20))), x)


class Rotary(nn.Module):
    """Rotary position embedding (Su et al., RoFormer) applied to queries and keys."""

    def __init__(self, head_dim: int, max_length: int, base: float = 10000.0):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2).float() / head_dim))
        angles = torch.outer(torch.arange(max_length).float(), inv_freq)  # (L, head_dim / 2)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, heads, L, head_dim)
        length = x.shape[-2]
        cos, sin = self.cos[:length].to(x.dtype), self.sin[:length].to(x.dtype)
        x1, x2 = x[..., 0::2], x[..., 1::2]
        rotated = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
        return rotated.flatten(-2)


class Block(nn.Module):
    """Pre-norm transformer block; with a conditioning vector, norms are adaptive (adaLN-Zero)."""

    def __init__(self, config: ModelConfig, rotary: Rotary):
        super().__init__()
        d = config.d_model
        self.n_heads = config.n_heads
        self.dropout = config.dropout
        self.rotary = rotary
        affine = not config.time_conditioning
        self.norm1 = nn.LayerNorm(d, elementwise_affine=affine)
        self.norm2 = nn.LayerNorm(d, elementwise_affine=affine)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.proj = nn.Linear(d, d, bias=False)
        hidden = int(config.mlp_ratio * d)
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, d))
        self.modulation = None
        if config.time_conditioning:
            self.modulation = nn.Linear(d, 6 * d)
            nn.init.zeros_(self.modulation.weight)
            nn.init.zeros_(self.modulation.bias)

    def forward(self, h: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
        batch, length, d = h.shape
        if self.modulation is not None:
            shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(condition)[:, None].chunk(6, dim=-1)
        else:
            shift1 = scale1 = shift2 = scale2 = 0.0
            gate1 = gate2 = 1.0

        x = self.norm1(h) * (1 + scale1) + shift1
        q, k, v = self.qkv(x).view(batch, length, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        q, k = self.rotary(q), self.rotary(k)  # (B, heads, L, head_dim)
        attn = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        attn = attn.transpose(1, 2).reshape(batch, length, d)
        h = h + gate1 * F.dropout(self.proj(attn), self.dropout, self.training)

        x = self.norm2(h) * (1 + scale2) + shift2
        return h + gate2 * F.dropout(self.mlp(x), self.dropout, self.training)


class ScoreNetwork(nn.Module):
    """Maps token ids (B, L) and total noise (B,) to log-scores over the real tokens (B, L, NUM_REAL)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        d = config.d_model
        self.embedding = nn.Embedding(config.vocab_size, d)
        rotary = Rotary(d // config.n_heads, config.max_length)
        self.blocks = nn.ModuleList(Block(config, rotary) for _ in range(config.n_layers))
        self.final_norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, config.num_real)
        self.time_embedding = None
        if config.time_conditioning:
            self.time_embedding = nn.Sequential(nn.Linear(256, d), nn.SiLU(), nn.Linear(d, d))
        self.apply(self._init_weights)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear) and module.weight.abs().sum() > 0:
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    @property
    def time_conditioned(self) -> bool:
        return self.config.time_conditioning

    @property
    def num_real(self) -> int:
        return self.config.num_real

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def logits(self, tokens: torch.Tensor, sigma_bar: torch.Tensor | None = None) -> torch.Tensor:
        """Raw network output (B, L, NUM_REAL) before the parametrisation is applied."""
        if tokens.shape[1] > self.config.max_length:
            raise ValueError(f"{tokens.shape[1]} tokens exceed the model's max_length {self.config.max_length}")
        h = self.embedding(tokens)
        condition = None
        if self.time_embedding is not None:
            if sigma_bar is None:
                raise ValueError("a time-conditioned model needs sigma_bar")
            condition = F.silu(self.time_embedding(_sinusoidal(sigma_bar, 256)))
        for block in self.blocks:
            h = block(h, condition)
        return self.head(self.final_norm(h)).float()

    def log_probs(self, tokens: torch.Tensor) -> torch.Tensor:
        """log p(x_0[i] = y | x_t) of a time-independent model, (B, L, NUM_REAL)."""
        if self.time_conditioned:
            raise TypeError("log_probs needs a time-independent model; use log_score")
        return torch.log_softmax(self.logits(tokens), dim=-1)

    def log_score(self, tokens: torch.Tensor, sigma_bar: torch.Tensor) -> torch.Tensor:
        """Log of the concrete score s(x_t, sigmabar)[i, y] over real tokens, (B, L, NUM_REAL)."""
        offset = -log_expm1(sigma_bar.float())[:, None, None]  # log r(sigmabar), (B, 1, 1)
        if self.time_conditioned:
            return self.logits(tokens, sigma_bar) + offset
        return self.log_probs(tokens) + offset

    forward = log_score


def _sinusoidal(values: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=values.device).float() / half)
    args = values.float()[:, None] * freqs[None] * 1000.0  # sigmabar is O(1): spread it over the frequencies
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
