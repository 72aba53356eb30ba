"""The confusion matrix as a clickable picture (rows: true class, columns: predicted class)."""
from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget


class ConfusionWidget(QWidget):
    """Emits `cell_clicked(true_index, predicted_index)` when a cell is clicked."""

    cell_clicked = Signal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.figure = Figure(figsize=(4.2, 3.6), dpi=90, layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.canvas.setMinimumSize(280, 240)
        self.canvas.setToolTip("Click a cell to list its test images")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        self.matrix = np.zeros((0, 0), dtype=int)
        self.classes: list[str] = []
        self.selected: tuple[int, int] | None = None
        self.canvas.mpl_connect("button_press_event", self._on_press)

    def set_matrix(self, matrix, classes: list[str]) -> None:
        self.matrix = np.asarray(matrix, dtype=int)
        self.classes = list(classes)
        self.selected = None
        self._draw()

    def _draw(self) -> None:
        self.figure.clear()
        ax = self.figure.add_subplot(1, 1, 1)
        n = len(self.classes)
        if n == 0:
            self.canvas.draw_idle()
            return
        totals = self.matrix.sum(axis=1, keepdims=True).clip(min=1)
        share = self.matrix / totals
        ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
        small = n > 6
        for i in range(n):
            for j in range(n):
                color = "white" if share[i, j] > 0.55 else "black"
                text = f"{self.matrix[i, j]}" if small else f"{self.matrix[i, j]}\n{share[i, j]:.0%}"
                ax.text(j, i, text, ha="center", va="center", color=color, fontsize=7 if small else 9)
        ax.set_xticks(range(n), self.classes, rotation=45 if n > 3 else 0, ha="right" if n > 3 else "center",
                      fontsize=8)
        ax.set_yticks(range(n), self.classes, fontsize=8)
        ax.set_xlabel("predicted class", fontsize=9)
        ax.set_ylabel("true class", fontsize=9)
        if self.selected is not None:
            i, j = self.selected
            ax.add_patch(_outline(j, i))
        self.canvas.draw_idle()

    def cell_at(self, xdata: float | None, ydata: float | None) -> tuple[int, int] | None:
        """(true, predicted) under a point in data coordinates, or None outside the matrix."""
        if xdata is None or ydata is None:
            return None
        col, row = int(round(xdata)), int(round(ydata))
        n = len(self.classes)
        return (row, col) if 0 <= row < n and 0 <= col < n else None

    def select(self, true_index: int, predicted_index: int) -> None:
        self.selected = (true_index, predicted_index)
        self._draw()
        self.cell_clicked.emit(true_index, predicted_index)

    def _on_press(self, event) -> None:
        cell = self.cell_at(event.xdata, event.ydata) if event.inaxes else None
        if cell is not None:
            self.select(*cell)


def _outline(x: int, y: int):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor="#ff8f00", linewidth=2.5)
