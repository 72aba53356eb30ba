"""What a new user sees before any data is loaded: what to do first, and where data comes from."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui.about import BREAKHIS_URL
from gui.appearance import set_role

STEPS_HTML = (
    "<ol style='margin-left:0'>"
    "<li><b>A BreakHis folder</b>: the <code>BreaKHis_v1</code> folder of the public dataset "
    "(or any folder inside it). Tumour type, patient and magnification are read from the file names.</li>"
    "<li><b>Any folder of class sub-folders</b>: one sub-folder per class "
    "(for example <code>benign/</code> and <code>malignant/</code>), images inside.</li>"
    "</ol>"
    "<p>HistoClass scans the images, skips the ones it cannot read (and says why), and "
    "splits them by patient into training, validation and test sets.</p>"
    f"<p>The BreakHis dataset (7,909 images, 82 patients) is free for research from "
    f"<a href='{BREAKHIS_URL}'>the Federal University of Paraná (UFPR)</a>.</p>"
)


class EmptyState(QFrame):
    """A drop zone with the first steps; emits `choose_requested` or `folder_requested(path)`."""

    choose_requested = Signal()
    folder_requested = Signal(str)
    manifest_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("dropZone")
        self.setProperty("dragActive", False)
        title = QLabel("Import a folder of histology images", self)
        set_role(title, "title")
        steps = QLabel(STEPS_HTML, self)
        steps.setWordWrap(True)
        steps.setOpenExternalLinks(True)
        steps.setTextFormat(Qt.TextFormat.RichText)
        steps.setMaximumWidth(640)
        choose = QPushButton("Choose folder…", self)
        set_role(choose, "primary")
        choose.clicked.connect(self.choose_requested)
        manifest = QPushButton("Open a saved manifest…", self)
        manifest.clicked.connect(self.manifest_requested)
        self.again = QPushButton(self)
        self.again.hide()
        self.again.clicked.connect(lambda: self.folder_requested.emit(self.again.property("path")))
        drop = QLabel("…or drag a folder from your file manager and drop it here.", self)
        set_role(drop, "hint")
        buttons = QHBoxLayout()
        for button in (choose, manifest, self.again):
            buttons.addWidget(button)
        buttons.addStretch(1)
        column = QVBoxLayout()
        for widget in (title, steps):
            column.addWidget(widget)
        column.addLayout(buttons)
        column.addWidget(drop)
        centred = QHBoxLayout()
        centred.addStretch(1)
        centred.addLayout(column, 3)
        centred.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 32, 40, 32)
        layout.addStretch(1)
        layout.addLayout(centred)
        layout.addStretch(2)

    def set_last_folder(self, path: str) -> None:
        """Offer to scan the folder used last time, if it still exists."""
        exists = bool(path) and Path(path).is_dir()
        self.again.setVisible(exists)
        if exists:
            self.again.setText(f"Scan again: {Path(path).name}")
            self.again.setToolTip(path)
            self.again.setProperty("path", path)

    def set_drag_active(self, active: bool) -> None:
        self.setProperty("dragActive", active)
        self.style().unpolish(self)
        self.style().polish(self)
