"""Wizard page 4: the freeze/unfreeze step editor (table, presets, diagram, validation)."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyledItemDelegate,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.config import RESNET_BLOCKS, SCHEDULES, Stage
from gui.training.stage_diagram import StageDiagram
from gui.training.stage_model import BLOCK, MODE, MODE_LABELS, MODES, PRESETS, SCHEDULE, StageTableModel

HELP = (
    "Stages run one after the other on the same model. A typical recipe trains the new "
    "classifier head first with the backbone frozen, then unfreezes the top of ResNet50 "
    "with a 10–100× lower learning rate."
)


class StageDelegate(QStyledItemDelegate):
    """Combo boxes for the choice columns; plain text for epochs and rate so any typo is shown."""

    CHOICES = {
        MODE: [(MODE_LABELS[m], m) for m in MODES],
        BLOCK: [(b, b) for b in RESNET_BLOCKS],
        SCHEDULE: [(s, s) for s in SCHEDULES],
    }

    def createEditor(self, parent, option, index):  # noqa: N802 - Qt API
        if index.column() in self.CHOICES:
            combo = QComboBox(parent)
            for label, value in self.CHOICES[index.column()]:
                combo.addItem(label, value)
            return combo
        return QLineEdit(parent)

    def setEditorData(self, editor, index):  # noqa: N802
        value = index.data(Qt.ItemDataRole.EditRole)
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex(max(0, editor.findData(value)))
        else:
            editor.setText(str(value))

    def setModelData(self, editor, model, index):  # noqa: N802
        value = editor.currentData() if isinstance(editor, QComboBox) else editor.text()
        model.setData(index, value, Qt.ItemDataRole.EditRole)


class StagesPage(QWidget):
    """Emits `validity_changed(bool)` whenever the stages become valid or invalid."""

    validity_changed = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = StageTableModel(parent=self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegate(StageDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        triggers = QAbstractItemView.EditTrigger
        self.table.setEditTriggers(triggers.DoubleClicked | triggers.SelectedClicked | triggers.EditKeyPressed
                                   | triggers.AnyKeyPressed)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(150)
        self.table.setMaximumHeight(260)

        self.preset = QComboBox()
        self.preset.addItems(PRESETS)
        self.apply_preset_button = QPushButton("Apply preset")
        self.add_button = QPushButton("Add")
        self.duplicate_button = QPushButton("Duplicate")
        self.remove_button = QPushButton("Remove")
        self.up_button = QPushButton("Move up")
        self.down_button = QPushButton("Move down")
        self.keep_bn_frozen = QCheckBox("Keep BatchNorm layers frozen when unfreezing (recommended)")
        self.keep_bn_frozen.setChecked(True)
        self.random_init = False
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020;")
        self.total_label = QLabel()
        self.diagram = StageDiagram()
        self._layout()
        self._connect()
        self._refresh()

    def _layout(self) -> None:
        intro = QLabel(HELP)
        intro.setWordWrap(True)
        presets = QHBoxLayout()
        presets.addWidget(QLabel("Preset:"))
        presets.addWidget(self.preset)
        presets.addWidget(self.apply_preset_button)
        presets.addStretch(1)
        for button in (self.add_button, self.duplicate_button, self.remove_button, self.up_button,
                       self.down_button):
            presets.addWidget(button)
        table_row = QHBoxLayout()
        table_row.addWidget(self.table, 3)
        side = QVBoxLayout()
        side.addWidget(self.error_label)
        side.addStretch(1)
        side.addWidget(self.total_label)
        table_row.addLayout(side, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(presets)
        layout.addLayout(table_row)
        layout.addWidget(self.keep_bn_frozen)
        layout.addWidget(QLabel("<b>What each stage trains</b>"))
        layout.addWidget(self.diagram)
        layout.addStretch(1)

    def _connect(self) -> None:
        self.model.changed.connect(self._refresh)
        self.keep_bn_frozen.toggled.connect(self._refresh)
        self.apply_preset_button.clicked.connect(lambda: self.model.apply_preset(self.preset.currentText()))
        self.add_button.clicked.connect(lambda: self._select(self.model.add_stage(self._current_row())))
        self.duplicate_button.clicked.connect(self._duplicate)
        self.remove_button.clicked.connect(lambda: self.model.remove_stage(self._current_row()))
        self.up_button.clicked.connect(lambda: self._select(self.model.move_stage(self._current_row(), -1)))
        self.down_button.clicked.connect(lambda: self._select(self.model.move_stage(self._current_row(), 1)))

    def _current_row(self) -> int:
        index = self.table.currentIndex()
        return index.row() if index.isValid() else self.model.rowCount() - 1

    def _select(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.table.selectRow(row)

    def _duplicate(self) -> None:
        if self.model.rowCount():
            self._select(self.model.duplicate_stage(self._current_row()))

    def _refresh(self) -> None:
        problems = self.model.errors()
        lines = []
        for row, col, message in problems:
            where = "" if row < 0 else f"Stage {row + 1}, {self.model.headerData(col, Qt.Orientation.Horizontal).lower()}: "
            lines.append(f"⚠ {where}{message}")
        self.error_label.setText("\n".join(lines))
        self.error_label.setVisible(bool(lines))
        total = sum(r.epochs for r in self.model.rows() if isinstance(r.epochs, int))
        self.total_label.setText(f"{self.model.rowCount()} stage(s), {total} epochs in all")
        self.diagram.set_rows(self.model.rows(), batchnorm_frozen=self.keep_bn_frozen.isChecked(),
                              random_init=self.random_init)
        has_rows = self.model.rowCount() > 0
        for button in (self.duplicate_button, self.remove_button, self.up_button, self.down_button):
            button.setEnabled(has_rows)
        self.validity_changed.emit(not problems)

    def set_random_init(self, random_init: bool) -> None:
        """From random weights BatchNorm has no statistics worth keeping: it always learns then."""
        self.random_init = random_init
        self.keep_bn_frozen.setToolTip(
            "Ignored while training from random initialisation: BatchNorm then learns its statistics."
            if random_init else "Frozen BatchNorm keeps ImageNet's statistics; recommended for fine-tuning.")
        self._refresh()

    # -- read and write the configuration ---------------------------------------------------
    def is_valid(self) -> bool:
        return not self.model.errors()

    def stages(self) -> tuple[Stage, ...]:
        return self.model.stages()

    def set_stages(self, stages: tuple[Stage, ...], keep_batchnorm_frozen: bool) -> None:
        self.keep_bn_frozen.setChecked(keep_batchnorm_frozen)
        self.model.set_stages(stages)
