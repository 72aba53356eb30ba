"""The Qt part of `histoclass selftest`: start Qt, show the main window, draw a chart.

`histoclass selftest` (core/cli/selftest_cmd.py) runs this in a child process, started as
`histoclass --gui-selftest` (see histoclass/__main__.py), so that the command line itself
never imports Qt; in the installed app the child is the same frozen executable, which
proves the bundle holds the Qt platform plugins and matplotlib's Qt backend. It prints
one line and exits 0 when the window showed, else prints the reason and exits 1.

The window gets a throw-away settings file: the check neither reads nor changes the
user's workspace.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def show_main_window(settings_dir: Path) -> str:
    """Show the main window offscreen (or wherever QT_QPA_PLATFORM says); describe it."""
    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
    from matplotlib.figure import Figure
    from PySide6.QtCore import QSettings, qVersion

    from gui.app import create_main_window, ensure_application
    from gui.state import AppState

    app = ensure_application(["histoclass"])
    settings = QSettings(str(settings_dir / "selftest.ini"), QSettings.Format.IniFormat)
    window = create_main_window(AppState(settings))
    window.show()
    app.processEvents()
    if not window.isVisible():
        raise RuntimeError("the main window did not become visible")
    figure = Figure(figsize=(2, 2))
    figure.add_subplot().plot([0, 1], [1, 0])
    canvas = FigureCanvasQTAgg(figure)
    canvas.draw()
    title = window.windowTitle()
    size = window.size()
    window.close()
    app.processEvents()
    return (f"Qt {qVersion()} ({app.platformName()}): main window '{title}' shown at "
            f"{size.width()}x{size.height()}, matplotlib Qt canvas drawn")


def main() -> int:
    try:
        with tempfile.TemporaryDirectory(prefix="histoclass-gui-selftest-") as tmp:
            detail = show_main_window(Path(tmp))
    except Exception as exc:  # the parent reports any failure as one line
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(detail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
