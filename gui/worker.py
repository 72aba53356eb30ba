"""One thin worker for every long job: run a core function on a thread, relay its callbacks.

A core job is a plain function `fn(..., on_progress=callback, stop=flag)` (see core/jobs.py).
`FunctionWorker` runs it on the global QThreadPool and turns the callback into a Qt signal;
`GeneratorWorker` does the same for a job that yields results one by one and checks for
cancel between items. Neither carries ML logic (modelled on superqt's `_qthreading.py`).

Signals live on a per-instance `WorkerSignals` object created in the GUI thread, so the
views' slots run in the GUI thread through queued connections.
"""
from __future__ import annotations

import inspect
import threading
import time
from typing import Any, Callable, Iterable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

# Events that may arrive hundreds of times a second; others (stage, epoch...) always pass.
HIGH_FREQUENCY_EVENTS = frozenset({"batch", "scan", "decode", "predict", "thumbnail", "tile"})

_running: set["_Worker"] = set()  # keeps Python wrappers alive while the pool runs them


class WorkerSignals(QObject):
    started = Signal()
    progress = Signal(dict)
    item = Signal(object)
    finished = Signal(object)  # the job's return value (or the list of yielded items)
    failed = Signal(object)  # the exception object; its message is for the user
    cancelled = Signal(object)  # whatever the job returned after being stopped (may be None)


class _Worker(QRunnable):
    def __init__(self, fn: Callable[..., Any], *args: Any, throttle_s: float = 0.05, **kwargs: Any):
        super().__init__()
        self.setAutoDelete(False)
        self.signals = WorkerSignals()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._stop = threading.Event()
        self._throttle_s = throttle_s
        self._last_emit = 0.0
        self._done = threading.Event()

    # -- called from the GUI thread -------------------------------------------------------
    def start(self, pool: QThreadPool | None = None) -> "_Worker":
        _running.add(self)
        (pool or QThreadPool.globalInstance()).start(self)
        return self

    def cancel(self) -> None:
        self._stop.set()

    @property
    def is_cancelled(self) -> bool:
        return self._stop.is_set()

    @property
    def is_done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the job ends (tests and shutdown only; never on a live GUI path)."""
        return self._done.wait(timeout_s)

    # -- called from the worker thread ----------------------------------------------------
    def _on_progress(self, event: dict) -> None:
        now = time.monotonic()
        if event.get("event") in HIGH_FREQUENCY_EVENTS and now - self._last_emit < self._throttle_s:
            return
        self._last_emit = now
        self.signals.progress.emit(dict(event))

    def _call_kwargs(self) -> dict[str, Any]:
        kwargs = dict(self._kwargs)
        try:
            params = inspect.signature(self._fn).parameters
        except (TypeError, ValueError):
            params = {}
        accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        for name, value in (("on_progress", self._on_progress), ("stop", self._stop)):
            if accepts_any or name in params:
                kwargs.setdefault(name, value)
        return kwargs

    def run(self) -> None:
        # The job runs on a thread Python created, with the pool thread waiting for it.
        # TensorFlow's pybind11 layer remembers a Python thread state per OS thread, while
        # PySide makes a new one for each job on a reused pool thread; a later TensorFlow
        # call on that thread then waits for the GIL under the stale state and the whole
        # app deadlocks (seen: Grad-CAM after a predict, on the same pool thread).
        thread = threading.Thread(target=self._run, name="histoclass-worker", daemon=True)
        thread.start()
        thread.join()

    def _run(self) -> None:
        try:
            self._emit(self.signals.started)
            try:
                result = self._execute()
            except Exception as exc:  # noqa: BLE001 - errors cross threads as objects
                self._emit(self.signals.failed, exc)
                return
            if self._stop.is_set():
                self._emit(self.signals.cancelled, result)
            else:
                self._emit(self.signals.finished, result)
        finally:
            self._done.set()
            _running.discard(self)

    @staticmethod
    def _emit(signal, *args: Any) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the app is quitting and the signals object is gone: nobody listens
            pass

    def _execute(self) -> Any:
        raise NotImplementedError


class FunctionWorker(_Worker):
    """Runs `fn(*args, on_progress=..., stop=..., **kwargs)` and emits its return value."""

    def _execute(self) -> Any:
        return self._fn(*self._args, **self._call_kwargs())


class GeneratorWorker(_Worker):
    """Runs a generator function, emits `item` per yielded value, stops between items."""

    def _execute(self) -> list[Any]:
        items: list[Any] = []
        generator: Iterable[Any] = self._fn(*self._args, **self._call_kwargs())
        for value in generator:
            items.append(value)
            self.signals.item.emit(value)
            if self._stop.is_set():
                close = getattr(generator, "close", None)
                if close:
                    close()
                break
        return items


def shutdown_workers(timeout_s: float = 10.0, pool: QThreadPool | None = None) -> bool:
    """Cancel every running job and wait for the pool (at quit: no Python may run on a pool
    thread while the interpreter shuts down). True if all ended within the timeout."""
    for worker in list(_running):
        worker.cancel()
    return (pool or QThreadPool.globalInstance()).waitForDone(int(timeout_s * 1000))


class TaskSlot:
    """One task per view: starting a new task cancels the one still running."""

    def __init__(self) -> None:
        self.current: _Worker | None = None

    def start(self, worker: _Worker, pool: QThreadPool | None = None) -> _Worker:
        self.cancel()
        self.current = worker
        return worker.start(pool)

    def cancel(self) -> None:
        if self.current is not None and not self.current.is_done:
            self.current.cancel()

    @property
    def busy(self) -> bool:
        return self.current is not None and not self.current.is_done
