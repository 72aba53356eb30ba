"""Tiny generated image folders for the data-layer tests (every image has distinct pixels)."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from PIL import Image

from core.layouts import BREAKHIS_CODES

_counter = itertools.count()
MALIGNANT = {"DC", "LC", "MC", "PC"}


def pixels(size: int = 8) -> np.ndarray:
    """A small RGB array unique within this test session."""
    rng = np.random.default_rng(next(_counter))
    return rng.integers(0, 256, (size, size, 3), dtype=np.uint8)


def write_png(path: Path, size: int = 8) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels(size)).save(path)
    return path


def breakhis_relpath(code: str, patient: str, mag: int, number: int) -> str:
    group = "malignant" if code in MALIGNANT else "benign"
    g = group[0].upper()
    return (f"BreaKHis_v1/histology_slides/breast/{group}/SOB/{BREAKHIS_CODES[code]}/"
            f"SOB_{g}_{code}_{patient}/{mag}X/SOB_{g}_{code}-{patient}-{mag}-{number:03d}.png")


def make_breakhis(root: Path, spec: list[tuple[str, str, int, int]]) -> list[str]:
    """spec: (tumour code, patient, magnification, number of images)."""
    made = []
    for code, patient, mag, n in spec:
        for i in range(1, n + 1):
            rel = breakhis_relpath(code, patient, mag, i)
            write_png(root / rel)
            made.append(rel)
    return made


def make_folders(root: Path, counts: dict[str, int], suffix: str = ".png") -> list[str]:
    made = []
    for label, n in counts.items():
        for i in range(n):
            rel = f"{label}/tile_{i:03d}{suffix}"
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels()).save(path)
            made.append(rel)
    return made


def make_idc(root: Path, patients: dict[str, dict[str, int]]) -> list[str]:
    """<patient>/<0|1>/<patient>_idx5_x<X>_y<Y>_class<c>.png"""
    made = []
    for patient, per_class in patients.items():
        for label, n in per_class.items():
            for i in range(n):
                rel = f"{patient}/{label}/{patient}_idx5_x{50 * i}_y{50 * i}_class{label}.png"
                write_png(root / rel)
                made.append(rel)
    return made
