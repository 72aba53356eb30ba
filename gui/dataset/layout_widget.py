"""Choose how file paths become labels, with a live preview of a custom pattern."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHeaderView, QLabel, QLineEdit, QTableWidget,
                               QTableWidgetItem, QWidget)

from core.errors import DatasetError
from gui.appearance import set_role

LAYOUT_CHOICES = (
    ("auto", "Detect automatically"),
    ("breakhis", "BreakHis file names"),
    ("folders", "One folder per class"),
    ("pattern", "Custom pattern…"),
)
LAYOUT_NAMES = dict(LAYOUT_CHOICES)
PRESETS = (
    ("<patient>/<class>/image (e.g. IDC)", r"(?P<patient>[^/]+)/(?P<label>[^/]+)/[^/]+"),
    ("<class>/<patient>/image", r"(?P<label>[^/]+)/(?P<patient>[^/]+)/[^/]+"),
    ("<class>/<magnification>/image", r"(?P<label>[^/]+)/(?P<magnification>\d+)[xX]?/[^/]+"),
    ("<class>_<patient>_anything.png", r"(?:.*/)?(?P<label>[^/_]+)_(?P<patient>[^/_]+)_[^/]*"),
)
PREVIEW_FIELDS = ("label", "patient", "magnification", "group")
NO_MATCH = QColor("#b3261e")


def sample_relpaths(root: str | os.PathLike, n: int = 6) -> list[str]:
    """The first image of up to `n` different folders: a quick, varied sample for the preview."""
    from core.images import IMAGE_SUFFIXES

    root, found = Path(root), []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        images = sorted(f for f in filenames if f.lower().endswith(IMAGE_SUFFIXES) and not f.startswith("."))
        if images:
            found.append((Path(dirpath) / images[0]).relative_to(root).as_posix())
            if len(found) >= n:
                break
    return found


class LayoutWidget(QWidget):
    """Emits `layout_changed` when the choice changes and `pattern_submitted` on Enter."""

    layout_changed = Signal(str)
    pattern_submitted = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.combo = QComboBox(self)
        for key, title in LAYOUT_CHOICES:
            self.combo.addItem(title, key)
        self.detected = QLabel(self)
        set_role(self.detected, "hint")
        self.pattern = QLineEdit(self)
        self.pattern.setPlaceholderText(r"Regular expression on the path, e.g. (?P<label>[^/]+)/[^/]+")
        self.presets = QComboBox(self)
        self.presets.addItem("Examples…", "")
        for title, regex in PRESETS:
            self.presets.addItem(title, regex)
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        set_role(self.error, "error")
        self.preview = QTableWidget(0, 1 + len(PREVIEW_FIELDS), self)
        self.preview.setHorizontalHeaderLabels(["File (relative path)", "Class", "Patient", "Magnification", "Group"])
        self.preview.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.preview.verticalHeader().hide()
        self.preview.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.preview.setMaximumHeight(130)
        self._paths: list[str] = []
        self._build_layout()
        self.combo.currentIndexChanged.connect(self._on_combo)
        self.pattern.textChanged.connect(self.refresh_preview)
        self.pattern.returnPressed.connect(self.pattern_submitted)
        self.presets.activated.connect(self._on_preset)
        self._on_combo()

    def _build_layout(self) -> None:
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Layout:", self), 0, 0)
        grid.addWidget(self.combo, 0, 1)
        grid.addWidget(self.detected, 0, 2, 1, 2)
        grid.addWidget(QLabel("Pattern:", self), 1, 0)
        grid.addWidget(self.pattern, 1, 1, 1, 2)
        grid.addWidget(self.presets, 1, 3)
        grid.addWidget(self.error, 2, 1, 1, 3)
        grid.addWidget(self.preview, 3, 0, 1, 4)
        grid.setColumnStretch(2, 1)

    # -- public ----------------------------------------------------------------------
    def layout_key(self) -> str:
        return str(self.combo.currentData())

    def pattern_text(self) -> str | None:
        return self.pattern.text().strip() or None if self.layout_key() == "pattern" else None

    def set_layout_key(self, key: str, pattern: str | None = None) -> None:
        if pattern:
            self.pattern.setText(pattern)
        self.combo.setCurrentIndex(max(0, self.combo.findData(key)))

    def set_detected(self, layout: str | None) -> None:
        """After an automatic scan: say which layout was found (nothing to say otherwise)."""
        found = layout and self.layout_key() == "auto"
        self.detected.setText(f"Found: {LAYOUT_NAMES.get(layout, layout)}" if found else "")

    def set_sample_paths(self, paths: list[str]) -> None:
        self._paths = list(paths)
        self.refresh_preview()

    # -- internals -------------------------------------------------------------------
    def _on_combo(self) -> None:
        is_pattern = self.layout_key() == "pattern"
        for widget in (self.pattern, self.presets, self.preview):
            widget.setVisible(is_pattern)
        self.layout().itemAtPosition(1, 0).widget().setVisible(is_pattern)
        self.refresh_preview()
        self.layout_changed.emit(self.layout_key())

    def _on_preset(self, index: int) -> None:
        regex = self.presets.itemData(index)
        if regex:
            self.pattern.setText(regex)
        self.presets.setCurrentIndex(0)

    def refresh_preview(self) -> None:
        """Show what the pattern extracts from the sample paths (no match is shown in red)."""
        self.error.hide()
        self.preview.setRowCount(0)
        if self.layout_key() != "pattern" or not self.pattern.text().strip():
            return
        from core.scan import preview_pattern

        try:
            results = preview_pattern(self.pattern.text().strip(), self._paths)
        except DatasetError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.preview.setRowCount(len(self._paths))
        for row, (path, found) in enumerate(zip(self._paths, results)):
            self._set(row, 0, path)
            for col, key in enumerate(PREVIEW_FIELDS, start=1):
                self._set(row, col, "no match" if found is None and col == 1 else
                          ("" if found is None else found.get(key) or "–"), found is None)

    def _set(self, row: int, col: int, text: str, bad: bool = False) -> None:
        item = QTableWidgetItem(text)
        item.setToolTip(text)
        if bad:
            item.setForeground(NO_MATCH)
        self.preview.setItem(row, col, item)
