"""PDB parsing, pLDDT scale normalisation and reading PDB or mmCIF files."""

from __future__ import annotations

import gzip
import math

import pytest

from core.folding import FoldError, normalise_plddt, plddt_from_pdb, read_structure_file, structure_from_pdb
from core.folding.structure import Structure, parse_residues, validate_sequence, with_plddt_bfactors


def atom_line(serial: int, name: str, residue: str, chain: str, number: int, bfactor: float,
              x: float = 0.0, element: str = "C", record: str = "ATOM") -> str:
    """Format one ATOM record with the wwPDB fixed columns."""
    return (f"{record:<6}{serial:5d} {name:<4} {residue:>3} {chain}{number:4d}    "
            f"{x:8.3f}{0.0:8.3f}{0.0:8.3f}{1.0:6.2f}{bfactor:6.2f}          {element:>2}")


def small_pdb(bfactors: list[float], chain: str = "A", first: int = 1) -> str:
    """Return a PDB of alanines, N/CA/C/O per residue, each residue with its own B-factor."""
    lines = []
    serial = 1
    for offset, bfactor in enumerate(bfactors):
        for atom in ("N", "CA", "C", "O"):
            element = atom[0]
            lines.append(atom_line(serial, atom, "ALA", chain, first + offset, bfactor, x=1.5 * serial, element=element))
            serial += 1
    lines.append("END")
    return "\n".join(lines) + "\n"


def test_normalise_plddt_0_1_scale():
    assert normalise_plddt([0.25, 0.5, 0.95]) == pytest.approx([25.0, 50.0, 95.0])


def test_normalise_plddt_0_100_scale():
    assert normalise_plddt([25.0, 50.0, 95.0]) == pytest.approx([25.0, 50.0, 95.0])


def test_normalise_plddt_edge_values():
    assert normalise_plddt([1.0, 1.0]) == pytest.approx([100.0, 100.0])
    assert normalise_plddt([0.0, 100.0]) == pytest.approx([0.0, 100.0])
    assert normalise_plddt([]) == []


@pytest.mark.parametrize("value", [-0.5, 100.5, math.nan, math.inf])
def test_normalise_plddt_rejects_non_plddt(value):
    with pytest.raises(ValueError, match="not a pLDDT"):
        normalise_plddt([50.0, value])


def test_plddt_from_pdb_both_scales():
    assert plddt_from_pdb(small_pdb([0.9, 0.6, 0.3])) == pytest.approx([90.0, 60.0, 30.0])
    assert plddt_from_pdb(small_pdb([90.0, 60.0, 30.0])) == pytest.approx([90.0, 60.0, 30.0])


def test_structure_from_pdb_rewrites_0_1_bfactors():
    structure = structure_from_pdb(small_pdb([0.9, 0.45]), backend="remote")
    assert structure.plddt == pytest.approx([90.0, 45.0])
    assert structure.mean_plddt == pytest.approx(67.5)
    bfactors = [float(line[60:66]) for line in structure.pdb.splitlines() if line.startswith("ATOM")]
    assert bfactors == pytest.approx([90.0] * 4 + [45.0] * 4)


def test_structure_from_pdb_keeps_crystal_bfactors():
    pdb = small_pdb([35.0, 140.0])
    structure = structure_from_pdb(pdb, backend="file")
    assert structure.plddt == []
    assert math.isnan(structure.mean_plddt)
    assert structure.pdb == pdb


def test_parse_residues_uses_ca_bfactor():
    lines = [atom_line(1, "N", "GLY", "A", 5, 10.0), atom_line(2, "CA", "GLY", "A", 5, 80.0),
             atom_line(3, "N", "SER", "B", 7, 20.0), atom_line(4, "CA", "SER", "B", 7, 70.0)]
    residues = parse_residues("\n".join(lines))
    assert [(r.chain, r.number, r.name, r.bfactor) for r in residues] == [("A", 5, "GLY", 80.0), ("B", 7, "SER", 70.0)]
    assert "".join(r.letter for r in residues) == "GS"


def test_parse_residues_first_model_and_atoms_only():
    model_one = small_pdb([50.0, 60.0]).replace("END\n", "")
    hetatm = atom_line(99, "O", "HOH", "A", 100, 30.0, element="O", record="HETATM")
    text = "MODEL        1\n" + model_one + hetatm + "\nENDMDL\nMODEL        2\n" + small_pdb([1.0, 2.0, 3.0]) + "ENDMDL\n"
    assert len(parse_residues(text)) == 2


def test_parse_residues_rejects_broken_record():
    good = atom_line(1, "CA", "ALA", "A", 1, 50.0)
    bad = atom_line(2, "CA", "ALA", "A", 2, 50.0).replace("  1.00 50.00", "  1.00 xx.xx")
    with pytest.raises(FoldError, match="line 2"):
        parse_residues(good + "\n" + bad)


def test_with_plddt_bfactors_count_mismatch():
    with pytest.raises(ValueError, match="2 pLDDT values for 3 residues"):
        with_plddt_bfactors(small_pdb([1.0, 2.0, 3.0]), [50.0, 60.0])


def test_structure_sequence_from_pdb():
    structure = Structure(pdb=small_pdb([50.0, 50.0, 50.0]), plddt=[50.0] * 3, ptm=None, backend="file", seconds=0.0)
    assert structure.sequence == "AAA"


def test_validate_sequence_cleans_and_rejects():
    assert validate_sequence(" mkv\nla ") == "MKVLA"
    with pytest.raises(ValueError, match="empty"):
        validate_sequence("  \n")
    with pytest.raises(ValueError, match="invalid character 'B'"):
        validate_sequence("MKB")


def test_read_pdb_file(tmp_path):
    path = tmp_path / "model.pdb"
    path.write_text(small_pdb([0.8, 0.7, 0.6], first=10))
    structure = read_structure_file(path)
    assert structure.backend == "file"
    assert structure.plddt == pytest.approx([80.0, 70.0, 60.0])
    assert [r.number for r in parse_residues(structure.pdb)] == [10, 11, 12]


def test_read_mmcif_file(tmp_path):
    import gemmi

    pdb = small_pdb([91.0, 72.0, 55.0, 30.0])
    document = gemmi.read_pdb_string(pdb).make_mmcif_document()
    path = tmp_path / "model.cif"
    document.write_file(str(path))
    assert "_atom_site" in path.read_text()

    structure = read_structure_file(path)
    assert len(parse_residues(structure.pdb)) == 4
    assert structure.plddt == pytest.approx([91.0, 72.0, 55.0, 30.0])


def test_read_gzipped_pdb_file(tmp_path):
    path = tmp_path / "model.pdb.gz"
    path.write_bytes(gzip.compress(small_pdb([0.5, 0.5]).encode()))
    assert read_structure_file(path).plddt == pytest.approx([50.0, 50.0])


def test_read_structure_file_errors(tmp_path):
    with pytest.raises(FoldError, match="not found"):
        read_structure_file(tmp_path / "absent.pdb")

    empty = tmp_path / "empty.pdb"
    empty.write_text("REMARK nothing here\nEND\n")
    with pytest.raises(FoldError, match="no protein atoms"):
        read_structure_file(empty)

    broken = tmp_path / "broken.cif"
    broken.write_text("this is not mmCIF\n")
    with pytest.raises(FoldError, match="cannot read"):
        read_structure_file(broken)
