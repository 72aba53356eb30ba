"""Time from process start to the first painted main window (target: under 2 s).

Each run starts a fresh Python process that opens the window exactly as `histoclass`
does (gui.app.launch) with empty settings, and reports the moment the window first
paints. The parent notes the time just before starting the process, so interpreter
start-up and every import are included. Offscreen unless a display is available.

    .venv/bin/python bench/startup.py [--runs 5]

Last line: {"window_shown_s": <median>, ...}
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, sys, time
from PySide6.QtCore import QSettings
from gui.app import launch
from gui.state import AppState

state = AppState(QSettings(sys.argv[1], QSettings.Format.IniFormat))
app, window = launch(state=state)

def painted():
    print(json.dumps({"painted_at": time.time(), "tensorflow_imported": "tensorflow" in sys.modules}),
          flush=True)
    os._exit(0)  # do not wait for the background TensorFlow import

window.first_painted.connect(painted)
sys.exit(app.exec())
"""


def one_run(env: dict[str, str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.time()
        out = subprocess.run([sys.executable, "-c", CHILD, str(Path(tmp) / "settings.ini")], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=120)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"the window never painted (exit {out.returncode}):\n{out.stderr[-2000:]}")
    result = json.loads(lines[-1])
    return {"window_shown_s": result["painted_at"] - started, "tensorflow_imported": result["tensorflow_imported"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    runs = [one_run(env) for _ in range(args.runs)]
    times = [r["window_shown_s"] for r in runs]
    for i, t in enumerate(times, 1):
        print(f"run {i}: window painted after {t:.3f} s")
    print(json.dumps({
        "window_shown_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "runs": len(times),
        "platform": env.get("QT_QPA_PLATFORM", "native display"),
        "tensorflow_imported_before_paint": any(r["tensorflow_imported"] for r in runs),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
