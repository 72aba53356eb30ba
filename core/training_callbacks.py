"""Keras callbacks of one training stage: stop flag, progress with ETA, and the end of each epoch.

The stop flag is checked after every batch and ends the stage the way Keras' own
`TerminateOnNaN` does, by setting `model.stop_training`; Keras then leaves the batch loop.
Validation is run here, at the end of an epoch, rather than by `fit`, so that a cancelled
epoch is not followed by a full validation pass: a cancel lands within one batch.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import keras

from core.jobs import ProgressCallback, StopFlag, report, should_stop
from core.run_folder import RunFolder, RunState


class StopOnFlag(keras.callbacks.Callback):
    """Ends training after the current batch once the flag is set."""

    def __init__(self, stop: StopFlag | None):
        super().__init__()
        self.stop = stop
        self.stopped = False

    def on_train_batch_end(self, batch, logs=None):
        if should_stop(self.stop):
            self.stopped = True
            self.model.stop_training = True


@dataclass
class Clock:
    """Estimates the time left from measured batch and validation times."""

    batch_s: float | None = None
    val_s: float = 0.0
    _last: float | None = None

    def tick(self, first_of_epoch: bool) -> None:
        now = time.perf_counter()
        if self._last is not None and not first_of_epoch:
            spent = now - self._last
            self.batch_s = spent if self.batch_s is None else 0.9 * self.batch_s + 0.1 * spent
        self._last = now

    def restart(self) -> None:
        self._last = time.perf_counter()

    def eta(self, batches_left: int, later_epochs: int, batches: int) -> float | None:
        if self.batch_s is None:
            return None
        return batches_left * self.batch_s + later_epochs * (batches * self.batch_s + self.val_s)


@dataclass
class StageRun:
    """What the callbacks of one stage share with the trainer."""

    stage: Any  # core.config.Stage
    stage_index: int
    batches: int
    later_epochs: Callable[[int], int]  # epochs after epoch N (1-based) of this stage, all stages
    folder: RunFolder
    state: RunState
    history: list[dict[str, Any]]
    val_data: Any  # tf.data or None
    monitor: str
    patience: int | None  # None: no early stopping
    on_progress: ProgressCallback | None
    stop: StopOnFlag
    clock: Clock = field(default_factory=Clock)
    best_weights: list | None = None


class ProgressReporter(keras.callbacks.Callback):
    def __init__(self, run: StageRun):
        super().__init__()
        self.run = run
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        self.run.clock.restart()

    def on_train_batch_end(self, batch, logs=None):
        run = self.run
        run.clock.tick(first_of_epoch=batch == 0)
        logs = logs or {}
        report(
            run.on_progress, event="batch", stage=run.stage.name, stage_index=run.stage_index,
            epoch=self.epoch, global_epoch=run.state.global_epochs + 1, batch=batch + 1,
            batches=run.batches,
            metrics={k: _num(logs.get(k)) for k in ("loss", "accuracy")},
            eta_s=run.clock.eta(run.batches - batch - 1, run.later_epochs(self.epoch), run.batches),
        )


class EpochKeeper(keras.callbacks.Callback):
    """Validation, history row, best model, early stopping and the checkpoint, after each epoch."""

    def __init__(self, run: StageRun):
        super().__init__()
        self.run = run
        self.started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        run = self.run
        if run.stop.stopped:
            return  # unfinished epoch: the trainer saves a cancel checkpoint instead
        logs = dict(logs or {})
        logs.update(self._validate())
        state = run.state
        state.epochs_done = epoch + 1
        state.global_epochs += 1
        seconds = time.perf_counter() - self.started
        state.seconds += seconds
        row = self._history_row(epoch + 1, logs, seconds)
        run.history[state.global_epochs - 1:] = [row]
        improved = self._track_best(row)
        if state.epochs_done >= run.stage.epochs:
            state.stage_finished = True
        run.folder.save_checkpoint(self.model, state, run.history, best=improved)
        report(
            run.on_progress, event="epoch", stage=run.stage.name, stage_index=run.stage_index,
            epoch=epoch + 1, global_epoch=state.global_epochs,
            metrics={k: row[k] for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
            eta_s=run.clock.eta(0, run.later_epochs(epoch + 1), run.batches),
            best_epoch=state.best_epoch, early_stop=state.stage_finished and state.epochs_done < run.stage.epochs,
        )

    def _validate(self) -> dict[str, float]:
        if self.run.val_data is None:
            return {}
        began = time.perf_counter()
        scores = self.model.evaluate(self.run.val_data, verbose=0, return_dict=True)
        self.run.clock.val_s = time.perf_counter() - began
        return {f"val_{k}": v for k, v in scores.items() if k in ("loss", "accuracy")}

    def _history_row(self, epoch: int, logs: dict, seconds: float) -> dict[str, Any]:
        run = self.run
        return {
            "global_epoch": run.state.global_epochs, "stage": run.stage.name, "stage_index": run.stage_index,
            "epoch": epoch, "loss": _num(logs.get("loss")), "accuracy": _num(logs.get("accuracy")),
            "val_loss": _num(logs.get("val_loss")), "val_accuracy": _num(logs.get("val_accuracy")),
            "learning_rate": _current_lr(self.model), "seconds": round(seconds, 3),
        }

    def _track_best(self, row: dict[str, Any]) -> bool:
        """Update the best epoch and early stopping; True when this epoch is the new best."""
        run, state = self.run, self.run.state
        value = row.get(run.monitor)
        if value is None or not math.isfinite(value):
            return False
        better = state.best_value is None or (
            value < state.best_value if run.monitor.endswith("loss") else value > state.best_value
        )
        if better:
            state.best_value, state.best_epoch, state.wait = float(value), state.global_epochs, 0
            run.best_weights = self.model.get_weights()
            return True
        state.wait += 1
        if run.patience is not None and state.wait >= run.patience:
            state.stage_finished = True
            self.model.stop_training = True
        return False


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _current_lr(model) -> float | None:
    try:
        optimizer = model.optimizer
        rate = optimizer.learning_rate
        return float(rate.numpy() if hasattr(rate, "numpy") else rate)
    except (AttributeError, TypeError, ValueError):
        return None
