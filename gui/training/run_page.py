"""Wizard page 5: run the training on a worker, with live curves, progress, cancel, resume, log.

The job itself is `core.train.train`, run in a child process (gui/training/process_job.py)
that a worker thread watches; this page starts it on its TaskSlot, turns its progress
events into widgets, and reports the result.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.config import TrainConfig
from core.runs import read_history
from gui.appearance import set_role
from gui.training.curves_widget import CurvesWidget
from gui.training.process_job import train_job
from gui.worker import FunctionWorker, TaskSlot

PROGRESS_STEPS = 1000


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min" if hours else (f"{minutes} min {secs:02d} s" if minutes else f"{secs} s")


class RunPage(QWidget):
    """Signals: `run_started(str)` (run folder), `run_finished(object)` (TrainResult),
    `run_cancelled(object)` (TrainResult or None), `run_failed(str)` (message)."""

    run_started = Signal(str)
    run_finished = Signal(object)
    run_cancelled = Signal(object)
    run_failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.slot = TaskSlot()
        self.run_dir: str | None = None
        self._job: tuple[TrainConfig, str] | None = None
        self._total_epochs = 1
        self._started_at = 0.0
        self.status = QLabel("Not started. Check the earlier pages, then press Start.")
        self.eta = QLabel("")
        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.start_button = QPushButton("Start training")
        self.cancel_button = QPushButton("Cancel")
        self.resume_button = QPushButton("Resume")
        self.curves = CurvesWidget()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self._layout()
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button.clicked.connect(self.resume)
        self._set_running(False, resumable=False)

    def _layout(self) -> None:
        buttons = QHBoxLayout()
        for button in (self.start_button, self.cancel_button, self.resume_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.eta)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.curves)
        split.addWidget(self.log)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)

    # -- control -----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.slot.busy

    def start(self, config: TrainConfig, manifest_path: str, run_dir: str, *, resume: bool = False) -> None:
        """Start (or resume) training `config` on the manifest into `run_dir`."""
        self._job = (config, manifest_path)
        self.run_dir = str(run_dir)
        self._total_epochs = max(1, config.total_epochs)
        self._started_at = time.monotonic()
        self.curves.clear()
        self.curves.set_plan(self._total_epochs)
        if resume:
            self.curves.load_history(read_history(run_dir))
            self._append(f"Resuming the run in {run_dir}")
        else:
            self.log.clear()
            self._append(f"New run in {run_dir}")
        self.message.clear()
        worker = FunctionWorker(train_job, config, manifest_path, str(run_dir), resume=resume,
                                needs_tensorflow=False)  # TensorFlow runs in the child
        worker.signals.progress.connect(self.on_event)
        worker.signals.finished.connect(self._on_finished)
        worker.signals.cancelled.connect(self._on_cancelled)
        worker.signals.failed.connect(self._on_failed)
        self.slot.start(worker)
        self._set_running(True)
        self.status.setText("Starting: loading TensorFlow and decoding the images…")
        self.run_started.emit(self.run_dir)

    def cancel(self) -> None:
        if self.slot.busy:
            self.slot.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Cancelling: the current batch finishes, then a checkpoint is saved…")
            self._append("Cancel requested.")

    def resume(self) -> None:
        if self._job and self.run_dir and not self.slot.busy:
            config, manifest_path = self._job
            self.start(config, manifest_path, self.run_dir, resume=True)

    def set_resumable(self, config: TrainConfig, manifest_path: str, run_dir: str) -> bool:
        """Offer Resume for an interrupted run reopened from the past-runs list (not while a
        run is in progress: its job, curves and Cancel button stay). False if refused."""
        if self.slot.busy:
            return False
        self._job = (config, manifest_path)
        self.run_dir = str(run_dir)
        self._total_epochs = max(1, config.total_epochs)
        self.curves.set_plan(self._total_epochs)
        self.curves.load_history(read_history(run_dir))
        self.status.setText(f"Interrupted run {Path(run_dir).name}: press Resume to continue it.")
        self._set_running(False, resumable=True)
        return True

    def show_history(self, run_dir: str, total_epochs: int) -> None:
        """Show the curves of a finished run reopened from the past-runs list."""
        if self.slot.busy:
            return  # never replace the curves of the run in progress
        self.curves.clear()
        self.curves.set_plan(total_epochs)
        self.curves.load_history(read_history(run_dir))
        self.progress.setValue(PROGRESS_STEPS)
        self.status.setText(f"Finished run {Path(run_dir).name} (reopened).")
        self._set_running(False, resumable=False)

    def _set_running(self, running: bool, *, resumable: bool = False) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.resume_button.setEnabled(not running and resumable)

    # -- progress ----------------------------------------------------------------------
    def on_event(self, event: dict[str, Any]) -> None:
        self.curves.add_event(event)
        handler = getattr(self, f"_on_{event.get('event')}_event", None)
        if handler:
            handler(event)

    def _on_start_event(self, event: dict) -> None:
        self._total_epochs = max(1, int(event.get("total_epochs") or self._total_epochs))
        counts = ", ".join(f"{event[k]} {k.split('_')[0]}" for k in ("train_images", "val_images", "test_images")
                           if isinstance(event.get(k), int))
        device = f" on {event['device']}" if event.get("device") else ""
        resumed = "Resumed" if event.get("resumed") else "Started"
        self._append(f"{resumed}{device}: {event.get('total_epochs')} epochs over {len(event.get('stages') or [])} "
                     f"stage(s); images: {counts or '?'}; weights: {event.get('weights_source', '?')}.")
        for warning in event.get("warnings") or []:
            self._append(f"Warning: {warning}")

    def _on_decode_event(self, event: dict) -> None:
        done, total = event.get("done"), event.get("total")
        if event.get("cached"):
            self.status.setText(f"Images read from the cache ({total} images).")
        elif total:
            self.status.setText(f"Reading and resizing the images once ({done}/{total}); "
                                "later runs on this dataset and size reuse them…")

    def _on_stage_event(self, event: dict) -> None:
        rate = event.get("learning_rate")
        rate_text = f", learning rate {rate:g}" if isinstance(rate, (int, float)) else ""
        title = f"Stage {int(event.get('stage_index', 0)) + 1} “{event.get('stage')}”"
        self._append(f"{title}: trains {event.get('trainable')}{rate_text}")
        # Until its first batch reports (graph tracing takes a while), say what is happening.
        self.status.setText(f"{title} is starting: preparing the model for its first batch…")

    def _on_batch_event(self, event: dict) -> None:
        batches = max(1, int(event.get("batches") or 1))
        done = int(event.get("global_epoch", 1)) - 1 + int(event.get("batch", 0)) / batches
        self.progress.setValue(int(PROGRESS_STEPS * min(1.0, done / self._total_epochs)))
        metrics = event.get("metrics") or {}
        self.status.setText(
            f"Stage “{event.get('stage')}” · epoch {event.get('epoch')} "
            f"(overall {event.get('global_epoch')}/{self._total_epochs}) · batch "
            f"{event.get('batch')}/{batches} · loss {metrics.get('loss', float('nan')):.3f} · "
            f"accuracy {metrics.get('accuracy', float('nan')):.3f}")
        self.eta.setText(f"Time left: {format_duration(event.get('eta_s'))}")

    def _on_epoch_event(self, event: dict) -> None:
        m = event.get("metrics") or {}
        parts = [f"{k} {m[k]:.4f}" for k in ("loss", "accuracy", "val_loss", "val_accuracy")
                 if isinstance(m.get(k), (int, float))]
        self._append(f"Epoch {event.get('global_epoch')}/{self._total_epochs} "
                     f"({event.get('stage')} {event.get('epoch')}): " + ", ".join(parts))
        self.progress.setValue(int(PROGRESS_STEPS * min(1.0, int(event.get("global_epoch", 0)) / self._total_epochs)))
        self.eta.setText(f"Time left: {format_duration(event.get('eta_s'))}")

    def _on_evaluate_event(self, event: dict) -> None:
        done, total = event.get("done"), event.get("total")
        text = f"Evaluating the best model on the test split ({done}/{total} images)…" if total else \
            "Evaluating the best model on the test split…"
        self.status.setText(text)

    def _append(self, line: str) -> None:
        self.log.appendPlainText(f"[{time.strftime('%H:%M:%S')}] {line}")

    # -- endings -----------------------------------------------------------------------
    def _on_finished(self, result) -> None:
        self._set_running(False, resumable=False)
        self.progress.setValue(PROGRESS_STEPS)
        elapsed = format_duration(time.monotonic() - self._started_at)
        self.status.setText(f"Finished in {elapsed}. The results page shows the evaluation.")
        self.eta.clear()
        self._append(getattr(result, "message", "") or "Finished.")
        set_role(self.message, "success")
        self.message.setText(f"Model saved: {getattr(result, 'bundle_path', '')}")
        self.curves.redraw()
        self.run_finished.emit(result)

    def _on_cancelled(self, result) -> None:
        self._set_running(False, resumable=True)
        self.status.setText("Cancelled. The last checkpoint is kept: press Resume to continue.")
        self.eta.clear()
        self._append(getattr(result, "message", "") or "Cancelled.")
        self.curves.redraw()
        self.run_cancelled.emit(result)

    def _on_failed(self, exc) -> None:
        resumable = bool(self.run_dir and (Path(self.run_dir) / "checkpoints").is_dir())
        self._set_running(False, resumable=resumable)
        self.status.setText("Training stopped with an error.")
        self.eta.clear()
        set_role(self.message, "error")
        self.message.setText(str(exc) or type(exc).__name__)
        self._append(f"Error: {type(exc).__name__}: {exc}")
        self.run_failed.emit(str(exc))
