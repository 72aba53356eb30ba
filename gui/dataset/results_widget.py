"""What a scan (or an opened manifest) found: overview table and chart, images, skipped, split."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QLabel, QTableView, QTabWidget, QVBoxLayout, QWidget

from core import RESEARCH_NOTICE
from gui.appearance import set_role
from gui.dataset.class_chart import ClassChart
from gui.dataset.gallery_widget import GalleryWidget
from gui.dataset.models import CountsTableModel, SkippedModel
from gui.dataset.split_panel import SplitPanel
from gui.state import AppState


def summary_line(samples, skipped_count: int | None) -> str:
    classes = {s.label for s in samples}
    patients = {s.patient for s in samples if s.patient}
    mags = {s.magnification for s in samples if s.magnification}
    parts = [f"{len(samples):,} images", f"{len(classes)} classes"]
    parts.append(f"{len(patients)} patients" if patients else "no patient IDs")
    if mags:
        parts.append(f"{len(mags)} magnifications")
    if skipped_count is not None:
        parts.append(f"{skipped_count:,} skipped")
    return " · ".join(parts)


def _table(model, parent: QWidget) -> QTableView:
    view = QTableView(parent)
    view.setModel(model)
    view.setAlternatingRowColors(True)
    view.verticalHeader().hide()
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    return view


class ResultsWidget(QTabWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.counts = CountsTableModel(self)
        self.skipped = SkippedModel(self)
        self.summary = QLabel(self)
        set_role(self.summary, "subtitle")
        self.chart = ClassChart(self)
        self.counts_view = _table(self.counts, self)
        # as wide as its columns; the chart takes the rest of the row
        self.counts_view.setSizeAdjustPolicy(QTableView.SizeAdjustPolicy.AdjustToContents)
        self.counts_view.doubleClicked.connect(self._show_images_of)
        self.gallery = GalleryWidget(self)
        self.skipped_view = _table(self.skipped, self)
        self.skipped_view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.skipped_view.setColumnWidth(0, 520)
        self.skipped_view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.split = SplitPanel(state, self)
        self.addTab(self._overview(), "Overview")
        self.addTab(self.gallery, "Images")
        self.addTab(self.skipped_view, "Skipped")
        self.addTab(self.split, "Split && save")

    def _fit_overview(self) -> None:
        """The table is as wide as its columns (up to 65% of the row); the chart takes the rest."""
        self.counts_view.resizeColumnsToContents()
        width = self.counts_view.horizontalHeader().length() + 2 * self.counts_view.frameWidth() + 2
        self.counts_view.setMinimumWidth(min(width, int(self.width() * 0.65) or width))
        self.counts_view.setMaximumWidth(width + self.counts_view.verticalScrollBar().sizeHint().width())

    def _overview(self) -> QWidget:
        page = QWidget(self)
        row = QHBoxLayout()
        row.addWidget(self.counts_view, 0)
        row.addWidget(self.chart, 1)
        hint = QLabel("Each cell: images (patients). Double-click a row to see its images.", page)
        set_role(hint, "hint")
        notice = QLabel(RESEARCH_NOTICE, page)
        set_role(notice, "notice")
        layout = QVBoxLayout(page)
        layout.addWidget(self.summary)
        layout.addLayout(row, 1)
        layout.addWidget(hint)
        layout.addWidget(notice)
        return page

    def _fill(self, root, samples, skipped) -> None:
        self.summary.setText(summary_line(samples, None if skipped is None else len(skipped)))
        self.counts.set_samples(samples)
        groups = {s.label: s.group for s in samples if s.group}
        self.chart.set_counts(dict(Counter(s.label for s in samples)), groups)
        self.gallery.set_samples(root, samples)
        self.skipped.set_items(skipped or [])
        count = len(skipped) if skipped is not None else 0
        self.setTabText(2, f"Skipped ({count:,})")
        self.setTabEnabled(2, skipped is not None)

    def show_catalog(self, catalog) -> None:
        self._fill(catalog.root, catalog.samples, catalog.skipped)
        self.split.set_catalog(catalog)
        self._fit_overview()

    def show_manifest(self, manifest, path: str) -> None:
        self._fill(Path(manifest.root), list(manifest.samples), None)
        self.split.show_manifest(manifest, path)
        self._fit_overview()
        self.setCurrentWidget(self.split)

    def _show_images_of(self, index) -> None:
        label = self.counts.data(self.counts.index(index.row(), 0))
        self.gallery.set_filter("label", label if label in self.counts.classes else None)
        self.setCurrentWidget(self.gallery)

    def shutdown(self) -> None:
        self.gallery.shutdown()
        self.split.shutdown()
