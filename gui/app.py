"""Start the desktop app: show the window first, then import TensorFlow on a worker thread.

TensorFlow takes several seconds to import, so nothing on the way to the first painted
window may import it (tests/gui/test_app.py checks `sys.modules`). The import runs on its
own thread after the window has painted; until it is done the status bar says so.
"""
from __future__ import annotations

import gc
import importlib
import os
import sys
import threading
from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from core import __version__
from gui.state import AppState
from gui.worker import shutdown_workers, tensorflow_import_finished, tensorflow_import_started

ORGANIZATION = "HistoClass"
APP_NAME = "HistoClass"


def import_tensorflow() -> str:
    """Import TensorFlow and Keras (the slow part of starting) and return their versions.

    Then exempt everything alive from the cycle collector (gc.freeze): TensorFlow brings
    millions of long-lived objects, and a full collection that walks them holds the GIL
    for 0.2-0.3 s, a visible freeze of the window whenever one happens (mid-training, say).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep the C++ start-up chatter quiet
    tf = importlib.import_module("tensorflow")
    keras = importlib.import_module("keras")
    gc.collect()
    gc.freeze()
    return f"TensorFlow {tf.__version__}, Keras {keras.__version__}"


def ensure_application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication, created with high-DPI rounding that keeps fractional scales sharp."""
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(sys.argv[:1] if argv is None else argv)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("histoclass")
    from gui.appearance import apply_look

    apply_look(app)
    return app


def create_main_window(state: AppState | None = None):
    """The main window with its views registered; not shown yet."""
    from gui.main_window import MainWindow

    return MainWindow(state if state is not None else AppState())


class TensorFlowLoader(QObject):
    """Imports TensorFlow on its own Python thread and reports back through queued signals.

    Not on the QThreadPool: TensorFlow imported on a pool thread crashes (segfault in
    convert_to_eager_tensor) when that pool thread later runs TensorFlow ops again, which
    a reused pool thread does; imported on a plain Python thread it never does.
    """

    loaded = Signal(str)
    failed = Signal(object)

    def __init__(self, importer: Callable[[], str], parent: QObject | None = None):
        super().__init__(parent)
        self._importer = importer
        self.thread = threading.Thread(target=self._run, name="tensorflow-import", daemon=True)

    def start(self) -> "TensorFlowLoader":
        _loaders.add(self)
        tensorflow_import_started()  # TensorFlow jobs wait until this import is done
        self.thread.start()
        return self

    def wait(self, timeout_s: float | None = None) -> bool:
        self.thread.join(timeout_s)
        return not self.thread.is_alive()

    def _run(self) -> None:
        try:
            versions = self._importer()
        except Exception as exc:  # noqa: BLE001 - reported to the user in words
            self.failed.emit(exc)
        else:
            self.loaded.emit(versions)
        finally:  # even on SystemExit: TensorFlow jobs must never wait for ever
            tensorflow_import_finished()


_loaders: set[TensorFlowLoader] = set()  # keeps each loader alive until it has reported


def start_tensorflow_import(state: AppState, window=None,
                            importer: Callable[[], str] = import_tensorflow) -> TensorFlowLoader:
    """Import TensorFlow in the background and tell the state how it went (the window listens to the state)."""
    loader = TensorFlowLoader(importer)
    if window is not None:
        window.set_tensorflow_status("loading")
    loader.loaded.connect(lambda _versions: (state.mark_tensorflow_ready(), _loaders.discard(loader)))
    loader.failed.connect(lambda exc: (state.tensorflow_failed.emit(_describe(exc)), _loaders.discard(loader)))
    return loader.start()


def _describe(exc: BaseException) -> str:
    return (f"TensorFlow could not be loaded ({type(exc).__name__}: {exc}). "
            "Training and the viewer need it; reinstall HistoClass or check the log.")


def launch(argv: list[str] | None = None, state: AppState | None = None):
    """Create the app and show the window; TensorFlow starts loading once it has painted."""
    app = ensure_application(argv)
    window = create_main_window(state)
    # One more event-loop turn after the first paint, so anything else listening to
    # first_painted (the start-up benchmark, tests) runs before the import begins.
    window.first_painted.connect(
        lambda: QTimer.singleShot(0, window, lambda: start_tensorflow_import(window.state, window)))
    app.aboutToQuit.connect(shutdown_workers)
    window.show()
    return app, window


def main() -> int:
    app, _window = launch()
    code = app.exec()
    if any(loader.thread.is_alive() for loader in _loaders):
        # Quit within seconds of starting: TensorFlow is still importing on its thread, and
        # tearing the interpreter down under it can crash. Settings are already saved.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
