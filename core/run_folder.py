"""The files of one training run, and the small state that lets it resume where it stopped.

    run_dir/config.json          the configuration, as trained
    run_dir/manifest.json        a copy of the manifest
    run_dir/history.csv          one row per finished epoch, with its stage
    run_dir/checkpoints/         the latest checkpoint (model + optimizer state) and state.json
    run_dir/best.keras           the model of the best epoch so far (by the monitored value)
    run_dir/evaluation.json, confusion_matrix.png, report.txt, model.hcmodel   at the end

`state.json` is the single source of truth for resuming: it is written (atomically) only
after the checkpoint it names is complete, so a run killed at any moment resumes from the
last finished epoch, and history rows beyond it are dropped on resume.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from core.fileio import atomic_path, write_json_atomic, write_text_atomic

HISTORY_FIELDS = ("global_epoch", "stage", "stage_index", "epoch", "loss", "accuracy",
                  "val_loss", "val_accuracy", "learning_rate", "seconds")


@dataclass
class RunState:
    stage_index: int = 0  # stage of the latest checkpoint
    epochs_done: int = 0  # finished epochs of that stage
    stage_finished: bool = False  # that stage ran all its epochs or stopped early
    global_epochs: int = 0  # finished epochs over all stages (= rows of history.csv)
    best_value: float | None = None
    best_epoch: int | None = None  # global epoch of best.keras
    wait: int = 0  # epochs without improvement in the current stage
    checkpoint: str | None = None  # file name under checkpoints/
    finished: bool = False  # every stage done; only the final steps may be missing
    seconds: float = 0.0  # training time so far
    manifest_hash: str = ""
    weights_source: str = ""  # where the starting weights came from ("none": random initialisation)
    weights_message: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunState":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class RunFolder:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.checkpoints = self.root / "checkpoints"
        self.config = self.root / "config.json"
        self.manifest = self.root / "manifest.json"
        self.history_csv = self.root / "history.csv"
        self.state_json = self.checkpoints / "state.json"
        self.best_model = self.root / "best.keras"
        self.evaluation = self.root / "evaluation.json"
        self.confusion = self.root / "confusion_matrix.png"
        self.report = self.root / "report.txt"
        self.bundle = self.root / "model.hcmodel"

    def read_state(self) -> RunState | None:
        try:
            return RunState.from_dict(json.loads(self.state_json.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def write_state(self, state: RunState) -> None:
        write_json_atomic(self.state_json, asdict(state))

    def checkpoint_path(self, state: RunState) -> Path | None:
        if not state.checkpoint:
            return None
        path = self.checkpoints / state.checkpoint
        return path if path.is_file() else None

    def read_history(self) -> list[dict[str, Any]]:
        try:
            with open(self.history_csv, newline="", encoding="utf-8") as fh:
                return [_typed(row) for row in csv.DictReader(fh)]
        except (OSError, csv.Error):
            return []

    def write_history(self, rows: list[dict[str, Any]]) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=HISTORY_FIELDS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_text_atomic(self.history_csv, buffer.getvalue())

    def save_checkpoint(self, model, state: RunState, history: list[dict[str, Any]], *, best: bool = False) -> None:
        """Model + optimizer state to a new file, then history, then the state naming it; old file removed.

        With `best`, the same file also becomes best.keras (a copy is far cheaper than a second save).
        """
        name = f"stage{state.stage_index}-epoch{state.epochs_done}-{time.time_ns()}.keras"
        with atomic_path(self.checkpoints / name, suffix=".keras") as tmp:
            model.save(tmp)
            if best:
                with atomic_path(self.best_model, suffix=".keras") as best_tmp:
                    shutil.copyfile(tmp, best_tmp)
        self.write_history(history[: state.global_epochs])
        state.checkpoint = name
        self.write_state(state)
        self._prune(keep=name)

    def _prune(self, keep: str) -> None:
        """Remove older checkpoints, also those a killed process left half-written."""
        for path in self.checkpoints.iterdir():
            if path.name != keep and (path.suffix == ".keras" or ".keras." in path.name):
                path.unlink(missing_ok=True)

    def save_best(self, model) -> None:
        with atomic_path(self.best_model, suffix=".keras") as tmp:
            model.save(tmp)


def _typed(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in ("stage",):
            out[key] = value
        elif key in ("global_epoch", "stage_index", "epoch"):
            out[key] = int(value)
        else:
            out[key] = float(value) if value not in ("", None) else None
    return out
