"""Turn heatmaps and tile probabilities into RGBA overlays the viewer lays over a slide.

Plain numpy in, plain numpy out: the GUI only wraps the result in a QImage. Colours come
from matplotlib's perceptually ordered "turbo" map; transparency rises with the value, so
tissue under a cold region stays visible and only the hot regions are tinted.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

DEFAULT_COLORMAP = "turbo"


@lru_cache(maxsize=8)
def colormap_lut(name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """256 x 3 uint8 lookup table for a matplotlib colormap."""
    from matplotlib import colormaps

    try:
        cmap = colormaps[name]
    except KeyError as exc:
        raise ValueError(f"Unknown colour map {name!r}.") from exc
    rgb = cmap(np.linspace(0.0, 1.0, 256))[:, :3]
    lut = np.round(rgb * 255).astype(np.uint8)
    lut.setflags(write=False)
    return lut


def _as_unit(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2:
        raise ValueError(f"A heatmap must be 2-D, got shape {values.shape}.")
    return np.clip(np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


def colorize(
    values: np.ndarray,
    *,
    colormap: str = DEFAULT_COLORMAP,
    min_alpha: float = 0.0,
    max_alpha: float = 1.0,
) -> np.ndarray:
    """(H, W) values in [0, 1] -> (H, W, 4) uint8 RGBA; alpha grows linearly with the value.

    NaN (no data, e.g. outside every tile) becomes fully transparent.
    """
    raw = np.asarray(values, dtype=np.float32)
    unit = _as_unit(raw)
    lut = colormap_lut(colormap)
    index = np.round(unit * 255).astype(np.uint8)
    rgba = np.empty(unit.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = lut[index]
    alpha = min_alpha + (max_alpha - min_alpha) * unit
    alpha = np.where(np.isnan(raw), 0.0, alpha)
    rgba[..., 3] = np.round(np.clip(alpha, 0.0, 1.0) * 255).astype(np.uint8)
    return rgba


def tile_probability_map(
    boxes: Sequence[Sequence[int]],
    values: Sequence[float],
    image_shape: tuple[int, int],
    *,
    cell: int = 1,
) -> np.ndarray:
    """Mean value of the tiles covering each cell of the image; NaN where no tile falls.

    `boxes` are (x0, y0, x1, y1) in image pixels (x1, y1 exclusive), one per value.
    `cell` is the size of one output cell in image pixels, so a 700x460 slide with
    cell=4 gives a 115x175 map; overlapping tiles are averaged, which is what a
    pathologist expects from a probability map made of overlapping windows.
    """
    if len(boxes) != len(values):
        raise ValueError(f"{len(boxes)} tile boxes but {len(values)} values.")
    height, width = int(image_shape[0]), int(image_shape[1])
    cell = max(1, int(cell))
    rows, cols = -(-height // cell), -(-width // cell)
    total = np.zeros((rows, cols), dtype=np.float64)
    count = np.zeros((rows, cols), dtype=np.int32)
    for (x0, y0, x1, y1), value in zip(boxes, values):
        c0, r0 = max(0, int(x0) // cell), max(0, int(y0) // cell)
        c1, r1 = min(cols, -(-int(x1) // cell)), min(rows, -(-int(y1) // cell))
        if c1 <= c0 or r1 <= r0:
            continue
        total[r0:r1, c0:c1] += float(value)
        count[r0:r1, c0:c1] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return mean.astype(np.float32)


def map_cell_size(image_shape: tuple[int, int], max_cells: int = 512) -> int:
    """A cell size that keeps the longer side of a tile map at or under `max_cells`."""
    longest = max(int(image_shape[0]), int(image_shape[1]), 1)
    return max(1, -(-longest // max_cells))
