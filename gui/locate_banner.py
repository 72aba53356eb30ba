"""A banner for a manifest whose images are not where it says: moved, unplugged, another PC.

It names the folder it looked in and offers "Locate the image folder…": the user picks the
new place, every image is checked there on the worker, and only then is the manifest file
rewritten to point to it (same hash, so its training runs still resume). A wrong folder
is refused with the reason and nothing changes.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from gui.appearance import set_role
from gui.worker import FunctionWorker, TaskSlot


def relocate_job(manifest_path: str, folder: str):
    from core.manifest import relocate_manifest

    return relocate_manifest(manifest_path, folder)


def missing_text(root: str, missing: int = 0, total: int = 0) -> str:
    """What the banner says: the folder looked in, and what to do."""
    if not Path(root).is_dir():
        return (f"The images of this manifest are not in {root} any more (moved, renamed or unplugged?). "
                "Reconnect the disk, or locate the folder's new place.")
    return (f"{missing} of {total} images of this manifest are missing under {root}. If they were moved "
            "elsewhere, locate their folder; otherwise split the dataset again.")


class LocateImagesBanner(QWidget):
    """Hidden until `show_missing`; emits `relocated(manifest_path, manifest)` once fixed."""

    relocated = Signal(str, object)

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.manifest_path = ""
        self.old_root = ""
        self._task = TaskSlot()
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        set_role(self.message, "error")
        self.button = QPushButton("Locate the image folder…")
        self.button.setToolTip("Choose the folder that now holds this manifest's images; "
                               "every image is checked there before the manifest is changed.")
        self.button.clicked.connect(self.choose)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.message, 1)
        row.addWidget(self.button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_missing(self, manifest_path: str, old_root: str, message: str) -> None:
        self.manifest_path, self.old_root = str(manifest_path), str(old_root)
        self.message.setText(message)
        self.button.setEnabled(True)
        self.show()

    def choose(self) -> None:
        old = Path(self.old_root)
        start = str(old.parent) if old.parent.is_dir() else self.state.last_dir("dataset")
        folder = QFileDialog.getExistingDirectory(
            self, f"Where is the image folder “{old.name}” now?", start)
        if folder:
            self.relocate_to(folder)

    def relocate_to(self, folder: str) -> None:
        """Check the images under `folder` on the worker; rewrite the manifest if all are there."""
        self.button.setEnabled(False)
        self.message.setText(f"Looking for the images under {folder}…")
        worker = FunctionWorker(relocate_job, self.manifest_path, folder, needs_tensorflow=False)
        worker.signals.finished.connect(lambda manifest: self._done(folder, manifest))
        worker.signals.failed.connect(lambda exc: self._failed(exc, folder))
        self._task.start(worker)

    def _done(self, folder: str, manifest) -> None:
        self.state.set_last_dir("dataset", folder)
        self.hide()
        self.relocated.emit(self.manifest_path, manifest)
        self.state.manifest_relocated.emit(self.manifest_path)  # other views showing it reload

    def _failed(self, exc, folder: str) -> None:
        from core.errors import ImagesMissingError

        if isinstance(exc, ImagesMissingError) and exc.total:
            self.message.setText(
                f"Not that folder: {exc.missing} of {exc.total} images of this manifest are not under "
                f"{folder}. Choose the folder that holds them (it was “{Path(self.old_root).name}”); "
                "nothing was changed.")
        else:
            self.message.setText(f"Not that folder: {exc}")
        self.button.setEnabled(True)

    def shutdown(self) -> None:
        self._task.cancel()
