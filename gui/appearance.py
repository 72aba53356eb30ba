"""The app's look: icon, style sheet and the in-app help, all read from resources/."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QWidget

from core.paths import resources_dir

ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


def resource(name: str) -> Path:
    return resources_dir() / name


def app_icon() -> QIcon:
    """The app icon at every rendered size (sharp in the title bar and on high-DPI docks)."""
    icon = QIcon()
    for size in ICON_SIZES:
        path = resource(f"icons/icon-{size}.png")
        if path.exists():
            icon.addFile(str(path), QSize(size, size))
    if icon.isNull() and resource("icon.svg").exists():
        icon = QIcon(str(resource("icon.svg")))
    return icon


def style_sheet() -> str:
    path = resource("style.qss")
    return path.read_text(encoding="utf-8") if path.exists() else ""


def help_markdown() -> str:
    path = resource("help.md")
    if path.exists():
        return path.read_text(encoding="utf-8")
    return "The help file is missing from this installation (resources/help.md)."


def set_role(widget: QWidget, role: str) -> None:
    """Give a widget a style role from style.qss (title, hint, notice, warning, error, success)."""
    widget.setProperty("role", role)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)


def apply_look(app: QApplication) -> None:
    app.setStyle("Fusion")
    app.setWindowIcon(app_icon())
    app.setStyleSheet(style_sheet())
