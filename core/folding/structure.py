"""Predicted structures as PDB text, and the per-residue pLDDT carried in its B-factors.

ESMFold and AlphaFold write pLDDT into the B-factor column of each atom. fair-esm
writes it on a 0-100 scale, Hugging Face's ``EsmForProteinFolding`` and the ESM Atlas
API on a 0-1 scale; ``normalise_plddt`` puts both on 0-100. PDB columns follow the
wwPDB format description version 3.3, section "ATOM".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..alphabet import AlphabetError, clean_sequence, encode_residues


class FoldError(RuntimeError):
    """A fold that could not run or returned no usable structure; the message gives the cause and the fix."""


@dataclass(frozen=True)
class Structure:
    """One structure: PDB text, per-residue pLDDT on 0-100 (empty when unknown), pTM when known."""

    pdb: str
    plddt: list[float]
    ptm: float | None
    backend: str
    seconds: float

    @property
    def mean_plddt(self) -> float:
        """Mean pLDDT over residues, or NaN when the structure carries none."""
        if not self.plddt:
            return math.nan
        return sum(self.plddt) / len(self.plddt)

    @property
    def sequence(self) -> str:
        """One-letter sequence of the protein residues, in file order ('X' for non-standard ones)."""
        return "".join(residue.letter for residue in parse_residues(self.pdb))


# Three-letter residue names of the 20 standard amino acids, plus common modified
# residues that folding and viewing treat as their parent.
THREE_TO_ONE = {
    "ALA": "A", "ARG": "R", "ASN": "N", "ASP": "D", "CYS": "C", "GLN": "Q", "GLU": "E",
    "GLY": "G", "HIS": "H", "ILE": "I", "LEU": "L", "LYS": "K", "MET": "M", "PHE": "F",
    "PRO": "P", "SER": "S", "THR": "T", "TRP": "W", "TYR": "Y", "VAL": "V",
    "MSE": "M", "SEC": "C", "PYL": "K", "UNK": "X",
}


@dataclass(frozen=True)
class Residue:
    """One residue of a PDB model: chain id, residue number, insertion code, name and B-factor."""

    chain: str
    number: int
    insertion: str
    name: str
    bfactor: float

    @property
    def letter(self) -> str:
        return THREE_TO_ONE.get(self.name, "X")


def validate_sequence(sequence: str) -> str:
    """Return ``sequence`` cleaned (uppercase, no whitespace), raising ValueError if it is empty or invalid."""
    cleaned = clean_sequence(sequence)
    if not cleaned:
        raise ValueError("the sequence is empty: give at least one residue")
    try:
        encode_residues(cleaned)
    except AlphabetError as error:
        raise ValueError(str(error)) from None
    return cleaned


def parse_residues(pdb: str) -> list[Residue]:
    """List the residues of the first model's ATOM records, in file order.

    The B-factor of a residue is that of its CA atom, or of its first atom when it has
    no CA. HETATM records (ligands, water) are skipped. Raises FoldError for an ATOM
    record whose columns cannot be read.
    """
    residues: list[Residue] = []
    seen: set[tuple[str, int, str]] = set()
    current_key = None
    current_bfactor_is_ca = False

    for line_number, line in enumerate(pdb.splitlines(), start=1):
        record = line[:6]
        if record == "ENDMDL":
            break
        if record != "ATOM  ":
            continue

        try:
            atom_name = line[12:16].strip()
            name = line[17:20].strip()
            chain = line[21:22].strip()
            number = int(line[22:26])
            insertion = line[26:27].strip()
            bfactor = float(line[60:66])
        except ValueError:
            raise FoldError(f"invalid ATOM record on line {line_number} of the PDB text: {line.rstrip()!r}") from None

        key = (chain, number, insertion)
        if key != current_key and key not in seen:
            seen.add(key)
            residues.append(Residue(chain, number, insertion, name, bfactor))
            current_key = key
            current_bfactor_is_ca = atom_name == "CA"
        elif key == current_key and atom_name == "CA" and not current_bfactor_is_ca:
            residues[-1] = Residue(chain, number, insertion, name, bfactor)
            current_bfactor_is_ca = True
    return residues


def normalise_plddt(values: list[float]) -> list[float]:
    """Put pLDDT values on the 0-100 scale: values that all lie within 0-1 are multiplied by 100.

    Raises ValueError when a value is negative, not finite or above 100, because such
    B-factors are not pLDDT (crystal structures store atomic displacement there).
    A 0-100 structure whose residues all score at most 1 would be misread as 0-1, but
    no folding model predicts that.
    """
    for value in values:
        if not math.isfinite(value) or value < 0 or value > 100:
            raise ValueError(f"B-factor {value} is not a pLDDT: pLDDT lies between 0 and 1 or between 0 and 100")
    if values and max(values) <= 1.0:
        return [value * 100.0 for value in values]
    return list(values)


def plddt_from_pdb(pdb: str) -> list[float]:
    """Return the per-residue pLDDT (0-100) stored in the B-factors of ``pdb``."""
    return normalise_plddt([residue.bfactor for residue in parse_residues(pdb)])


def with_plddt_bfactors(pdb: str, plddt: list[float]) -> str:
    """Rewrite the B-factor of every ATOM record of the first model with its residue's pLDDT (0-100)."""
    residues = parse_residues(pdb)
    if len(residues) != len(plddt):
        raise ValueError(f"{len(plddt)} pLDDT values for {len(residues)} residues")
    index_of = {(r.chain, r.number, r.insertion): i for i, r in enumerate(residues)}

    lines = []
    in_first_model = True
    for line in pdb.splitlines():
        if line.startswith("ENDMDL"):
            in_first_model = False
        if in_first_model and line.startswith("ATOM  "):
            key = (line[21:22].strip(), int(line[22:26]), line[26:27].strip())
            line = f"{line[:60].ljust(60)}{plddt[index_of[key]]:6.2f}{line[66:]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def check_folded_pdb(pdb: str, sequence: str, source: str) -> list[Residue]:
    """Check that ``pdb`` is a structure of ``sequence`` and return its residues.

    Raises FoldError naming ``source`` when the text has no ATOM records or its residue
    count differs from the sequence length.
    """
    try:
        residues = parse_residues(pdb)
    except FoldError as error:
        raise FoldError(f"{source} returned an invalid PDB: {error}") from None
    if not residues:
        preview = " ".join(pdb[:80].split())
        raise FoldError(f"{source} returned no PDB structure (no ATOM records); the response began with {preview!r}")
    if len(residues) != len(sequence):
        raise FoldError(f"{source} returned a structure of {len(residues)} residues "
                        f"for a sequence of {len(sequence)} residues")
    return residues


def structure_from_pdb(pdb: str, backend: str, seconds: float = 0.0, ptm: float | None = None) -> Structure:
    """Build a Structure from PDB text, reading pLDDT from its B-factors when they are pLDDT.

    When the B-factors are not pLDDT (outside 0-100), the structure keeps an empty
    pLDDT list. When they are, the PDB text is rewritten so that its B-factors are on 0-100.
    """
    try:
        plddt = plddt_from_pdb(pdb)
    except ValueError:
        return Structure(pdb=pdb, plddt=[], ptm=ptm, backend=backend, seconds=seconds)
    if plddt:
        pdb = with_plddt_bfactors(pdb, plddt)
    return Structure(pdb=pdb, plddt=plddt, ptm=ptm, backend=backend, seconds=seconds)


def read_structure_file(path: str | Path) -> Structure:
    """Read a PDB or mmCIF file (optionally gzipped) into a Structure with backend ``file``.

    B-factors are read as pLDDT when they lie within 0-100; for an experimental
    structure they are atomic displacement parameters, which this function cannot tell
    apart, so the caller should label them as B-factors read as pLDDT. mmCIF is read with
    gemmi and converted to PDB text. Raises FoldError for a missing, unreadable or empty file.
    """
    path = Path(path)
    if not path.is_file():
        raise FoldError(f"structure file not found: {path}")

    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".cif", ".mmcif")) or path.name.lower().endswith(".gz"):
        pdb = _pdb_text_with_gemmi(path)
    else:
        try:
            pdb = path.read_text(errors="replace")
        except OSError as error:
            raise FoldError(f"cannot read {path}: {error.strerror}") from None

    if not parse_residues(pdb):
        raise FoldError(f"{path} contains no protein atoms (no ATOM records in its first model)")
    return structure_from_pdb(pdb, backend="file")


def _pdb_text_with_gemmi(path: Path) -> str:
    import gemmi

    try:
        structure = gemmi.read_structure(str(path))
    except (RuntimeError, ValueError, OSError) as error:
        raise FoldError(f"cannot read {path} as PDB or mmCIF: {error}") from None
    structure.setup_entities()
    try:
        return structure.make_pdb_string()
    except RuntimeError as error:
        raise FoldError(f"cannot convert {path} to PDB format for viewing: {error}") from None
