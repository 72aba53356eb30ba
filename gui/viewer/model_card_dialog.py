"""The model card, one click from the viewer: classes, input size, metrics, date, provenance."""
from __future__ import annotations

import html
from typing import Any, Mapping

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout

from core import RESEARCH_NOTICE
from gui.viewer.prediction_panel import NOTICE_STYLE, pretty

HEADLINE_METRICS = (
    ("accuracy", "Accuracy"), ("balanced_accuracy", "Balanced accuracy"), ("macro_f1", "Macro F1"),
    ("patient_accuracy", "Patient accuracy"), ("benign_malignant_accuracy", "Benign/malignant accuracy"),
    ("ece", "Calibration error (ECE)"),
)


def _row(name: str, value: Any) -> str:
    value = "—" if value is None or value == "" else value
    return f"<tr><th align='left'>{html.escape(name)}</th><td>{html.escape(str(value))}</td></tr>"


def _metric_rows(metrics: Mapping[str, Any]) -> list[str]:
    rows = []
    for key, title in HEADLINE_METRICS:
        value = metrics.get(key)
        if isinstance(value, (int, float)):
            rows.append(_row(title, f"{value:.3f}"))
    return rows


def card_html(card: Mapping[str, Any], *, name: str = "", sha256: str = "") -> str:
    """The card as a small HTML page (tested without showing the dialog)."""
    groups = card.get("groups") or {}
    classes = ", ".join(
        pretty(c) + (f" ({groups[c]})" if groups.get(c) else "") for c in card.get("classes", []))
    rows = [_row("Model", name or "(unnamed)"), _row("Classes", classes or "?"),
            _row("Input size", f"{card.get('input_size', '?')} px"),
            _row("Created", str(card.get("created") or "?").replace("T", " ")),
            _row("Backbone weights", card.get("weights_source")),
            _row("Manifest hash", card.get("manifest_hash"))]
    metrics = card.get("metrics") or {}
    metric_rows = _metric_rows(metrics)
    if card.get("metrics_split"):
        rows.append(_row("Metrics on split", card["metrics_split"]))
    versions = card.get("versions") or {}
    if versions:
        rows.append(_row("Software", ", ".join(f"{k} {v}" for k, v in versions.items())))
    if sha256:
        rows.append(_row("SHA-256", sha256))
    warnings = metrics.get("warnings") or []
    body = "<h3>Model card</h3><table cellspacing='4'>" + "".join(rows) + "</table>"
    body += "<h4>Test metrics</h4>" + (
        "<table cellspacing='4'>" + "".join(metric_rows) + "</table>" if metric_rows
        else "<p>No test metrics recorded in this model.</p>")
    if warnings:
        body += "<ul>" + "".join(f"<li>{html.escape(str(w))}</li>" for w in warnings) + "</ul>"
    return body


class ModelCardDialog(QDialog):
    def __init__(self, card: Mapping[str, Any], *, name: str = "", sha256: str = "", parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Model card: {name}" if name else "Model card")
        self.resize(560, 480)
        self.browser = QTextBrowser()
        self.browser.setHtml(card_html(card, name=name, sha256=sha256))
        notice = QLabel(card.get("notice") or RESEARCH_NOTICE, wordWrap=True)
        notice.setStyleSheet(NOTICE_STYLE)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(notice)
        layout.addWidget(buttons)
