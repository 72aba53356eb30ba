"""Help > About and Help > Using HistoClass."""
from __future__ import annotations

import platform

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox, QTextBrowser, QVBoxLayout, QWidget

from core import RESEARCH_NOTICE, __version__

BREAKHIS_URL = "https://web.inf.ufpr.br/vri/databases/breast-cancer-histopathological-database-breakhis/"
BREAKHIS_CITATION = ("F. A. Spanhol, L. S. Oliveira, C. Petitjean and L. Heutte, "
                     "\"A Dataset for Breast Cancer Histopathological Image Classification\", "
                     "IEEE Transactions on Biomedical Engineering 63(7), 1455-1462, 2016.")


def about_html() -> str:
    from PySide6 import __version__ as qt_version

    return (
        f"<h2>HistoClass {__version__}</h2>"
        "<p>Retrain a ResNet50 on your own histology images and classify local slides, offline.</p>"
        f"<p><b>{RESEARCH_NOTICE}</b></p>"
        "<p>Built for the BreakHis breast-cancer histopathology dataset. If you use it, cite:<br>"
        f"{BREAKHIS_CITATION}<br><a href=\"{BREAKHIS_URL}\">{BREAKHIS_URL}</a></p>"
        f"<p><small>Python {platform.python_version()}, PySide6 {qt_version}. "
        "TensorFlow/Keras load in the background after start-up.</small></p>"
    )


def show_about(parent: QWidget) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle("About HistoClass")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(about_html())
    box.setIconPixmap(parent.windowIcon().pixmap(64, 64))
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    box.open()
    return box


def show_help(parent: QWidget) -> QDialog:
    from gui.appearance import help_markdown

    dialog = QDialog(parent)
    dialog.setWindowTitle("Using HistoClass")
    dialog.resize(720, 560)
    browser = QTextBrowser(dialog)
    browser.setOpenExternalLinks(True)
    browser.setMarkdown(help_markdown())
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(browser)
    layout.addWidget(buttons)
    dialog.open()
    return dialog
