"""Data files shipped with sedd-gui: the default checkpoint, 3Dmol.js and icons."""
