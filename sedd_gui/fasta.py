"""FASTA text in the GUI: records from pasted text, and candidates written out as FASTA."""

from __future__ import annotations

from core.data import FastaRecord

LINE_WIDTH = 60


def looks_like_fasta(text: str) -> bool:
    """Return True when ``text`` starts with a '>' header line (leading blank lines allowed)."""
    return text.lstrip().startswith(">")


def parse_fasta_text(text: str) -> list[FastaRecord]:
    """Split FASTA text into records, joining sequence lines and dropping whitespace.

    Raises ValueError when sequence data comes before the first header or no record is found.
    """
    records: list[FastaRecord] = []
    header, parts = None, []
    for line_number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith(">"):
            if header is not None:
                records.append(FastaRecord(header, "".join(parts)))
            header, parts = line[1:].strip(), []
        elif header is None:
            raise ValueError(f"line {line_number}: sequence data before the first '>' header, so this is not FASTA")
        else:
            parts.append("".join(line.split()))
    if header is not None:
        records.append(FastaRecord(header, "".join(parts)))
    if not records:
        raise ValueError("no FASTA record found: each record starts with a '>' header line")
    return records


def format_fasta(records: list[FastaRecord], width: int = LINE_WIDTH) -> str:
    """Write records as FASTA text with sequence lines of ``width`` characters."""
    lines = []
    for record in records:
        lines.append(f">{record.header}")
        sequence = record.sequence
        lines.extend(sequence[i : i + width] for i in range(0, len(sequence), width))
    return "\n".join(lines) + "\n"
