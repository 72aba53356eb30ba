"""HistoClass desktop app (PySide6). Views, item models and thin workers; all logic lives in core/."""

from gui import qtcompat as _qtcompat  # noqa: E402,F401 - patches a PySide6 emit refcount bug on import
