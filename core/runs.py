"""Past training runs: find run folders, summarise them, compare them side by side.

A run folder is what `core.train.train` writes (config.json, manifest.json, history.csv,
checkpoints/, evaluation.json, model.hcmodel). Everything here only reads those files and
tolerates a run that was cancelled, interrupted or damaged: such a run is listed with what
could be read, never raised on. No TensorFlow, no Qt.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from core.evaluate import SCORE_KEYS
from core.paths import user_data_dir

SCORE_LABELS = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "macro_f1": "Macro F1",
    "patient_accuracy": "Patient accuracy",
}
BUNDLE_NAME = "model.hcmodel"


def default_runs_dir() -> Path:
    return user_data_dir() / "runs"


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").is_file()


def new_run_dir(runs_root: str | Path, label: str = "run", *, now: datetime | None = None) -> Path:
    """Create and return a fresh folder `YYYYmmdd-HHMMSS-<label>` (suffixed if taken)."""
    root = Path(runs_root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-.")[:40] or "run"
    candidate = root / f"{stamp}-{slug}"
    n = 2
    while candidate.exists():
        candidate = root / f"{stamp}-{slug}-{n}"
        n += 1
    candidate.mkdir()
    return candidate


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _number(text: str) -> Any:
    try:
        return int(text)
    except (TypeError, ValueError):
        pass
    try:
        return float(text)
    except (TypeError, ValueError):
        return text


def read_history(run_dir: str | Path) -> list[dict[str, Any]]:
    """Rows of history.csv (one per epoch), numbers converted; [] when missing or unreadable."""
    path = Path(run_dir) / "history.csv"
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return [{k: _number(v) for k, v in row.items() if k} for row in csv.DictReader(fh)]
    except (OSError, csv.Error, UnicodeDecodeError):
        return []


def _trainable_text(trainable: str) -> str:
    if trainable == "head":
        return "head"
    if trainable == "all":
        return "all"
    if isinstance(trainable, str) and trainable.startswith("from:"):
        return "from " + trainable[5:]
    return str(trainable)


def stages_summary(config: dict[str, Any]) -> str:
    """'head 5 ep @ 0.001 → from conv4_block1 15 ep @ 1e-05'."""
    parts = []
    for stage in config.get("stages") or []:
        if not isinstance(stage, dict):
            continue
        text = f"{_trainable_text(stage.get('trainable', '?'))} {stage.get('epochs', '?')} ep"
        rate = stage.get("learning_rate")
        if isinstance(rate, (int, float)):
            text += f" @ {rate:g}"
        parts.append(text)
    return " → ".join(parts) or "no stages"


def config_summary(config: dict[str, Any] | None) -> str:
    """One line a user recognises a configuration by."""
    if not config:
        return "configuration unreadable"
    weights = config.get("weights", "?")
    weights_text = "random init" if weights == "none" else ("ImageNet" if weights == "imagenet" else "weights file")
    return (
        f"{config.get('input_size', '?')} px, batch {config.get('batch_size', '?')}, {weights_text}; "
        + stages_summary(config)
    )


@dataclass
class RunInfo:
    path: Path
    created: datetime
    status: str  # "finished", "incomplete" (cancelled or interrupted: resumable), "empty"
    config: dict[str, Any] | None
    data: str  # the dataset's folder name and size
    classes: list[str] = field(default_factory=list)
    manifest_hash: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    epochs_done: int = 0
    best_val_accuracy: float | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def bundle_path(self) -> Path | None:
        bundle = self.path / BUNDLE_NAME
        return bundle if bundle.is_file() else None

    @property
    def total_epochs(self) -> int:
        stages = (self.config or {}).get("stages") or []
        return sum(int(s.get("epochs", 0)) for s in stages if isinstance(s, dict))

    @property
    def summary(self) -> str:
        return config_summary(self.config)


def _manifest_description(run_dir: Path) -> tuple[str, list[str], str]:
    manifest = _read_json(run_dir / "manifest.json")
    if manifest is None:
        return "dataset unknown", [], ""
    root = str(manifest.get("root", "")).rstrip("/\\")
    name = re.split(r"[/\\]", root)[-1] if root else "dataset"
    samples = [s for s in manifest.get("samples") or [] if isinstance(s, dict)]
    used = sum(1 for s in samples if s.get("split") in ("train", "val", "test"))  # not those left out
    classes = [str(c) for c in manifest.get("classes") or []]
    text = f"{name} ({used} images, {len(classes)} classes)"
    return text, classes, str(manifest.get("hash", ""))


def _run_created(run_dir: Path) -> datetime:
    match = re.match(r"(\d{8}-\d{6})", run_dir.name)
    if match:
        try:
            return datetime.strptime(match.group(1), "%Y%m%d-%H%M%S")
        except ValueError:
            pass
    return datetime.fromtimestamp((run_dir / "config.json").stat().st_mtime)


def read_run(run_dir: str | Path) -> RunInfo:
    """Summarise one run folder (whatever state it is in)."""
    run_dir = Path(run_dir)
    config = _read_json(run_dir / "config.json")
    evaluation = _read_json(run_dir / "evaluation.json") or {}
    history = read_history(run_dir)
    data, classes, manifest_hash = _manifest_description(run_dir)
    scores = {k: float(evaluation[k]) for k in SCORE_KEYS if isinstance(evaluation.get(k), (int, float))}
    val_acc = [row["val_accuracy"] for row in history if isinstance(row.get("val_accuracy"), (int, float))]
    if (run_dir / BUNDLE_NAME).is_file() and evaluation:
        status = "finished"
    elif history or (run_dir / "checkpoints").is_dir():
        status = "incomplete"
    else:
        status = "empty"
    return RunInfo(
        path=run_dir,
        created=_run_created(run_dir),
        status=status,
        config=config,
        data=data,
        classes=classes,
        manifest_hash=manifest_hash,
        scores=scores,
        epochs_done=len(history),
        best_val_accuracy=max(val_acc) if val_acc else None,
    )


def discover_runs(runs_root: str | Path) -> list[RunInfo]:
    """Every run folder directly under `runs_root`, newest first; [] when the folder is missing."""
    root = Path(runs_root)
    if not root.is_dir():
        return []
    runs = []
    for child in root.iterdir():
        try:
            if is_run_dir(child):
                runs.append(read_run(child))
        except OSError:
            continue  # a folder removed or unreadable while listing: leave it out
    return sorted(runs, key=lambda r: (r.created, r.name), reverse=True)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _score(value: float | None) -> str | None:
    return None if value is None else f"{value:.3f}"


def compare_runs(runs: list[RunInfo]) -> list[tuple[str, list[str]]]:
    """Rows (label, one text per run) for a side-by-side table of settings and scores."""

    def cfg(run: RunInfo, *keys: str) -> Any:
        value: Any = run.config or {}
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    rows: list[tuple[str, Any]] = [
        ("Run", lambda r: r.name),
        ("Date", lambda r: r.created.strftime("%Y-%m-%d %H:%M")),
        ("Status", lambda r: r.status),
        ("Data", lambda r: r.data),
        ("Input size", lambda r: cfg(r, "input_size")),
        ("Batch size", lambda r: cfg(r, "batch_size")),
        ("Weights", lambda r: cfg(r, "weights")),
        ("Stages", lambda r: stages_summary(r.config or {})),
        ("Flip", lambda r: cfg(r, "augmentation", "flip")),
        ("Rotation", lambda r: cfg(r, "augmentation", "rotation")),
        ("Contrast", lambda r: cfg(r, "augmentation", "contrast")),
        ("Dropout", lambda r: cfg(r, "regularization", "dropout")),
        ("L2 kernels", lambda r: cfg(r, "regularization", "kernel_l2")),
        ("L2 biases", lambda r: cfg(r, "regularization", "bias_l2")),
        ("Class weights", lambda r: cfg(r, "class_weights")),
        ("Epochs done", lambda r: f"{r.epochs_done} / {r.total_epochs}"),
        ("Best val accuracy", lambda r: _score(r.best_val_accuracy)),
    ]
    rows += [(SCORE_LABELS[k], (lambda key: lambda r: _score(r.scores.get(key)))(k)) for k in SCORE_KEYS]
    return [(label, [_fmt(getter(run)) for run in runs]) for label, getter in rows]
