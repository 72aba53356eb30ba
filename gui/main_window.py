"""The main window: a sidebar to the views, a status bar, menus, remembered geometry.

It knows the views only by name and a factory; each view is built the first time it is
needed (or shortly after the first paint), so slow imports in one view never delay the
window. Menus live in gui/menus.py; the window just hosts them.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow,
                               QScrollArea, QStackedWidget, QVBoxLayout, QWidget)

from core import RESEARCH_NOTICE
from gui.appearance import set_role
from gui.state import AppState

ViewFactory = Callable[[AppState, QWidget], QWidget]

# (name, sidebar title, package, class): each view lives in its own folder (gui/<name>/).
DEFAULT_VIEWS = (
    ("dataset", "Dataset", "gui.dataset", "DatasetView"),
    ("training", "Training", "gui.training", "TrainingView"),
    ("viewer", "Viewer", "gui.viewer", "ViewerView"),
)


@dataclass
class _Page:
    name: str
    title: str
    factory: ViewFactory
    host: QWidget
    widget: QWidget | None = None
    scroll: QScrollArea | None = None


def find_view_class(package: str, class_name: str) -> Callable[[], type] | None:
    """A loader for `class_name` from `package` (or its `<name>_view` module), without importing it yet.

    Returns None when the view has not been written yet, so the app still runs without it.
    """
    short = package.rsplit(".", 1)[-1]
    module_name = f"{package}.{short}_view"
    try:
        has_module = importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:
        return None
    if not has_module:
        try:
            if not hasattr(importlib.import_module(package), class_name):
                return None
        except ImportError:
            return None
        module_name = package
    return lambda: getattr(importlib.import_module(module_name), class_name)


class MainWindow(QMainWindow):
    first_painted = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self._pages: dict[str, _Page] = {}
        self._painted = False
        self.setWindowTitle("HistoClass")
        self.setMinimumSize(QSize(760, 520))  # views scroll below their own minimum
        self._build_body()
        self._build_status_bar()
        for name, title, package, class_name in DEFAULT_VIEWS:
            loader = find_view_class(package, class_name)
            if loader is not None:
                self.register_view(name, title, lambda state, parent, _load=loader: _load()(state, parent))
        from gui.menus import install_menus

        self.menus = install_menus(self)
        state.manifest_changed.connect(self._show_manifest)
        state.tensorflow_ready.connect(self._on_tensorflow_ready)
        state.tensorflow_failed.connect(self._on_tensorflow_failed)
        self._show_manifest(state.manifest_path)
        self._restore()

    # -- views -----------------------------------------------------------------------
    def _build_body(self) -> None:
        body = QWidget(self)
        layout = QHBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.sidebar = QListWidget(body)
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setFixedWidth(150)
        self.sidebar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stack = QStackedWidget(body)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.sidebar.currentRowChanged.connect(self._on_row_changed)
        self.setCentralWidget(body)

    def register_view(self, name: str, title: str, factory: ViewFactory) -> None:
        # A scroll area around each view: a view taller than a 1366x768 screen scrolls
        # instead of pushing the window off the screen.
        scroll = QScrollArea(self.stack)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        host = QWidget(scroll)
        QVBoxLayout(host).setContentsMargins(0, 0, 0, 0)
        scroll.setWidget(host)
        self._pages[name] = _Page(name, title, factory, host, scroll=scroll)
        self.stack.addWidget(scroll)
        item = QListWidgetItem(title, self.sidebar)
        item.setData(Qt.ItemDataRole.UserRole, name)
        item.setToolTip(f"{title} (Ctrl+{len(self._pages)})")

    def view_names(self) -> list[str]:
        return list(self._pages)

    def view(self, name: str) -> QWidget:
        """The view called `name`, built now if it has not been yet."""
        page = self._pages[name]
        if page.widget is None:
            page.widget = self._construct(page)
            page.host.layout().addWidget(page.widget)
        return page.widget

    def _construct(self, page: _Page) -> QWidget:
        try:
            widget = page.factory(self.state, page.host)
        except Exception as exc:  # noqa: BLE001 - one broken view must not take the app down
            widget = QLabel(f"The {page.title} view could not be opened: {exc}", page.host)
            widget.setWordWrap(True)
            widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
            set_role(widget, "error")
            return widget
        message = getattr(widget, "status_message", None)
        if message is not None and hasattr(message, "connect"):
            message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        images = getattr(widget, "open_images_requested", None)
        if images is not None and hasattr(images, "connect"):
            images.connect(self.open_in_viewer)
        return widget

    def open_in_viewer(self, paths: list) -> None:
        """A view asks to show images in the viewer (an empty list: just show the viewer,
        whose model the view has set through `state.set_model_path`)."""
        if "viewer" not in self._pages:
            return
        viewer = self.show_view("viewer")
        if paths and hasattr(viewer, "open_images"):
            viewer.open_images(list(paths))

    def show_view(self, name: str) -> QWidget:
        widget = self.view(name)
        self.sidebar.setCurrentRow(self.view_names().index(name))
        return widget

    def current_view_name(self) -> str:
        row = self.sidebar.currentRow()
        return self.view_names()[row] if 0 <= row < len(self._pages) else ""

    def _on_row_changed(self, row: int) -> None:
        if 0 <= row < len(self._pages):
            name = self.view_names()[row]
            self.view(name)
            self.stack.setCurrentWidget(self._pages[name].scroll)

    def _build_remaining_views(self) -> None:
        """Build one not-yet-built view per event-loop turn so the window stays responsive."""
        for page in self._pages.values():
            if page.widget is None:
                self.view(page.name)
                QTimer.singleShot(50, self, self._build_remaining_views)
                return

    # -- status bar ------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.manifest_label = QLabel(bar)
        self.tensorflow_label = QLabel(bar)
        notice = QLabel(RESEARCH_NOTICE, bar)
        set_role(notice, "notice")
        bar.addPermanentWidget(self.manifest_label)
        bar.addPermanentWidget(self.tensorflow_label)
        bar.addPermanentWidget(notice)

    def _show_manifest(self, path: str) -> None:
        self.manifest_label.setText(f"Manifest: {Path(path).name}" if path else "No manifest yet")
        self.manifest_label.setToolTip(path)

    def _on_tensorflow_ready(self) -> None:
        self.set_tensorflow_status("ready")

    def _on_tensorflow_failed(self, message: str) -> None:
        self.set_tensorflow_status("failed", message)

    def set_tensorflow_status(self, kind: str, detail: str = "") -> None:
        """kind: "loading", "ready" or "failed"; the note stays quiet unless something failed."""
        texts = {"loading": "Loading TensorFlow in the background…", "ready": "TensorFlow ready",
                 "failed": "TensorFlow unavailable"}
        self.tensorflow_label.setText(texts[kind])
        self.tensorflow_label.setToolTip(detail)
        if kind == "ready":
            QTimer.singleShot(4000, self.tensorflow_label, self.tensorflow_label.clear)
        elif kind == "failed":
            self.statusBar().showMessage(detail, 30000)

    # -- geometry and first paint ----------------------------------------------------
    def _restore(self) -> None:
        settings = self.state.settings
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self._fit_to_screen()
        names = self.view_names()
        current = str(settings.value("window/view", "dataset"))
        if names:
            self.show_view(current if current in names else names[0])

    def _fit_to_screen(self) -> None:
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            self.resize(1280, 760)
            return
        available = screen.availableGeometry()
        self.resize(min(1280, int(available.width() * 0.92)), min(800, int(available.height() * 0.92)))

    def save_layout(self) -> None:
        settings = self.state.settings
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/view", self.current_view_name())
        settings.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        for page in self._pages.values():
            shutdown = getattr(page.widget, "shutdown", None)
            if callable(shutdown):
                shutdown()
        self.save_layout()
        super().closeEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            QTimer.singleShot(0, self, self.first_painted.emit)
            QTimer.singleShot(300, self, self._build_remaining_views)
