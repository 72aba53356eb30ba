"""The prediction panel: predicted class, every class as sorted bars, benign/malignant, uncertain.

The reading itself (ranking, grouping, the uncertain flag) comes from
core.prediction_summary; this module only lays it out. The research-use notice sits under
the whole viewer, so it stays visible however the panel scrolls.
"""
from __future__ import annotations

from typing import Mapping

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import (
    QDoubleSpinBox, QFormLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget,
)

from core.prediction_summary import DEFAULT_UNCERTAIN_THRESHOLD, PredictionSummary, summarize_prediction

UNCERTAIN_STYLE = "QLabel { background: #fff3cd; color: #664d03; border: 1px solid #e0b000; padding: 4px; }"
ERROR_STYLE = "QLabel { color: #842029; }"
NOTICE_STYLE = "QLabel { color: #842029; font-weight: bold; }"
BAR_TOP, BAR_OTHER = QColor("#2f6fb0"), QColor("#9bb7d4")


def pretty(name: str) -> str:
    """'ductal_carcinoma' -> 'ductal carcinoma' (class names are folder names)."""
    return name.replace("_", " ")


class ProbabilityBars(QWidget):
    """Horizontal bars, one per class, most probable first, with the percentage."""

    ROW_HEIGHT = 20

    def __init__(self, parent=None):
        super().__init__(parent)
        self._items: tuple[tuple[str, float], ...] = ()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_items(self, ranked) -> None:
        self._items = tuple(ranked)
        self.setToolTip("\n".join(f"{pretty(n)}: {p:.1%}" for n, p in self._items))
        self.updateGeometry()
        self.update()

    def items(self) -> tuple[tuple[str, float], ...]:
        return self._items

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(240, max(1, len(self._items)) * self.ROW_HEIGHT)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return self.sizeHint()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        metrics = painter.fontMetrics()
        name_w = min(self.width() // 2, max((metrics.horizontalAdvance(pretty(n)) for n, _ in self._items), default=0) + 8)
        pct_w = metrics.horizontalAdvance("100.0%") + 6
        bar_w = max(10, self.width() - name_w - pct_w)
        text_color = self.palette().color(QPalette.ColorRole.WindowText)
        for row, (name, p) in enumerate(self._items):
            top = row * self.ROW_HEIGHT
            painter.setPen(text_color)
            painter.drawText(QRectF(0, top, name_w - 4, self.ROW_HEIGHT),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             metrics.elidedText(pretty(name), Qt.TextElideMode.ElideRight, name_w - 4))
            track = QRectF(name_w, top + 4, bar_w, self.ROW_HEIGHT - 8)
            painter.fillRect(track, self.palette().color(QPalette.ColorRole.Midlight))
            filled = QRectF(track.left(), track.top(), track.width() * max(0.0, min(1.0, p)), track.height())
            painter.fillRect(filled, BAR_TOP if row == 0 else BAR_OTHER)
            painter.drawText(QRectF(name_w + bar_w + 4, top, pct_w, self.ROW_HEIGHT),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, f"{p:.1%}")
        painter.end()


class PredictionPanel(QWidget):
    """What the model says about the image on screen."""

    threshold_changed = Signal(float)

    def __init__(self, parent=None, *, threshold: float = DEFAULT_UNCERTAIN_THRESHOLD):
        super().__init__(parent)
        self._probabilities: Mapping[str, float] | None = None
        self._groups: Mapping[str, str | None] | None = None
        self.summary: PredictionSummary | None = None
        self._build(threshold)
        self.clear()

    def _build(self, threshold: float) -> None:
        layout = QVBoxLayout(self)
        self.source_label = QLabel(wordWrap=True)
        self.source_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.class_label = QLabel(wordWrap=True)
        font = QFont(self.class_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.class_label.setFont(font)
        self.group_label = QLabel(wordWrap=True)
        self.error_label = QLabel(wordWrap=True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.uncertain_label = QLabel(wordWrap=True)
        self.uncertain_label.setStyleSheet(UNCERTAIN_STYLE)
        self.bars = ProbabilityBars()
        self.threshold_spin = QDoubleSpinBox(decimals=0, minimum=0, maximum=100, singleStep=5, suffix=" %")
        self.threshold_spin.setValue(round(threshold * 100))
        self.threshold_spin.setToolTip("Flag a prediction as uncertain when its top probability is below this.")
        self.threshold_spin.valueChanged.connect(self._on_threshold)
        form = QFormLayout()
        form.addRow("Flag as uncertain below", self.threshold_spin)
        for widget in (self.source_label, self.class_label, self.error_label, self.group_label,
                       self.uncertain_label, self.bars):
            layout.addWidget(widget)
        layout.addLayout(form)

    @property
    def threshold(self) -> float:
        return self.threshold_spin.value() / 100.0

    def set_threshold(self, value: float) -> None:
        self.threshold_spin.setValue(round(value * 100))

    def clear(self, message: str = "Open an image to see what the model predicts.") -> None:
        self._probabilities = None
        self.summary = None
        self.source_label.setText("")
        self.class_label.setText(message)
        self.group_label.hide()
        self.error_label.hide()
        self.uncertain_label.hide()
        self.bars.set_items(())
        self.bars.hide()

    def show_error(self, source: str, message: str) -> None:
        self.clear("Could not classify this image.")
        self.source_label.setText(source)
        self.error_label.setText(message)
        self.error_label.show()

    def show_prediction(self, source: str, probabilities: Mapping[str, float],
                        groups: Mapping[str, str | None] | None = None) -> None:
        self._probabilities, self._groups = dict(probabilities), groups
        self.source_label.setText(source)
        self._refresh()

    def _on_threshold(self, _value: float) -> None:
        self.threshold_changed.emit(self.threshold)
        if self._probabilities is not None:
            self._refresh()

    def _refresh(self) -> None:
        try:
            summary = summarize_prediction(self._probabilities, self._groups, self.threshold)
        except ValueError as exc:
            self.show_error(self.source_label.text(), str(exc))
            return
        self.summary = summary
        self.error_label.hide()
        self.class_label.setText(f"{pretty(summary.label)}: {summary.probability:.1%}")
        self.bars.set_items(summary.ranked)
        self.bars.show()
        if summary.groups:
            self.group_label.setText("  ·  ".join(f"{g.capitalize()} {p:.1%}" for g, p in summary.groups))
        self.group_label.setVisible(bool(summary.groups))
        self.uncertain_label.setText(
            f"Uncertain: the top probability {summary.probability:.1%} is below "
            f"{summary.threshold:.0%}. Do not rely on this prediction.")
        self.uncertain_label.setVisible(summary.uncertain)
