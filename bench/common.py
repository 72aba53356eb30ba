"""What the benchmarks share: the repo on sys.path, quiet TensorFlow, the real IDC patches."""
from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IDC = REPO.parent / "shared" / "data" / "idc"
IDC_PATTERN = r"(?P<patient>\d+)/(?P<label>[01])/.*\.png"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
