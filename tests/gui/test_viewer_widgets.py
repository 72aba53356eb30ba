"""The viewer's parts on their own: canvas zoom/pan, prediction panel, file list, model card."""
from __future__ import annotations

import inspect
import os
import sys

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent

from gui.viewer.canvas_widget import MAX_ZOOM, SlideCanvas
from gui.viewer.file_list_panel import FileListPanel
from gui.viewer.model_card_dialog import card_html
from gui.viewer.prediction_panel import PredictionPanel
from gui.viewer.viewer_jobs import rgb_to_qimage, rgba_to_qimage

GROUPS = {"adenosis": "benign", "ductal_carcinoma": "malignant", "fibroadenoma": "benign"}


@pytest.fixture
def canvas(qtbot):
    widget = SlideCanvas()
    widget.resize(400, 300)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    rgb = np.zeros((460, 700, 3), dtype=np.uint8)
    rgb[:, :, 0] = np.arange(700, dtype=np.uint8)[None, :]  # a gradient, to see orientation
    widget.set_image(rgb_to_qimage(rgb))
    return widget


def _wheel(canvas, delta: int, at: QPoint) -> None:
    event = QWheelEvent(QPointF(at), QPointF(canvas.viewport().mapToGlobal(at)), QPoint(0, 0),
                        QPoint(0, delta), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    canvas.wheelEvent(event)


def test_image_is_converted_once_on_the_worker_side():
    rgb = np.zeros((3, 5, 3), dtype=np.uint8)
    rgb[1, 2] = (10, 20, 30)
    image = rgb_to_qimage(rgb)
    assert (image.width(), image.height()) == (5, 3)
    assert image.pixelColor(2, 1).getRgb()[:3] == (10, 20, 30)
    rgba = rgba_to_qimage(np.full((2, 2, 4), 255, dtype=np.uint8))
    assert rgba.hasAlphaChannel()


def test_canvas_fits_then_zooms_with_wheel_buttons_and_one_to_one(canvas, qtbot):
    zooms = []
    canvas.zoom_changed.connect(zooms.append)
    fit = canvas.zoom
    assert fit == pytest.approx(min(canvas.viewport().width() / 700, canvas.viewport().height() / 460), rel=0.05)
    centre = canvas.viewport().rect().center()
    under_mouse = canvas.mapToScene(centre)
    _wheel(canvas, 120, centre)
    assert canvas.zoom == pytest.approx(fit * 1.25)
    assert (canvas.mapToScene(centre) - under_mouse).manhattanLength() < 3  # anchored zoom
    _wheel(canvas, -240, centre)
    assert canvas.zoom == pytest.approx(fit * 1.25 / 1.5625)
    canvas.actual_size()
    qtbot.waitUntil(lambda: canvas.zoom == pytest.approx(1.0), timeout=2000)
    canvas.zoom_to(1000)
    assert canvas.zoom == MAX_ZOOM
    canvas.fit()
    assert canvas.zoom == pytest.approx(fit)
    assert zooms and zooms[-1] == pytest.approx(fit)


def test_canvas_stays_fitted_on_resize_until_the_user_zooms(canvas, qtbot):
    before = canvas.zoom
    canvas.resize(800, 600)
    qtbot.waitUntil(lambda: canvas.zoom > before * 1.5)
    canvas.zoom_in()
    qtbot.waitUntil(lambda: canvas._animation.state() != canvas._animation.State.Running)
    zoomed = canvas.zoom
    canvas.resize(500, 400)
    qtbot.wait(20)
    assert canvas.zoom == pytest.approx(zoomed)


def test_overlays_stack_scale_and_fade(canvas):
    overlay = rgba_to_qimage(np.full((10, 15, 4), 200, dtype=np.uint8))
    canvas.set_overlay("tiles", overlay, scale=4, smooth=False, opacity=0.3)
    item = canvas.overlay("tiles")
    assert item.scale() == 4 and item.opacity() == pytest.approx(0.3) and item.zValue() > 0
    canvas.set_overlay_opacity("tiles", 0.8)
    assert item.opacity() == pytest.approx(0.8)
    canvas.set_overlay_visible("tiles", False)
    assert not item.isVisible()
    canvas.set_image(None)
    assert canvas.overlay("tiles") is None and not canvas.has_image


def test_panel_shows_sorted_bars_groups_and_uncertain_flag(qtbot):
    panel = PredictionPanel(threshold=0.6)
    qtbot.addWidget(panel)
    panel.show()
    panel.show_prediction("x.png", {"adenosis": 0.2, "ductal_carcinoma": 0.7, "fibroadenoma": 0.1}, GROUPS)
    assert panel.class_label.text() == "ductal carcinoma: 70.0%"
    assert [n for n, _ in panel.bars.items()] == ["ductal_carcinoma", "adenosis", "fibroadenoma"]
    assert panel.group_label.isVisible() and panel.group_label.text().startswith("Malignant 70.0%")
    assert not panel.uncertain_label.isVisible()
    thresholds = []
    panel.threshold_changed.connect(thresholds.append)
    panel.set_threshold(0.75)
    assert panel.uncertain_label.isVisible() and "below 75%" in panel.uncertain_label.text()
    assert thresholds == [pytest.approx(0.75)]
    panel.show_prediction("y.png", {"a": 0.5, "b": 0.5}, None)
    assert not panel.group_label.isVisible()


def test_file_list_marks_results_errors_and_uncertain(qtbot):
    panel = FileListPanel()
    qtbot.addWidget(panel)
    panel.set_files(["/d/a/one.png", "/d/b/two.png", "/d/b/bad.png", "/d/c/two.png"])
    model = panel.model
    assert model.index(0, 0).data() == "one.png"
    assert model.index(1, 0).data() == os.path.join("b", "two.png")  # the name alone is ambiguous
    panel.set_files(["/d/a/one.png", "/d/b/two.png", "/d/b/bad.png"])
    assert model.index(1, 1).data() == "…"
    panel.batch_started()
    panel.add_result({"path": "/d/a/one.png", "label": "ductal_carcinoma", "probability": 0.9,
                      "probabilities": {"ductal_carcinoma": 0.9, "adenosis": 0.1}})
    panel.add_result({"path": "/d/b/two.png", "label": "adenosis", "probability": 0.4,
                      "probabilities": {"ductal_carcinoma": 0.6, "adenosis": 0.4}})
    panel.add_result({"path": "/d/b/bad.png", "error": "Cannot open bad.png: the file is empty"})
    model.set_threshold(0.5)
    assert model.index(0, 1).data() == "ductal carcinoma" and model.index(0, 2).data() == "90.0%"
    assert model.index(1, 1).data() == "adenosis ?"
    assert "Uncertain" in model.index(1, 1).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(2, 1).data() == "unreadable"
    assert "empty" in model.index(2, 0).data(Qt.ItemDataRole.ToolTipRole)
    panel.batch_ended("finished")
    assert "3 of 3" in panel.status_label.text() and "1 unreadable" in panel.status_label.text()
    assert panel.export_button.isEnabled() and not panel.cancel_button.isEnabled()
    with qtbot.waitSignal(panel.current_changed) as blocker:
        panel.select_path("/d/b/two.png")
    assert blocker.args == ["/d/b/two.png"]


def test_model_card_lists_classes_groups_metrics_and_hash():
    card = {"classes": ["adenosis", "ductal_carcinoma"], "groups": {"adenosis": "benign", "ductal_carcinoma": "malignant"},
            "input_size": 224, "created": "2026-11-26T12:00:00+00:00", "weights_source": "imagenet",
            "metrics": {"accuracy": 0.8123, "balanced_accuracy": 0.75}}
    text = card_html(card, name="breakhis-v1", sha256="ab" * 32)
    for expected in ("breakhis-v1", "ductal carcinoma (malignant)", "224 px", "2026-11-26", "0.812",
                     "Balanced accuracy", "ab" * 32):
        assert expected in text
    assert "No test metrics" in card_html({"classes": ["a", "b"], "input_size": 64})


def test_large_images_paint_from_a_pyramid_level_near_the_zoom():
    from gui.viewer.canvas_widget import ImageItem
    from gui.viewer.viewer_jobs import pyramid_arrays, wrap_rgb

    rgb = np.zeros((3000, 4000, 3), dtype=np.uint8)
    rgb[:1500, :2000] = 200  # top-left quarter bright: survives every halving
    buffers = [rgb, *pyramid_arrays(rgb, smallest=1024)]
    assert [b.shape[:2] for b in buffers] == [(3000, 4000), (1500, 2000), (750, 1000)]
    levels = [wrap_rgb(b) for b in buffers]
    assert levels[2].pixelColor(10, 10).red() == 200 and levels[2].pixelColor(900, 700).red() == 0
    item = ImageItem(levels[0], levels=levels, owner=buffers)
    assert item.level_for(1.0) == 0 and item.level_for(2.0) == 0
    assert item.level_for(0.6) == 0  # a coarser level would show fewer pixels than the screen has
    assert item.level_for(0.5) == 1 and item.level_for(0.3) == 1
    assert item.level_for(0.1) == 2  # never past the smallest level


def test_trackpad_pinch_zooms_about_the_fingers(canvas):
    from PySide6.QtGui import QNativeGestureEvent, QPointingDevice

    before = canvas.zoom
    at = QPointF(canvas.viewport().rect().center())
    event = QNativeGestureEvent(Qt.NativeGestureType.ZoomNativeGesture, QPointingDevice.primaryPointingDevice(),
                                2, at, at, QPointF(canvas.viewport().mapToGlobal(at.toPoint())), 0.5,
                                QPointF(0, 0))
    assert canvas.viewportEvent(event)
    assert canvas.zoom == pytest.approx(before * 1.5)


def test_dragging_pans_a_zoomed_slide(canvas, qtbot):
    canvas.zoom_to(3.0)
    bar = canvas.horizontalScrollBar()
    start = bar.value()
    viewport = canvas.viewport()
    centre = viewport.rect().center()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(viewport, QPoint(centre.x() - 60, centre.y()))
    qtbot.mouseMove(viewport, QPoint(centre.x() - 120, centre.y()))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=QPoint(centre.x() - 120, centre.y()))
    assert bar.value() > start  # dragged left: the view moved right over the slide


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread nice values are Linux only")
def test_viewer_jobs_run_below_the_gui_threads_priority():
    import threading

    from gui.viewer.viewer_jobs import BACKGROUND_NICENESS, in_background

    def job(x, *, stop=None):
        """docstring kept"""
        return x, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    wrapped = in_background(job)
    assert wrapped.__doc__ == "docstring kept" and "stop" in inspect.signature(wrapped).parameters
    result = {}
    thread = threading.Thread(target=lambda: result.update(out=wrapped(7)))
    thread.start()
    thread.join()
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert result["out"] == (7, max(base, BACKGROUND_NICENESS))
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base  # the caller is untouched
