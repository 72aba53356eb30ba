"""The split and balance form: by patient or image, fractions or K folds, seed, cap, magnifications.

It only collects values; `options()` returns the keyword arguments of core.split.SplitOptions.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QRadioButton, QSpinBox, QWidget)

from gui.appearance import set_role

IMAGE_LEVEL_TEXT = ("Splitting by image puts images of the same patient in both training and test: "
                    "every score will be optimistic. Use it only when patient IDs are unknown.")
NO_PATIENTS_TEXT = ("These images carry no patient IDs, so they can only be split by image: "
                    "every score will be optimistic. A pattern with a (?P<patient>…) group fixes this.")


def _percent(value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0, 60)
    box.setDecimals(0)
    box.setSuffix(" %")
    box.setValue(value)
    return box


class SplitSettings(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.by_patient = QRadioButton("Patient (recommended)")
        self.by_image = QRadioButton("Image")
        self.by_patient.setChecked(True)
        self.image_warning = QLabel(IMAGE_LEVEL_TEXT)
        self.image_warning.setWordWrap(True)
        set_role(self.image_warning, "warning")
        self.fractions = QRadioButton("Train / validation / test")
        self.kfold = QRadioButton("K folds")
        self.fractions.setChecked(True)
        self.val, self.test = _percent(15), _percent(15)
        self.folds = QSpinBox()
        self.folds.setRange(2, 20)
        self.folds.setValue(5)
        self.test_fold = QSpinBox()
        self.test_fold.setRange(1, 5)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2_147_483_647)
        self.seed.setValue(42)
        self.cap_enabled = QCheckBox("at most")
        self.cap = QSpinBox()
        self.cap.setRange(1, 1_000_000)
        self.cap.setValue(500)
        self.cap.setSuffix(" training images per class")
        self.mag_row = QHBoxLayout()
        self.mag_boxes: dict[str, QCheckBox] = {}
        self._groups = [self._exclusive(self.by_patient, self.by_image), self._exclusive(self.fractions, self.kfold)]
        self._build()
        self._wire()
        self._sync()

    @staticmethod
    def _exclusive(*buttons: QRadioButton) -> QButtonGroup:
        group = QButtonGroup()
        for button in buttons:
            group.addButton(button)
        return group

    def _build(self) -> None:
        form = QFormLayout(self)
        form.addRow("Split by:", self._row(self.by_patient, self.by_image))
        form.addRow(self.image_warning)
        form.addRow("Scheme:", self._row(self.fractions, self.kfold))
        form.addRow("Validation:", self._row(self.val, QLabel("Test:"), self.test))
        form.addRow("Folds:", self._row(self.folds, QLabel("Test fold:"), self.test_fold))
        form.addRow("Seed:", self._row(self.seed))
        form.addRow("Balance:", self._row(self.cap_enabled, self.cap))
        self.mag_row.addStretch(1)
        form.addRow("Magnifications:", self.mag_row)

    @staticmethod
    def _row(*widgets: QWidget) -> QHBoxLayout:
        row = QHBoxLayout()
        for widget in widgets:
            row.addWidget(widget)
        row.addStretch(1)
        return row

    def _wire(self) -> None:
        for button in (self.by_patient, self.by_image, self.fractions, self.kfold, self.cap_enabled):
            button.toggled.connect(self._sync)
        for box in (self.val, self.test, self.folds, self.test_fold, self.seed, self.cap):
            box.valueChanged.connect(self._sync)

    def _sync(self) -> None:
        self.image_warning.setVisible(self.by_image.isChecked())
        kfold = self.kfold.isChecked()
        self.val.setEnabled(not kfold)
        self.test.setEnabled(not kfold)
        self.folds.setEnabled(kfold)
        self.test_fold.setEnabled(kfold)
        self.test_fold.setMaximum(self.folds.value())
        self.cap.setEnabled(self.cap_enabled.isChecked())
        self.changed.emit()

    # -- public ----------------------------------------------------------------------
    def set_data(self, magnifications: list[str], has_patients: bool) -> None:
        """Adapt to a new scan: its magnifications, and whether a patient split is possible."""
        for box in self.mag_boxes.values():
            self.mag_row.removeWidget(box)
            box.deleteLater()
        self.mag_boxes = {}
        for mag in magnifications:
            box = QCheckBox(mag)
            box.setChecked(True)
            box.toggled.connect(self._sync)
            self.mag_row.insertWidget(len(self.mag_boxes), box)
            self.mag_boxes[mag] = box
        if not magnifications:
            label = QCheckBox("(none in file names)")
            label.setEnabled(False)
            self.mag_row.insertWidget(0, label)
            self.mag_boxes[""] = label
        self.by_patient.setEnabled(has_patients)
        self.image_warning.setText(IMAGE_LEVEL_TEXT if has_patients else NO_PATIENTS_TEXT)
        (self.by_patient if has_patients else self.by_image).setChecked(True)
        self._sync()

    def options(self) -> dict[str, Any]:
        """Keyword arguments for core.split.SplitOptions."""
        kfold = self.kfold.isChecked()
        chosen = [m for m, box in self.mag_boxes.items() if m and box.isChecked()]
        all_mags = [m for m in self.mag_boxes if m]
        return {
            "by": "image" if self.by_image.isChecked() else "patient",
            "val": self.val.value() / 100,
            "test": self.test.value() / 100,
            "folds": self.folds.value() if kfold else None,
            "fold": self.test_fold.value() - 1 if kfold else None,
            "cap_per_class": self.cap.value() if self.cap_enabled.isChecked() else None,
            "magnifications": tuple(chosen) if len(chosen) < len(all_mags) else None,
            "seed": self.seed.value(),
        }

    def set_options(self, options: dict[str, Any]) -> None:
        """Show the options a saved manifest was made with."""
        (self.by_image if options.get("by") == "image" else self.by_patient).setChecked(True)
        folds = options.get("folds")
        (self.kfold if folds else self.fractions).setChecked(True)
        self.val.setValue(float(options.get("val") or 0) * 100)
        self.test.setValue(float(options.get("test") or 0) * 100)
        if folds:
            self.folds.setValue(int(folds))
            self.test_fold.setValue(int(options.get("fold") or 0) + 1)
        self.seed.setValue(int(options.get("seed", 42)))
        cap = options.get("cap_per_class")
        self.cap_enabled.setChecked(bool(cap))
        if cap:
            self.cap.setValue(int(cap))
        wanted = options.get("magnifications")
        for mag, box in self.mag_boxes.items():
            box.setChecked(not wanted or mag in wanted)
