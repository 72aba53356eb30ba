"""The training view inside the main window: built lazily, and its images open in the viewer."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QWidget

from gui.main_window import MainWindow
from gui.training.training_view import TrainingView


class FakeViewer(QWidget):
    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.opened = []

    def open_images(self, paths):
        self.opened.append(paths)


def test_images_from_the_results_open_in_the_viewer(qtbot, app_state):
    window = MainWindow(app_state)
    qtbot.addWidget(window)
    window._pages["viewer"].factory = FakeViewer
    training = window.show_view("training")
    assert isinstance(training, TrainingView)
    training.open_images_requested.emit(["/data/a.png", "/data/b.png"])
    viewer = window.view("viewer")
    assert window.current_view_name() == "viewer"
    assert viewer.opened == [["/data/a.png", "/data/b.png"]]
    window.show_view("training")
    training.open_images_requested.emit([])  # "open model in viewer": just show it
    assert window.current_view_name() == "viewer"
    assert viewer.opened == [["/data/a.png", "/data/b.png"]]


def test_building_the_training_view_does_not_import_tensorflow(tmp_path):
    code = ("import sys; from PySide6.QtWidgets import QApplication; app = QApplication([]); "
            "from gui.state import AppState; from gui.training.training_view import TrainingView; "
            "view = TrainingView(AppState()); print('tensorflow' in sys.modules, 'keras' in sys.modules, flush=True); "
            "import os; os._exit(0)")  # only the imports matter here, not tearing Qt down
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path),
                                 "XDG_CONFIG_HOME": str(tmp_path / "config"),
                                 "XDG_DATA_HOME": str(tmp_path / "data")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False False"
