"""Zappo amino-acid colours, the physicochemical scheme that Jalview offers as "Zappo".

Residues are grouped by side-chain property and each group has one colour. Masked
positions are grey so that the spans the model fills stand out.
"""

from __future__ import annotations

ZAPPO_GROUPS = {
    "ILVAM": "#ffafaf",  # aliphatic and hydrophobic
    "FWY": "#ffc800",  # aromatic
    "KRH": "#6464ff",  # positive charge
    "DE": "#ff0000",  # negative charge
    "STNQ": "#00ff00",  # hydrophilic
    "PG": "#ff00ff",  # conformationally special
    "C": "#ffff00",  # cysteine
}

MASKED_COLOR = "#b4b4b4"
UNKNOWN_COLOR = "#ffffff"  # X and anything outside the 20 standard residues

_COLOR_BY_RESIDUE = {residue: color for group, color in ZAPPO_GROUPS.items() for residue in group}


def residue_color(letter: str) -> str:
    """Return the Zappo colour of a residue letter as '#rrggbb'; '_' gets the masked grey."""
    if letter == "_":
        return MASKED_COLOR
    return _COLOR_BY_RESIDUE.get(letter.upper(), UNKNOWN_COLOR)
