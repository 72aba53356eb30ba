"""Split settings with a live per-split, per-class preview, warnings, and Save manifest.

Every change re-runs core.split.make_split on the worker (debounced); what is previewed is
exactly what gets saved. The saved manifest becomes the workspace's manifest, which the
training view reads.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton, QScrollArea,
                               QTableView, QVBoxLayout, QWidget)

from core import RESEARCH_NOTICE
from gui.appearance import set_role
from gui.dataset.models import TOTAL, SplitSummaryModel
from gui.dataset.split_settings import SplitSettings
from gui.state import AppState
from gui.worker import FunctionWorker, TaskSlot

SPLIT_TITLES = {"train": "Train", "val": "Validation", "test": "Test", None: "Not used (over cap)"}


def split_cells(manifest) -> tuple[list[str], dict[tuple[str, str], tuple[int, int | None]]]:
    """Column names and {(class or TOTAL, column): (images, patients)} for a manifest."""
    kfold = bool(getattr(manifest, "folds", None))
    images: dict[tuple[str, str], int] = defaultdict(int)
    patients: dict[tuple[str, str], set] = defaultdict(set)
    has_patients = all(s.patient is not None for s in manifest.samples)
    for s in manifest.samples:
        column = f"Fold {s.fold + 1}" if kfold and s.fold is not None else SPLIT_TITLES.get(s.split, str(s.split))
        for key in ((s.label, column), (TOTAL, column)):
            images[key] += 1
            if s.patient is not None:
                patients[key].add(s.patient)
    order = [*(f"Fold {i + 1}" for i in range(manifest.folds or 0)), *SPLIT_TITLES.values()]
    present = {column for _, column in images}
    columns = [c for c in order if c in present or (c in ("Train", "Validation", "Test") and not kfold)]
    cells = {(label, column): (images.get((label, column), 0),
                               len(patients.get((label, column), ())) if has_patients else None)
             for label in [*manifest.classes, TOTAL] for column in columns}
    return columns, cells


class SplitPanel(QWidget):
    manifest_saved = Signal(str)

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.catalog = None
        self.manifest = None
        self._task = TaskSlot()
        self.settings = SplitSettings(self)
        self.model = SplitSummaryModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.model.modelReset.connect(lambda: self.table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents))
        self.status = QLabel(self)
        set_role(self.status, "hint")
        self.warnings = QLabel(self)
        self.warnings.setWordWrap(True)
        set_role(self.warnings, "warning")
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        set_role(self.error, "error")
        self.saved = QLabel(self)
        self.saved.setWordWrap(True)
        set_role(self.saved, "success")
        self.save_button = QPushButton("Save manifest…", self)
        set_role(self.save_button, "primary")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.choose_and_save)
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.refresh)
        self.settings.changed.connect(self._on_settings_changed)
        self._build()
        for label in (self.warnings_area, self.error, self.saved):
            label.hide()

    def _build(self) -> None:
        notice = QLabel(RESEARCH_NOTICE, self)
        set_role(notice, "notice")
        right = QVBoxLayout()
        title = QLabel("Images (patients) in each split", self)
        set_role(title, "subtitle")
        right.addWidget(title)
        right.addWidget(self.table, 1)
        right.addWidget(self.status)
        scroll = QScrollArea(self)
        scroll.setWidget(self.warnings)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.warnings_area = scroll
        right.addWidget(scroll)
        right.addWidget(self.error)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(notice, 1)
        right.addLayout(buttons)
        right.addWidget(self.saved)
        layout = QHBoxLayout(self)
        layout.addWidget(self.settings, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(right, 1)

    # -- inputs ----------------------------------------------------------------------
    def set_catalog(self, catalog) -> None:
        self.catalog = catalog
        mags = sorted({s.magnification for s in catalog.samples if s.magnification},
                      key=lambda m: (len(m), m))
        self.settings.setEnabled(True)
        self.settings.set_data(mags, catalog.has_patients)
        self.refresh()

    def show_manifest(self, manifest, path: str) -> None:
        """An opened manifest: show its split; the settings need a scan of its folder to change."""
        self.catalog = None
        self._task.cancel()
        mags = sorted({s.magnification for s in manifest.samples if s.magnification}, key=lambda m: (len(m), m))
        self.settings.set_data(mags, all(s.patient is not None for s in manifest.samples))
        self.settings.blockSignals(True)
        self.settings.set_options(dict(manifest.options))
        self.settings.blockSignals(False)
        self.settings.setEnabled(False)
        self._show(manifest)
        self.save_button.setEnabled(False)
        self.status.setText(f"Opened {Path(path).name}. To change this split, scan its folder again.")
        self._show_saved(path, opened=True)

    def _on_settings_changed(self) -> None:
        if self.catalog is not None:
            self.status.setText("Updating the preview…")
            self._debounce.start()

    # -- preview ---------------------------------------------------------------------
    def refresh(self) -> None:
        """Run make_split with the current settings on the worker; show the result when done."""
        if self.catalog is None:
            return
        from core.split import SplitOptions, make_split

        self.save_button.setEnabled(False)
        self.saved.hide()
        worker = FunctionWorker(make_split, self.catalog, SplitOptions(**self.settings.options()),
                                needs_tensorflow=False)
        worker.signals.finished.connect(self._show)
        worker.signals.failed.connect(self._show_error)
        self._task.start(worker)

    def _show(self, manifest) -> None:
        self.manifest = manifest
        columns, cells = split_cells(manifest)
        self.model.set_summary(manifest.classes, columns, cells)
        self.error.hide()
        warnings = list(manifest.warnings)
        self.warnings.setText("\n".join(f"⚠ {w}" for w in warnings))
        self.warnings_area.setVisible(bool(warnings))
        width = max(200, self.warnings_area.width() - 4)
        self.warnings_area.setFixedHeight(min(170, self.warnings.heightForWidth(width) + 4))
        used = sum(1 for s in manifest.samples if s.split is not None or s.fold is not None)
        text = f"{used:,} images in the split, {len(manifest.classes)} classes, seed {manifest.seed}."
        if manifest.folds:
            fold = int(manifest.options.get("fold") or 0) + 1
            text += f" Fold {fold} is the test set; the other folds are split into training and validation."
        self.status.setText(text)
        self.save_button.setEnabled(self.catalog is not None)

    def _show_error(self, exc: BaseException) -> None:
        self.manifest = None
        self.model.set_summary([], [], {})
        self.error.setText(f"This split is not possible: {exc}")
        self.error.show()
        self.warnings_area.hide()
        self.status.setText("")

    # -- saving ----------------------------------------------------------------------
    def choose_and_save(self) -> None:
        if self.manifest is None:
            return
        root = Path(self.manifest.root)
        start = Path(self.state.last_dir("manifest", str(root.parent))) / f"{root.name}-manifest.json"
        path, _ = QFileDialog.getSaveFileName(self, "Save manifest", str(start),
                                              "HistoClass manifests (*.json)")
        if path:
            self.save_to(path if path.lower().endswith(".json") else path + ".json")

    def save_to(self, path: str) -> bool:
        from core.errors import HistoClassError
        from core.manifest import save_manifest

        try:
            save_manifest(self.manifest, path)
        except (HistoClassError, OSError) as exc:
            self.error.setText(f"The manifest could not be saved: {exc}")
            self.error.show()
            return False
        self.state.set_last_dir("manifest", path)
        self.manifest_saved.emit(path)  # before the workspace hears of it: the view knows it is its own
        self.state.set_manifest_path(path)
        self._show_saved(path)
        return True

    def _show_saved(self, path: str, opened: bool = False) -> None:
        verb = "Opened" if opened else "Saved"
        self.saved.setText(f"{verb} {path}. It is the workspace's manifest: the Training view uses it.")
        self.saved.setToolTip(path)
        self.saved.show()

    def shutdown(self) -> None:
        self._task.cancel()
