"""Shared test settings: headless Qt, quiet TensorFlow, real data from ../shared/data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_data(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"real images not present at {path}")
    return path


@pytest.fixture
def breakhis_sample() -> Path:
    return shared_data("breakhis-sample")


@pytest.fixture
def idc_root() -> Path:
    return shared_data("idc")


@pytest.fixture
def kather_sample() -> Path:
    return shared_data("kather-sample")
