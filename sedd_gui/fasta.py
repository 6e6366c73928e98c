"""FASTA text in the GUI: detection of pasted FASTA; parsing and writing live in core.data."""

from __future__ import annotations

from core.data import format_fasta, parse_fasta_text

__all__ = ["format_fasta", "looks_like_fasta", "parse_fasta_text"]


def looks_like_fasta(text: str) -> bool:
    """Return True when ``text`` starts with a '>' header line (leading blank lines allowed)."""
    return text.lstrip().startswith(">")
