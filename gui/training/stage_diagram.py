"""A small picture of which ResNet50 blocks each stage trains (one row per stage)."""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.config import RESNET_BLOCKS
from gui.training.stage_model import StageRow

TRAINED = QColor("#2e7d32")
FROZEN = QColor("#cfd8dc")
HEAD = QColor("#1565c0")
ROW_H = 20
LABEL_W = 110
GAP = 2


def _short(block: str) -> str:
    """conv4_block1 -> 4.1, conv1 -> stem."""
    if block == "conv1":
        return "stem"
    stage, number = block[4], block.split("block")[-1]
    return f"{stage}.{number}"


class StageDiagram(QWidget):
    """Stem, 16 residual blocks and the head; green = trained in that stage, grey = frozen."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[StageRow] = []
        self._bn_frozen = True
        self._random_init = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Green: trained in this stage. Grey: frozen. Blue: the new classifier head.")

    def set_rows(self, rows: list[StageRow], *, batchnorm_frozen: bool = True, random_init: bool = False) -> None:
        self._rows = list(rows)
        self._bn_frozen = batchnorm_frozen and not random_init
        self._random_init = random_init
        self.setMinimumHeight(self._height())
        self.updateGeometry()
        self.update()

    def _height(self) -> int:
        return 22 + ROW_H * max(1, len(self._rows)) + 22

    def sizeHint(self) -> QSize:
        return QSize(640, self._height())

    def trained_blocks(self, row: StageRow) -> list[str]:
        first = row.first_trained_block()
        return [] if first is None else list(RESNET_BLOCKS[first:])

    def batchnorm_note(self) -> str:
        if self._random_init:
            return ("No pretrained weights: BatchNorm layers learn their statistics along with their "
                    "block (there are none to keep).")
        if self._bn_frozen:
            return "BatchNorm layers stay frozen (inference mode) in every stage."
        return "BatchNorm layers are trained along with their block."

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() - 1.5))
        painter.setFont(font)
        cells = len(RESNET_BLOCKS) + 1
        cell_w = max(14.0, (self.width() - LABEL_W - 8) / cells)
        painter.setPen(QColor("#555555"))
        for i, block in enumerate((*RESNET_BLOCKS, "head")):
            rect = QRectF(LABEL_W + i * cell_w, 2, cell_w, 18)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "head" if block == "head" else _short(block))
        for r, row in enumerate(self._rows):
            y = 22 + r * ROW_H
            painter.setPen(QColor("#222222"))
            name = f"{r + 1}. {row.name}"
            painter.drawText(QRectF(0, y, LABEL_W - 6, ROW_H - GAP),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             painter.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, LABEL_W - 8))
            trained = set(self.trained_blocks(row))
            painter.setPen(QPen(QColor("#ffffff"), 1))
            for i, block in enumerate(RESNET_BLOCKS):
                painter.setBrush(TRAINED if block in trained else FROZEN)
                painter.drawRect(QRectF(LABEL_W + i * cell_w, y, cell_w - GAP, ROW_H - GAP))
            painter.setBrush(HEAD)
            painter.drawRect(QRectF(LABEL_W + len(RESNET_BLOCKS) * cell_w, y, cell_w - GAP, ROW_H - GAP))
        painter.setPen(QColor("#555555"))
        note = "Green: trained · grey: frozen · blue: the new classifier head. " + self.batchnorm_note()
        painter.drawText(QRectF(LABEL_W, 24 + ROW_H * max(1, len(self._rows)), self.width() - LABEL_W, 18),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, note)
        painter.end()
