"""Past runs: a list of run folders that can be reopened, compared, or used to start a new run."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.runs import RunInfo, compare_runs, default_runs_dir, discover_runs
from gui.appearance import set_role

COLUMNS = ("Date", "Data", "Configuration", "Status", "Balanced acc.", "Accuracy", "Patient acc.")
SETTINGS_KEY = "training/runs_dir"


def _score(value) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "–"


class RunsPage(QWidget):
    """Signals carry a RunInfo: `reopen_requested`, `start_from_requested`."""

    reopen_requested = Signal(object)
    start_from_requested = Signal(object)

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.runs: list[RunInfo] = []
        self.folder_label = QLabel()
        self.choose_button = QPushButton("Choose runs folder…")
        self.refresh_button = QPushButton("Refresh")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.reopen_button = QPushButton("Reopen")
        self.compare_button = QPushButton("Compare selected")
        self.start_from_button = QPushButton("Use as start of a new run")
        self.comparison = QTableWidget(0, 0)
        self.comparison.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.comparison.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.empty = QLabel("")
        set_role(self.empty, "hint")
        self._layout()
        self.choose_button.clicked.connect(self._choose_folder)
        self.refresh_button.clicked.connect(self.refresh)
        self.reopen_button.clicked.connect(lambda: self._emit_selected(self.reopen_requested))
        self.start_from_button.clicked.connect(lambda: self._emit_selected(self.start_from_requested))
        self.compare_button.clicked.connect(self.compare_selected)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.cellDoubleClicked.connect(lambda *_: self._emit_selected(self.reopen_requested))
        self._update_buttons()  # the list is read when the page is shown (TrainingView), not at start-up

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.folder_label, 1)
        top.addWidget(self.choose_button)
        top.addWidget(self.refresh_button)
        buttons = QHBoxLayout()
        for button in (self.reopen_button, self.compare_button, self.start_from_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addWidget(self.table, 1)
        upper_layout.addWidget(self.empty)
        upper_layout.addLayout(buttons)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(upper)
        self.splitter.addWidget(self.comparison)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)

    # -- the runs folder -------------------------------------------------------------------
    def runs_dir(self) -> Path:
        value = str(self.state.settings.value(SETTINGS_KEY, "", str))
        return Path(value) if value else default_runs_dir()

    def set_runs_dir(self, path: str | Path) -> None:
        self.state.settings.setValue(SETTINGS_KEY, str(path))
        self.refresh()

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder of training runs", str(self.runs_dir()))
        if path:
            self.set_runs_dir(path)

    # -- listing -------------------------------------------------------------------------
    def refresh(self) -> None:
        folder = self.runs_dir()
        self.folder_label.setText(f"Runs folder: {folder}")
        self.runs = discover_runs(folder)
        self.table.setRowCount(len(self.runs))
        for r, run in enumerate(self.runs):
            cells = (run.created.strftime("%Y-%m-%d %H:%M"), run.data, run.summary, run.status,
                     _score(run.scores.get("balanced_accuracy")), _score(run.scores.get("accuracy")),
                     _score(run.scores.get("patient_accuracy")))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(str(run.path) if c == 0 else text)
                self.table.setItem(r, c, item)
        self.empty.setText("" if self.runs else "No runs in this folder yet: they appear here once started.")
        self._update_buttons()

    def selected_runs(self) -> list[RunInfo]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.runs[r] for r in rows if r < len(self.runs)]

    def select_run(self, path: str | Path) -> None:
        for r, run in enumerate(self.runs):
            if run.path == Path(path):
                self.table.selectRow(r)

    def _update_buttons(self) -> None:
        count = len(self.selected_runs())
        self.reopen_button.setEnabled(count == 1)
        self.start_from_button.setEnabled(count == 1 and self.selected_runs()[0].config is not None)
        self.compare_button.setEnabled(count >= 2)

    def _emit_selected(self, signal) -> None:
        runs = self.selected_runs()
        if len(runs) == 1:
            signal.emit(runs[0])

    def compare_selected(self) -> None:
        runs = self.selected_runs()
        rows = compare_runs(runs)
        self.comparison.clear()
        self.comparison.setColumnCount(len(runs))
        self.comparison.setRowCount(len(rows))
        self.comparison.setHorizontalHeaderLabels([run.name for run in runs])
        self.comparison.setVerticalHeaderLabels([label for label, _ in rows])
        total = sum(self.splitter.sizes()) or 600
        self.splitter.setSizes([total // 3, total - total // 3])  # room for the comparison
        for r, (_label, values) in enumerate(rows):
            distinct = len(set(values)) > 1
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                if distinct:  # settings or scores that differ between the runs stand out
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.comparison.setItem(r, c, item)
