"""Bar chart of class sizes (matplotlib's Qt canvas, imported when first drawn: it is slow to import)."""
from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

GROUP_COLOURS = {"benign": "#5b8fd1", "malignant": "#d1607f", None: "#6c7a91"}


class ClassChart(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(260, 200)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.canvas = None
        self.figure = None
        self.counts: dict[str, int] = {}

    def _ensure_canvas(self) -> None:
        if self.canvas is not None:
            return
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(4, 3), layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setParent(self)
        self._layout.addWidget(self.canvas)

    def set_counts(self, counts: dict[str, int], groups: dict[str, str] | None = None) -> None:
        """counts: images per class; groups colour the bars (benign blue, malignant pink)."""
        self._ensure_canvas()
        self.counts = dict(counts)
        groups = groups or {}
        self.figure.clear()
        ax = self.figure.add_subplot()
        names = sorted(counts, key=lambda c: (groups.get(c) or "", c))
        values = [counts[c] for c in names]
        bars = ax.barh(range(len(names)), values, color=[GROUP_COLOURS.get(groups.get(c)) for c in names])
        ax.set_yticks(range(len(names)), [n.replace("_", " ") for n in names], fontsize=8)
        ax.invert_yaxis()
        ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3, fontsize=8)
        ax.set_xlabel("images", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_xlim(0, max(values, default=1) * 1.18)
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_title("Images per class", fontsize=9)
        if any(groups.get(c) for c in names):
            from matplotlib.patches import Patch

            present = [g for g in ("benign", "malignant") if g in groups.values()]
            ax.legend(handles=[Patch(color=GROUP_COLOURS[g], label=g) for g in present],
                      fontsize=7, loc="lower right", frameon=False)
        self.canvas.draw_idle()
