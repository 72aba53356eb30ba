"""Where the app's own files and the user's data live, in the source tree and in the installed bundle."""
from __future__ import annotations

import sys
from pathlib import Path

import platformdirs

APP_NAME = "HistoClass"


def app_root() -> Path:
    """The folder that holds `resources/` and `models/`: PyInstaller's bundle dir when frozen."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    return app_root() / "resources"


def bundled_models_dir() -> Path:
    return app_root() / "models"


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_models_dir() -> Path:
    return user_data_dir() / "models"


def user_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def keras_cache_models_dir() -> Path:
    return Path.home() / ".keras" / "models"
