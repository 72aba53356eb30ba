"""How fast does `scan` check a BreakHis-sized folder? Prints files per second.

Generates a BreakHis-shaped tree (8 tumour types, 82 patients, 4 magnifications, the
dataset's own folder and file names) of small distinct PNGs in a temporary folder, scans
it once in one process and once on all cores, and checks that every file was found.

    .venv/bin/python bench/scan.py [--files 8000] [--size 64]

Last line: {"files_per_s": ...} (the all-cores figure).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.layouts import BREAKHIS_CODES  # noqa: E402
from core.scan import _cpu_count, scan  # noqa: E402

# Patients per tumour type in the full dataset (82 in all).
PATIENTS = {"A": 4, "F": 10, "PT": 3, "TA": 7, "DC": 38, "LC": 5, "MC": 9, "PC": 6}
MAGS = (40, 100, 200, 400)
MALIGNANT = {"DC", "LC", "MC", "PC"}


def breakhis_paths(n_files: int) -> list[str]:
    slots = [(code, f"14-{1000 + 97 * k + i}") for k, (code, n) in enumerate(PATIENTS.items())
             for i in range(n)]
    paths = []
    for i in range(n_files):
        code, patient = slots[i % len(slots)]
        mag = MAGS[(i // len(slots)) % len(MAGS)]
        number = i // (len(slots) * len(MAGS)) + 1
        group = "malignant" if code in MALIGNANT else "benign"
        g = group[0].upper()
        paths.append(
            f"BreaKHis_v1/histology_slides/breast/{group}/SOB/{BREAKHIS_CODES[code]}/"
            f"SOB_{g}_{code}_{patient}/{mag}X/SOB_{g}_{code}-{patient}-{mag}-{number:03d}.png"
        )
    return paths


def generate(root: Path, n_files: int, size: int) -> None:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (size, size * 3 // 2, 3), dtype=np.uint8)
    for i, rel in enumerate(breakhis_paths(n_files)):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = base.copy()
        pixels.reshape(-1)[: 8] = np.frombuffer(i.to_bytes(8, "little"), dtype=np.uint8)  # distinct
        Image.fromarray(pixels).save(path, compress_level=1)


def timed_scan(root: Path, workers: int | None, n_files: int) -> float:
    started = time.perf_counter()
    catalog = scan(root, layout="breakhis", workers=workers)
    seconds = time.perf_counter() - started
    if len(catalog.samples) != n_files or catalog.skipped:
        raise SystemExit(f"scan found {len(catalog.samples)} of {n_files} files, "
                         f"skipped {len(catalog.skipped)}: the benchmark is invalid")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8000)
    parser.add_argument("--size", type=int, default=64, help="image height in pixels")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="histoclass-bench-scan-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        generate(root, args.files, args.size)
        print(f"generated {args.files} PNGs ({args.size} px high) in {time.perf_counter() - started:.1f} s")
        serial = timed_scan(root, 1, args.files)
        print(f"one process: {serial:.2f} s, {args.files / serial:.0f} files/s")
        parallel = timed_scan(root, None, args.files)
        workers = _cpu_count()
        print(f"all {workers} cores: {parallel:.2f} s, {args.files / parallel:.0f} files/s")
    print(json.dumps({"files_per_s": round(args.files / parallel, 1), "files": args.files,
                      "seconds": round(parallel, 3), "workers": workers,
                      "serial_files_per_s": round(args.files / serial, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
