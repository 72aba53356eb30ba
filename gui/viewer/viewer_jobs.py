"""What the viewer runs on its worker threads: decode, classify, Grad-CAM, tiles, listing.

Each job calls core and wraps the pixels in a QImage on the worker thread (QImage, unlike
QPixmap, may be built off the GUI thread), so the GUI thread only swaps items in the scene.
"""
from __future__ import annotations

import functools
import gc
import os
import sys
import threading
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtGui import QImage

from core.images import load_rgb
from core.jobs import should_stop
from core.overlay import colorize, map_cell_size, tile_probability_map

HEATMAP_MAX_ALPHA = 0.85  # the hottest spot still lets some tissue through


@dataclass
class ShownImage:
    """A decoded slide, ready to draw, with the model's answer for it when a model is loaded."""

    path: str
    array: np.ndarray = field(repr=False)
    image: QImage = field(repr=False)
    probabilities: dict[str, float] | None = None
    levels: list[QImage] = field(default_factory=list, repr=False)  # image, then halves of it
    buffers: list[np.ndarray] = field(default_factory=list, repr=False)  # what the QImages wrap


@dataclass
class HeatmapResult:
    path: str
    class_name: str  # the class whose evidence it shows
    requested: str  # what was asked for ("" = the predicted class)
    image: QImage = field(repr=False)
    scale: int = 1  # image pixels per overlay pixel


@dataclass
class TilesResult:
    path: str
    result: dict = field(repr=False)  # core.predict.predict_tiles' answer


BACKGROUND_NICENESS = 5  # CPU priority of viewer jobs below the GUI thread (Linux)


def in_background(fn):
    """`fn`, run at a lower CPU priority than the GUI thread (threads it starts inherit it).

    On a busy machine the scheduler then lets the GUI thread run first, so a batch or a
    large decode does not make the window stutter. Linux only (a thread's nice value);
    elsewhere a no-op. Each job runs on its own thread (gui.worker), so nothing to restore.
    """
    @functools.wraps(fn)
    def run(*args, **kwargs):
        if sys.platform.startswith("linux"):
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
            except OSError:
                pass
        return fn(*args, **kwargs)

    return run


def prediction_fields(probabilities: dict[str, float]) -> dict:
    """label/probability/probabilities, as core.predict.predict_paths gives them."""
    label = max(probabilities, key=probabilities.get)
    return {"label": label, "probability": float(probabilities[label]),
            "probabilities": dict(probabilities)}


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """(H, W, 3) uint8 -> QImage owning its pixels, in the format the raster engine draws fastest."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    view = QImage(rgb.data, width, height, rgb.strides[0], QImage.Format.Format_RGB888)
    return view.convertToFormat(QImage.Format.Format_RGB32)  # a copy: the array may go


def wrap_rgb(rgb: np.ndarray) -> QImage:
    """A QImage over the array's own pixels (no copy): the caller keeps the array alive.

    No conversion happens here on purpose: PySide holds the GIL through QImage
    conversions and scaling, so converting a large slide on the worker froze the GUI.
    """
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, rgb.strides[0], QImage.Format.Format_RGB888)


def pyramid_arrays(rgb: np.ndarray, smallest: int = 1024) -> list[np.ndarray]:
    """Halves of the image (Pillow's reduce, which releases the GIL) down to `smallest` px."""
    from PIL import Image

    levels: list[np.ndarray] = []
    current = rgb
    while max(current.shape[:2]) > smallest:
        current = np.asarray(Image.fromarray(current).reduce(2))
        levels.append(current)
    return levels


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    height, width = rgba.shape[:2]
    view = QImage(rgba.data, width, height, rgba.strides[0], QImage.Format.Format_RGBA8888)
    return view.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)


def class_probabilities(bundle, row) -> dict[str, float]:
    return {name: float(p) for name, p in zip(bundle.classes, row)}


def load_model_job(path: str, *, stop=None):
    """Open a bundle, run one image through it, then exempt what is alive from the cycle GC.

    With TensorFlow loaded, a full garbage collection walks millions of objects and holds
    the GIL for 0.2-0.6 s, wherever it happens to run: the GUI froze mid-batch. Tracing
    the model first and freezing the survivors (gc.freeze) keeps later collections small.
    The previous model is unfrozen first so that it can still be collected.
    """
    from core.bundle import load_bundle

    gc.unfreeze()
    bundle = load_bundle(path)
    size = bundle.input_size
    bundle.predict([np.zeros((size, size, 3), dtype=np.uint8)])
    gc.freeze()
    return bundle


def list_images(paths: list[str], *, stop=None) -> list[str]:
    """Files and folders (searched recursively) -> the image files in them, sorted per folder."""
    from core.predict import iter_image_paths

    found = []
    for path in iter_image_paths([str(p) for p in paths], recursive=True):
        if should_stop(stop):
            break
        found.append(str(path))
    return found


def open_image(path: str, bundle=None, *, stop=None) -> ShownImage:
    """Decode `path` (ImageError says why it cannot) and classify it if a model is given."""
    array = np.ascontiguousarray(load_rgb(path))
    buffers = [array, *pyramid_arrays(array)]
    levels = [wrap_rgb(buffer) for buffer in buffers]
    shown = ShownImage(path=str(path), array=array, image=levels[0], levels=levels, buffers=buffers)
    if bundle is not None and not should_stop(stop):
        shown.probabilities = class_probabilities(bundle, bundle.predict([array])[0])
    return shown


def heatmap_job(bundle, shown: ShownImage, class_name: str = "", *, stop=None) -> HeatmapResult:
    """Grad-CAM for `class_name` (or the predicted class) as a coloured overlay."""
    from core.model import gradcam

    index = bundle.classes.index(class_name) if class_name else None
    if index is None:
        probabilities = shown.probabilities or class_probabilities(bundle, bundle.predict([shown.array])[0])
        index = bundle.classes.index(max(probabilities, key=probabilities.get))
    heat = gradcam(bundle.model, shown.array, index)
    # The map is smooth (upsampled from the last conv block), so ~1000 px carry all of it;
    # colouring a full-size 8000x6000 map would hold the GIL long enough to freeze the GUI.
    step = map_cell_size(heat.shape, max_cells=1024)
    rgba = colorize(heat[::step, ::step], max_alpha=HEATMAP_MAX_ALPHA)
    return HeatmapResult(shown.path, bundle.classes[index], class_name, rgba_to_qimage(rgba), step)


def tiles_job(bundle, shown: ShownImage, *, on_progress=None, stop=None) -> TilesResult:
    """Overlapping tiles (core's default size: half the shorter side, at least the input)."""
    from core.predict import predict_tiles

    return TilesResult(shown.path, predict_tiles(bundle, shown.array, on_progress=on_progress, stop=stop))


def tile_map_image(tiles: dict, class_name: str, image_shape: tuple[int, int]) -> tuple[QImage, int]:
    """The tile probabilities of one class as a coloured map, and its cell size in pixels."""
    index = list(tiles["classes"]).index(class_name)
    values = [float(p[index]) for p in tiles["probabilities"]]
    cell = map_cell_size(image_shape)
    grid = tile_probability_map(tiles["boxes"], values, image_shape, cell=cell)
    return rgba_to_qimage(colorize(grid, min_alpha=0.35, max_alpha=0.9)), cell
