"""One thin worker for every long job: run a core function on a thread, relay its callbacks.

A core job is a plain function `fn(..., on_progress=callback, stop=flag)` (see core/jobs.py).
`FunctionWorker` runs it on its own thread and turns the callback into a Qt signal;
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

from PySide6.QtCore import QObject, Signal

# Events that may arrive hundreds of times a second; others (stage, epoch...) always pass.
HIGH_FREQUENCY_EVENTS = frozenset({"batch", "scan", "decode", "predict", "thumbnail", "tile"})

_running: set["_Worker"] = set()  # every job still running, for shutdown

# Closed while the start-up import of TensorFlow runs (gui.app): two threads importing
# TensorFlow/Keras at once can deadlock in the import system and hand one of them a
# half-initialised module. Jobs that need TensorFlow wait here, on their own thread.
_tensorflow_idle = threading.Event()
_tensorflow_idle.set()


def tensorflow_import_started() -> None:
    _tensorflow_idle.clear()


def tensorflow_import_finished() -> None:
    _tensorflow_idle.set()


class WorkerSignals(QObject):
    """The signals views connect to. The job's thread never emits them itself: it sends
    `_from_job` (queued to the GUI thread), and each is emitted from there on delivery,
    unless a newer job replaced this one meanwhile (`superseded`): then only `released`."""

    started = Signal()
    progress = Signal(dict)
    item = Signal(object)
    finished = Signal(object)  # the job's return value (or the list of yielded items)
    failed = Signal(object)  # the exception object; its message is for the user
    cancelled = Signal(object)  # whatever the job returned after being stopped (may be None)
    released = Signal()  # internal: the last signal; its slot lets the worker be collected
    _from_job = Signal(str, object)  # (signal name, argument tuple), from the job's thread

    def __init__(self) -> None:
        super().__init__()
        self.superseded = False  # read and written on the GUI thread only
        self._from_job.connect(self._deliver)

    def _deliver(self, name: str, args: tuple) -> None:
        if self.superseded and name != "released":
            return  # already queued when the newer job started: nobody waits for it
        getattr(self, name).emit(*args)


class _Worker:
    """A job on its own Python thread.

    Plain Python threads rather than a QThreadPool: a pool holds as many threads as cores
    (two here), so a long job (training, a folder batch) and one more would queue every
    other view's work behind them; and TensorFlow's pybind11 layer remembers one Python
    thread state per OS thread, which PySide renews for each job on a reused pool thread,
    so a later TensorFlow call there deadlocked the app (seen: Grad-CAM after a predict).

    `needs_tensorflow=False` marks a job that never touches TensorFlow (scans, thumbnails,
    manifests), so it need not wait for the start-up import.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, throttle_s: float = 0.05,
                 needs_tensorflow: bool = True, **kwargs: Any):
        self.signals = WorkerSignals()
        self._needs_tensorflow = needs_tensorflow
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._stop = threading.Event()
        self._throttle_s = throttle_s
        self._last_emit = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="histoclass-worker", daemon=True)
        # Queued signals from a deleted sender are dropped, so the worker (which owns its
        # signals object) stays referenced until its last signal has reached the GUI thread,
        # even when the caller kept no reference ("fire and forget").
        self.signals.released.connect(self._release)

    # -- called from the GUI thread -------------------------------------------------------
    def start(self) -> "_Worker":
        _running.add(self)
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._stop.set()

    def supersede(self) -> None:
        """Cancel because a newer job of the same view replaced this one (TaskSlot.start).

        From now on it sends the view nothing (no progress, items, result, error or
        `cancelled`, even those already queued): its late news must not overwrite what its
        successor shows. Only `released` still comes, to let it be collected."""
        self.signals.superseded = True
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
        self._send("progress", dict(event))

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

    def _run(self) -> None:
        if self._needs_tensorflow:
            while not _tensorflow_idle.wait(0.1) and not self._stop.is_set():
                pass  # a job cancelled while it waits for the import never runs
        try:
            if self._stop.is_set():
                ending, value = "cancelled", None
            else:
                self._send("started")
                ending, value = self._outcome()
        finally:
            # Done before the last signal goes out: a slot reacting to it (enabling Start
            # again, say) must already see the job as finished, not still busy.
            self._done.set()
        self._send(ending, value)
        self._send("released")

    def _outcome(self) -> tuple[str, Any]:
        """(the name of the signal to send last, its argument)."""
        try:
            result = self._execute()
        except Exception as exc:  # noqa: BLE001 - errors cross threads as objects
            return "failed", exc
        return ("cancelled" if self._stop.is_set() else "finished"), result

    def _release(self) -> None:
        _running.discard(self)

    def _send(self, name: str, *args: Any) -> None:
        try:
            self.signals._from_job.emit(name, args)
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
            self._send("item", value)
            if self._stop.is_set():
                close = getattr(generator, "close", None)
                if close:
                    close()
                break
        return items


def shutdown_workers(timeout_s: float = 10.0) -> bool:
    """Cancel every running job and wait for it (at quit: no Python job may still run
    while the interpreter shuts down). True if all ended within the timeout."""
    jobs = list(_running)
    for worker in jobs:
        worker.cancel()
    deadline = time.monotonic() + timeout_s
    return all(worker.wait(max(0.0, deadline - time.monotonic())) for worker in jobs)


class TaskSlot:
    """One task per view: starting a new task cancels the one still running."""

    def __init__(self) -> None:
        self.current: _Worker | None = None

    def start(self, worker: _Worker) -> _Worker:
        if self.current is not None and not self.current.is_done:
            self.current.supersede()
        self.current = worker
        return worker.start()

    def cancel(self) -> None:
        if self.current is not None and not self.current.is_done:
            self.current.cancel()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the current task ends (shutdown and tests only)."""
        return self.current is None or self.current.wait(timeout_s)

    @property
    def busy(self) -> bool:
        return self.current is not None and not self.current.is_done
