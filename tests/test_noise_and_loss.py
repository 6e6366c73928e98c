"""Noise schedule, transition matrix and the score-entropy loss against closed forms."""

import math

import pytest
import torch

from core.alphabet import BOS, MASK, NUM_REAL, RESIDUE_TO_ID
from core.loss import score_entropy_loss, score_entropy_terms
from core.model import log_expm1
from core.noise import LogLinearNoise, absorbing_rate_matrix, absorbing_transition_matrix, corrupt
from toy_models import ExactDenoiser, masking_patterns


@pytest.mark.parametrize("total_noise", [1e-4, 0.3, 1.0, 4.0])
def test_transition_matrix_equals_matrix_exp(total_noise):
    q = absorbing_rate_matrix(NUM_REAL)
    expected = torch.linalg.matrix_exp(total_noise * q)
    closed = absorbing_transition_matrix(total_noise, NUM_REAL)
    assert torch.allclose(closed, expected, atol=1e-12)


def test_transition_matrix_columns_sum_to_one():
    closed = absorbing_transition_matrix(0.7, NUM_REAL)
    assert torch.allclose(closed.sum(dim=0), torch.ones(NUM_REAL + 1, dtype=torch.float64))


def test_mask_probability_is_linear_in_time():
    noise = LogLinearNoise()
    t = torch.linspace(0, 1, 11, dtype=torch.float64)
    from_total = 1 - torch.exp(-noise.total(t))
    assert torch.allclose(from_total, (1 - noise.eps) * t, atol=1e-12)


def test_rate_is_derivative_of_total():
    noise = LogLinearNoise()
    t = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64, requires_grad=True)
    noise.total(t).sum().backward()
    assert torch.allclose(t.grad, noise.rate(t.detach()), atol=1e-10)


def test_corrupt_masks_at_the_scheduled_rate():
    generator = torch.Generator().manual_seed(0)
    x0 = torch.full((200, 500), RESIDUE_TO_ID["A"])
    xt = corrupt(x0, torch.full((200,), 0.3), generator)
    assert abs((xt == MASK).double().mean().item() - 0.3) < 0.005
    assert torch.equal(xt[xt != MASK], x0[xt != MASK])


def test_score_entropy_term_is_non_negative():
    generator = torch.Generator().manual_seed(1)
    log_score = torch.randn(64, 10, NUM_REAL, generator=generator) * 3
    x0 = torch.randint(0, NUM_REAL, (64, 10), generator=generator)
    sigma_bar = torch.rand(64, generator=generator) * 5 + 1e-4
    terms = score_entropy_terms(log_score, x0, sigma_bar)
    assert (terms >= -1e-5).all()


@pytest.mark.parametrize("sigma_bar", [1e-3, 0.5, 6.0])
def test_score_entropy_term_is_zero_at_target(sigma_bar):
    x0 = torch.tensor([[5, 7, 9]])
    sigma = torch.tensor([sigma_bar])
    log_r = -log_expm1(sigma)
    exact = torch.full((1, 3, NUM_REAL), -1e4)
    exact.scatter_(-1, x0[..., None], log_r.expand(1, 3, 1))
    assert score_entropy_terms(exact, x0, sigma).abs().max() < 1e-5

    off_target = exact.clone()
    off_target[0, 1, 8] = log_r.item() - 2.0  # a little mass on a wrong token
    assert score_entropy_terms(off_target, x0, sigma)[0, 1] > 1e-3


def test_loss_counts_only_masked_positions():
    x0 = torch.tensor([[4, 5, 6]])
    xt = torch.tensor([[4, MASK, 6]])
    log_score = torch.zeros(1, 3, NUM_REAL)
    sigma_bar, rate = torch.tensor([0.7]), torch.tensor([1.2])
    terms = score_entropy_terms(log_score, x0, sigma_bar)
    weight = rate / torch.expm1(sigma_bar)
    loss = score_entropy_loss(log_score, x0, xt, sigma_bar, rate)
    assert torch.allclose(loss, weight * terms[0, 1])


def _toy_denoiser() -> ExactDenoiser:
    a, c, d = RESIDUE_TO_ID["A"], RESIDUE_TO_ID["C"], RESIDUE_TO_ID["D"]
    support = [(BOS, a, c), (BOS, c, c), (BOS, d, a), (BOS, a, a)]
    return ExactDenoiser(support, [0.5, 0.2, 0.2, 0.1])


def test_integrated_loss_equals_negative_log_likelihood():
    """E_t E_{x_t | x_0}[loss] over [eps, 1] with the exact denoiser equals -log p(x_0)."""
    denoiser = _toy_denoiser()
    noise = LogLinearNoise()
    grid = 4000
    times = noise.eps + (1 - noise.eps) * (torch.arange(grid, dtype=torch.float64) + 0.5) / grid
    for sequence in denoiser.support.tolist():
        x0 = torch.tensor(sequence)
        patterns = torch.tensor(list(masking_patterns(len(sequence))))  # (P, L)
        xt = torch.where(patterns, torch.full_like(patterns, MASK, dtype=torch.long), x0[None])
        total = 0.0
        for t in times.split(500):
            # Every (time, pattern) pair at once: shape (T * P, L).
            t_rep = t.repeat_interleave(len(patterns))
            xt_rep = xt.repeat(len(t), 1)
            sigma_bar, rate = noise.total(t_rep), noise.rate(t_rep)
            loss = score_entropy_loss(denoiser.log_score(xt_rep, sigma_bar.float()), x0.expand_as(xt_rep),
                                      xt_rep, sigma_bar.float(), rate.float()).double()
            q = noise.mask_probability(t_rep)
            masked = patterns.repeat(len(t), 1).sum(dim=1)
            probability = q**masked * (1 - q) ** (len(sequence) - masked)
            total += float((probability * loss).sum())
        integral = total * (1 - noise.eps) / grid
        expected = denoiser.exact_neg_log_likelihood(tuple(sequence))
        assert integral == pytest.approx(expected, abs=0.01), (sequence, integral, expected)


def test_integrated_loss_of_a_wrong_model_is_larger():
    denoiser = _toy_denoiser()
    uniform = ExactDenoiser(denoiser.support.tolist(), [0.25] * 4)
    noise = LogLinearNoise()
    generator = torch.Generator().manual_seed(0)
    x0 = torch.tensor([denoiser.support.tolist()[0]] * 20000)
    t = noise.eps + (1 - noise.eps) * torch.rand(len(x0), generator=generator)
    xt = corrupt(x0, noise.mask_probability(t), generator)
    sigma_bar, rate = noise.total(t), noise.rate(t)
    right = score_entropy_loss(denoiser.log_score(xt, sigma_bar), x0, xt, sigma_bar, rate).mean()
    wrong = score_entropy_loss(uniform.log_score(xt, sigma_bar), x0, xt, sigma_bar, rate).mean()
    assert right.item() == pytest.approx(-math.log(0.5), abs=0.05)
    assert wrong.item() > right.item() + 0.3
