"""Local ESMFold through fair-esm (``esm.pretrained.esmfold_v1``).

fair-esm 2.0.0 builds ESMFold from three files that it fetches into the torch hub
cache (``torch.hub.get_dir()/checkpoints``) on first use: the folding trunk and the
3B-parameter ESM-2 language model with its contact-regression head. This backend
loads them only when all three are already there, so it never downloads anything.
ESMFold also needs OpenFold and a few packages of fair-esm's ``esmfold`` extra.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import threading
import time
from pathlib import Path

from .local import LocalModelBackend
from .structure import FoldError, Structure, check_folded_pdb, validate_sequence, with_plddt_bfactors

BACKEND_NAME = "esmfold"

# File name in the hub cache -> URL that fair-esm 2.0.0 downloads it from.
WEIGHT_FILES = {
    "esmfold_3B_v1.pt": "https://dl.fbaipublicfiles.com/fair-esm/models/esmfold_3B_v1.pt",
    "esm2_t36_3B_UR50D.pt": "https://dl.fbaipublicfiles.com/fair-esm/models/esm2_t36_3B_UR50D.pt",
    "esm2_t36_3B_UR50D-contact-regression.pt":
        "https://dl.fbaipublicfiles.com/fair-esm/regression/esm2_t36_3B_UR50D-contact-regression.pt",
}

# Modules that esm.esmfold imports, with the pip requirement that provides each.
REQUIRED_MODULES = {
    "omegaconf": "omegaconf",
    "einops": "einops",
    "tree": "dm-tree",
    "ml_collections": "ml-collections",
    "openfold": "openfold",
}

INSTALL_HINT = (
    "Install them with: pip install 'fair-esm[esmfold]' "
    "'dllogger @ git+https://github.com/NVIDIA/dllogger.git' "
    "'openfold @ git+https://github.com/aqlaboratory/openfold.git@4b41059694619831a7db195b7e0988fc4ff3a307' "
    "(OpenFold compiles CUDA code and needs nvcc), or use the transformers backend."
)

# torch.hub.set_dir changes process-wide state; loads that point it elsewhere take turns.
_HUB_DIR_LOCK = threading.Lock()


def missing_packages() -> list[str]:
    """Return the pip requirements of ESMFold that cannot be imported, in REQUIRED_MODULES order."""
    missing = []
    for module, requirement in REQUIRED_MODULES.items():
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            missing.append(requirement)
    return missing


def default_weights_dir() -> Path:
    """Return the torch hub checkpoint folder where fair-esm keeps its downloads."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def missing_weights(weights_dir: Path) -> list[str]:
    """Return the names of the ESMFold weight files absent from ``weights_dir``."""
    return [name for name in WEIGHT_FILES if not (weights_dir / name).is_file()]


def check_available(weights_dir: str | Path | None = None) -> Path:
    """Return the folder of the ESMFold weights, raising FoldError naming every missing package and file."""
    folder = Path(weights_dir).expanduser() if weights_dir else default_weights_dir()
    problems = []

    packages = missing_packages()
    if packages:
        problems.append(f"missing Python packages: {', '.join(packages)}. {INSTALL_HINT}")

    files = missing_weights(folder)
    if files:
        downloads = "; ".join(f"{name} from {WEIGHT_FILES[name]}" for name in files)
        problems.append(f"missing weights in {folder}: {', '.join(files)}. Download {downloads} into that folder, "
                        f"or give the folder that holds them.")

    if problems:
        raise FoldError("local ESMFold (fair-esm) cannot run:\n- " + "\n- ".join(problems))
    return folder


class FairEsmBackend(LocalModelBackend):
    """ESMFold v1 from fair-esm; the model loads on the first fold and stays in memory.

    The language model runs in float16 on CUDA and float32 elsewhere, because fair-esm
    casts it to float16 and many CPU kernels lack half precision. ``chunk_size`` bounds
    the memory of the trunk's axial attention for long sequences (None: no chunking;
    smaller values use less memory and run slower).
    """

    name = BACKEND_NAME

    def __init__(self, weights_dir: str | Path | None = None, device: str = "auto",
                 chunk_size: int | None = None, num_recycles: int | None = None):
        super().__init__()
        self.weights_dir = weights_dir
        self.device_name = device
        self.chunk_size = chunk_size
        self.num_recycles = num_recycles

    def _load_model(self):
        from ..device import resolve_device

        folder = check_available(self.weights_dir)
        try:
            device = resolve_device(self.device_name)
        except ValueError as error:
            raise FoldError(str(error)) from None

        import esm

        try:
            with _hub_dir_containing(folder):
                model = esm.pretrained.esmfold_v1()
        except ImportError as error:
            raise FoldError(f"local ESMFold (fair-esm) cannot import {error.name or error}. {INSTALL_HINT}") from None
        except (RuntimeError, OSError, KeyError) as error:
            raise FoldError(f"cannot load the ESMFold weights from {folder}: {error}") from None

        model = model.eval()
        if device.type == "cuda":
            model.esm.half()
        else:
            model.esm.float()
        model = model.to(device)
        if self.chunk_size:
            model.set_chunk_size(self.chunk_size)
        return model

    def fold(self, sequence: str) -> Structure:
        """Fold one sequence; raises ValueError for an invalid sequence and FoldError when folding fails."""
        import torch

        sequence = validate_sequence(sequence)
        model = self.load()
        start = time.perf_counter()
        try:
            with torch.no_grad():
                output = model.infer(sequence, num_recycles=self.num_recycles)
        except torch.cuda.OutOfMemoryError:
            raise FoldError(f"out of GPU memory folding {len(sequence)} residues: set a chunk size "
                            "(e.g. 64) or fold on the CPU") from None
        pdb = model.output_to_pdb(output)[0]
        seconds = time.perf_counter() - start

        check_folded_pdb(pdb, sequence, "ESMFold (fair-esm)")
        # NOTE: this output handling follows the fair-esm 2.0.0 source; it has not run with the
        # real weights, because OpenFold and the weights (several GB) could not be installed here.
        # output["plddt"]: (batch, residues, 37 atom types) on 0-100; atom type 1 is CA.
        plddt = [float(value) for value in output["plddt"][0, : len(sequence), 1].float().cpu()]
        ptm = float(output["ptm"][0])
        return Structure(pdb=with_plddt_bfactors(pdb, plddt), plddt=plddt, ptm=ptm,
                         backend=self.name, seconds=seconds)


class _hub_dir_containing:
    """Point torch.hub at a folder whose ``checkpoints`` subfolder contains the weights, then restore it.

    fair-esm looks for its files only in ``torch.hub.get_dir()/checkpoints``. When the
    weights are in a folder of another name, a temporary hub folder links to them.
    """

    def __init__(self, weights_folder: Path):
        self.weights_folder = weights_folder.resolve()
        self.previous = None
        self.temporary = None

    def __enter__(self):
        import torch

        _HUB_DIR_LOCK.acquire()
        self.previous = torch.hub.get_dir()
        if self.weights_folder.name == "checkpoints":
            hub = self.weights_folder.parent
        else:
            self.temporary = tempfile.TemporaryDirectory(prefix="sedd-esmfold-hub-")
            hub = Path(self.temporary.name)
            (hub / "checkpoints").mkdir()
            for name in WEIGHT_FILES:
                os.symlink(self.weights_folder / name, hub / "checkpoints" / name)
        torch.hub.set_dir(str(hub))
        return hub

    def __exit__(self, *exc_info):
        import torch

        torch.hub.set_dir(self.previous)
        if self.temporary is not None:
            self.temporary.cleanup()
        _HUB_DIR_LOCK.release()
        return False
