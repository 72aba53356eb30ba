"""The shell: window before TensorFlow, views and shortcuts, menus, remembered layout and workspace."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QKeySequence

from core import RESEARCH_NOTICE
from gui.app import create_main_window, start_tensorflow_import
from gui.state import AppState

REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, sys
from PySide6.QtCore import QSettings, QTimer
from gui.app import launch
from gui.state import AppState
from gui.worker import FunctionWorker

state = AppState(QSettings(sys.argv[1], QSettings.Format.IniFormat))
app, window = launch(state=state)
seen = {}

def painted():
    seen["tensorflow_at_paint"] = "tensorflow" in sys.modules
    seen["visible"] = window.isVisible()
    seen["views"] = window.view_names()
    seen["note"] = window.tensorflow_label.text()

def done(ok, detail=""):
    seen.update(ready=ok, detail=detail, tensorflow_now="tensorflow" in sys.modules,
                note_after=window.tensorflow_label.text(), tf_ready=state.tf_ready)
    print(json.dumps(seen), flush=True)
    app.exit(0)

def tensorflow_op():
    import tensorflow as tf
    return float(tf.reduce_sum(tf.ones((4, 4))))

def run_ops(results=[]):
    # TensorFlow ops on pool threads after the background import (twice: a reused thread
    # crashed when the import itself had run on the pool)
    if len(results) == 2:
        seen["ops"] = results
        done(True)
        return
    worker = FunctionWorker(tensorflow_op)
    worker.signals.finished.connect(lambda value: (results.append(value), run_ops(results)))
    worker.signals.failed.connect(lambda exc: done(False, repr(exc)))
    worker.start()

window.first_painted.connect(painted)
state.tensorflow_ready.connect(run_ops)
state.tensorflow_failed.connect(lambda message: done(False, message))
QTimer.singleShot(240_000, lambda: done(False, "timed out"))
sys.exit(app.exec())
"""


def test_window_paints_before_tensorflow_is_imported_then_tensorflow_loads(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "s.ini")], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines, out.stderr[-3000:]
    seen = json.loads(lines[-1])
    assert seen["visible"] is True
    assert seen["tensorflow_at_paint"] is False  # the window came first
    assert seen["views"][:1] == ["dataset"]
    assert seen["ready"] is True, seen["detail"]
    assert seen["tensorflow_now"] is True and seen["tf_ready"] is True
    assert seen["note_after"] == "TensorFlow ready"
    assert seen["ops"] == [16.0, 16.0]


@pytest.fixture
def window(qtbot, app_state):
    win = create_main_window(app_state)
    qtbot.addWidget(win)
    return win


def test_tensorflow_failure_is_reported_in_words(qtbot, window, app_state):
    def broken_import():
        raise ImportError("libcudart.so.12: cannot open shared object file")

    with qtbot.waitSignal(app_state.tensorflow_failed, timeout=5000) as blocker:
        start_tensorflow_import(app_state, window, importer=broken_import)
    message = blocker.args[0]
    assert "TensorFlow could not be loaded" in message and "libcudart" in message
    assert window.tensorflow_label.text() == "TensorFlow unavailable"
    assert app_state.tf_ready is False


def test_tensorflow_ready_marks_the_state(qtbot, window, app_state):
    with qtbot.waitSignal(app_state.tensorflow_ready, timeout=5000):
        loader = start_tensorflow_import(app_state, window, importer=lambda: "TensorFlow 0, Keras 0")
        assert window.tensorflow_label.text().startswith("Loading TensorFlow")
    assert loader.wait(5)
    assert app_state.tf_ready is True
    assert window.tensorflow_label.text() == "TensorFlow ready"


def test_three_views_with_menu_actions_and_shortcuts(qtbot, window):
    assert window.view_names() == ["dataset", "training", "viewer"]
    assert window.current_view_name() == "dataset"
    for index, name in enumerate(window.view_names(), start=1):
        action = window.menus.actions[f"view_{name}"]
        assert action.shortcut() == QKeySequence(f"Ctrl+{index}")
        action.trigger()
        assert window.current_view_name() == name
        assert window.stack.currentWidget().widget().layout().itemAt(0).widget() is window.view(name)
    assert window.menus.actions["open_folder"].shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert window.menus.actions["quit"].shortcut() == QKeySequence(QKeySequence.StandardKey.Quit)
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == ["&File", "&View", "&Help"]


def test_the_window_and_the_dataset_view_fit_a_1366x768_screen(qtbot, window):
    for name in window.view_names():
        window.view(name)  # a view taller than the screen scrolls inside the window
    dataset = window.view("dataset")
    dataset.results  # the results page (tables, chart, split form) is the biggest state
    need = dataset.minimumSizeHint()
    assert need.width() <= 1366 - window.sidebar.width() and need.height() <= 768 - 120, need
    hint = window.minimumSizeHint().expandedTo(window.minimumSize())
    assert hint.width() <= 1366 and hint.height() <= 768 - 40, hint  # 40 px for a taskbar
    window.resize(QSize(1366, 728))
    window.show()
    qtbot.waitExposed(window)
    assert window.width() <= 1366 and window.height() <= 728


def test_geometry_and_current_view_survive_a_restart(qtbot, settings):
    first = create_main_window(AppState(settings))
    qtbot.addWidget(first)
    first.show()
    first.resize(780, 640)  # the offscreen screen is 800x800: stay on it
    first.show_view("viewer")
    first.close()
    second = create_main_window(AppState(settings))
    qtbot.addWidget(second)
    assert second.current_view_name() == "viewer"
    assert (second.width(), second.height()) == (780, 640)


def test_workspace_manifest_is_shown_after_a_restart(qtbot, settings, tmp_path, breakhis_sample):
    from core.manifest import save_manifest
    from core.scan import scan
    from core.split import SplitOptions, make_split

    path = tmp_path / "breakhis.json"
    save_manifest(make_split(scan(breakhis_sample), SplitOptions(seed=3)), path)
    AppState(settings).set_manifest_path(path)
    win = create_main_window(AppState(settings))
    qtbot.addWidget(win)
    assert win.manifest_label.text() == "Manifest: breakhis.json"
    view = win.view("dataset")
    qtbot.waitUntil(lambda: view._results is not None and view.results.split.manifest is not None, timeout=10000)
    assert view.results.split.manifest.seed == 3
    assert view.results.counts.counts("All classes")[0] == 23


def test_about_names_the_notice_and_the_breakhis_paper(qtbot, window):
    from gui.about import about_html, show_about, show_help

    text = about_html()
    assert RESEARCH_NOTICE in text
    assert "Spanhol" in text and "63(7)" in text and "2016" in text
    box = show_about(window)
    assert RESEARCH_NOTICE in box.text()
    box.close()
    dialog = show_help(window)
    from PySide6.QtWidgets import QTextBrowser

    browser = dialog.findChild(QTextBrowser)
    assert "Dataset" in browser.toPlainText() and RESEARCH_NOTICE in browser.toPlainText()
    dialog.close()


def test_recent_items_menu_lists_and_forgets_missing_paths(qtbot, window, app_state, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from gui.menus import open_recent

    gone = tmp_path / "moved-away"
    app_state.add_recent("folder", str(tmp_path))
    app_state.add_recent("folder", str(gone))
    menu = window.menus.recent["folder"]
    menu.aboutToShow.emit()
    texts = [a.text() for a in menu.actions()]
    assert gone.name in texts and tmp_path.name in texts
    warned = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warned.append(args[2]))
    open_recent(window, "folder", str(gone))
    assert warned and str(gone) in warned[0]
    assert app_state.recent("folder") == [str(tmp_path)]


def test_first_start_shows_the_empty_state_with_where_data_comes_from(qtbot, window):
    from gui.about import BREAKHIS_URL

    view = window.view("dataset")
    assert view.stack.currentWidget() is view.empty
    assert window.manifest_label.text() == "No manifest yet"
    texts = " ".join(label.text() for label in view.empty.findChildren(type(window.manifest_label)))
    assert BREAKHIS_URL in texts and "class sub-folders" in texts


def test_app_icon_has_several_sizes():
    from gui.appearance import app_icon, style_sheet

    sizes = app_icon().availableSizes()
    assert QSize(16, 16) in sizes and QSize(256, 256) in sizes
    assert "QListWidget#sidebar" in style_sheet()


def test_tensorflow_jobs_wait_for_the_background_import(qtbot, app_state):
    calls = []
    app_state.when_tensorflow_ready(lambda: calls.append("first"))
    assert calls == []  # the import is still running: nothing may touch TensorFlow yet
    app_state.mark_tensorflow_ready()
    assert calls == ["first"]
    app_state.mark_tensorflow_ready()
    assert calls == ["first"]  # once only
    app_state.when_tensorflow_ready(lambda: calls.append("later"))
    assert calls == ["first", "later"]  # already imported: runs at once


def test_tens_of_thousands_of_signal_emits_do_not_abort_python():
    """PySide6 6.12.0's emit() drops a reference to True each call; gui.qtcompat gives it back.

    Runs in a child process: without the fix the interpreter aborts (bool_dealloc)."""
    code = (
        "import sys, gui\n"
        "from PySide6.QtCore import QObject, Signal\n"
        "class S(QObject):\n    x = Signal(object)\n"
        "s = S(); got = []; s.x.connect(got.append)\n"
        "before = sys.getrefcount(True)\n"
        "for i in range(60000): s.x.emit(i)\n"
        "print(sys.getrefcount(True) - before, len(got))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    drift, received = map(int, out.stdout.split())
    assert received == 60000 and abs(drift) < 100
