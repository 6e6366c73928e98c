"""A tiny randomly initialised ESMFold (transformers) shared by the folding and structure tests.

Other test modules import the fixtures from here. The tests in this module check the
transformers backend itself: a tiny model built from a small config, saved and
loaded back through ``from_pretrained``, must produce a valid PDB with pLDDT. Tests
that need transformers skip when the hf extra is not installed.
"""

from __future__ import annotations

import math
import sys

import pytest

from core.folding import FoldError, plddt_from_pdb
from core.folding.structure import parse_residues

SKIP_REASON = "the hf extra (transformers) is not installed"
TEST_SEQUENCE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"


def build_tiny_esmfold(directory) -> str:
    """Save a randomly initialised ESMFold of about 80k parameters to ``directory`` and return its path."""
    import torch
    from transformers import EsmConfig, EsmForProteinFolding
    from transformers.models.esm.configuration_esm import get_default_vocab_list

    structure_module = dict(sequence_dim=32, pairwise_dim=16, ipa_dim=8, resnet_dim=16, num_heads_ipa=2,
                            num_qk_points=2, num_v_points=2, num_blocks=2, dropout_rate=0.0)
    trunk = dict(num_blocks=1, sequence_state_dim=32, pairwise_state_dim=16, sequence_head_width=8,
                 pairwise_head_width=8, position_bins=8, max_recycles=1, chunk_size=None,
                 structure_module=structure_module)
    config = EsmConfig(vocab_size=33, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=32, pad_token_id=1, mask_token_id=32, position_embedding_type="rotary",
                       emb_layer_norm_before=False, token_dropout=True, is_folding_model=True,
                       vocab_list=get_default_vocab_list(),
                       esmfold_config=dict(fp16_esm=False, lddt_head_hid_dim=16, trunk=trunk))
    torch.manual_seed(0)
    model = EsmForProteinFolding(config)
    # transformers zero-initialises the pLDDT head, which would give every residue exactly 50.
    torch.nn.init.normal_(model.lddt_head[-1].weight, std=0.5)
    model.save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="session")
def tiny_esmfold_dir(tmp_path_factory) -> str:
    pytest.importorskip("transformers", reason=SKIP_REASON)
    return build_tiny_esmfold(tmp_path_factory.mktemp("tiny-esmfold"))


@pytest.fixture(scope="session")
def tiny_hf_backend(tiny_esmfold_dir):
    from core.folding.hf import HFEsmFoldBackend

    return HFEsmFoldBackend(model=tiny_esmfold_dir, device="cpu")


@pytest.fixture(scope="session")
def tiny_structure(tiny_hf_backend):
    return tiny_hf_backend.fold(TEST_SEQUENCE)


def test_hf_tiny_model_writes_valid_pdb(tiny_structure):
    import gemmi

    residues = parse_residues(tiny_structure.pdb)
    assert len(residues) == len(TEST_SEQUENCE)
    assert tiny_structure.sequence == TEST_SEQUENCE
    assert tiny_structure.backend == "hf"

    model = gemmi.read_pdb_string(tiny_structure.pdb)[0]
    atoms = sum(len(residue) for chain in model for residue in chain)
    assert atoms > 4 * len(TEST_SEQUENCE)
    ca_positions = [residue["CA"][0].pos for chain in model for residue in chain]
    assert len(ca_positions) == len(TEST_SEQUENCE)
    assert all(math.isfinite(p.x) and math.isfinite(p.y) and math.isfinite(p.z) for p in ca_positions)


def test_hf_plddt_on_0_100_scale(tiny_structure):
    assert len(tiny_structure.plddt) == len(TEST_SEQUENCE)
    assert all(0.0 <= value <= 100.0 for value in tiny_structure.plddt)
    # The port outputs 0-1; a backend that forgot to rescale would stay below 1.
    assert max(tiny_structure.plddt) > 1.0
    assert len(set(round(value, 3) for value in tiny_structure.plddt)) > 1


def test_hf_pdb_bfactors_match_plddt(tiny_structure):
    from_pdb = plddt_from_pdb(tiny_structure.pdb)
    assert from_pdb == pytest.approx(tiny_structure.plddt, abs=0.01)


def test_hf_ptm_is_fraction(tiny_structure):
    assert tiny_structure.ptm is not None
    assert 0.0 <= tiny_structure.ptm <= 1.0
    assert tiny_structure.seconds > 0


def test_hf_rejects_invalid_sequence(tiny_hf_backend):
    with pytest.raises(ValueError, match="invalid character '1' at position 3"):
        tiny_hf_backend.fold("MK1V")


def test_hf_missing_weights_message(tmp_path, monkeypatch):
    from core.folding.hf import HFEsmFoldBackend

    pytest.importorskip("transformers", reason=SKIP_REASON)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    backend = HFEsmFoldBackend(model="facebook/esmfold_v1", device="cpu")
    with pytest.raises(FoldError) as raised:
        backend.fold("MKV")
    message = str(raised.value)
    assert "facebook/esmfold_v1" in message
    assert "hf download facebook/esmfold_v1" in message


def test_hf_missing_transformers_message(monkeypatch):
    from core.folding.hf import HFEsmFoldBackend

    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(FoldError, match=r"pip install 'sedd-gui\[hf\]'"):
        HFEsmFoldBackend(model="unused", device="cpu").fold("MKV")
