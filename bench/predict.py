"""How fast does `histoclass predict` classify a folder? Prints images per second.

Generates a folder of 700x460 RGB PNGs (BreakHis' own size) with tissue-like texture,
saves and reloads an untrained 8-class bundle (ResNet50, random weights: speed does not
depend on the weights), then times, in one run:

- batch:     `predict_paths` on the folder (threaded decode + resize, batched model calls),
- in_memory: the same bundle on the same images already decoded and resized in memory
             (the upper bound: only the network runs),
- naive:     a loop that decodes each file and calls `model.predict` on it alone.

    .venv/bin/python bench/predict.py [--images 256] [--input-size 224] [--batch-size 32]

Last line: {"batch_img_per_s", "in_memory_img_per_s", "naive_img_per_s", "ratio", ...}
(ratio = batch / in_memory; target at least 0.9).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import common  # noqa: E402,F401 - the repo on sys.path, quiet TensorFlow

WIDTH, HEIGHT = 700, 460


def tissue_like(rng: np.random.Generator) -> np.ndarray:
    """Smooth stained-looking blobs plus fine grain, so PNGs compress like real slides."""
    coarse = rng.uniform(0, 1, size=(HEIGHT // 20 + 1, WIDTH // 20 + 1, 3)).astype(np.float32)
    big = np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize((WIDTH, HEIGHT), Image.BICUBIC))
    stain = np.array([200, 120, 190], np.float32)  # pink-purple H&E tint
    grain = rng.normal(0, 12, size=(HEIGHT, WIDTH, 1))
    image = 0.55 * big + 0.45 * stain + grain
    return np.clip(image, 0, 255).astype(np.uint8)


def make_folder(folder: Path, count: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        path = folder / f"slide_{i:04d}.png"
        Image.fromarray(tissue_like(rng)).save(path)
        paths.append(path)
    return paths


def make_bundle(folder: Path, input_size: int):
    import dataclasses

    from core.bundle import load_bundle, make_card, save_bundle
    from core.config import config_to_dict, default_config
    from core.model import build_model

    config = dataclasses.replace(default_config(), input_size=input_size, weights="none")
    classes = [f"class_{i}" for i in range(8)]
    model = build_model(len(classes), config)
    path = folder / "bench.hcmodel"
    save_bundle(model, {"classes": classes, "input_size": input_size,
                        "config": config_to_dict(config), "name": "bench"}, path)
    return load_bundle(path)


def time_batch(bundle, folder: Path, batch_size: int) -> tuple[int, float]:
    from core.predict import predict_paths

    start = time.perf_counter()
    rows = list(predict_paths(bundle, [folder], batch_size=batch_size))
    elapsed = time.perf_counter() - start
    assert not any("error" in r for r in rows), "a generated image failed to decode"
    return len(rows), elapsed


def time_in_memory(bundle, paths: list[Path], batch_size: int) -> tuple[int, float]:
    from core.images import load_rgb
    from core.model import resize_for_model

    images = np.stack([resize_for_model(load_rgb(p), bundle.input_size) for p in paths])
    start = time.perf_counter()
    for i in range(0, len(images), batch_size):
        bundle.infer(images[i:i + batch_size])
    return len(images), time.perf_counter() - start


def time_naive(bundle, paths: list[Path]) -> tuple[int, float]:
    start = time.perf_counter()
    for path in paths:
        image = np.asarray(Image.open(path).convert("RGB"))
        bundle.model.predict(image[None], verbose=0)
    return len(paths), time.perf_counter() - start


def device_name() -> str:
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    elif backend == "jax":
        import jax

        gpus = [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    else:
        gpus = []
    where = f"GPU {', '.join(gpus)}" if gpus else "CPU"
    return f"{where}, {os.cpu_count()} cores visible, Keras backend {backend}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--naive-images", type=int, default=48, help="the naive loop is slow: fewer images")
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="histoclass-bench-predict-") as tmp:
        folder = Path(tmp) / "slides"
        folder.mkdir()
        start = time.perf_counter()
        paths = make_folder(folder, args.images)
        size_mb = sum(p.stat().st_size for p in paths) / 1e6
        print(f"{len(paths)} PNGs of {WIDTH}x{HEIGHT} ({size_mb:.0f} MB) made in "
              f"{time.perf_counter() - start:.1f} s")
        bundle = make_bundle(Path(tmp), args.input_size)
        device = device_name()
        # Warm up: trace the inference function and the naive predict once.
        time_in_memory(bundle, paths[: args.batch_size], args.batch_size)
        time_naive(bundle, paths[:2])
        figures = {}
        for name, (count, elapsed) in (
            ("batch", time_batch(bundle, folder, args.batch_size)),
            ("in_memory", time_in_memory(bundle, paths, args.batch_size)),
            ("naive", time_naive(bundle, paths[: args.naive_images])),
        ):
            figures[f"{name}_img_per_s"] = round(count / elapsed, 2)
            print(f"{name:>9}: {count} images in {elapsed:.2f} s = {count / elapsed:.1f} img/s")
    figures["ratio"] = round(figures["batch_img_per_s"] / figures["in_memory_img_per_s"], 3)
    figures.update(images=args.images, input_size=args.input_size, batch_size=args.batch_size,
                   device=device)
    print(f"batch path reaches {figures['ratio']:.0%} of the in-memory figure on {device}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
