"""FASTA reading, record validation and the sequence-hash train/validation split."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .alphabet import RESIDUE_TO_ID, encode_sequence

SPLIT_RULE = "first 8 bytes of sha256(sequence) as a big-endian integer, mod 1e6, below val_fraction * 1e6 -> validation"


class DataError(ValueError):
    """A data file that cannot be used; the message names the file and the fix."""


@dataclass
class FastaRecord:
    header: str
    sequence: str


@dataclass
class Dataset:
    """Valid sequences of a FASTA file and the counts of records that were skipped."""

    path: Path
    sequences: list[str]
    records: int
    skipped_invalid: int = 0
    skipped_too_long: int = 0
    skipped_examples: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.path}: {self.records} records, {len(self.sequences)} used"
        skipped = self.skipped_invalid + self.skipped_too_long
        if skipped:
            text += (f", {skipped} skipped ({self.skipped_invalid} with characters outside the alphabet, "
                     f"{self.skipped_too_long} longer than the model allows)")
        return text


def read_fasta(path: str | Path) -> list[FastaRecord]:
    """Read a plain or gzip-compressed FASTA file, raising DataError for a missing, binary or empty file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"FASTA file not found: {path}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(2)
        opener = gzip.open if magic == b"\x1f\x8b" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            text = handle.read()
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as error:
        raise DataError(f"{path} is not a text FASTA file ({error}): pass a plain or .gz FASTA file") from None
    except OSError as error:
        raise DataError(f"cannot read {path}: {error}") from None
    if "\x00" in text:
        raise DataError(f"{path} contains binary data: pass a plain or .gz FASTA file")
    return parse_fasta_text(text, str(path))


def parse_fasta_text(text: str, source: str = "the FASTA text") -> list[FastaRecord]:
    """Split FASTA text into records, joining sequence lines and dropping whitespace.

    Raises DataError, naming ``source``, when sequence data comes before the first header
    or no record is found.
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
            raise DataError(f"{source}, line {line_number}: sequence data before the first '>' header, "
                            "so this is not FASTA")
        else:
            parts.append("".join(line.split()))
    if header is not None:
        records.append(FastaRecord(header, "".join(parts)))
    if not records:
        raise DataError(f"{source} contains no FASTA records: each record starts with a '>' header line")
    return records


def format_fasta(records: list[FastaRecord], width: int = 60) -> str:
    """Write records as FASTA text with sequence lines of ``width`` characters."""
    lines = []
    for record in records:
        lines.append(f">{record.header}")
        lines.extend(record.sequence[i : i + width] for i in range(0, len(record.sequence), width))
    return "\n".join(lines) + "\n"


def load_dataset(path: str | Path, max_residues: int) -> Dataset:
    """Read a FASTA file and keep the records that are valid for a model of ``max_residues``."""
    records = read_fasta(path)
    dataset = Dataset(Path(path), [], len(records))
    for record in records:
        sequence = record.sequence.upper()
        if not sequence or any(char not in RESIDUE_TO_ID for char in sequence):
            dataset.skipped_invalid += 1
            if len(dataset.skipped_examples) < 3:
                dataset.skipped_examples.append(record.header)
        elif len(sequence) > max_residues:
            dataset.skipped_too_long += 1
        else:
            dataset.sequences.append(sequence)
    if not dataset.sequences:
        raise DataError(f"{path}: none of its {len(records)} records is usable ({dataset.skipped_invalid} with "
                        f"characters outside the alphabet, {dataset.skipped_too_long} longer than {max_residues} "
                        "residues): check the file or raise --max-length")
    return dataset


def is_validation(sequence: str, val_fraction: float) -> bool:
    """Assign a sequence to validation by a hash of its residues, so duplicates never straddle the split."""
    digest = int.from_bytes(hashlib.sha256(sequence.encode("ascii")).digest()[:8], "big")
    return digest % 1_000_000 < val_fraction * 1_000_000


def split_sequences(sequences: list[str], val_fraction: float) -> tuple[list[str], list[str]]:
    """Split into (train, validation) lists with the sequence-hash rule."""
    train, val = [], []
    for sequence in sequences:
        (val if is_validation(sequence, val_fraction) else train).append(sequence)
    return train, val


def encode_all(sequences: list[str], length: int) -> torch.Tensor:
    """Encode sequences as a (N, length) tensor of BOS + residues + EOS + PAD."""
    if not sequences:
        return torch.zeros((0, length), dtype=torch.long)
    return torch.stack([encode_sequence(s, length) for s in sequences])


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
