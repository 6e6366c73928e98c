"""Desktop GUI of sedd-gui: PySide6 widgets wired to the engine in ``core``.

The engine never imports Qt. Widgets here are only touched from the GUI thread, and
long work (loading a checkpoint, sampling) runs in worker threads that report through
signals.
"""
