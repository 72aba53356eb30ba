"""The side list of opened files, each with its prediction as it arrives, and the batch controls.

`FileTableModel` adapts the rows that core.predict.predict_paths yields
(`{path, label, probability, probabilities}` or `{path, error}`) to a table; unreadable
files stay in the list, in red, with the reason as tooltip. `FileListPanel` adds the
progress bar, Cancel and Export CSV.
"""
from __future__ import annotations

import os

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton, QTreeView,
    QVBoxLayout, QWidget,
)

from gui.viewer.prediction_panel import pretty

ERROR_COLOR, UNCERTAIN_COLOR = QColor("#b02a37"), QColor("#996d00")
COLUMNS = ("File", "Prediction", "Prob.")
UNCERTAIN_MARK = " ?"  # short, so the class name still fits; the tooltip says what it means


class FileTableModel(QAbstractTableModel):
    """One row per opened file; the prediction columns fill in as results arrive."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._paths: list[str] = []
        self._names: list[str] = []
        self._results: dict[str, dict] = {}
        self._row_of: dict[str, int] = {}
        self.threshold = 0.0
        self.error_count = 0

    # -- content -------------------------------------------------------------------------
    def set_files(self, paths: list[str]) -> None:
        self.beginResetModel()
        self._paths = [str(p) for p in paths]
        self._names = _display_names(self._paths)
        self._row_of = {p: i for i, p in enumerate(self._paths)}
        self._results = {}
        self.error_count = 0
        self.endResetModel()

    def add_result(self, row: dict) -> None:
        """Record one predict_paths row; a file not listed yet is appended."""
        path = str(row.get("path", ""))
        if path not in self._row_of:
            self.beginInsertRows(QModelIndex(), len(self._paths), len(self._paths))
            self._row_of[path] = len(self._paths)
            self._paths.append(path)
            self._names.append(os.path.basename(path))
            self.endInsertRows()
        previous = self._results.get(path)
        if previous is not None and "error" in previous:
            self.error_count -= 1
        self._results[path] = dict(row)
        self.error_count += "error" in row
        r = self._row_of[path]
        self.dataChanged.emit(self.index(r, 0), self.index(r, len(COLUMNS) - 1))

    def set_threshold(self, value: float) -> None:
        self.threshold = value
        if self._paths:
            self.dataChanged.emit(self.index(0, 1), self.index(len(self._paths) - 1, 2))

    def path(self, row: int) -> str:
        return self._paths[row]

    def row_of(self, path: str) -> int | None:
        return self._row_of.get(str(path))

    def result(self, path: str) -> dict | None:
        return self._results.get(str(path))

    @property
    def done_count(self) -> int:
        return len(self._results)

    @property
    def paths(self) -> list[str]:
        return list(self._paths)

    def results(self) -> list[dict]:
        """Rows received so far, in list order (what the CSV export writes)."""
        return [self._results[p] for p in self._paths if p in self._results]

    def errors(self) -> list[dict]:
        return [r for r in self.results() if "error" in r]

    # -- Qt model API --------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._paths)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        path = self._paths[index.row()]
        result = self._results.get(path)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(index.row(), index.column(), result)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(path, result)
        if role == Qt.ItemDataRole.ForegroundRole and result:
            if "error" in result:
                return QBrush(ERROR_COLOR)
            if index.column() > 0 and float(result.get("probability", 1.0)) < self.threshold:
                return QBrush(UNCERTAIN_COLOR)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _tooltip(self, path: str, result: dict | None) -> str:
        if result is None:
            return path
        if "error" in result:
            return f"{path}\nUnreadable: {result['error']}"
        text = f"{path}\n{pretty(str(result['label']))}: {float(result['probability']):.1%}"
        if float(result["probability"]) < self.threshold:
            text += f"\nUncertain (?): the top probability is below {self.threshold:.0%}."
        return text

    def _display(self, row: int, column: int, result: dict | None) -> str:
        if column == 0:
            return self._names[row]
        if result is None:
            return "…" if column == 1 else ""
        if "error" in result:
            return "unreadable" if column == 1 else ""
        if column == 1:
            uncertain = float(result["probability"]) < self.threshold
            return pretty(str(result["label"])) + (UNCERTAIN_MARK if uncertain else "")
        return f"{float(result['probability']):.1%}"


def _display_names(paths: list[str]) -> list[str]:
    """File names; a name that occurs in several folders gets its parent folder too."""
    names = [os.path.basename(p) for p in paths]
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    return [n if seen[n] == 1 else os.path.join(os.path.basename(os.path.dirname(p)), n)
            for n, p in zip(names, paths)]


class FileListPanel(QWidget):
    """The file list, batch progress, Cancel, Export CSV and the unreadable-file count."""

    current_changed = Signal(str)  # the path selected
    cancel_requested = Signal()
    export_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = FileTableModel(self)
        self.view = QTreeView(rootIsDecorated=False, uniformRowHeights=True, alternatingRowColors=True)
        self.view.setModel(self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._size_columns()
        self.view.selectionModel().currentRowChanged.connect(self._on_current)
        self._status_timer = QTimer(self, singleShot=True, interval=100)
        self._status_timer.timeout.connect(self._refresh_progress)
        self.progress = QProgressBar(textVisible=True)
        self.progress.hide()
        self.status_label = QLabel("No images open.", wordWrap=True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        self.export_button.setToolTip("Save every prediction (and every unreadable file) as CSV.")
        self.export_button.clicked.connect(self.export_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)

    def _size_columns(self) -> None:
        # Fixed widths from the font, never ResizeToContents: that re-measures every row on
        # each result, which made a 1,000-image batch spend 40 ms of GUI time per image.
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        metrics = self.view.fontMetrics()
        for column, sample in ((1, "lobular carcinoma ?"), (2, "100.0%")):
            width = max(metrics.horizontalAdvance(sample), metrics.horizontalAdvance(COLUMNS[column]))
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width + 18)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # keep the image number visible

    def set_files(self, paths: list[str]) -> None:
        self.model.set_files(paths)
        self.progress.setRange(0, max(1, len(paths)))
        self.progress.setValue(0)
        self.export_button.setEnabled(False)
        self.status_label.setText(f"{len(paths)} image(s) open." if paths else "No images found there.")

    def select_path(self, path: str) -> None:
        row = self.model.row_of(path)
        if row is not None:
            self.view.setCurrentIndex(self.model.index(row, 0))

    @property
    def current_path(self) -> str | None:
        index = self.view.currentIndex()
        return self.model.path(index.row()) if index.isValid() else None

    def batch_started(self) -> None:
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.setEnabled(True)
        self._update_status("Classifying")

    def add_result(self, row: dict) -> None:
        self.model.add_result(row)
        if not self._status_timer.isActive():  # results come in bursts: refresh ~10 times a second
            self._status_timer.start()

    def _refresh_progress(self) -> None:
        if self.cancel_button.isEnabled():
            self.progress.setValue(self.model.done_count)
            self._update_status("Classifying")

    def batch_ended(self, how: str) -> None:
        """how: "finished", "cancelled" or an error message."""
        self._status_timer.stop()
        self.cancel_button.setEnabled(False)
        self.progress.hide()
        self.export_button.setEnabled(self.model.done_count > 0)
        prefix = {"finished": "Done", "cancelled": "Cancelled"}.get(how, f"Stopped: {how}.")
        self._update_status(prefix)

    def _update_status(self, prefix: str) -> None:
        done, total = self.model.done_count, self.model.rowCount()
        errors = self.model.error_count
        text = f"{prefix}: {done} of {total} image(s) classified"
        if errors:
            text += f", {errors} unreadable (in red; hover for the reason)"
        self.status_label.setText(text + ".")

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.current_changed.emit(self.model.path(current.row()))
