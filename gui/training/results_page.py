"""Wizard page 6: the evaluation of the best model on the test patients.

Scores, a per-class table and the confusion matrix; a click on a cell lists its test
images (most confidently wrong first), each of which opens in the viewer. Buttons save
the model bundle, open it in the viewer, and export an HTML report.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import numpy as np
from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

from core import RESEARCH_NOTICE
from core.fileio import atomic_path
from core.runs import SCORE_KEYS, SCORE_LABELS
from gui.appearance import set_role
from gui.training.augment_page import to_pixmap
from gui.training.confusion_widget import ConfusionWidget
from gui.worker import GeneratorWorker, TaskSlot

THUMB = 48
MAX_THUMBNAILS = 300  # a cell may hold thousands of images; the first ones matter most


def cell_predictions(predictions: list[dict], true: str, predicted: str) -> list[dict]:
    """Test images of one confusion cell: wrong ones most confident first, right ones least confident first."""
    rows = [p for p in predictions if p.get("true") == true and p.get("pred") == predicted]
    return sorted(rows, key=lambda p: float(p.get("probability", 0.0)), reverse=true != predicted)


def thumbnails_job(paths: list[str], *, size: int = THUMB, on_progress=None, stop=None):
    """(row, small RGB array) for each readable image, on a worker; unreadable ones are skipped."""
    from PIL import Image

    from core.errors import ImageError
    from core.images import load_rgb

    for row, path in enumerate(paths):
        if stop is not None and stop.is_set():
            return
        try:
            image = Image.fromarray(load_rgb(path))
        except (ImageError, OSError):
            continue
        image.thumbnail((size, size))
        yield row, np.asarray(image.convert("RGB"))


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "–"


class ResultsPage(QWidget):
    """Signals: `open_images_requested(list)` (absolute image paths), `open_model_requested(str)`."""

    open_images_requested = Signal(list)
    open_model_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.evaluation: dict[str, Any] = {}
        self.run_dir: Path | None = None
        self.bundle_path: Path | None = None
        self.image_root: Path | None = None
        self.notice = QLabel(RESEARCH_NOTICE)
        set_role(self.notice, "notice")
        self.header = QLabel("No results yet: they appear here when a run finishes.")
        self.header.setWordWrap(True)
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        set_role(self.warnings, "warning")
        self.score_labels = {k: QLabel("–") for k in SCORE_KEYS}
        self.per_class = QTableWidget(0, 5)
        self.per_class.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "F1", "Images"])
        self.per_class.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.per_class.verticalHeader().hide()
        self.per_class.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.confusion = ConfusionWidget()
        self.cell_title = QLabel("Click a cell of the confusion matrix to list its test images.")
        set_role(self.cell_title, "hint")
        self.images = QListWidget()
        self.images.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.images.setIconSize(QSize(THUMB, THUMB))
        self.thumbnails = TaskSlot()
        self.open_images_button = QPushButton("Open selected in viewer")
        self.save_button = QPushButton("Save model bundle…")
        self.viewer_button = QPushButton("Open model in viewer")
        self.report_button = QPushButton("Export report…")
        self._layout()
        self.confusion.cell_clicked.connect(self.show_cell)
        self.images.itemDoubleClicked.connect(lambda item: self._open_paths([item.data(Qt.ItemDataRole.UserRole)]))
        self.open_images_button.clicked.connect(self._open_selected)
        self.save_button.clicked.connect(self._save_bundle)
        self.viewer_button.clicked.connect(self._open_model)
        self.report_button.clicked.connect(self._export_report)
        self._set_enabled(False)

    def _layout(self) -> None:
        scores = QGridLayout()
        for i, key in enumerate(SCORE_KEYS):
            title = QLabel(SCORE_LABELS[key])
            set_role(title, "hint")
            value = self.score_labels[key]
            value.setStyleSheet("font-size: 20px; font-weight: bold;")
            scores.addWidget(title, 0, i)
            scores.addWidget(value, 1, i)
        middle = QHBoxLayout()
        middle.addWidget(self.confusion, 1)
        middle.addWidget(self.per_class, 1)
        cell_row = QHBoxLayout()
        cell_row.addWidget(self.cell_title, 1)
        cell_row.addWidget(self.open_images_button)
        cell_box = QVBoxLayout()
        cell_box.addLayout(cell_row)
        cell_box.addWidget(self.images, 1)
        # The actions sit by the title, where a 768-pixel-high screen shows them without scrolling.
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        for button in (self.save_button, self.viewer_button, self.report_button):
            top.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addLayout(top)
        layout.addWidget(self.warnings)
        layout.addLayout(scores)
        layout.addLayout(middle, 3)
        layout.addLayout(cell_box, 2)

    def _set_enabled(self, enabled: bool) -> None:
        for button in (self.save_button, self.viewer_button):
            button.setEnabled(enabled and self.bundle_path is not None)
        self.report_button.setEnabled(enabled and self.run_dir is not None)
        self.open_images_button.setEnabled(enabled)

    # -- filling -------------------------------------------------------------------------
    def show_run(self, run_dir: str | Path, evaluation: dict | None = None, *,
                 image_root: str | Path | None = None) -> None:
        """Show the evaluation of a run (read from evaluation.json when not given)."""
        self.run_dir = Path(run_dir)
        if evaluation is None:
            try:
                evaluation = json.loads((self.run_dir / "evaluation.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                evaluation = {}
        self.evaluation = evaluation or {}
        bundle = self.run_dir / "model.hcmodel"
        self.bundle_path = bundle if bundle.is_file() else None
        self.image_root = Path(image_root) if image_root else None
        self._fill()

    def _fill(self) -> None:
        ev = self.evaluation
        if not ev:
            self.header.setText(f"Run {self.run_dir.name if self.run_dir else ''} has no evaluation yet.")
            self._set_enabled(False)
            return
        self.header.setText(
            f"<b>Run {self.run_dir.name}</b>: best model evaluated on the {ev.get('split', 'test')} split — "
            f"{ev.get('images', '?')} images" + (f", {ev['patients']} patients" if ev.get("patients") else "") + ".")
        self.warnings.setText("\n".join(f"⚠ {w}" for w in ev.get("warnings") or []))
        self.warnings.setVisible(bool(ev.get("warnings")))
        for key, label in self.score_labels.items():
            label.setText(_fmt(ev.get(key)))
        per_class = ev.get("per_class") or {}
        self.per_class.setRowCount(len(per_class))
        for r, (name, values) in enumerate(per_class.items()):
            cells = [name, *(_fmt(values.get(k)) for k in ("precision", "recall", "f1")), str(values.get("support", "–"))]
            for c, text in enumerate(cells):
                self.per_class.setItem(r, c, QTableWidgetItem(text))
        self.confusion.set_matrix(ev.get("confusion_matrix") or [], ev.get("classes") or [])
        self.images.clear()
        has_predictions = bool(ev.get("predictions"))
        self.cell_title.setText("Click a cell of the confusion matrix to list its test images." if has_predictions
                                else "This evaluation has no per-image predictions to list.")
        self._set_enabled(True)

    def show_cell(self, true_index: int, predicted_index: int) -> None:
        classes = self.evaluation.get("classes") or []
        true, pred = classes[true_index], classes[predicted_index]
        rows = cell_predictions(self.evaluation.get("predictions") or [], true, pred)
        order = "most confidently wrong first" if true != pred else "least confident first"
        self.cell_title.setText(f"True “{true}”, predicted “{pred}”: {len(rows)} image(s), {order}. "
                                "Double-click one to open it in the viewer.")
        self.images.clear()
        for row in rows:
            path = self._absolute(row["path"])
            item = QListWidgetItem(f"{row['path']}   —   predicted {row['pred']} with probability "
                                   f"{float(row.get('probability', 0)):.3f}")
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setToolTip(str(path))
            self.images.addItem(item)
        paths = [self.images.item(r).data(Qt.ItemDataRole.UserRole) for r in range(min(len(rows), MAX_THUMBNAILS))]
        worker = GeneratorWorker(thumbnails_job, paths, needs_tensorflow=False)
        worker.signals.item.connect(self._set_thumbnail)
        self.thumbnails.start(worker)

    def _set_thumbnail(self, row_image) -> None:
        row, image = row_image
        if row < self.images.count():
            self.images.item(row).setIcon(QIcon(to_pixmap(image)))

    def _absolute(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() or self.image_root is None else self.image_root / p

    # -- actions -------------------------------------------------------------------------
    def _open_selected(self) -> None:
        paths = [item.data(Qt.ItemDataRole.UserRole) for item in self.images.selectedItems()]
        if paths:
            self._open_paths(paths)

    def _open_paths(self, paths: list[str]) -> None:
        self.open_images_requested.emit(list(paths))

    def _open_model(self) -> None:
        if self.bundle_path is not None:
            self.open_model_requested.emit(str(self.bundle_path))

    def _save_as(self, title: str, name: str, file_filter: str, write, what: str) -> None:
        """Ask where to save (in the home folder by default), write there, say if it failed."""
        target, _ = QFileDialog.getSaveFileName(self, title, str(Path.home() / name), file_filter)
        if target:
            try:
                write(target)
            except OSError as exc:
                self.header.setText(f"{what} could not be written to {target}: {exc}")

    def _save_bundle(self) -> None:
        if self.bundle_path is not None:
            self._save_as("Save the model bundle", f"{self.run_dir.name}.hcmodel", "HistoClass model (*.hcmodel)",
                          self.save_bundle_to, "The model bundle")

    def save_bundle_to(self, target: str | Path) -> Path:
        target = Path(target)
        if target.suffix != ".hcmodel":
            target = target.with_suffix(".hcmodel")
        if target.resolve() != self.bundle_path.resolve():
            with atomic_path(target) as tmp:
                shutil.copyfile(self.bundle_path, tmp)
        self.header.setText(f"Model bundle saved to {target}")
        return target

    def _export_report(self) -> None:
        if self.run_dir is not None:
            self._save_as("Export the report", f"{self.run_dir.name}-report.html", "HTML report (*.html)",
                          self.export_report_to, "The report")

    def export_report_to(self, target: str | Path) -> Path:
        from core.report import write_report

        path = write_report(self.run_dir, target)
        self.header.setText(f"Report written to {path}")
        return path
