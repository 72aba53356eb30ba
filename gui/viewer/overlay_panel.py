"""Controls for what is laid over the slide: the Grad-CAM heatmap and the tile probability map."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget,
)

from gui.viewer.prediction_panel import pretty
from gui.viewer.viewer_jobs import rgb_to_qimage

PREDICTED = ""  # the class combo's data for "the predicted class"


class ColorLegend(QWidget):
    """`low [colour scale] high`, filled in once the colour map is known (after a first overlay)."""

    def __init__(self, caption: str, low: str, high: str, parent=None):
        super().__init__(parent)
        self.scale = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(caption))
        layout.addSpacing(8)
        layout.addWidget(QLabel(low))
        layout.addWidget(self.scale, 1)
        layout.addWidget(QLabel(high))
        self.hide()

    def set_lut(self, lut: np.ndarray) -> None:
        """lut: 256 x 3 uint8 colours, low to high."""
        row = np.ascontiguousarray(np.repeat(lut[None, :, :], 12, axis=0))
        image = rgb_to_qimage(row)
        self.scale.setPixmap(QPixmap.fromImage(image).scaled(
            160, 12, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation))
        self.show()


def _opacity_slider(value: int) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=value)
    slider.setToolTip("Opacity of the overlay")
    return slider


class OverlayPanel(QWidget):
    """Heatmap on/off, its class and opacity; tiles on/off, their opacity and the slide result."""

    heatmap_toggled = Signal(bool)
    tiles_toggled = Signal(bool)
    class_changed = Signal(str)  # a class name, or "" for the predicted class
    heatmap_opacity_changed = Signal(float)
    tiles_opacity_changed = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._build_heatmap())
        layout.addWidget(self._build_tiles())

    def _build_heatmap(self) -> QGroupBox:
        box = QGroupBox("Where the prediction comes from")
        self.heatmap_check = QCheckBox("Show Grad-CAM heatmap")
        self.heatmap_check.toggled.connect(self.heatmap_toggled)
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("The class whose evidence the heatmap and the tile map show.")
        self.class_combo.currentIndexChanged.connect(
            lambda _i: self.class_changed.emit(self.class_combo.currentData() or PREDICTED))
        self.heatmap_opacity = _opacity_slider(50)
        self.heatmap_opacity.valueChanged.connect(lambda v: self.heatmap_opacity_changed.emit(v / 100))
        self.heatmap_status = QLabel(wordWrap=True)
        form = QFormLayout(box)
        form.addRow(self.heatmap_check)
        form.addRow("Class", self.class_combo)
        form.addRow("Opacity", self.heatmap_opacity)
        self.heatmap_legend = ColorLegend("Evidence", "weak", "strong")
        form.addRow(self.heatmap_legend)
        form.addRow(self.heatmap_status)
        self.set_classes([])
        return box

    def _build_tiles(self) -> QGroupBox:
        box = QGroupBox("Tiles")
        self.tiles_check = QCheckBox("Classify overlapping tiles")
        self.tiles_check.setToolTip(
            "Cut the slide into overlapping tiles of the model's input size, classify each, "
            "and show a probability map over the slide.")
        self.tiles_check.toggled.connect(self.tiles_toggled)
        self.tiles_opacity = _opacity_slider(45)
        self.tiles_opacity.valueChanged.connect(lambda v: self.tiles_opacity_changed.emit(v / 100))
        self.tiles_status = QLabel(wordWrap=True)
        self.tiles_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout(box)
        form.addRow(self.tiles_check)
        form.addRow("Opacity", self.tiles_opacity)
        self.tiles_legend = ColorLegend("Probability", "0%", "100%")
        form.addRow(self.tiles_legend)
        form.addRow(self.tiles_status)
        return box

    def set_classes(self, classes: list[str]) -> None:
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem("Predicted class", PREDICTED)
        for name in classes:
            self.class_combo.addItem(pretty(name), name)
        self.class_combo.blockSignals(False)

    def set_lut(self, lut: np.ndarray) -> None:
        self.heatmap_legend.set_lut(lut)
        self.tiles_legend.set_lut(lut)

    @property
    def chosen_class(self) -> str:
        return self.class_combo.currentData() or PREDICTED

    def choose_class(self, name: str) -> None:
        index = self.class_combo.findData(name or PREDICTED)
        if index >= 0:
            self.class_combo.setCurrentIndex(index)
