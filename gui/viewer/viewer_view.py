"""The slide viewer: open slides, see what the model predicts and why, classify folders.

Layout: the file list with batch controls (left), the zoomable slide (centre), the
prediction panel and overlay controls (right), the research-use notice (bottom, always).
Every decode, prediction, Grad-CAM and tile job runs on its own worker thread, so a long
batch never freezes the window nor waits behind another view's job.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog, QLabel, QMessageBox, QScrollArea, QSplitter, QToolBar, QToolButton, QVBoxLayout,
    QWidget,
)

from core import RESEARCH_NOTICE
from core.images import IMAGE_SUFFIXES
from gui.viewer.canvas_widget import SlideCanvas
from gui.viewer.file_list_panel import FileListPanel
from gui.viewer.model_card_dialog import ModelCardDialog
from gui.viewer.overlay_controller import OverlayController
from gui.viewer.overlay_panel import OverlayPanel
from gui.viewer.prediction_panel import NOTICE_STYLE, PredictionPanel
from gui.viewer.viewer_jobs import (
    ShownImage, in_background, list_images, load_model_job, open_image, prediction_fields,
)
from gui.worker import FunctionWorker, GeneratorWorker, TaskSlot

IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ");;All files (*)"
THRESHOLD_KEY = "viewer/uncertain_threshold"
DROP_HINT = "Drop slide images or a folder here, or use Open images / Classify folder."


class ViewerView(QWidget):
    """View a slide or a folder of slides with the current model's predictions."""

    status_message = Signal(str)  # the main window shows it in its status bar

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.bundle = None
        self.shown: ShownImage | None = None
        self.model_task, self.batch_task, self.image_task = TaskSlot(), TaskSlot(), TaskSlot()
        self._build()
        self.overlays = OverlayController(self.canvas, self.overlay_panel, self)
        self.setAcceptDrops(True)
        state.model_changed.connect(self.load_model)
        if state.model_path:
            self.load_model(state.model_path)

    # -- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        self.canvas = SlideCanvas()
        self.canvas.placeholder = DROP_HINT
        self.file_panel = FileListPanel()
        self.file_panel.current_changed.connect(self._show_path)
        self.file_panel.cancel_requested.connect(self.batch_task.cancel)
        self.file_panel.export_requested.connect(self._export_dialog)
        threshold = float(self.state.settings.value(THRESHOLD_KEY, 0.6))
        self.prediction_panel = PredictionPanel(threshold=threshold)
        self.prediction_panel.threshold_changed.connect(self._on_threshold)
        self.file_panel.model.set_threshold(threshold)
        self.overlay_panel = OverlayPanel()
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self.prediction_panel)
        side_layout.addWidget(self.overlay_panel)
        side_layout.addStretch(1)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(side)
        scroll.setMinimumWidth(300)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget, stretch in ((self.file_panel, 0), (self.canvas, 1), (scroll, 0)):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(self.splitter.count() - 1, stretch)
        self.splitter.setSizes([380, 760, 360])
        self.notice_label = QLabel(RESEARCH_NOTICE, alignment=Qt.AlignmentFlag.AlignCenter)
        self.notice_label.setStyleSheet(NOTICE_STYLE)
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_toolbar())
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.notice_label)

    def _action(self, toolbar: QToolBar, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setToolTip(tip or text)
        self.addAction(action)
        toolbar.addAction(action)
        return action

    def _build_toolbar(self) -> QToolBar:
        # Ctrl+O, Ctrl+Shift+O, Ctrl+L and Ctrl+1..3 belong to the main window's menus.
        bar = QToolBar()
        self._action(bar, "Open images…", self.open_dialog, "Ctrl+I",
                     "Open one or more slide images: PNG, JPEG, TIFF, BMP (Ctrl+I)")
        self._action(bar, "Classify folder…", self.open_folder_dialog, "Ctrl+Shift+F",
                     "Classify every image in a folder and its subfolders (Ctrl+Shift+F)")
        bar.addSeparator()
        self._action(bar, "−", self.canvas.zoom_out, QKeySequence.StandardKey.ZoomOut, "Zoom out (Ctrl+-)")
        self.zoom_label = QLabel("")
        self.zoom_label.setMinimumWidth(52)
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.zoom_label.setToolTip("Zoom: 100% shows one image pixel per screen pixel")
        bar.addWidget(self.zoom_label)
        self._action(bar, "+", self.canvas.zoom_in, QKeySequence.StandardKey.ZoomIn, "Zoom in (Ctrl++)")
        self._action(bar, "Fit", self.canvas.fit, "Ctrl+0", "Fit the whole image in the window (Ctrl+0)")
        self._action(bar, "1:1", self.canvas.actual_size, "Ctrl+Alt+0",
                     "One image pixel per screen pixel (Ctrl+Alt+0)")
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z:.0%}"))
        bar.addSeparator()
        self.model_button = QToolButton(text="No model loaded")
        self.model_button.setToolTip("Show the model card: classes, input size, metrics, date")
        self.model_button.clicked.connect(self.show_model_card)
        bar.addWidget(self.model_button)
        self._action(bar, "Open model…", self.open_model_dialog, None,
                     "Use another trained model (.hcmodel)")
        return bar

    # -- opening -------------------------------------------------------------------------
    def open_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open slide images", self.state.last_dir("viewer"),
                                                IMAGE_FILTER)
        if paths:
            self.open_images(paths)

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Classify a folder", self.state.last_dir("viewer"))
        if folder:
            self.open_images([folder])

    def open_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a model", self.state.last_dir("model"),
                                              "HistoClass model (*.hcmodel)")
        if path:
            self.state.set_last_dir("model", path)
            self.state.set_model_path(path)

    @Slot(list)
    def open_images(self, paths: list) -> None:
        """Open files and/or folders (recursively): list them, show the first, classify all."""
        paths = [str(p) for p in paths if str(p)]
        if not paths:
            return
        self.state.set_last_dir("viewer", paths[0])
        self.file_panel.status_label.setText("Looking for images…")
        worker = FunctionWorker(list_images, paths, needs_tensorflow=False)
        worker.signals.finished.connect(self._on_listed)
        worker.signals.failed.connect(lambda exc: self.file_panel.status_label.setText(str(exc)))
        self.batch_task.start(worker)

    def _on_listed(self, files: list) -> None:
        self.file_panel.set_files(files)
        if files:
            self.file_panel.select_path(files[0])
        else:
            self.canvas.set_image(None)
            self.prediction_panel.clear("No PNG, JPEG, TIFF or BMP images found there.")
        self.start_batch()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_images(paths)

    # -- the model -----------------------------------------------------------------------
    @Slot(str)
    def load_model(self, path: str) -> None:
        self.model_task.cancel()
        if not path:
            self._set_bundle(None)
            return
        self.model_button.setText("Loading model…")
        worker = FunctionWorker(in_background(load_model_job), path)
        worker.signals.finished.connect(self._set_bundle)
        worker.signals.failed.connect(self._on_model_failed)
        self.model_task.start(worker)

    def _set_bundle(self, bundle) -> None:
        self.bundle = bundle
        self.model_button.setText(f"Model: {bundle.name}" if bundle is not None else "No model loaded")
        self.overlays.set_bundle(bundle)
        paths = self.file_panel.model.paths
        if paths:  # earlier predictions came from another model
            current = self.file_panel.current_path
            self.shown = None  # reopened (and reclassified) when the row is selected again
            self.file_panel.set_files(paths)
            if current:
                self.file_panel.select_path(current)
            self.start_batch()

    def _on_model_failed(self, exc: Exception) -> None:
        self.bundle = None
        self.model_button.setText("Model could not be loaded")
        self.model_button.setToolTip(str(exc))
        self.overlays.set_bundle(None)
        self.prediction_panel.clear(f"The model could not be loaded: {exc}")
        self.status_message.emit(f"The model could not be loaded: {exc}")

    def show_model_card(self) -> ModelCardDialog | None:
        if self.bundle is None:
            QMessageBox.information(self, "No model", "No model is loaded. Train one in the Training "
                                    "view, or use “Open model…” to pick a .hcmodel file.")
            return None
        dialog = ModelCardDialog(self.bundle.card, name=self.bundle.name, sha256=self.bundle.sha256,
                                 parent=self)
        dialog.open()
        return dialog

    # -- batch ---------------------------------------------------------------------------
    def start_batch(self) -> None:
        """Classify every listed file on a worker; rows fill in as results arrive."""
        from core.predict import predict_paths

        paths = self.file_panel.model.paths
        if not paths:
            return
        if self.bundle is None:
            self.file_panel.status_label.setText(
                f"{len(paths)} image(s) open. Load a model to classify them.")
            return
        if len(paths) == 1:
            return  # the job that opens the image classifies it too; no second decode
        worker = GeneratorWorker(in_background(predict_paths), self.bundle, paths)
        worker.signals.item.connect(self._on_batch_item)
        worker.signals.finished.connect(lambda _r: self.file_panel.batch_ended("finished"))
        worker.signals.cancelled.connect(lambda _r: self.file_panel.batch_ended("cancelled"))
        worker.signals.failed.connect(lambda exc: self.file_panel.batch_ended(str(exc)))
        self.file_panel.batch_started()
        self.batch_task.start(worker)

    def _on_batch_item(self, row: dict) -> None:
        self.file_panel.add_result(row)
        if self.shown is not None and row.get("path") == self.shown.path:
            self._show_prediction()

    def export_csv(self, path: str | Path) -> Path:
        """Write every result so far (unreadable files included) as CSV."""
        from core.predict import write_csv

        write_csv(self.file_panel.model.results(), path, self.bundle)
        return Path(path)

    def _export_dialog(self) -> None:
        start = str(Path(self.state.last_dir("export")) / "predictions.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export predictions", start, "CSV (*.csv)")
        if not path:
            return
        self.state.set_last_dir("export", path)
        try:
            self.export_csv(path)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Export failed", f"Could not write {path}: {exc}")
            return
        self.file_panel.status_label.setText(f"Saved {path}")
        self.status_message.emit(f"Predictions saved to {path}")

    # -- the image on screen -------------------------------------------------------------
    def _show_path(self, path: str) -> None:
        if self.shown is not None and self.shown.path == path:
            return
        self.shown = None
        self.overlays.set_image(None)
        self.prediction_panel.clear("Opening…")
        worker = FunctionWorker(in_background(open_image), path, self.bundle)
        worker.signals.finished.connect(self._on_opened)
        worker.signals.failed.connect(lambda exc, p=path: self._on_open_failed(p, exc))
        self.image_task.start(worker)

    def _on_opened(self, shown: ShownImage) -> None:
        if shown.path != self.file_panel.current_path:
            return  # the user has moved on
        self.shown = shown
        self.canvas.placeholder = DROP_HINT
        self.canvas.set_image(shown.image, shown.levels, owner=shown)
        if shown.probabilities is not None:
            self._record_single({"path": shown.path, **prediction_fields(shown.probabilities)})
        self._show_prediction()
        self.overlays.set_image(shown)

    def _record_single(self, row: dict) -> None:
        """With one file open there is no batch: its row comes from the image's own job."""
        model = self.file_panel.model
        if model.rowCount() == 1 and model.result(row["path"]) is None:
            self.file_panel.add_result(row)
            self.file_panel.batch_ended("finished")

    def _on_open_failed(self, path: str, exc: Exception) -> None:
        if path != self.file_panel.current_path:
            return
        self.canvas.placeholder = f"{Path(path).name} could not be opened (see the reason on the right)."
        self.canvas.set_image(None)
        self.prediction_panel.show_error(Path(path).name, str(exc))
        if self.bundle is not None:
            self._record_single({"path": path, "error": str(exc)})

    def _show_prediction(self) -> None:
        """Prefer the batch's row (the same path as `histoclass predict`), else the image's own."""
        shown = self.shown
        row = self.file_panel.model.result(shown.path) if shown else None
        groups = (self.bundle.card.get("groups") if self.bundle is not None else None) or None
        name = Path(shown.path).name if shown else ""
        if row and "probabilities" in row:
            self.prediction_panel.show_prediction(name, row["probabilities"], groups)
        elif shown is not None and shown.probabilities is not None:
            self.prediction_panel.show_prediction(name, shown.probabilities, groups)
        elif self.bundle is None:
            self.prediction_panel.clear("No model loaded: open one to see predictions.")

    def _on_threshold(self, value: float) -> None:
        self.state.settings.setValue(THRESHOLD_KEY, value)
        self.file_panel.model.set_threshold(value)

    # -- shutdown ------------------------------------------------------------------------
    def shutdown(self, wait_ms: int = 5000) -> bool:
        """Cancel every job and wait for the threads (the main window calls this on close)."""
        tasks = (self.model_task, self.batch_task, self.image_task,
                 self.overlays.heatmap_task, self.overlays.tiles_task)
        for task in tasks:
            task.cancel()
        deadline = time.monotonic() + wait_ms / 1000
        return all(task.wait(max(0.0, deadline - time.monotonic())) for task in tasks)
