"""Classifying images with a model bundle: folders, CSV export and overlapping tiles.

`predict_paths` is a generator (the viewer's worker emits each row as it comes): images
are decoded and resized on a pool of threads while the previous batch runs through the
network, so the network, not the disk, sets the pace. An unreadable file gives a row
with an `error` and no prediction; it never stops the run.
"""
from __future__ import annotations

import csv
import datetime as _dt
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from core import RESEARCH_NOTICE
from core.fileio import atomic_path
from core.images import IMAGE_SUFFIXES, load_rgb
from core.jobs import ProgressCallback, StopFlag, report, should_stop


def iter_image_paths(paths: Iterable[str | os.PathLike], recursive: bool = True) -> Iterator[Path]:
    """Files given directly (whatever they are), then the images inside given folders.

    Folder contents come sorted, hidden files and folders skipped. A path that does not
    exist is passed through, so that its row reports the problem.
    """
    for given in paths:
        path = Path(given)
        if not path.is_dir():
            yield path
            continue
        found = path.rglob("*") if recursive else path.glob("*")
        images = [
            f for f in found
            if f.suffix.lower() in IMAGE_SUFFIXES
            and not any(part.startswith(".") for part in f.relative_to(path).parts)
            and f.is_file()
        ]
        yield from sorted(images)


def _decode(path: Path, size: int) -> tuple[np.ndarray | None, str | None]:
    from core.model import resize_for_model

    try:
        return resize_for_model(load_rgb(path), size), None
    except Exception as exc:  # ImageError and anything odd a broken file provokes
        return None, str(exc) or type(exc).__name__


def _row(path: Path, probabilities: np.ndarray, classes: list[str]) -> dict[str, Any]:
    best = int(np.argmax(probabilities))
    return {
        "path": str(path),
        "label": classes[best],
        "probability": float(probabilities[best]),
        "probabilities": {c: float(p) for c, p in zip(classes, probabilities)},
    }


def _batches(pool: ThreadPoolExecutor, files: list[Path], size: int, batch_size: int, ahead: int):
    """Yield lists of (path, image, error) in file order, decoding `ahead` files ahead."""
    pending: deque[tuple[Path, Future]] = deque()
    queue = iter(files)
    batch: list[tuple[Path, np.ndarray | None, str | None]] = []
    try:
        while True:
            for path in queue:
                pending.append((path, pool.submit(_decode, path, size)))
                if len(pending) >= ahead:
                    break
            if not pending:
                break
            path, future = pending.popleft()
            image, error = future.result()
            batch.append((path, image, error))
            if sum(item[1] is not None for item in batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch
    finally:
        for _, future in pending:
            future.cancel()


def predict_paths(bundle, paths: Iterable[str | os.PathLike], *, batch_size: int = 32,
                  on_progress: ProgressCallback | None = None, stop: StopFlag | None = None,
                  recursive: bool = True, workers: int | None = None) -> Iterator[dict[str, Any]]:
    """Yield one row per image: {path, label, probability, probabilities} or {path, error}.

    Progress events: {"event": "predict", "done", "total", "path"}. A set stop flag ends
    the generator between batches.
    """
    files = list(iter_image_paths(paths, recursive=recursive))
    total, done = len(files), 0
    classes = bundle.classes
    workers = workers or min(16, os.cpu_count() or 1)
    ahead = max(2 * batch_size, 2 * workers)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="histoclass-decode") as pool:
        batches = _batches(pool, files, bundle.input_size, batch_size, ahead)
        try:
            for batch in batches:
                if should_stop(stop):
                    return
                images = [image for _, image, _ in batch if image is not None]
                probs = iter(bundle.infer(np.stack(images)) if images else [])
                for path, image, error in batch:
                    done += 1
                    if image is None:
                        yield {"path": str(path), "error": error}
                    else:
                        yield _row(path, next(probs), classes)
                report(on_progress, event="predict", done=done, total=total, path=str(batch[-1][0]))
        finally:
            batches.close()  # cancel decodes not started yet (stop, or the caller gave up)


def csv_columns(classes: list[str]) -> list[str]:
    return (["file", "predicted_class", "probability"] + [f"p_{c}" for c in classes]
            + ["error", "model", "model_sha256", "date", "notice"])


def write_csv(rows: Iterable[dict[str, Any]], path: str | os.PathLike, bundle) -> int:
    """Write prediction rows as CSV (atomically); returns the number of rows written."""
    classes = bundle.classes
    stamp = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    common = {"model": bundle.name, "model_sha256": bundle.sha256, "date": stamp,
              "notice": RESEARCH_NOTICE}
    count = 0
    with atomic_path(path, suffix=".csv") as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=csv_columns(classes))
            writer.writeheader()
            for row in rows:
                record = {"file": row["path"], "error": row.get("error", ""), **common}
                if "error" not in row:
                    record["predicted_class"] = row["label"]
                    record["probability"] = f"{row['probability']:.6f}"
                    for c in classes:
                        record[f"p_{c}"] = f"{row['probabilities'][c]:.6f}"
                writer.writerow(record)
                count += 1
    return count


def tile_starts(length: int, tile: int, stride: int) -> list[int]:
    """Tile origins along one axis: regular steps, the last tile flush with the edge."""
    starts = list(range(0, max(length - tile, 0) + 1, stride))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


def tile_boxes(height: int, width: int, tile: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """Square (x0, y0, x1, y1) boxes (x1, y1 exclusive) covering the whole image."""
    side = max(1, min(tile, height, width))
    stride = max(1, int(round(side * (1.0 - overlap))))
    return [(x, y, x + side, y + side)
            for y in tile_starts(height, side, stride) for x in tile_starts(width, side, stride)]


def predict_tiles(bundle, image: np.ndarray, *, tile: int | None = None, overlap: float = 0.5,
                  batch_size: int = 32, on_progress: ProgressCallback | None = None,
                  stop: StopFlag | None = None) -> dict[str, Any]:
    """Classify overlapping square tiles of one image and aggregate them.

    Default tile side: half the image's shorter side, but at least the model's input
    size. Each tile is resized to the input size. The slide-level result is the mean of
    the tiles' class probabilities (the "method" text says so).
    """
    from core.model import resize_for_model

    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    image = np.asarray(image, dtype=np.uint8)
    height, width = image.shape[:2]
    side = tile or max(bundle.input_size, min(height, width) // 2)
    boxes = tile_boxes(height, width, int(side), overlap)
    side = boxes[0][2] - boxes[0][0]
    probs: list[np.ndarray] = []
    for start in range(0, len(boxes), batch_size):
        if should_stop(stop):
            break
        part = boxes[start:start + batch_size]
        crops = [resize_for_model(image[y0:y1, x0:x1], bundle.input_size) for x0, y0, x1, y1 in part]
        probs.extend(bundle.infer(np.stack(crops)))
        report(on_progress, event="tiles", done=len(probs), total=len(boxes))
    return _tile_result(bundle, boxes[:len(probs)], probs, side, overlap, len(probs) < len(boxes))


def _tile_result(bundle, boxes, probs, side, overlap, cancelled) -> dict[str, Any]:
    classes = bundle.classes
    table = np.asarray(probs, dtype=np.float64).reshape(len(probs), len(classes))
    mean = table.mean(axis=0) if len(probs) else np.full(len(classes), np.nan)
    best = int(np.nanargmax(mean)) if len(probs) else 0
    return {
        "boxes": [list(map(int, b)) for b in boxes],
        "probabilities": table.tolist(),
        "classes": classes,
        "aggregate": {c: float(p) for c, p in zip(classes, mean)},
        "label": classes[best] if len(probs) else None,
        "probability": float(mean[best]) if len(probs) else None,
        "tile": int(side),
        "overlap": float(overlap),
        "method": (f"Slide-level result: the mean of the class probabilities of {len(probs)} "
                   f"overlapping tiles ({side} x {side} px, {overlap:.0%} overlap), each resized "
                   f"to the model's {bundle.input_size} px input."),
        "cancelled": bool(cancelled),
        "notice": RESEARCH_NOTICE,
    }
