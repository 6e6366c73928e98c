"""The Qt setup that the 3D view and panel tests share."""

from __future__ import annotations

import pytest

from sedd_gui.structure_panel import configure_webengine_environment
from test_folding_backbone import BackboneBackend, backbone_pdb  # noqa: F401 (used by other test modules)

# QtWebEngine reads its flags when the QApplication starts; test modules are imported
# during collection, before any test creates the application.
configure_webengine_environment()


@pytest.fixture
def qapp_webengine(qapp):
    """The QApplication, created after the WebEngine flags are set."""
    return qapp
