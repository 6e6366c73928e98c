"""Folding backends: ESMFold through fair-esm or transformers, a remote fold server, and PDB files.

Every backend has a ``name`` and a ``fold(sequence) -> Structure`` method; heavy
dependencies (torch models, transformers) are imported only when a backend loads.
"""

from __future__ import annotations

from .structure import (FoldError, Structure, normalise_plddt, plddt_from_pdb, read_structure_file,
                        structure_from_pdb, validate_sequence)

BACKEND_NAMES = ("esmfold", "hf", "remote")
BACKEND_LABELS = {
    "esmfold": "ESMFold (fair-esm)",
    "hf": "ESMFold (transformers)",
    "remote": "remote fold server",
    "file": "file",
}


def create_backend(name: str, **options):
    """Create the backend called ``name`` (one of BACKEND_NAMES) with its keyword options.

    esmfold: weights_dir, device, chunk_size, num_recycles. hf: model, device, chunk_size.
    remote: url, timeout, max_residues, ca_file. Raises ValueError for an unknown name.
    """
    if name == "esmfold":
        from .esmfold import FairEsmBackend
        return FairEsmBackend(**options)
    if name == "hf":
        from .hf import HFEsmFoldBackend
        return HFEsmFoldBackend(**options)
    if name == "remote":
        from .remote import RemoteBackend
        return RemoteBackend(**options)
    raise ValueError(f"unknown folding backend {name!r}: use one of {', '.join(BACKEND_NAMES)}")


__all__ = ["BACKEND_LABELS", "BACKEND_NAMES", "FoldError", "Structure", "create_backend", "normalise_plddt",
           "plddt_from_pdb", "read_structure_file", "structure_from_pdb", "validate_sequence"]
