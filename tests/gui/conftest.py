"""GUI tests run offscreen; each test gets settings in a temporary ini file."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def app_state(qtbot, settings):
    from gui.state import AppState

    return AppState(settings)
