"""The fair-esm backend's messages when its packages or weights are missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.folding import FoldError, create_backend
from core.folding import esmfold
from core.folding.esmfold import WEIGHT_FILES, check_available, missing_weights


def test_missing_packages_named_with_install_command(tmp_path, monkeypatch):
    monkeypatch.setattr(esmfold, "missing_packages", lambda: ["omegaconf", "openfold"])
    for name in WEIGHT_FILES:
        (tmp_path / name).write_bytes(b"")

    with pytest.raises(FoldError) as raised:
        check_available(tmp_path)
    message = str(raised.value)
    assert "missing Python packages: omegaconf, openfold" in message
    assert "pip install 'fair-esm[esmfold]'" in message
    assert "openfold @ git+https://github.com/aqlaboratory/openfold.git" in message
    assert "missing weights" not in message


def test_missing_weights_named_with_urls(tmp_path, monkeypatch):
    monkeypatch.setattr(esmfold, "missing_packages", lambda: [])
    (tmp_path / "esm2_t36_3B_UR50D.pt").write_bytes(b"")

    with pytest.raises(FoldError) as raised:
        check_available(tmp_path)
    message = str(raised.value)
    assert f"missing weights in {tmp_path}" in message
    assert "esmfold_3B_v1.pt from https://dl.fbaipublicfiles.com/fair-esm/models/esmfold_3B_v1.pt" in message
    assert "esm2_t36_3B_UR50D-contact-regression.pt from https://" in message
    assert "esm2_t36_3B_UR50D.pt from" not in message
    assert "Python packages" not in message


def test_both_missing_in_one_message(tmp_path, monkeypatch):
    monkeypatch.setattr(esmfold, "missing_packages", lambda: ["einops"])
    with pytest.raises(FoldError) as raised:
        check_available(tmp_path / "nowhere")
    message = str(raised.value)
    assert "missing Python packages: einops" in message
    assert "missing weights in" in message


def test_all_present_returns_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(esmfold, "missing_packages", lambda: [])
    for name in WEIGHT_FILES:
        (tmp_path / name).write_bytes(b"")
    assert check_available(tmp_path) == tmp_path
    assert missing_weights(tmp_path) == []


def test_default_folder_is_torch_hub_cache(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(esmfold, "missing_packages", lambda: [])
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path))
    try:
        with pytest.raises(FoldError, match=f"missing weights in {tmp_path / 'checkpoints'}"):
            check_available()
    finally:
        torch.hub.set_dir(previous)


def test_missing_packages_detects_absent_module(monkeypatch):
    monkeypatch.setattr(esmfold, "REQUIRED_MODULES", {"json": "json", "no_such_module_for_sedd": "not-a-package"})
    assert esmfold.missing_packages() == ["not-a-package"]


def test_fold_raises_before_loading(tmp_path):
    # On this machine either the packages or the weights (or both) are absent, so folding
    # must stop with the clear message instead of trying to download anything.
    backend = create_backend("esmfold", weights_dir=tmp_path, device="cpu")
    with pytest.raises(FoldError, match="local ESMFold \\(fair-esm\\) cannot run"):
        backend.fold("MKV")


def test_hub_dir_restored_after_load_attempt(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(esmfold, "missing_packages", lambda: [])
    for name in WEIGHT_FILES:
        (tmp_path / name).write_bytes(b"not a checkpoint")
    before = torch.hub.get_dir()
    seen = {}

    def fake_esmfold_v1():
        checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
        seen["files"] = sorted(path.name for path in checkpoints.iterdir())
        raise RuntimeError("invalid load key")

    import esm.pretrained
    monkeypatch.setattr(esm.pretrained, "esmfold_v1", fake_esmfold_v1)
    with pytest.raises(FoldError, match="cannot load the ESMFold weights"):
        create_backend("esmfold", weights_dir=tmp_path, device="cpu").fold("MKV")
    assert seen["files"] == sorted(WEIGHT_FILES)
    assert torch.hub.get_dir() == before
