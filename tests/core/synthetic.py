"""Generated, clearly separable 'histology' images and their manifest, for training tests.

Class "red" is a reddish solid, "blue" a bluish stripe pattern, "green" a greenish
checkerboard; each image has noise, a random size and is saved as PNG or TIFF, so the
pipeline's decoding and resizing really run.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from core.manifest import Manifest, ManifestSample, save_manifest

PATTERNS = ("red", "blue", "green")


def _image(kind: str, rng: np.random.Generator, side: int) -> np.ndarray:
    yy, xx = np.mgrid[0:side, 0:side]
    if kind == "red":
        base = np.stack([np.full((side, side), 200), np.full((side, side), 60), np.full((side, side), 80)], -1)
    elif kind == "blue":
        stripe = ((xx // 4) % 2) * 120
        base = np.stack([40 + 0 * xx, 60 + stripe // 2, 140 + stripe // 2], -1)
    else:
        checker = (((xx // 6) + (yy // 6)) % 2) * 110
        base = np.stack([50 + 0 * xx, 110 + checker, 60 + 0 * xx], -1)
    noisy = base + rng.normal(0, 12, size=base.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def make_manifest(
    root: Path,
    *,
    classes: tuple[str, ...] = PATTERNS[:2],
    patients_per_split: dict[str, int] | None = None,
    images_per_patient: int = 4,
    seed: int = 0,
    by: str = "patient",
    tiff_every: int = 5,
) -> Manifest:
    """Write images under root/<class>/<patient>/ and return (and save) their manifest."""
    patients_per_split = patients_per_split or {"train": 3, "val": 1, "test": 1}
    rng = np.random.default_rng(seed)
    samples = []
    count = 0
    for label in classes:
        for split, n_patients in patients_per_split.items():
            for p in range(n_patients):
                patient = f"{label}-{split}-{p}"
                folder = root / label / patient
                folder.mkdir(parents=True, exist_ok=True)
                for i in range(images_per_patient):
                    count += 1
                    suffix = ".tif" if tiff_every and count % tiff_every == 0 else ".png"
                    side = int(rng.integers(40, 72))
                    Image.fromarray(_image(label, rng, side)).save(folder / f"img{i}{suffix}")
                    samples.append(ManifestSample(
                        path=f"{label}/{patient}/img{i}{suffix}", label=label, patient=patient,
                        magnification="40X" if i % 2 == 0 else "100X", group=None, split=split, fold=None,
                    ))
    manifest = Manifest(
        schema_version=1, seed=seed, options={"by": by}, classes=sorted(classes), root=str(root),
        samples=tuple(samples), warnings=(), class_weights={}, hash="",
    )
    save_manifest(manifest, root / "manifest.json")
    return manifest
