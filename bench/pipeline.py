"""Is the network, not the input pipeline, the bottleneck? Training images per second, three ways.

On a real-image manifest (by default the IDC patches in ../shared/data/idc, split by
patient), the same compiled model trains for the same number of steps fed by:

  pipeline   core.pipeline: the decode-once memory-mapped cache (warmed first) + tf.data
  in_memory  the same pixels as in-memory tensors (tf.data.Dataset.from_tensor_slices)
  naive      keras.utils.image_dataset_from_directory, decoding the files every epoch

Each source is warmed up (graph traced) first, then timed in rounds that rotate the order
of the three; the median round of each counts (on a shared machine single rounds are noisy).

    .venv/bin/python bench/pipeline.py [--images 1024] [--size 64] [--batch 32] [--steps 20]
        [--trainable head] [--rounds 5] [--root DIR --layout L --pattern REGEX --by image]

Last line: {"pipeline_img_per_s": ..., "in_memory_img_per_s": ..., "naive_img_per_s": ..., "ratio": ...}
(ratio = pipeline / in_memory; the target is at least 0.95).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from common import IDC, IDC_PATTERN  # noqa: E402 - also puts the repo on sys.path


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", type=Path, default=IDC, help="image folder (default: the IDC patches)")
    p.add_argument("--layout", default="pattern", help="scan layout: pattern (default), breakhis, folders, auto")
    p.add_argument("--pattern", default=IDC_PATTERN, help="path pattern with (?P<label>) and (?P<patient>)")
    p.add_argument("--by", default="patient", choices=("patient", "image"), help="split by (default patient)")
    p.add_argument("--images", type=int, default=1024, help="images per class at most (default 1024)")
    p.add_argument("--size", type=int, default=64, help="network input size (default 64)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=20, help="timed training steps per round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--trainable", default="head", help="head, all or from:<block> (default head: the "
                   "cheapest step, where a slow pipeline would show most)")
    return p.parse_args(argv)


def make_manifest(args):
    from core.scan import scan
    from core.split import SplitOptions, make_split

    catalog = scan(args.root, layout=args.layout, pattern=args.pattern if args.layout == "pattern" else None)
    return make_split(catalog, SplitOptions(by=args.by, cap_per_class=args.images, seed=42))


def build(args, classes: int):
    import keras

    from core.config import Augmentation, Stage, TrainConfig
    from core.model import build_model, set_trainable

    config = TrainConfig(input_size=args.size, batch_size=args.batch, weights="none", class_weights=False,
                         augmentation=Augmentation(), stages=(Stage("bench", 1, 1e-3, args.trainable),))
    model = build_model(classes, config)
    set_trainable(model, args.trainable, keep_batchnorm_frozen=True)
    model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def sources(args, manifest, images):
    """name -> repeated tf.data of (uint8 images, int32 labels) batches."""
    import numpy as np
    import tensorflow as tf

    from core import pipeline

    train = manifest.split_samples("train")
    rows, labels = pipeline.rows_of(manifest, train), pipeline.label_indices(manifest, train)
    cached = pipeline.make_dataset(images, rows, labels, batch_size=args.batch, shuffle=True, seed=1)
    in_ram = np.asarray(images[rows])  # the same pixels, loaded
    memory = (tf.data.Dataset.from_tensor_slices((in_ram, labels)).shuffle(len(labels), seed=1)
              .batch(args.batch).prefetch(tf.data.AUTOTUNE))
    return {"pipeline": cached.repeat(), "in_memory": memory.repeat(), "naive": naive(args, manifest).repeat()}


def naive(args, manifest):
    """The textbook keras.utils.image_dataset_from_directory pipeline over the same folder."""
    import keras
    import tensorflow as tf

    listing = keras.utils.image_dataset_from_directory(args.root, labels=None, shuffle=False, batch_size=None,
                                                       image_size=(args.size, args.size), verbose=False)
    # Labels as the manifest has them (same scan), looked up by path.
    names = {c: i for i, c in enumerate(manifest.classes)}
    label_of = {s.path: names[s.label] for s in manifest.samples}
    rel = [os.path.relpath(p, args.root).replace(os.sep, "/") for p in listing.file_paths]
    labels = [label_of.get(r, 0) for r in rel]
    ds = keras.utils.image_dataset_from_directory(args.root, labels=labels, shuffle=True, seed=1,
                                                  batch_size=args.batch, image_size=(args.size, args.size),
                                                  verbose=False)
    return ds.map(lambda x, y: (tf.cast(x, tf.uint8), tf.cast(y, tf.int32)))


def images_per_s(model, ds, steps: int, batch: int) -> float:
    began = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return steps * batch / (time.perf_counter() - began)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from core import pipeline

    os.environ.setdefault(pipeline.CACHE_ENV, str(Path(tempfile.gettempdir()) / "histoclass-bench-cache"))
    manifest = make_manifest(args)
    began = time.perf_counter()
    images = pipeline.decoded_images(manifest, args.size)
    print(f"cache: {len(images)} images at {args.size} px ready in {time.perf_counter() - began:.1f} s "
          f"({pipeline.cache_path(manifest, args.size)})", flush=True)
    model = build(args, len(manifest.classes))
    feeds = sources(args, manifest, images)
    for name, ds in feeds.items():  # trace the step and fill each pipeline once
        images_per_s(model, ds, 3, args.batch)
    rates: dict[str, list[float]] = {name: [] for name in feeds}
    names = list(feeds)
    for round_ in range(args.rounds):
        for name in names[round_ % 3:] + names[:round_ % 3]:
            rates[name].append(images_per_s(model, feeds[name], args.steps, args.batch))
            print(f"round {round_ + 1}: {name:<10} {rates[name][-1]:7.1f} images/s", flush=True)
    med = {name: statistics.median(values) for name, values in rates.items()}
    result = {"pipeline_img_per_s": round(med["pipeline"], 1), "in_memory_img_per_s": round(med["in_memory"], 1),
              "naive_img_per_s": round(med["naive"], 1), "ratio": round(med["pipeline"] / med["in_memory"], 3)}
    print(f"size {args.size} px, batch {args.batch}, trainable {args.trainable}, {args.steps} steps x {args.rounds} rounds")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
