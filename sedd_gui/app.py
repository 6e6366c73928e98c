"""The ``sedd-gui`` command: open the window, optionally with a prompt and a checkpoint."""

from __future__ import annotations

import argparse
import logging
import sys

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication

from .history import DATABASE_NAME, HistoryStore
from .settings import APP_NAME, data_dir, open_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sedd-gui",
        description="Infill masked spans of protein sequences with a Score Entropy Discrete Diffusion model, "
                    "watching the denoising live.")
    parser.add_argument("prompt", nargs="?", default=None,
                        help="prompt to open with, e.g. 'MKV[5-8]GLE' (letters fixed, _ one masked residue, "
                             "[n] or [a-b] masked spans, {ST} a restricted residue)")
    parser.add_argument("--checkpoint", metavar="DIR", default=None,
                        help="checkpoint directory with config.json and model.safetensors "
                             "(default: the last one used, else the shipped model)")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="logging level of messages written to stderr")
    return parser


def prepare_qt_environment() -> None:
    """Set what QtWebEngine (the 3D structure view) reads when the QApplication starts; call before creating it."""
    try:
        from .structure_panel import configure_webengine_environment
    except ImportError:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
        return
    configure_webengine_environment()


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, open the main window and run the Qt event loop; return the exit status."""
    arguments = sys.argv[1:] if argv is None else argv
    args, qt_arguments = build_parser().parse_known_args(arguments)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    prepare_qt_environment()
    app = QApplication.instance() or QApplication([sys.argv[0], *qt_arguments])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)

    from .main_window import USE_SETTINGS, MainWindow

    history = HistoryStore(data_dir() / DATABASE_NAME)
    checkpoint = args.checkpoint if args.checkpoint is not None else USE_SETTINGS
    window = MainWindow(open_settings(), history, checkpoint=checkpoint, prompt=args.prompt)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
