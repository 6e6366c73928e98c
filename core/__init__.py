"""Engine of sedd-gui: Score Entropy Discrete Diffusion for protein sequences.

Nothing in this package imports Qt; the GUI in ``sedd_gui`` only wires widgets to it.
"""

__version__ = "0.1.0"
