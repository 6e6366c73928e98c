"""The shipped AcyP checkpoint: it loads, infills, and meets its held-out targets on the real family."""

import pytest

from core.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint
from core.data import is_validation, load_dataset
from core.evaluate import evaluate
from core.infill import infill

# Human acylphosphatase 1 (UniProt P07311).
HUMAN_ACYP1 = "MAEGDTLISVDYEIFGKVQGVFFRKHTQAEGKKLGLVGWVQNTDRGTVQGQLQGPISKVRHMQEWLETRGSPKSHIDKANFNNEKVILKLDYSDFQIVK"

pytestmark = pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "config.json").is_file(),
                                reason="the shipped checkpoint resources/checkpoints/acyp is missing")


@pytest.fixture(scope="module")
def shipped():
    return load_checkpoint()


def test_shipped_checkpoint_describes_itself(shipped):
    assert shipped.name
    assert shipped.max_residues >= 127
    assert shipped.metadata["split"]["val_fraction"] > 0
    assert (DEFAULT_CHECKPOINT / "README.md").is_file()
    size = sum(p.stat().st_size for p in DEFAULT_CHECKPOINT.iterdir())
    assert size <= 16 * 1024 * 1024


def test_shipped_checkpoint_infills_a_real_sequence(shipped):
    prompt = HUMAN_ACYP1[:40] + "[15]" + HUMAN_ACYP1[55:]
    result = infill(shipped, prompt, num_candidates=4, steps=64, seed=0, temperature=0.5)
    for candidate in result.candidates:
        assert candidate.sequence[:40] == HUMAN_ACYP1[:40]
        assert candidate.sequence[55:] == HUMAN_ACYP1[55:]
        assert candidate.complete
        assert set(candidate.sequence[40:55]) <= set("ACDEFGHIKLMNPQRSTVWY")
    # A trained model is far more confident than a uniform guess over 20 residues (log(1/20) = -3.0).
    assert max(c.score for c in result.candidates) > -2.0


@pytest.mark.slow
def test_shipped_checkpoint_meets_held_out_targets(shipped, acyp_fasta):
    if acyp_fasta is None:
        pytest.skip("set SEDD_ACYP_FASTA to the AcyP FASTA file to run the held-out check")
    fraction = shipped.metadata["split"]["val_fraction"]
    dataset = load_dataset(acyp_fasta, shipped.max_residues)
    validation = list(dict.fromkeys(s for s in dataset.sequences if is_validation(s, fraction)))
    result = evaluate(shipped, validation[:300], grid=8, recovery_sequences=100)
    assert result.bits_per_residue <= 3.4
    assert result.infill_recovery >= 0.25
    assert result.bits_per_residue < result.baseline_frequency_entropy_bits
    assert result.infill_recovery > result.baseline_frequency_recovery
