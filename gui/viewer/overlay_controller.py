"""Keeps the heatmap and tile overlays in step with the image, the class and the checkboxes.

Grad-CAM and tile classification run on workers (one task slot each, so a new image or
class cancels the stale job); results for an image no longer shown are dropped.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from core.overlay import colormap_lut
from gui.viewer.canvas_widget import SlideCanvas
from gui.viewer.overlay_panel import OverlayPanel
from gui.viewer.prediction_panel import pretty
from gui.viewer.viewer_jobs import (
    HeatmapResult, ShownImage, TilesResult, heatmap_job, in_background, tile_map_image, tiles_job,
)
from gui.worker import FunctionWorker, TaskSlot

HEATMAP, TILES = "heatmap", "tiles"


class OverlayController(QObject):
    heatmap_ready = Signal(str)  # the class shown
    tiles_ready = Signal(dict)  # predict_tiles' result

    def __init__(self, canvas: SlideCanvas, panel: OverlayPanel, parent=None):
        super().__init__(parent)
        self.canvas, self.panel = canvas, panel
        self.bundle = None
        self.shown: ShownImage | None = None
        self.heatmap: HeatmapResult | None = None
        self.tiles: TilesResult | None = None
        self.heatmap_task, self.tiles_task = TaskSlot(), TaskSlot()
        panel.heatmap_toggled.connect(self.update_heatmap)
        panel.tiles_toggled.connect(self.update_tiles)
        panel.class_changed.connect(self._on_class_changed)
        panel.heatmap_opacity_changed.connect(lambda v: canvas.set_overlay_opacity(HEATMAP, v))
        panel.tiles_opacity_changed.connect(lambda v: canvas.set_overlay_opacity(TILES, v))

    def set_bundle(self, bundle) -> None:
        self.bundle = bundle
        self.panel.set_classes(list(bundle.classes) if bundle is not None else [])
        self.set_image(self.shown)

    def set_image(self, shown: ShownImage | None) -> None:
        """A new image (or model): old overlays no longer apply."""
        self.cancel()
        self.shown, self.heatmap, self.tiles = shown, None, None
        self.update_heatmap()
        self.update_tiles()

    def cancel(self) -> None:
        self.heatmap_task.cancel()
        self.tiles_task.cancel()

    # -- heatmap -------------------------------------------------------------------------
    def update_heatmap(self, *_args) -> None:
        if not self.panel.heatmap_check.isChecked() or self.shown is None or self.bundle is None:
            self.canvas.set_overlay_visible(HEATMAP, False)
            self.panel.heatmap_status.setText("" if self.bundle is not None else "Load a model first.")
            return
        wanted = self.panel.chosen_class
        if self.heatmap is not None and self.heatmap.requested == wanted:
            self.canvas.set_overlay_visible(HEATMAP, True)
            return
        self.panel.heatmap_status.setText("Computing the heatmap…")
        worker = FunctionWorker(in_background(heatmap_job), self.bundle, self.shown, wanted)
        worker.signals.finished.connect(self._on_heatmap)
        worker.signals.failed.connect(self._on_heatmap_failed)
        self.heatmap_task.start(worker)

    def _on_heatmap(self, result: HeatmapResult) -> None:
        if self.shown is None or result.path != self.shown.path or result.requested != self.panel.chosen_class:
            return
        self.heatmap = result
        self.panel.set_lut(colormap_lut())  # matplotlib is already loaded by the worker
        self.canvas.set_overlay(HEATMAP, result.image, scale=result.scale,
                                opacity=self.panel.heatmap_opacity.value() / 100)
        self.canvas.set_overlay_visible(HEATMAP, self.panel.heatmap_check.isChecked())
        self.panel.heatmap_status.setText(
            f"Grad-CAM for “{pretty(result.class_name)}”: warm colours mark the regions that "
            "raised this class's score most.")
        self.heatmap_ready.emit(result.class_name)

    def _on_heatmap_failed(self, exc: Exception) -> None:
        self.panel.heatmap_status.setText(f"Could not compute the heatmap: {exc}")

    # -- tiles ---------------------------------------------------------------------------
    def update_tiles(self, *_args) -> None:
        if not self.panel.tiles_check.isChecked() or self.shown is None or self.bundle is None:
            self.canvas.set_overlay_visible(TILES, False)
            self.panel.tiles_status.setText("")
            return
        if self.tiles is not None:
            self._show_tile_map()
            return
        size = int(self.bundle.input_size)
        height, width = self.shown.array.shape[:2]
        if max(height, width) <= size:
            self.panel.tiles_status.setText(
                f"This image ({width}x{height} px) is not larger than the model's input "
                f"({size} px): the whole image is one tile.")
            return
        self.panel.tiles_status.setText("Classifying tiles…")
        worker = FunctionWorker(in_background(tiles_job), self.bundle, self.shown)
        worker.signals.finished.connect(self._on_tiles)
        worker.signals.failed.connect(self._on_tiles_failed)
        self.tiles_task.start(worker)

    def _on_tiles(self, result: TilesResult) -> None:
        if self.shown is None or result.path != self.shown.path:
            return
        self.tiles = result
        self.panel.set_lut(colormap_lut())
        self._show_tile_map()
        self.tiles_ready.emit(result.result)

    def _on_tiles_failed(self, exc: Exception) -> None:
        self.panel.tiles_status.setText(f"Could not classify the tiles: {exc}")

    def _tile_class(self) -> str:
        chosen = self.panel.chosen_class
        if chosen:
            return chosen
        aggregate = self.tiles.result["aggregate"]
        return max(aggregate, key=aggregate.get)

    def _show_tile_map(self) -> None:
        tiles, class_name = self.tiles.result, self._tile_class()
        image, cell = tile_map_image(tiles, class_name, self.shown.array.shape[:2])
        self.canvas.set_overlay(TILES, image, scale=cell, smooth=False,
                                opacity=self.panel.tiles_opacity.value() / 100)
        self.canvas.set_overlay_visible(TILES, self.panel.tiles_check.isChecked())
        self.panel.tiles_status.setText(self._tiles_text(tiles, class_name))

    @staticmethod
    def _tiles_text(tiles: dict, class_name: str) -> str:
        aggregate = tiles["aggregate"]
        top = max(aggregate, key=aggregate.get)
        return (f"Slide level: {pretty(top)} {aggregate[top]:.1%}\n"
                f"Map: each tile's probability of “{pretty(class_name)}”.\n{tiles['method']}")

    def _on_class_changed(self, _name: str) -> None:
        self.update_heatmap()
        if self.tiles is not None and self.panel.tiles_check.isChecked():
            self._show_tile_map()
