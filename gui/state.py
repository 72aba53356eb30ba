"""UI state and the workspace that survives a restart (QSettings only; no experiment config).

Views subscribe to the workspace's signals; the workspace never knows the views.
Experiment configuration (TrainConfig, Manifest) is saved as JSON by core, not here.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

MAX_RECENT = 10


def default_settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "HistoClass", "HistoClass")


class AppState(QObject):
    """Current manifest and model, recent items, last folders; TensorFlow readiness."""

    manifest_changed = Signal(str)
    manifest_relocated = Signal(str)  # the manifest file now points to its images' new folder
    model_changed = Signal(str)
    recent_changed = Signal(str)  # the kind: "manifest", "model", "folder"
    tensorflow_ready = Signal()
    tensorflow_failed = Signal(str)

    def __init__(self, settings: QSettings | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.settings = settings if settings is not None else default_settings()
        self.tf_ready = False

    # -- workspace ---------------------------------------------------------------------
    @property
    def manifest_path(self) -> str:
        return str(self.settings.value("workspace/manifest", "", str))

    def set_manifest_path(self, path: str | Path) -> None:
        path = str(path)
        self.settings.setValue("workspace/manifest", path)
        if path:
            self.add_recent("manifest", path)
        self.manifest_changed.emit(path)

    @property
    def model_path(self) -> str:
        return str(self.settings.value("workspace/model", "", str))

    def set_model_path(self, path: str | Path) -> None:
        path = str(path)
        self.settings.setValue("workspace/model", path)
        if path:
            self.add_recent("model", path)
        self.model_changed.emit(path)

    # -- recent items and last folders ----------------------------------------------------
    def recent(self, kind: str) -> list[str]:
        value = self.settings.value(f"recent/{kind}", [])
        if isinstance(value, str):  # QSettings returns a bare string for a one-item list
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, kind: str, path: str | Path) -> None:
        path = str(path)
        items = [p for p in self.recent(kind) if p != path]
        self.settings.setValue(f"recent/{kind}", [path, *items][:MAX_RECENT])
        self.recent_changed.emit(kind)

    def remove_recent(self, kind: str, path: str | Path) -> None:
        self.settings.setValue(f"recent/{kind}", [p for p in self.recent(kind) if p != str(path)])
        self.recent_changed.emit(kind)

    def clear_recent(self, kind: str) -> None:
        self.settings.remove(f"recent/{kind}")
        self.recent_changed.emit(kind)

    def last_dir(self, key: str, default: str = "") -> str:
        return str(self.settings.value(f"last_dir/{key}", default or str(Path.home()), str))

    def set_last_dir(self, key: str, path: str | Path) -> None:
        path = Path(path)
        self.settings.setValue(f"last_dir/{key}", str(path if path.is_dir() else path.parent))

    # -- TensorFlow, imported lazily after the window shows --------------------------------
    def mark_tensorflow_ready(self) -> None:
        self.tf_ready = True
        self.tensorflow_ready.emit()

    def when_tensorflow_ready(self, callback) -> None:
        """Run `callback()` now if TensorFlow is imported, else once the background import is done.

        A job that imports TensorFlow/Keras (core.model, core.bundle, core.train...) must not
        start while the start-up import is still running on its thread: two threads importing
        TensorFlow at once crash the process (ImportError or a segfault inside TensorFlow).
        """
        if self.tf_ready:
            callback()
            return

        def once() -> None:
            self.tensorflow_ready.disconnect(once)
            callback()

        self.tensorflow_ready.connect(once)
