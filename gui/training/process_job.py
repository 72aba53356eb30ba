"""Run a core job in a child process, relaying its progress events, stop flag and result.

Why a process and not just a thread: TensorFlow holds Python's GIL for up to a second at a
time while it traces and optimises a training step or saves a model, which would freeze the
window even though training runs on a worker thread. In a child process it cannot. The
parent side is an ordinary core-style job (`on_progress`, `stop`), so the GUI's
FunctionWorker runs it on a thread like any other job.

The child is started with "spawn" (never fork: TensorFlow's and Qt's threads do not survive
a fork). A frozen app must call `multiprocessing.freeze_support()` first thing in its entry
point for spawn to work.
"""
from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import queue
from typing import Any

from core.errors import HistoClassError
from core.jobs import ProgressCallback, StopFlag, should_stop

POLL_S = 0.05
CHILD_NICENESS = 10


class JobProcessError(HistoClassError):
    """The child process died without a result (killed, out of memory, crashed)."""


def _resolve(target: str):
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - anything that does not survive the trip is re-typed
        return HistoClassError(f"{type(exc).__name__}: {exc}")


def _lower_priority() -> None:
    """Training is background work: the window (and the rest of the desktop) must win the CPU."""
    try:
        os.nice(CHILD_NICENESS)
    except (AttributeError, OSError):  # no os.nice on Windows; not allowed: run as is
        pass


def _child(target: str, args: tuple, kwargs: dict, events, stop_event) -> None:
    """Entry point of the child process."""
    _lower_priority()
    try:
        fn = _resolve(target)
        result = fn(*args, on_progress=lambda event: events.put(("progress", event)), stop=stop_event, **kwargs)
        events.put(("result", result))
    except BaseException as exc:  # noqa: BLE001 - the parent re-raises it
        events.put(("error", _picklable(exc)))


def run_in_process(target: str, *args: Any, on_progress: ProgressCallback | None = None,
                   stop: StopFlag | None = None, **kwargs: Any) -> Any:
    """Call `module:function` (a core-style job) in a spawned process and return its result.

    Progress events are passed to `on_progress` in this thread; setting `stop` sets the
    child's stop flag (the job then ends the way it ends when stopped in-process); the
    child's exception is raised here.
    """
    ctx = multiprocessing.get_context("spawn")
    events = ctx.Queue()
    stop_event = ctx.Event()
    process = ctx.Process(target=_child, args=(target, args, kwargs, events, stop_event), daemon=True)
    process.start()
    try:
        return _relay(process, events, stop_event, on_progress, stop)
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)


def _relay(process, events, stop_event, on_progress, stop) -> Any:
    while True:
        if should_stop(stop):
            stop_event.set()
        try:
            kind, payload = events.get(timeout=POLL_S)
        except queue.Empty:
            if process.is_alive():
                continue
            try:  # the last message may have arrived just as the process ended
                kind, payload = events.get(timeout=1.0)
            except queue.Empty:
                raise JobProcessError(
                    f"The training process stopped unexpectedly (exit code {process.exitcode}). "
                    "It may have run out of memory: try a smaller batch or input size, then Resume."
                ) from None
        if kind == "progress":
            if on_progress is not None:
                on_progress(payload)
        elif kind == "result":
            return payload
        elif kind == "error":
            raise payload


def train_from_files(config, manifest_path: str, run_dir: str, *, resume: bool = False,
                     on_progress: ProgressCallback | None = None, stop: StopFlag | None = None):
    """Load the manifest and run `core.train.train` (in the child: TensorFlow is imported there)."""
    from core.manifest import load_manifest
    from core.train import train

    manifest = load_manifest(manifest_path)
    return train(config, manifest, run_dir, on_progress=on_progress, stop=stop, resume=resume)


def train_job(config, manifest_path: str, run_dir: str, *, resume: bool = False,
              on_progress: ProgressCallback | None = None, stop: StopFlag | None = None):
    """The wizard's training job: `train_from_files` in a child process."""
    return run_in_process(f"{__name__}:train_from_files", config, manifest_path, str(run_dir), resume=resume,
                          on_progress=on_progress, stop=stop)
