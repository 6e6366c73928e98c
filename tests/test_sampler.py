"""Tweedie tau-leaping sampler: exactness on toy models, constraints, caching and control."""

import random
import threading

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from core.alphabet import BOS, EOS, MASK, NUM_REAL, PAD, RESIDUE_TO_ID
from core.infill import infill
from core.prompt import Layout, ResidueSet, encode_layouts, parse_prompt
from core.sampler import run, sample
from toy_models import ExactDenoiser

A, C, D = RESIDUE_TO_ID["A"], RESIDUE_TO_ID["C"], RESIDUE_TO_ID["D"]
LETTERS = [A, C, D]
# Joint of two dependent residues between BOS and EOS, rows: first residue, columns: second.
JOINT = np.array([[0.30, 0.02, 0.03],
                  [0.02, 0.25, 0.03],
                  [0.05, 0.05, 0.25]])


def _two_position_denoiser(time_conditioned=False) -> ExactDenoiser:
    support, probs = [], []
    for i, first in enumerate(LETTERS):
        for j, second in enumerate(LETTERS):
            support.append((BOS, first, second, EOS))
            probs.append(JOINT[i, j])
    return ExactDenoiser(support, probs, time_conditioned=time_conditioned)


def _masked_batch(count: int, fixed_first: int | None = None):
    tokens = torch.tensor([[BOS, MASK, MASK, EOS]] * count)
    if fixed_first is not None:
        tokens[:, 1] = fixed_first
    free = tokens == MASK
    allowed = free[..., None] & torch.ones(NUM_REAL, dtype=torch.bool)
    return tokens, free, allowed


def _joint_counts(tokens: torch.Tensor) -> np.ndarray:
    counts = np.zeros((3, 3))
    index = {a: i for i, a in enumerate(LETTERS)}
    for first, second in tokens[:, 1:3].tolist():
        counts[index[first], index[second]] += 1
    return counts


def _p_value(counts: np.ndarray, expected_probabilities: np.ndarray) -> float:
    expected = expected_probabilities.flatten() * counts.sum()
    return chisquare(counts.flatten(), expected).pvalue


PRODUCT = np.outer(JOINT.sum(axis=1), JOINT.sum(axis=0))


@pytest.mark.parametrize("cached", [True, False])
def test_one_step_gives_product_of_marginals(cached):
    tokens, free, allowed = _masked_batch(6000)
    result = run(_two_position_denoiser(), tokens, free, allowed, steps=1, seed=3, cached=cached)
    counts = _joint_counts(result.tokens)
    assert _p_value(counts, PRODUCT) > 1e-3
    assert _p_value(counts, JOINT) < 1e-6  # the test can tell the two apart


@pytest.mark.parametrize("cached", [True, False])
def test_many_steps_give_true_joint(cached):
    tokens, free, allowed = _masked_batch(6000 if cached else 2500)
    result = run(_two_position_denoiser(), tokens, free, allowed, steps=1024, seed=4, cached=cached)
    counts = _joint_counts(result.tokens)
    assert _p_value(counts, JOINT) > 1e-3
    assert _p_value(counts, PRODUCT) < 1e-6


def test_time_conditioned_path_gives_true_joint():
    tokens, free, allowed = _masked_batch(2500)
    result = run(_two_position_denoiser(time_conditioned=True), tokens, free, allowed, steps=256, seed=5)
    assert _p_value(_joint_counts(result.tokens), JOINT) > 1e-3


@pytest.mark.parametrize("steps", [1, 3, 64])
@pytest.mark.parametrize("cached", [True, False])
def test_single_masked_position_is_exact(steps, cached):
    tokens, free, allowed = _masked_batch(5000, fixed_first=C)
    result = run(_two_position_denoiser(), tokens, free, allowed, steps=steps, seed=6, cached=cached)
    conditional = JOINT[1] / JOINT[1].sum()
    counts = np.array([(result.tokens[:, 2] == letter).sum().item() for letter in LETTERS])
    assert counts.sum() == 5000
    assert chisquare(counts, conditional * 5000).pvalue > 1e-3
    assert (result.tokens[:, 1] == C).all()


def test_rare_token_is_drawn_at_its_rate():
    probability = 1e-3
    support = [(BOS, A, EOS), (BOS, C, EOS)]
    denoiser = ExactDenoiser(support, [1 - probability, probability])
    count = 400_000
    tokens = torch.tensor([[BOS, MASK, EOS]] * count)
    free = tokens == MASK
    allowed = free[..., None] & torch.ones(NUM_REAL, dtype=torch.bool)
    result = run(denoiser, tokens, free, allowed, steps=1, seed=7)
    rare = (result.tokens[:, 1] == C).sum().item()
    stderr = (count * probability * (1 - probability)) ** 0.5
    assert abs(rare - count * probability) < 4 * stderr


def test_cache_bounds_network_evaluations():
    tokens, free, allowed = _masked_batch(50)
    denoiser = _two_position_denoiser()
    result = run(denoiser, tokens, free, allowed, steps=1024, seed=8, cached=True)
    assert max(result.nfe_per_candidate) <= 3  # two masked positions + 1
    uncached = run(denoiser, tokens, free, allowed, steps=1024, seed=8, cached=False)
    assert max(uncached.nfe_per_candidate) > 100


def test_fixed_positions_and_layout_are_kept(tiny_model):
    prompt = "MKVLA[6]GHEWQ{ST}PL"
    result = infill(tiny_model, prompt, num_candidates=6, steps=16, seed=1)
    for candidate in result.candidates:
        assert candidate.sequence[:5] == "MKVLA"
        assert candidate.sequence[11:16] == "GHEWQ"
        assert candidate.sequence[16] in "ST"
        assert candidate.sequence[17:] == "PL"
        assert candidate.filled == [5, 6, 7, 8, 9, 10, 16]
        assert candidate.complete


def test_special_tokens_and_x_never_fill_a_span(tiny_model):
    layouts = [parse_prompt("M[30]K").realise(random.Random(0))] * 16
    batch = encode_layouts(layouts, tiny_model.config.max_length)
    # Bias the model strongly toward special tokens to make a violation likely if masking failed.
    with torch.no_grad():
        head_bias = tiny_model.model.head.bias
        saved = head_bias.clone()
        head_bias[[PAD, BOS, EOS, RESIDUE_TO_ID["X"]]] = 20.0
    try:
        result = run(tiny_model.model, batch.tokens, batch.free, batch.allowed, steps=8, seed=2)
    finally:
        with torch.no_grad():
            head_bias.copy_(saved)
    span = result.tokens[:, 2:32]
    assert ((span >= RESIDUE_TO_ID["A"]) & (span <= RESIDUE_TO_ID["Y"])).all()
    assert (result.tokens[:, 0] == BOS).all()
    assert (result.tokens[:, 33] == EOS).all()
    assert (result.tokens[:, 34:] == PAD).all()


def test_allowed_sets_are_honoured(tiny_model):
    result = infill(tiny_model, "{DE}{DE}{W}[3]{KR}", num_candidates=20, steps=4, seed=3)
    for candidate in result.candidates:
        assert candidate.sequence[0] in "DE"
        assert candidate.sequence[1] in "DE"
        assert candidate.sequence[2] == "W"
        assert candidate.sequence[6] in "KR"


def test_variable_spans_give_several_lengths(tiny_model):
    result = infill(tiny_model, "MK[2-9]GG", num_candidates=24, steps=8, seed=4)
    lengths = {c.length for c in result.candidates}
    assert len(lengths) >= 3
    assert all(6 <= n <= 13 for n in lengths)
    for candidate in result.candidates:
        assert candidate.sequence.startswith("MK")
        assert candidate.sequence.endswith("GG")


def test_same_seed_same_candidates(tiny_model):
    first = infill(tiny_model, "MK[10]GG[2-6]", num_candidates=4, steps=32, seed=11)
    second = infill(tiny_model, "MK[10]GG[2-6]", num_candidates=4, steps=32, seed=11)
    other = infill(tiny_model, "MK[10]GG[2-6]", num_candidates=4, steps=32, seed=12)
    assert [c.sequence for c in first.candidates] == [c.sequence for c in second.candidates]
    assert [c.sequence for c in first.candidates] != [c.sequence for c in other.candidates]


def test_cached_and_uncached_real_model_share_distribution(tiny_model):
    """On a real network the two paths draw the same residue frequencies at a masked position."""
    counts = {}
    for cached in (True, False):
        result = infill(tiny_model, "MKV_GL", num_candidates=1500, steps=4, seed=21 if cached else 22,
                        cached=cached)
        letters = [c.sequence[3] for c in result.candidates]
        counts[cached] = np.array([letters.count(aa) for aa in "ACDEFGHIKLMNPQRSTVWY"])
    table = np.stack([counts[True], counts[False]])
    table = table[:, table.sum(axis=0) > 0]
    from scipy.stats import chi2_contingency
    assert chi2_contingency(table).pvalue > 1e-3


def test_temperature_sharpens_choices(tiny_model):
    cold = infill(tiny_model, "M[20]", num_candidates=8, steps=8, seed=5, temperature=0.05)
    hot = infill(tiny_model, "M[20]", num_candidates=8, steps=8, seed=5, temperature=5.0)
    distinct_cold = len(set("".join(c.sequence[1:] for c in cold.candidates)))
    distinct_hot = len(set("".join(c.sequence[1:] for c in hot.candidates)))
    assert distinct_cold < distinct_hot


def test_progress_reports_every_step(tiny_model):
    reports = []
    result = infill(tiny_model, "M[12]K", num_candidates=3, steps=20, seed=1, on_step=reports.append)
    assert [r.step for r in reports] == list(range(1, 21))
    assert reports[-1].masked == [0, 0, 0]
    for earlier, later in zip(reports, reports[1:]):
        assert all(b <= a for a, b in zip(earlier.masked, later.masked))
    assert not result.cancelled


def test_cancellation_stops_promptly_and_keeps_partial_tokens(tiny_model):
    stop = threading.Event()
    seen = []

    def on_step(report):
        seen.append(report.step)
        if report.step == 5:
            stop.set()

    result = infill(tiny_model, "M[30]K", num_candidates=2, steps=500, seed=1, on_step=on_step,
                    should_stop=stop.is_set)
    assert result.cancelled
    assert result.steps_done == 5
    assert seen[-1] == 5
    assert any(not c.complete for c in result.candidates)
    assert all(c.sequence[0] == "M" and c.sequence[-1] == "K" for c in result.candidates)


@pytest.mark.parametrize("options, message", [
    ({"steps": 0}, "steps=0"),
    ({"temperature": 0.0}, "temperature=0.0"),
    ({"temperature": -1.0}, "temperature=-1.0"),
])
def test_invalid_settings_are_rejected(tiny_model, options, message):
    with pytest.raises(ValueError, match=message):
        infill(tiny_model, "M[4]K", num_candidates=1, **options)


def test_zero_candidates_is_rejected(tiny_model):
    with pytest.raises(ValueError, match="num_candidates=0"):
        infill(tiny_model, "M[4]K", num_candidates=0)


def test_free_position_without_allowed_tokens_is_rejected():
    tokens, free, allowed = _masked_batch(2)
    allowed[0, 1] = False
    with pytest.raises(ValueError, match="allows no token"):
        next(sample(_two_position_denoiser(), tokens, free, allowed, steps=2))
