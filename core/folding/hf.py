"""Local ESMFold through Hugging Face transformers (``EsmForProteinFolding``).

An alternative to fair-esm for machines where OpenFold cannot be compiled: the
transformers port carries its own copy of the OpenFold code it needs. Weights load only
from a local folder or the Hugging Face cache (``local_files_only``), never from the network.
The port writes pLDDT into the PDB B-factors on a 0-1 scale; this backend rewrites them on 0-100.
"""

from __future__ import annotations

import time
from pathlib import Path

from .local import LocalModelBackend
from .structure import FoldError, Structure, check_folded_pdb, validate_sequence, with_plddt_bfactors

BACKEND_NAME = "hf"
DEFAULT_MODEL = "facebook/esmfold_v1"
INSTALL_HINT = "install it with: pip install 'sedd-gui[hf]' (or pip install 'transformers>=4.40')"


class HFEsmFoldBackend(LocalModelBackend):
    """ESMFold from a transformers model folder or Hub id; the model loads on the first fold.

    The language model runs in float16 on CUDA and float32 elsewhere. ``chunk_size``
    bounds the memory of the trunk's axial attention for long sequences (None: no chunking).
    """

    name = BACKEND_NAME

    def __init__(self, model: str | Path = DEFAULT_MODEL, device: str = "auto", chunk_size: int | None = None):
        super().__init__()
        self.model_name = str(model)
        self.device_name = device
        self.chunk_size = chunk_size

    def _load_model(self):
        from ..device import resolve_device

        try:
            from transformers import EsmForProteinFolding
        except ImportError as error:
            raise FoldError(f"the transformers backend cannot import transformers ({error}): {INSTALL_HINT}") from None
        try:
            device = resolve_device(self.device_name)
        except ValueError as error:
            raise FoldError(str(error)) from None

        try:
            model = EsmForProteinFolding.from_pretrained(self.model_name, local_files_only=True)
        except OSError as error:
            raise FoldError(self._weights_missing_message(error)) from None

        model = model.eval().float()
        if device.type == "cuda":
            model.esm.half()
        model = model.to(device)
        if self.chunk_size:
            model.trunk.set_chunk_size(self.chunk_size)
        return model

    def _weights_missing_message(self, error: OSError) -> str:
        if Path(self.model_name).expanduser().exists():
            return f"cannot load an ESMFold model from {self.model_name}: {error}"
        return (f"ESMFold weights {self.model_name!r} are neither in the Hugging Face cache nor a local folder. "
                f"Run 'hf download {self.model_name}' on a machine with internet access and copy its "
                f"~/.cache/huggingface/hub folder here, or give a folder written by save_pretrained")

    def fold(self, sequence: str) -> Structure:
        """Fold one sequence; raises ValueError for an invalid sequence and FoldError when folding fails."""
        import torch

        sequence = validate_sequence(sequence)
        model = self.load()
        start = time.perf_counter()
        try:
            with torch.no_grad():
                output = model.infer(sequence)
        except torch.cuda.OutOfMemoryError:
            raise FoldError(f"out of GPU memory folding {len(sequence)} residues: set a chunk size "
                            "(e.g. 64) or fold on the CPU") from None
        pdb = model.output_to_pdb(output)[0]
        seconds = time.perf_counter() - start

        check_folded_pdb(pdb, sequence, "ESMFold (transformers)")
        # output["plddt"]: (batch, residues, 37 atom types) on 0-1; atom type 1 is CA.
        plddt = [100.0 * float(value) for value in output["plddt"][0, : len(sequence), 1].float().cpu()]
        ptm = float(output["ptm"].reshape(-1)[0])
        return Structure(pdb=with_plddt_bfactors(pdb, plddt), plddt=plddt, ptm=ptm,
                         backend=self.name, seconds=seconds)
