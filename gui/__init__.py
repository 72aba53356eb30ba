"""HistoClass desktop app (PySide6). Views, item models and thin workers; all logic lives in core/."""
