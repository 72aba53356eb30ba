"""Controls for what is laid over the slide: the Grad-CAM heatmap and the tile probability map."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QGroupBox, QLabel, QSlider, QVBoxLayout, QWidget,
)

from gui.viewer.prediction_panel import pretty

PREDICTED = ""  # the class combo's data for "the predicted class"


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
        form.addRow(self.tiles_status)
        return box

    def set_classes(self, classes: list[str]) -> None:
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem("Predicted class", PREDICTED)
        for name in classes:
            self.class_combo.addItem(pretty(name), name)
        self.class_combo.blockSignals(False)

    @property
    def chosen_class(self) -> str:
        return self.class_combo.currentData() or PREDICTED

    def choose_class(self, name: str) -> None:
        index = self.class_combo.findData(name or PREDICTED)
        if index >= 0:
            self.class_combo.setCurrentIndex(index)
