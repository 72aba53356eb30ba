"""Wizard page 3: augmentation switches and strengths, with a live preview grid.

The preview runs `core.model.augment_preview` (Keras layers) on a worker, on a real
training image of the chosen manifest; edits are debounced so dragging a spin box does
not queue a job per step.
"""
from __future__ import annotations

import dataclasses
import random

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.config import Augmentation, TrainConfig
from gui.appearance import set_role
from gui.worker import FunctionWorker, TaskSlot

FLIPS = (("Horizontal and vertical", "horizontal_and_vertical"), ("Horizontal", "horizontal"),
         ("Vertical", "vertical"), ("Off", "none"))
GRID_COLUMNS = 4
PREVIEWS = 11  # plus the original in the first cell
THUMB = 150
DEBOUNCE_MS = 250


def preview_job(path: str, augmentation: Augmentation, seed: int, *, n: int = PREVIEWS, size: int = THUMB):
    """The original (resized to `size`) and `n` augmented versions of it (worker thread)."""
    from PIL import Image

    from core.images import load_rgb
    from core.model import augment_preview

    pil = Image.fromarray(load_rgb(path))
    scale = size / max(pil.size)  # small patches (IDC: 50 px) are enlarged to be seen
    pil = pil.resize((max(1, round(pil.width * scale)), max(1, round(pil.height * scale))), Image.Resampling.LANCZOS)
    small = np.asarray(pil.convert("RGB"))
    return [small, *augment_preview(small, augmentation, n, seed)]


def to_pixmap(image: np.ndarray) -> QPixmap:
    image = np.ascontiguousarray(image, dtype=np.uint8)
    h, w, _ = image.shape
    qimage = QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimage.copy())  # copy: the numpy buffer may go away


class AugmentPage(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.slot = TaskSlot()
        self.image_path: str | None = None
        self.seed = 0
        self.flip = QComboBox()
        for label, value in FLIPS:
            self.flip.addItem(label, value)
        self.rotation_on = QCheckBox("Random rotation")
        self.rotation = QDoubleSpinBox()
        self.rotation.setRange(0.01, 0.5)
        self.rotation.setSingleStep(0.05)
        self.rotation_degrees = QLabel()
        self.contrast_on = QCheckBox("Random contrast")
        self.contrast = QDoubleSpinBox()
        self.contrast.setRange(0.01, 0.9)
        self.contrast.setSingleStep(0.05)
        self.resample_button = QPushButton("Other samples")
        self.other_image_button = QPushButton("Other image")
        self.preview_status = QLabel("Choose a dataset on the Data page to see a preview.")
        set_role(self.preview_status, "hint")
        self.cells = [QLabel() for _ in range(PREVIEWS + 1)]
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.refresh_preview)
        self._candidates: list[str] = []
        self._layout()
        self._connect()
        self.set_config(TrainConfig())

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow("Flip", self.flip)
        rot = QHBoxLayout()
        rot.addWidget(self.rotation_on)
        rot.addWidget(self.rotation)
        rot.addWidget(self.rotation_degrees, 1)
        form.addRow(rot)
        con = QHBoxLayout()
        con.addWidget(self.contrast_on)
        con.addWidget(self.contrast)
        con.addStretch(1)
        form.addRow(con)
        hint = QLabel("Augmentation makes random variants of each training image (never of "
                      "validation or test images), so the network learns tissue, not orientation.")
        hint.setWordWrap(True)
        set_role(hint, "hint")
        form.addRow(hint)
        box = QGroupBox("Augmentation")
        box.setLayout(form)
        grid = QGridLayout()
        for i, cell in enumerate(self.cells):
            cell.setFixedSize(THUMB + 4, THUMB + 4)
            cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
            cell.setStyleSheet("border: 1px solid #bbbbbb; background: #f4f4f4;")
            grid.addWidget(cell, i // GRID_COLUMNS, i % GRID_COLUMNS)
        self.cells[0].setToolTip("The original image")
        buttons = QHBoxLayout()
        buttons.addWidget(self.preview_status, 1)
        buttons.addWidget(self.resample_button)
        buttons.addWidget(self.other_image_button)
        preview = QVBoxLayout()
        preview.addLayout(buttons)
        preview.addLayout(grid)
        preview.addStretch(1)
        box_preview = QGroupBox("Preview (first: the original)")
        box_preview.setLayout(preview)
        layout = QVBoxLayout(self)
        layout.addWidget(box)
        layout.addWidget(box_preview, 1)

    def _connect(self) -> None:
        for signal in (self.flip.currentIndexChanged, self.rotation_on.toggled, self.rotation.valueChanged,
                       self.contrast_on.toggled, self.contrast.valueChanged):
            signal.connect(self._changed)
        self.resample_button.clicked.connect(self._resample)
        self.other_image_button.clicked.connect(self._other_image)

    def _changed(self, *_args) -> None:
        self.rotation.setEnabled(self.rotation_on.isChecked())
        self.contrast.setEnabled(self.contrast_on.isChecked())
        self.rotation_degrees.setText(f"fraction of a full turn: up to ±{self.rotation.value() * 360:.0f}°")
        self._debounce.start()

    def _resample(self) -> None:
        self.seed += 1
        self.refresh_preview()

    def _other_image(self) -> None:
        if self._candidates:
            self.image_path = random.Random(self.seed + len(self._candidates)).choice(self._candidates)
            self.seed += 1
            self.refresh_preview()

    def set_manifest(self, manifest) -> None:
        """Preview on a training image of this manifest."""
        train = [s for s in manifest.samples if s.split == "train"] or list(manifest.samples)
        self._candidates = [str(manifest.abspath(s)) for s in train[:500]]
        self.image_path = self._candidates[0] if self._candidates else None
        self.refresh_preview()

    def refresh_preview(self) -> None:
        if not self.image_path:
            return
        self.preview_status.setText("Computing the preview…")
        worker = FunctionWorker(preview_job, self.image_path, self.augmentation(), self.seed)
        worker.signals.finished.connect(self._show)
        worker.signals.failed.connect(lambda exc: self.preview_status.setText(f"No preview: {exc}"))
        self.slot.start(worker)

    def _show(self, images: list) -> None:
        for cell, image in zip(self.cells, images):
            cell.setPixmap(to_pixmap(image))
        name = self.image_path.replace("\\", "/").rsplit("/", 1)[-1] if self.image_path else ""
        self.preview_status.setText(f"{name}: the original and {len(images) - 1} augmented versions")

    # -- configuration -------------------------------------------------------------------
    def augmentation(self) -> Augmentation:
        return Augmentation(
            flip=self.flip.currentData(),
            rotation=round(self.rotation.value(), 4) if self.rotation_on.isChecked() else 0.0,
            contrast=round(self.contrast.value(), 4) if self.contrast_on.isChecked() else 0.0,
        )

    def set_config(self, config: TrainConfig) -> None:
        aug = config.augmentation
        self.flip.setCurrentIndex(max(0, self.flip.findData(aug.flip)))
        self.rotation_on.setChecked(aug.rotation > 0)
        self.rotation.setValue(aug.rotation if aug.rotation > 0 else 0.1)
        self.contrast_on.setChecked(aug.contrast > 0)
        self.contrast.setValue(aug.contrast if aug.contrast > 0 else 0.1)
        self._changed()

    def apply(self, config: TrainConfig) -> TrainConfig:
        return dataclasses.replace(config, augmentation=self.augmentation())
