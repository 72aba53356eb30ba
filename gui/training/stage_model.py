"""The stage editor's table model: one row per fine-tuning stage, validated cell by cell.

Rows keep what the user typed, even when it is impossible (zero epochs, a negative rate),
so the cell can show the value in red with a message beside the table; `stages()` builds
`core.config.Stage` objects only when every cell is valid.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from core.config import RESNET_BLOCKS, SCHEDULES, Stage, default_stages

COLUMNS = ("Name", "Epochs", "Learning rate", "Trains", "From block", "Schedule")
NAME, EPOCHS, RATE, MODE, BLOCK, SCHEDULE = range(len(COLUMNS))
MODES = ("head", "from", "all")
MODE_LABELS = {"head": "head only", "from": "from a block", "all": "all layers"}
DEFAULT_BLOCK = "conv4_block1"
MAX_EPOCHS = 1000


def preset_stages(name: str) -> tuple[Stage, ...]:
    """The three presets the editor offers; "head then fine-tune" is the engine's default."""
    if name == "head then fine-tune":
        return default_stages()
    if name == "full fine-tune":
        return (Stage("full", epochs=20, learning_rate=1e-4, trainable="all", schedule="cosine"),)
    if name == "head only":
        return (Stage("head", epochs=20, learning_rate=1e-3, trainable="head"),)
    raise KeyError(name)


PRESETS = ("head then fine-tune", "full fine-tune", "head only")


@dataclass
class StageRow:
    name: Any
    epochs: Any
    learning_rate: Any
    mode: str = "head"
    block: str = DEFAULT_BLOCK
    schedule: str = "constant"

    @classmethod
    def from_stage(cls, stage: Stage) -> "StageRow":
        mode, block = stage.trainable, DEFAULT_BLOCK
        if mode.startswith("from:"):
            mode, block = "from", mode[5:]
        return cls(stage.name, stage.epochs, stage.learning_rate, mode, block, stage.schedule)

    @property
    def trainable(self) -> str:
        return f"from:{self.block}" if self.mode == "from" else self.mode

    def first_trained_block(self) -> int | None:
        """Index in RESNET_BLOCKS of the first block this stage trains (None: backbone frozen)."""
        if self.mode == "all":
            return 0
        if self.mode == "from":
            return RESNET_BLOCKS.index(self.block)
        return None


def _parse(text: Any, kind: type) -> Any:
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return text
    try:
        return kind(str(text).strip())
    except ValueError:
        return str(text)


def epochs_error(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"Epochs must be a whole number (got “{value}”)."
    if value < 1:
        return "Epochs must be at least 1: a stage with no epochs trains nothing."
    if value > MAX_EPOCHS:
        return f"Epochs must be at most {MAX_EPOCHS}."
    return None


def rate_error(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"The learning rate must be a number such as 0.001 or 1e-4 (got “{value}”)."
    if value <= 0:
        return "The learning rate must be above 0."
    if value > 1.0:
        return "The learning rate must be at most 1 (typical: 1e-3 for the head, 1e-4 to 1e-5 to fine-tune)."
    return None


class StageTableModel(QAbstractTableModel):
    """Editable list of stages; `changed` fires after any edit, add, remove or move."""

    changed = Signal()

    def __init__(self, stages: tuple[Stage, ...] | None = None, parent=None):
        super().__init__(parent)
        self._rows: list[StageRow] = [StageRow.from_stage(s) for s in (stages or default_stages())]
        self.modelReset.connect(self.changed)
        self.dataChanged.connect(lambda *_: self.changed.emit())
        self.rowsInserted.connect(lambda *_: self.changed.emit())
        self.rowsRemoved.connect(lambda *_: self.changed.emit())
        self.rowsMoved.connect(lambda *_: self.changed.emit())

    # -- Qt model API ------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return str(section + 1)

    def flags(self, index: QModelIndex):
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == BLOCK and self._rows[index.row()].mode != "from":
            return base  # the block only matters when training from a block
        return base | Qt.ItemFlag.ItemIsEditable

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = self._rows[index.row()], index.column()
        error = self.cell_error(index.row(), col)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._display(row, col, role)
        if role == Qt.ItemDataRole.ToolTipRole:
            return error
        if role == Qt.ItemDataRole.ForegroundRole and error:
            return QBrush(QColor("#b00020"))
        if role == Qt.ItemDataRole.BackgroundRole and error:
            return QBrush(QColor("#fde7ea"))
        if role == Qt.ItemDataRole.ForegroundRole and col == BLOCK and row.mode != "from":
            return QBrush(QColor("#999999"))
        return None

    def _display(self, row: StageRow, col: int, role) -> Any:
        if col == NAME:
            return row.name
        if col == EPOCHS:
            return str(row.epochs)
        if col == RATE:
            value = row.learning_rate
            return f"{value:g}" if isinstance(value, (int, float)) else str(value)
        if col == MODE:
            return row.mode if role == Qt.ItemDataRole.EditRole else MODE_LABELS[row.mode]
        if col == BLOCK:
            return row.block if (row.mode == "from" or role == Qt.ItemDataRole.EditRole) else "—"
        return row.schedule

    def setData(self, index: QModelIndex, value: Any, role=Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        row, col = self._rows[index.row()], index.column()
        if col == NAME:
            row.name = str(value).strip()
        elif col == EPOCHS:
            row.epochs = _parse(value, int)
        elif col == RATE:
            row.learning_rate = _parse(value, float)
        elif col == MODE and value in MODES:
            row.mode = value
        elif col == BLOCK and value in RESNET_BLOCKS:
            row.block = value
        elif col == SCHEDULE and value in SCHEDULES:
            row.schedule = value
        else:
            return False
        self.dataChanged.emit(self.index(index.row(), 0), self.index(index.row(), len(COLUMNS) - 1))
        return True

    # -- validation --------------------------------------------------------------------
    def cell_error(self, row: int, col: int) -> str | None:
        stage = self._rows[row]
        if col == NAME:
            if not str(stage.name).strip():
                return "Each stage needs a name."
            if [str(r.name).strip() for r in self._rows].count(str(stage.name).strip()) > 1:
                return f"Two stages are called “{stage.name}”: names must be unique."
        if col == EPOCHS:
            return epochs_error(stage.epochs)
        if col == RATE:
            return rate_error(stage.learning_rate)
        return None

    def errors(self) -> list[tuple[int, int, str]]:
        """(row, column, message) of every invalid cell, plus (-1, -1, msg) for the table."""
        found = [
            (r, c, msg)
            for r in range(len(self._rows))
            for c in (NAME, EPOCHS, RATE)
            if (msg := self.cell_error(r, c))
        ]
        if not self._rows:
            found.append((-1, -1, "Add at least one stage."))
        return found

    # -- stages in and out ---------------------------------------------------------------
    def rows(self) -> list[StageRow]:
        return list(self._rows)

    def stages(self) -> tuple[Stage, ...]:
        """The stages as core objects; raises ValueError if a cell is invalid."""
        problems = self.errors()
        if problems:
            raise ValueError(problems[0][2])
        return tuple(
            Stage(str(r.name).strip(), r.epochs, float(r.learning_rate), r.trainable, r.schedule)
            for r in self._rows
        )

    def set_stages(self, stages: tuple[Stage, ...]) -> None:
        self.beginResetModel()
        self._rows = [StageRow.from_stage(s) for s in stages]
        self.endResetModel()

    def apply_preset(self, name: str) -> None:
        self.set_stages(preset_stages(name))

    # -- editing commands ----------------------------------------------------------------
    def _unique_name(self, base: str) -> str:
        names = {str(r.name) for r in self._rows}
        if base not in names:
            return base
        n = 2
        while f"{base}_{n}" in names:
            n += 1
        return f"{base}_{n}"

    def add_stage(self, after: int | None = None) -> int:
        """Append (or insert after `after`) a fine-tuning stage; returns its row."""
        row = len(self._rows) if after is None else after + 1
        new = StageRow(self._unique_name("stage"), 5, 1e-4, "from", DEFAULT_BLOCK, "constant")
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.insert(row, new)
        self.endInsertRows()
        return row

    def duplicate_stage(self, row: int) -> int:
        src = self._rows[row]
        copy = StageRow(self._unique_name(f"{src.name}_copy"), src.epochs, src.learning_rate,
                        src.mode, src.block, src.schedule)
        self.beginInsertRows(QModelIndex(), row + 1, row + 1)
        self._rows.insert(row + 1, copy)
        self.endInsertRows()
        return row + 1

    def remove_stage(self, row: int) -> None:
        if 0 <= row < len(self._rows):
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rows[row]
            self.endRemoveRows()

    def move_stage(self, row: int, delta: int) -> int:
        """Move a stage up (-1) or down (+1); returns its new row."""
        target = row + delta
        if not (0 <= row < len(self._rows) and 0 <= target < len(self._rows)):
            return row
        # Qt's beginMoveRows wants the destination *before* which the row lands.
        dest = target + 1 if delta > 0 else target
        self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), dest)
        self._rows.insert(target, self._rows.pop(row))
        self.endMoveRows()
        return target
