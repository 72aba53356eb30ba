"""Input pipeline: decode every image once, keep it resized in a memory-mapped cache, feed tf.data.

Decoding a histology PNG or TIFF costs far more than a training step of a small network,
so each run decodes every image of its manifest that it uses once (Pillow via `core.images.load_rgb`,
in parallel), resizes it to the network's input size with `core.model.resize_for_model`
(the host-side twin of the model's own `Resizing` layer, also used by prediction), and stores the result as a uint8 `.npy`
file that is memory-mapped afterwards. The file is keyed by the manifest's hash and the
size, so a second run (or a resumed one) on the same manifest skips decoding entirely.
Images left out of every split (over the class cap: often half of BreakHis) are neither
decoded nor stored, unless a caller scores every image (`include_unused`).

Training batches are gathered from the memory map by index in tf.data (parallel,
prefetched, shuffled with the run's seed): the network, not the disk, is the bottleneck.
Augmentation lives inside the model, so the cache holds plain pixels.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from core.errors import ImageError
from core.jobs import ProgressCallback, StopFlag, report, should_stop
from core.paths import user_cache_dir

CACHE_VERSION = 1  # bump when the decoding or resizing changes
CACHE_ENV = "HISTOCLASS_CACHE_DIR"
DECODE_BATCH = 64
KEEP_CACHES = 8  # decoded datasets kept in the cache folder (a BreakHis cache at 224 px is 1.2 GB)


def cache_root() -> Path:
    """Where decoded images are cached: $HISTOCLASS_CACHE_DIR, else the user's cache folder."""
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else user_cache_dir() / "decoded"


def cached_samples(manifest, *, include_unused: bool = False) -> list:
    """The samples a cache holds, in manifest order: those in a split (train, val or test),
    or with `include_unused` every one (the images over the class cap too)."""
    return [s for s in manifest.samples if include_unused or s.split is not None]


def cache_path(manifest, size: int, root: Path | None = None, *, include_unused: bool = False) -> Path:
    paths = [s.path for s in cached_samples(manifest, include_unused=include_unused)]
    key = json.dumps([CACHE_VERSION, manifest.hash, manifest.root, size, paths])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return (root or cache_root()) / f"{manifest.hash[:12]}-{size}px-{digest}.npy"


def rows_of(manifest, samples: Sequence, *, include_unused: bool = False) -> np.ndarray:
    """Row of each sample in the cache that `decoded_images` returned with the same flag."""
    index = {s.path: i for i, s in enumerate(cached_samples(manifest, include_unused=include_unused))}
    return np.asarray([index[s.path] for s in samples], dtype=np.int64)


def decoded_images(
    manifest,
    size: int,
    *,
    on_progress: ProgressCallback | None = None,
    stop: StopFlag | None = None,
    cache_dir: Path | None = None,
    include_unused: bool = False,
) -> np.ndarray | None:
    """(N, size, size, 3) uint8 memory map of `cached_samples`; None if stopped while decoding.

    Progress events: {"event": "decode", "done", "total", "cached": bool}.
    """
    samples = cached_samples(manifest, include_unused=include_unused)
    path = cache_path(manifest, size, cache_dir, include_unused=include_unused)
    total = len(samples)
    if path.is_file():
        try:
            images = np.load(path, mmap_mode="r")
            if images.shape == (total, size, size, 3) and images.dtype == np.uint8:
                os.utime(path)  # recently used: kept by _evict_old
                report(on_progress, event="decode", done=total, total=total, cached=True)
                return images
        except (OSError, ValueError):
            pass  # a damaged cache file is rebuilt below
    return _build_cache(manifest, samples, size, path, on_progress, stop)


def _build_cache(manifest, samples: list, size, path: Path, on_progress, stop) -> np.ndarray | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    total = len(samples)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(total, size, size, 3))
    errors: dict[int, str] = {}
    try:
        done = 0
        for start, batch in _decode_batches(manifest, samples, size, errors):
            out[start:start + len(batch)] = batch
            done = start + len(batch)
            report(on_progress, event="decode", done=done, total=total, cached=False)
            if should_stop(stop):
                return None
        if errors:
            raise ImageError(_decode_failure_message(samples, errors))
        out.flush()
        del out
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    _evict_old(path.parent, keep=KEEP_CACHES)
    return np.load(path, mmap_mode="r")


def _evict_old(folder: Path, keep: int) -> None:
    """Keep the `keep` most recently used caches; the others are rebuilt if ever needed again."""
    # Not the hidden ".<name>.<pid>.tmp.npy" files: other processes are still writing those.
    caches = sorted(folder.glob("[!.]*px-*.npy"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in caches[keep:]:
        try:
            old.unlink()
        except OSError:  # in use by another process on Windows: try again next time
            pass


def _decode_failure_message(samples: list, errors: dict[int, str]) -> str:
    shown = "; ".join(f"{samples[i].path} ({reason})" for i, reason in list(errors.items())[:3])
    more = f" and {len(errors) - 3} more" if len(errors) > 3 else ""
    return (
        f"{len(errors)} image(s) of the manifest could not be decoded: {shown}{more}. "
        "Scan the folder again (it skips unreadable files) and make a new split."
    )


def _decode_batches(manifest, samples: list, size: int, errors: dict[int, str]):
    """Yield (start row, uint8 batch) in the samples' order, decoding in parallel with tf.data."""
    import tensorflow as tf

    paths = [str(manifest.abspath(s)) for s in samples]

    def load(index):
        index = int(index)
        try:
            return _load(paths[index], size)
        except ImageError as exc:
            errors[index] = str(exc)
            return np.zeros((size, size, 3), np.uint8)

    def decode(index):
        image = tf.numpy_function(load, [index], tf.uint8, stateful=False)
        return tf.ensure_shape(image, (size, size, 3))

    ds = tf.data.Dataset.range(len(paths)).map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(DECODE_BATCH).prefetch(2)
    start = 0
    for batch in ds.as_numpy_iterator():
        yield start, batch
        start += len(batch)


def _load(path: str, size: int) -> np.ndarray:
    from core.images import load_rgb
    from core.model import resize_for_model

    return resize_for_model(load_rgb(path), size)


def label_indices(manifest, samples: Sequence) -> np.ndarray:
    names = {c: i for i, c in enumerate(manifest.classes)}
    return np.asarray([names[s.label] for s in samples], dtype=np.int32)


def class_weights(manifest, labels: np.ndarray) -> dict[int, float]:
    """Weight per class index: the manifest's when it names every class, else n / (classes * count)."""
    classes = list(manifest.classes)
    given = manifest.class_weights or {}
    if all(c in given for c in classes):
        return {i: float(given[c]) for i, c in enumerate(classes)}
    counts = np.bincount(labels, minlength=len(classes)).astype(float)
    return {i: (len(labels) / (len(classes) * n) if n else 0.0) for i, n in enumerate(counts)}


def make_dataset(
    images: np.ndarray,
    rows: np.ndarray,
    labels: np.ndarray,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int,
    weights: dict[int, float] | None = None,
):
    """tf.data of (uint8 images, int labels[, sample weights]) batches gathered from the memory map."""
    import tensorflow as tf

    rows = np.asarray(rows, dtype=np.int64)
    columns = [np.asarray(labels, dtype=np.int32)]
    types = [tf.uint8, tf.int32]
    if weights is not None:
        columns.append(np.asarray([weights[int(y)] for y in columns[0]], dtype=np.float32))
        types.append(tf.float32)
    size = images.shape[1]

    def gather(positions):
        return (images[rows[positions]], *(column[positions] for column in columns))

    def fetch(positions):
        parts = tf.numpy_function(gather, [positions], types, stateful=False)
        parts[0].set_shape((None, size, size, 3))
        for part in parts[1:]:
            part.set_shape((None,))
        return tuple(parts)

    ds = tf.data.Dataset.range(len(rows))
    if shuffle:
        ds = ds.shuffle(len(rows), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    ds = ds.map(fetch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
