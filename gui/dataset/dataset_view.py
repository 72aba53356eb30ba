"""The Dataset view: choose a folder, scan it on the worker, look at what was found, split, save.

The scan and the split are core functions (core.scan.scan, core.split.make_split) run on
the shared worker; this view only wires them to widgets and never blocks the GUI thread.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout,
                               QWidget)

from gui.appearance import set_role
from gui.locate_banner import LocateImagesBanner, missing_text
from gui.dataset.layout_widget import LayoutWidget, sample_relpaths
from gui.empty_state import EmptyState
from gui.progress_row import ProgressRow
from gui.state import AppState
from gui.worker import FunctionWorker, TaskSlot

EMPTY, RESULTS = 0, 1


class DatasetView(QWidget):
    status_message = Signal(str)
    catalog_ready = Signal(object)  # the Catalog shown after a scan
    manifest_shown = Signal(object)

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.folder: Path | None = None
        self.catalog = None
        self._task = TaskSlot()
        self._results = None  # built on first use: it pulls in matplotlib
        self._shown_manifest = ""  # the manifest this view shows or saved last
        self._scanning = False
        self.setAcceptDrops(True)
        self._build()
        state.manifest_changed.connect(self._on_workspace_manifest)
        state.manifest_relocated.connect(self._on_relocated)
        self.empty.set_last_folder(state.recent("folder")[0] if state.recent("folder") else "")
        if state.manifest_path:
            self.open_manifest(state.manifest_path)

    # -- layout ----------------------------------------------------------------------
    def _build(self) -> None:
        title = QLabel("Dataset", self)
        set_role(title, "title")
        self.folder_label = QLabel("No folder chosen", self)
        set_role(self.folder_label, "hint")
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        choose = QPushButton("Choose folder…", self)
        choose.clicked.connect(self.choose_folder)
        self.scan_button = QPushButton("Scan", self)
        self.scan_button.setEnabled(False)
        self.scan_button.clicked.connect(self.start_scan)
        header = QHBoxLayout()
        for widget, stretch in ((title, 0), (self.folder_label, 1), (choose, 0), (self.scan_button, 0)):
            header.addWidget(widget, stretch)
        self.layout_widget = LayoutWidget(self)
        self.layout_widget.layout_changed.connect(self._on_layout_changed)
        self.layout_widget.pattern_submitted.connect(self.start_scan)
        self.progress = ProgressRow(self)
        self.progress.cancel_requested.connect(self.cancel_scan)
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        set_role(self.error, "error")
        self.error.hide()
        self.locate = LocateImagesBanner(self.state, self)
        self.locate.relocated.connect(lambda path, manifest: self._show_manifest(manifest, path))
        self.empty = EmptyState(self)
        self.empty.choose_requested.connect(self.choose_folder)
        self.empty.folder_requested.connect(self.open_folder)
        self.empty.manifest_requested.connect(self.choose_manifest)
        self.busy = QLabel(self)  # shown while the first scan runs (later scans keep the results)
        self.busy.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.busy.setWordWrap(True)
        set_role(self.busy, "subtitle")
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.busy)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        layout.addLayout(header)
        layout.addWidget(self.layout_widget)
        layout.addWidget(self.progress)
        layout.addWidget(self.error)
        layout.addWidget(self.locate)
        layout.addWidget(self.stack, 1)

    @property
    def results(self):
        if self._results is None:
            from gui.dataset.results_widget import ResultsWidget

            self._results = ResultsWidget(self.state, self)
            self._results.split.manifest_saved.connect(self._on_saved)
            self.stack.addWidget(self._results)
        return self._results

    # -- choosing a folder -----------------------------------------------------------
    def choose_folder(self) -> None:
        start = self.state.last_dir("dataset")
        path = QFileDialog.getExistingDirectory(self, "Choose the folder that holds the images", start)
        if path:
            self.open_folder(path)

    def choose_manifest(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open manifest", self.state.last_dir("manifest"),
                                              "HistoClass manifests (*.json);;All files (*)")
        if path:
            self.open_manifest(path)

    def open_folder(self, path: str | Path, scan: bool = True) -> None:
        folder = Path(path)
        if not folder.is_dir():
            self._show_error(f"{folder} is not a folder. Choose the folder that holds the images.")
            return
        self.folder = folder
        self.folder_label.setText(str(folder))
        self.folder_label.setToolTip(str(folder))
        self.scan_button.setEnabled(True)
        self.state.set_last_dir("dataset", folder.parent)
        self.state.add_recent("folder", str(folder))
        self._sampler = FunctionWorker(sample_relpaths, folder, needs_tensorflow=False)  # a few paths for the pattern preview
        self._sampler.signals.finished.connect(self.layout_widget.set_sample_paths)
        self._sampler.start()
        self.layout_widget.set_detected(None)
        if scan:
            self.start_scan()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._dropped_folder(event.mimeData()) is not None:
            event.acceptProposedAction()
            self.empty.set_drag_active(True)

    def dragLeaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.empty.set_drag_active(False)

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.empty.set_drag_active(False)
        folder = self._dropped_folder(event.mimeData())
        if folder is not None:
            event.acceptProposedAction()
            self.open_folder(folder)

    @staticmethod
    def _dropped_folder(mime) -> Path | None:
        """The dropped folder (or the folder of a dropped file), if a local one was dropped."""
        for url in mime.urls() if mime.hasUrls() else []:
            if url.isLocalFile():
                path = Path(url.toLocalFile())
                return path if path.is_dir() else path.parent
        return None

    # -- scanning --------------------------------------------------------------------
    def start_scan(self) -> None:
        if self.folder is None:
            return
        from core.scan import scan

        self.error.hide()
        layout, pattern = self.layout_widget.layout_key(), self.layout_widget.pattern_text()
        worker = FunctionWorker(scan, self.folder, layout=layout, pattern=pattern,
                                needs_tensorflow=False)
        worker.signals.progress.connect(self._on_progress)
        worker.signals.finished.connect(self._on_scanned)
        worker.signals.cancelled.connect(self._on_cancelled)
        worker.signals.failed.connect(self._on_failed)
        self.progress.start(f"Listing the files in {self.folder.name}…")
        if self.stack.currentWidget() is self.empty:
            self.busy.setText(f"Checking the images in {self.folder}…\n\nEach file is opened and checked; "
                              "files that cannot be used are listed with the reason.\n"
                              "The rest of HistoClass stays usable. Cancel stops the scan.")
            self.stack.setCurrentWidget(self.busy)
        self.scan_button.setEnabled(False)
        self._scanning = True
        self._task.start(worker)

    def cancel_scan(self) -> None:
        self._task.cancel()

    @property
    def scanning(self) -> bool:
        """True from the start of a scan until its outcome has reached this view."""
        return self._scanning

    def _on_progress(self, event: dict) -> None:
        if event.get("event") == "scan":
            done, total = int(event.get("done", 0)), int(event.get("total", 0))
            self.progress.update_progress(done, total, f"Checking images in {self.folder.name}…")

    def _scan_ended(self) -> None:
        self._scanning = False
        self.progress.finish()
        if self.stack.currentWidget() is self.busy:
            self.stack.setCurrentWidget(self.empty)
        self.scan_button.setEnabled(self.folder is not None)

    def _on_scanned(self, catalog) -> None:
        self._scan_ended()
        self.show_catalog(catalog)
        self.status_message.emit(f"Scanned {catalog.root}: {len(catalog.samples):,} images, "
                                 f"{len(catalog.skipped):,} skipped.")

    def _on_cancelled(self, catalog) -> None:
        self._scan_ended()
        checked = f" after {len(catalog.samples) + len(catalog.skipped):,} files" if catalog else ""
        self.status_message.emit(f"Scan cancelled{checked}; nothing was changed.")

    def _on_failed(self, exc: BaseException) -> None:
        self._scan_ended()
        hint = ""
        if self.layout_widget.layout_key() == "auto":
            hint = "\nTip: choose the layout above; “Custom pattern…” has examples for other folder shapes."
        self._show_error(f"Could not scan {self.folder}: {exc}{hint}")

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def _on_layout_changed(self, layout: str) -> None:
        # A different layout means different labels: scan again, except for a half-typed pattern.
        if self.catalog is not None and layout != "pattern" and not self.scanning:
            self.start_scan()

    # -- results ---------------------------------------------------------------------
    def show_catalog(self, catalog) -> None:
        self.catalog = catalog
        self.layout_widget.set_detected(catalog.layout)
        self.results.show_catalog(catalog)
        self.stack.setCurrentWidget(self.results)
        self.catalog_ready.emit(catalog)

    def open_manifest(self, path: str) -> None:
        """Show a saved manifest (its classes, images and split) read on the worker."""
        from core.manifest import load_manifest

        worker = FunctionWorker(load_manifest, path, check_files=False, needs_tensorflow=False)
        worker.signals.finished.connect(lambda manifest: self._show_manifest(manifest, path))
        worker.signals.failed.connect(lambda exc: self._show_error(f"Could not open the manifest {path}: {exc}"))
        self._task.start(worker)

    def _show_manifest(self, manifest, path: str) -> None:
        self.error.hide()
        self.folder = Path(manifest.root)
        self.folder_label.setText(f"{manifest.root}  (from {Path(path).name})")
        here = Path(manifest.root).is_dir()
        self.scan_button.setEnabled(here)
        if here:
            self.locate.hide()
        else:
            self.locate.show_missing(path, manifest.root, missing_text(manifest.root))
        self.catalog = None
        self._shown_manifest = path
        self.results.show_manifest(manifest, path)
        self.stack.setCurrentWidget(self.results)
        if self.state.manifest_path != path:
            self.state.set_manifest_path(path)
        self.manifest_shown.emit(manifest)

    def _on_saved(self, path: str) -> None:
        self._shown_manifest = path
        self.status_message.emit(f"Saved manifest {path}.")

    def _on_relocated(self, path: str) -> None:
        if path == self._shown_manifest and not self.locate.isHidden():
            self.open_manifest(path)  # located from the training wizard: show it again

    def _on_workspace_manifest(self, path: str) -> None:
        """Another part of the app chose a manifest (File > Open manifest): show it."""
        if path and path != self._shown_manifest:
            self.open_manifest(path)

    def shutdown(self) -> None:
        self._task.cancel()
        self.locate.shutdown()
        if self._results is not None:
            self._results.shutdown()
