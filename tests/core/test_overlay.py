"""Heatmap colouring, tile maps and the prediction panel's reading, without Qt."""
from __future__ import annotations

import math

import numpy as np
import pytest

from core.overlay import colorize, colormap_lut, map_cell_size, tile_probability_map
from core.prediction_summary import group_probabilities, ranked_probabilities, summarize_prediction

BREAKHIS_GROUPS = {
    "adenosis": "benign",
    "fibroadenoma": "benign",
    "ductal_carcinoma": "malignant",
    "lobular_carcinoma": "malignant",
}


def test_colorize_maps_values_to_the_lut_and_alpha_rises_with_heat():
    heat = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    rgba = colorize(heat, min_alpha=0.2, max_alpha=0.8)
    lut = colormap_lut()
    assert rgba.shape == (1, 3, 4) and rgba.dtype == np.uint8
    assert tuple(rgba[0, 0, :3]) == tuple(lut[0]) and tuple(rgba[0, 2, :3]) == tuple(lut[255])
    assert list(rgba[0, :, 3]) == [51, 128, 204]
    assert tuple(lut[0]) != tuple(lut[255])


def test_colorize_clips_out_of_range_and_makes_nan_transparent():
    rgba = colorize(np.array([[-3.0, 7.0, np.nan]]))
    assert rgba[0, 0, 3] == 0 and rgba[0, 1, 3] == 255 and rgba[0, 2, 3] == 0


def test_colorize_rejects_non_2d_input_and_unknown_maps():
    with pytest.raises(ValueError, match="2-D"):
        colorize(np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="colour map"):
        colormap_lut("no-such-map")


def test_tile_map_averages_overlapping_tiles_and_leaves_gaps_nan():
    boxes = [(0, 0, 4, 4), (2, 0, 6, 4)]
    values = [0.2, 0.6]
    grid = tile_probability_map(boxes, values, (6, 8))
    assert grid.shape == (6, 8)
    assert grid[0, 0] == pytest.approx(0.2)
    assert grid[0, 3] == pytest.approx(0.4)  # covered by both tiles
    assert grid[0, 5] == pytest.approx(0.6)
    assert np.isnan(grid[0, 7]) and np.isnan(grid[5, 0])


def test_tile_map_cells_cover_partial_edges():
    grid = tile_probability_map([(0, 0, 10, 10)], [1.0], (10, 10), cell=4)
    assert grid.shape == (3, 3) and np.all(grid == 1.0)
    with pytest.raises(ValueError, match="values"):
        tile_probability_map([(0, 0, 1, 1)], [], (4, 4))


def test_map_cell_size_bounds_the_map():
    assert map_cell_size((460, 700)) == 2
    assert map_cell_size((100, 100)) == 1
    assert map_cell_size((40000, 30000), max_cells=500) == 80


def test_ranked_and_grouped_probabilities():
    probs = {"adenosis": 0.1, "fibroadenoma": 0.15, "ductal_carcinoma": 0.55, "lobular_carcinoma": 0.2}
    assert [name for name, _ in ranked_probabilities(probs)] == [
        "ductal_carcinoma", "lobular_carcinoma", "fibroadenoma", "adenosis"]
    groups = group_probabilities(probs, BREAKHIS_GROUPS)
    assert groups[0][0] == "malignant" and groups[0][1] == pytest.approx(0.75)
    assert groups[1][0] == "benign" and groups[1][1] == pytest.approx(0.25)


def test_grouping_is_hidden_when_incomplete_or_single():
    probs = {"a": 0.7, "b": 0.3}
    assert group_probabilities(probs, {"a": "benign", "b": None}) is None
    assert group_probabilities(probs, {"a": "benign", "b": "benign"}) is None
    assert group_probabilities(probs, None) is None


def test_summary_flags_uncertain_below_threshold():
    probs = {"adenosis": 0.55, "ductal_carcinoma": 0.45}
    summary = summarize_prediction(probs, BREAKHIS_GROUPS, threshold=0.6)
    assert summary.label == "adenosis" and summary.uncertain and summary.group_label == "benign"
    assert not summarize_prediction(probs, BREAKHIS_GROUPS, threshold=0.5).uncertain


def test_summary_rejects_empty_and_nan():
    with pytest.raises(ValueError):
        summarize_prediction({})
    with pytest.raises(ValueError, match="NaN"):
        summarize_prediction({"a": math.nan})
