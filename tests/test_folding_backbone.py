"""Test structures built from ideal backbone geometry, and a folding backend that returns them.

``backbone_pdb`` places N, CA, C and O atoms from bond lengths, bond angles and
(phi, psi, omega) torsions with the natural extension reference frame (NeRF) method
(Parsons et al., J. Comput. Chem. 26, 1063, 2005), so the tests carry no structure
copied from elsewhere. Backbone bond lengths and angles are those of Engh & Huber (1991).
Other test modules import ``backbone_pdb`` and ``BackboneBackend`` from here.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

from core.folding import structure_from_pdb, validate_sequence

THREE_LETTER = {"A": "ALA", "C": "CYS", "D": "ASP", "E": "GLU", "F": "PHE", "G": "GLY", "H": "HIS", "I": "ILE",
                "K": "LYS", "L": "LEU", "M": "MET", "N": "ASN", "P": "PRO", "Q": "GLN", "R": "ARG", "S": "SER",
                "T": "THR", "V": "VAL", "W": "TRP", "Y": "TYR", "X": "UNK"}

BOND_N_CA, BOND_CA_C, BOND_C_N, BOND_C_O = 1.458, 1.525, 1.329, 1.231
ANGLE_N_CA_C, ANGLE_CA_C_N, ANGLE_C_N_CA, ANGLE_CA_C_O = 111.2, 116.2, 121.7, 120.5
HELIX = (-57.0, -47.0)
LOOP = (-70.0, 140.0)


def place_atom(a: np.ndarray, b: np.ndarray, c: np.ndarray, bond: float, angle: float, torsion: float) -> np.ndarray:
    """Return the atom d bonded to c with |cd| = bond, angle bcd and torsion abcd in degrees."""
    angle, torsion = math.radians(angle), math.radians(torsion)
    bc = (c - b) / np.linalg.norm(c - b)
    normal = np.cross(b - a, bc)
    normal /= np.linalg.norm(normal)
    frame = np.stack([bc, np.cross(normal, bc), normal], axis=1)
    local = bond * np.array([-math.cos(angle), math.sin(angle) * math.cos(torsion), math.sin(angle) * math.sin(torsion)])
    return c + frame @ local


def backbone_coordinates(torsions: list[tuple[float, float]]) -> list[dict[str, np.ndarray]]:
    """Return N, CA, C, O positions per residue for (phi, psi) pairs, with trans peptide bonds."""
    n = np.array([0.0, 0.0, 0.0])
    ca = np.array([BOND_N_CA, 0.0, 0.0])
    angle = math.radians(180.0 - ANGLE_N_CA_C)
    c = ca + BOND_CA_C * np.array([math.cos(angle), math.sin(angle), 0.0])
    residues = []
    for index, (_, psi) in enumerate(torsions):
        if index > 0:
            phi = torsions[index][0]
            previous = residues[-1]
            n = place_atom(previous["N"], previous["CA"], previous["C"], BOND_C_N, ANGLE_CA_C_N, torsions[index - 1][1])
            ca = place_atom(previous["CA"], previous["C"], n, BOND_N_CA, ANGLE_C_N_CA, 180.0)
            c = place_atom(previous["C"], n, ca, BOND_CA_C, ANGLE_N_CA_C, phi)
        o = place_atom(n, ca, c, BOND_C_O, ANGLE_CA_C_O, psi + 180.0)
        residues.append({"N": n, "CA": ca, "C": c, "O": o})
    return residues


def backbone_pdb(sequence: str, plddt: list[float] | None = None, torsions: list[tuple[float, float]] | None = None,
                 chain: str = "A") -> str:
    """Return a PDB of ``sequence`` as backbone atoms; B-factors are ``plddt`` (default: 0-100 ramp)."""
    if torsions is None:
        torsions = helix_turn_helix(len(sequence))
    if plddt is None:
        plddt = [30.0 + 65.0 * i / max(len(sequence) - 1, 1) for i in range(len(sequence))]
    lines = []
    serial = 1
    for index, (letter, atoms) in enumerate(zip(sequence, backbone_coordinates(torsions))):
        for name, position in atoms.items():
            x, y, z = position
            lines.append(f"ATOM  {serial:5d}  {name:<3} {THREE_LETTER[letter]} {chain}{index + 1:4d}    "
                         f"{x:8.3f}{y:8.3f}{z:8.3f}{1.0:6.2f}{plddt[index]:6.2f}           {name[0]}")
            serial += 1
    lines.append("TER")
    lines.append("END")
    return "\n".join(lines) + "\n"


def helix_turn_helix(length: int) -> list[tuple[float, float]]:
    """Torsions for two helices joined by a four-residue loop in the middle."""
    middle = length // 2
    return [LOOP if middle - 2 <= i < middle + 2 else HELIX for i in range(length)]


class BackboneBackend:
    """A folding backend without a model: helix-turn-helix backbones with a pLDDT ramp.

    ``seconds`` is slept inside each fold, and ``started`` counts the folds begun, so
    tests can check cancelling and one-at-a-time serving without a real model.
    """

    name = "backbone"

    def __init__(self, seconds: float = 0.0, ptm: float = 0.5):
        self.seconds = seconds
        self.ptm = ptm
        self.started = 0
        self.running = 0
        self.max_running = 0
        self._lock = threading.Lock()

    def fold(self, sequence: str):
        sequence = validate_sequence(sequence)
        with self._lock:
            self.started += 1
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            start = time.perf_counter()
            time.sleep(self.seconds)
            pdb = backbone_pdb(sequence, plddt=[0.3 + 0.65 * i / max(len(sequence) - 1, 1)
                                                for i in range(len(sequence))])
            return structure_from_pdb(pdb, backend=self.name, seconds=time.perf_counter() - start, ptm=self.ptm)
        finally:
            with self._lock:
                self.running -= 1


def test_backbone_bond_lengths():
    residues = backbone_coordinates(helix_turn_helix(20))
    for residue in residues:
        assert np.linalg.norm(residue["CA"] - residue["N"]) == pytest.approx(BOND_N_CA, abs=1e-3)
        assert np.linalg.norm(residue["C"] - residue["CA"]) == pytest.approx(BOND_CA_C, abs=1e-3)
        assert np.linalg.norm(residue["O"] - residue["C"]) == pytest.approx(BOND_C_O, abs=1e-3)
    for previous, residue in zip(residues, residues[1:]):
        assert np.linalg.norm(residue["N"] - previous["C"]) == pytest.approx(BOND_C_N, abs=1e-3)
        assert np.linalg.norm(residue["CA"] - previous["CA"]) == pytest.approx(3.8, abs=0.1)


def test_helix_geometry():
    residues = backbone_coordinates([HELIX] * 12)
    # An alpha helix rises 1.5 Å per residue, so CA(i)..CA(i+4) is about 6.2 Å, CA(i)..CA(i+3) about 5.0 Å.
    assert np.linalg.norm(residues[7]["CA"] - residues[3]["CA"]) == pytest.approx(6.2, abs=0.4)
    assert np.linalg.norm(residues[6]["CA"] - residues[3]["CA"]) == pytest.approx(5.0, abs=0.4)


def test_backbone_pdb_parses():
    from core.folding.structure import parse_residues, plddt_from_pdb

    pdb = backbone_pdb("MKTAYIAKQR")
    assert "".join(residue.letter for residue in parse_residues(pdb)) == "MKTAYIAKQR"
    assert plddt_from_pdb(pdb)[0] == pytest.approx(30.0)
    assert plddt_from_pdb(pdb)[-1] == pytest.approx(95.0)


def test_backbone_backend_structure():
    structure = BackboneBackend().fold("mkvla")
    assert structure.sequence == "MKVLA"
    assert structure.plddt[0] == pytest.approx(30.0)
    assert structure.plddt[-1] == pytest.approx(95.0)
    assert structure.ptm == pytest.approx(0.5)
