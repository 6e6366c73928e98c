"""Folding backends: ESMFold through fair-esm or transformers, a remote fold server, and PDB files."""
