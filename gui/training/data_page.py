"""Wizard page 1: which manifest to train on, a summary of its splits, class weighting."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.errors import ImagesMissingError
from gui.appearance import set_role
from gui.locate_banner import LocateImagesBanner, missing_text
from gui.worker import FunctionWorker, TaskSlot

SPLITS = ("train", "val", "test")


def load_manifest_job(path: str):
    from core.manifest import load_manifest

    return load_manifest(path)


def split_table(manifest) -> tuple[list[str], list[list[str]]]:
    """Rows: one per class and a total; cells 'images (patients)' per split."""
    images: Counter = Counter()
    patients: dict[tuple[str, str], set] = {}
    for s in manifest.samples:
        if s.split in SPLITS:
            images[(s.label, s.split)] += 1
            patients.setdefault((s.label, s.split), set()).add(s.patient)
    rows = []
    for label in [*manifest.classes, "All classes"]:
        cells = [label]
        for split in SPLITS:
            keys = [(c, split) for c in manifest.classes] if label == "All classes" else [(label, split)]
            n = sum(images[k] for k in keys)
            who = set().union(*(patients.get(k, set()) for k in keys)) - {None}
            cells.append(f"{n} ({len(who)} patients)" if who else str(n))
        rows.append(cells)
    return ["Class", "Train", "Validation", "Test"], rows


class DataPage(QWidget):
    """Emits `manifest_loaded(object)` with the Manifest once one is read and checked."""

    manifest_loaded = Signal(object)

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.manifest = None
        self.manifest_path = ""
        self.slot = TaskSlot()
        self.path_edit = QLineEdit()
        self.path_edit.setReadOnly(True)
        self.path_edit.setPlaceholderText("No dataset yet: split one in the Dataset view, or open a manifest file")
        self.open_button = QPushButton("Open manifest…")
        self.use_current_button = QPushButton("Use the Dataset view's")
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.warning = QLabel("")
        self.warning.setWordWrap(True)
        set_role(self.warning, "warning")
        self.warning.hide()
        self.locate = LocateImagesBanner(state, self)
        self.locate.relocated.connect(self._show)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Class", "Train", "Validation", "Test"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.class_weights = QCheckBox("Weight classes by their frequency (recommended when classes are unbalanced)")
        self.class_weights.setChecked(True)
        self.weights_info = QLabel("")
        set_role(self.weights_info, "hint")
        self._layout()
        self.open_button.clicked.connect(self._choose)
        self.use_current_button.clicked.connect(lambda: self.load(self.state.manifest_path))
        state.manifest_changed.connect(self._on_state_manifest)
        state.manifest_relocated.connect(self._on_relocated)

    def _layout(self) -> None:
        row = QHBoxLayout()
        row.addWidget(QLabel("Manifest:"))
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.open_button)
        row.addWidget(self.use_current_button)
        layout = QVBoxLayout(self)
        intro = QLabel("Training reads a manifest: the images of a dataset, already split into "
                       "train, validation and test by patient.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addLayout(row)
        layout.addWidget(self.info)
        layout.addWidget(self.warning)
        layout.addWidget(self.locate)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.class_weights)
        layout.addWidget(self.weights_info)

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a manifest", self.state.last_dir("manifest"),
                                              "Manifest (*.json);;All files (*)")
        if path:
            self.state.set_last_dir("manifest", path)
            self.load(path)

    def _on_state_manifest(self, path: str) -> None:
        if path and path != self.manifest_path:
            self.load(path)  # a newer choice replaces one still being read

    def _on_relocated(self, path: str) -> None:
        if path == self.path_edit.text() and self.manifest is None:
            self.load(path)  # located from the Dataset view: read it again

    def load(self, path: str) -> None:
        """Read and check the manifest on a worker; the page updates when it is done."""
        if not path:
            return
        self.path_edit.setText(path)
        self.info.setText("Reading the manifest and checking that its images exist…")
        self.warning.clear()
        self.warning.hide()
        self.locate.hide()
        worker = FunctionWorker(load_manifest_job, path, needs_tensorflow=False)
        worker.signals.finished.connect(lambda manifest: self._show(path, manifest))
        worker.signals.failed.connect(lambda exc: self._failed(exc, path))
        self.slot.start(worker)

    def _failed(self, exc, path: str = "") -> None:
        self.manifest = None
        self.table.setRowCount(0)
        self.info.setText("")
        if isinstance(exc, ImagesMissingError) and path:
            self.warning.hide()  # the banner says it, with the way out next to it
            self.locate.show_missing(path, exc.root, missing_text(exc.root, exc.missing, exc.total))
            return
        set_role(self.warning, "error")
        self.warning.setText(str(exc))
        self.warning.setVisible(True)

    def _show(self, path: str, manifest) -> None:
        self.manifest, self.manifest_path = manifest, path
        self.locate.hide()
        patients = {s.patient for s in manifest.samples if s.split} - {None}
        used = sum(1 for s in manifest.samples if s.split in SPLITS)
        self.info.setText(
            f"<b>{Path(manifest.root).name}</b> — {used} images, {len(patients)} patients, "
            f"{len(manifest.classes)} classes: {', '.join(manifest.classes)}. Split by "
            f"{manifest.options.get('by', 'patient')}, seed {manifest.seed}.")
        notes = list(manifest.warnings)
        if manifest.image_level:
            notes.insert(0, "Split by image, not by patient: the same patient's images are in train "
                            "and test, so test scores will be optimistic.")
        set_role(self.warning, "warning")
        self.warning.setText("\n".join(f"⚠ {n}" for n in notes))
        self.warning.setVisible(bool(notes))
        headers, rows = split_table(manifest)
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        weights = ", ".join(f"{k}: {v:.2f}" for k, v in manifest.class_weights.items())
        self.weights_info.setText(f"Class weights from the training split: {weights}" if weights else "")
        self.manifest_loaded.emit(manifest)

    def is_ready(self) -> bool:
        return self.manifest is not None
