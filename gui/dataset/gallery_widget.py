"""The thumbnail grid with filters by class, patient and magnification."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QListView, QVBoxLayout, QWidget

from gui.appearance import set_role
from gui.dataset.thumbnails import SampleFilter, ThumbnailDelegate, ThumbnailModel

ANY = "All"
FILTERS = (("label", "Class"), ("patient", "Patient"), ("magnification", "Magnification"))


class GalleryWidget(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = ThumbnailModel(parent=self)
        self.proxy = SampleFilter(self)
        self.proxy.setSourceModel(self.model)
        self.combos: dict[str, QComboBox] = {}
        bar = QHBoxLayout()
        for key, title in FILTERS:
            combo = QComboBox(self)
            combo.setMinimumContentsLength(12)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.currentIndexChanged.connect(lambda _=0, key=key: self._on_filter(key))
            self.combos[key] = combo
            bar.addWidget(QLabel(f"{title}:", self))
            bar.addWidget(combo)
        bar.addStretch(1)
        self.count = QLabel(self)
        set_role(self.count, "hint")
        bar.addWidget(self.count)
        self.view = QListView(self)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)  # lets the view lay out 8,000 items without asking each
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(400)
        self.view.setIconSize(QSize(self.model.loader.size, int(self.model.loader.size * 0.66)))
        self.view.setGridSize(self.model.grid_size())
        self.view.setSpacing(4)
        self.view.setItemDelegate(ThumbnailDelegate(self.model.grid_size(), self.view))
        self.view.setModel(self.proxy)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

    def set_samples(self, root: str | Path, samples: Sequence[Any]) -> None:
        self.proxy.clear_criteria()  # the model reset below re-filters once
        self.model.set_samples(root, samples)
        for key, combo in self.combos.items():
            values = sorted({getattr(s, key) for s in samples if getattr(s, key)})
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(ANY, None)
            for value in values:
                combo.addItem(value, value)
            combo.setEnabled(bool(values))
            combo.blockSignals(False)
        self._update_count()

    def set_filter(self, key: str, value: str | None) -> None:
        combo = self.combos[key]
        combo.setCurrentIndex(max(0, combo.findData(value)) if value else 0)

    def _on_filter(self, key: str) -> None:
        self.proxy.set_criterion(key, self.combos[key].currentData())
        self._update_count()

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count.setText(f"Showing {shown:,} of {total:,} images")

    def shutdown(self) -> None:
        self.model.loader.clear()
