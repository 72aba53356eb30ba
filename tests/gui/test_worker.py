"""The worker runs core-style jobs on a thread and relays progress, items, errors and cancel."""
from __future__ import annotations

import threading
import time

import pytest

from core.errors import DatasetError
from gui.worker import FunctionWorker, GeneratorWorker, TaskSlot


def counting_job(n, *, on_progress, stop):
    done = 0
    for i in range(n):
        if stop.is_set():
            break
        time.sleep(0.01)
        done += 1
        on_progress({"event": "epoch", "done": done})
    return done


def test_function_worker_emits_progress_and_result(qtbot):
    worker = FunctionWorker(counting_job, 5)
    events = []
    worker.signals.progress.connect(events.append)
    with qtbot.waitSignal(worker.signals.finished, timeout=5000) as blocker:
        worker.start()
    assert blocker.args == [5]
    qtbot.waitUntil(lambda: len(events) == 5)  # low-frequency events are never throttled
    assert [e["done"] for e in events] == [1, 2, 3, 4, 5]


def test_high_frequency_progress_is_throttled(qtbot):
    def chatty(*, on_progress, stop):
        for i in range(2000):
            on_progress({"event": "batch", "i": i})
        return "ok"

    worker = FunctionWorker(chatty, throttle_s=0.05)
    events = []
    worker.signals.progress.connect(events.append)
    with qtbot.waitSignal(worker.signals.finished, timeout=5000):
        worker.start()
    assert 1 <= len(events) < 100


def test_errors_cross_the_thread_as_objects(qtbot):
    def broken(*, on_progress, stop):
        raise DatasetError("The folder /nowhere does not exist.")

    worker = FunctionWorker(broken)
    with qtbot.waitSignal(worker.signals.failed, timeout=5000) as blocker:
        worker.start()
    (exc,) = blocker.args
    assert isinstance(exc, DatasetError) and "/nowhere" in str(exc)


def test_cancel_reaches_the_job_and_emits_cancelled(qtbot):
    gate = threading.Event()

    def waits(*, on_progress, stop):
        gate.set()
        while not stop.is_set():
            time.sleep(0.005)
        return "partial"

    worker = FunctionWorker(waits)
    with qtbot.waitSignal(worker.signals.cancelled, timeout=5000) as blocker:
        worker.start()
        assert gate.wait(5)
        worker.cancel()
    assert blocker.args == ["partial"]


def test_generator_worker_emits_items_and_stops_between_them(qtbot):
    def numbers(n):
        for i in range(n):
            time.sleep(0.01)
            yield i

    worker = GeneratorWorker(numbers, 1000)
    items = []
    worker.signals.item.connect(items.append)
    worker.signals.item.connect(lambda v: worker.cancel() if v == 3 else None)
    with qtbot.waitSignal(worker.signals.cancelled, timeout=5000) as blocker:
        worker.start()
    assert blocker.args[0][:4] == [0, 1, 2, 3]
    assert len(blocker.args[0]) < 1000


def test_task_slot_cancels_the_previous_task_which_then_says_nothing(qtbot):
    slot = TaskSlot()
    first = FunctionWorker(counting_job, 10_000)
    second = FunctionWorker(counting_job, 2)
    results, heard = [], []
    second.signals.finished.connect(results.append)
    for name in ("progress", "finished", "failed", "cancelled"):
        getattr(first.signals, name).connect(lambda *_a, name=name: heard.append(name))
    slot.start(first)
    qtbot.waitUntil(lambda: "progress" in heard, timeout=5000)
    heard.clear()  # its progress events already queued are dropped too
    with qtbot.waitSignal(first.signals.released, timeout=5000):
        slot.start(second)
    qtbot.waitUntil(lambda: results == [2], timeout=5000)
    assert first.is_cancelled and not second.is_cancelled and heard == []


def test_a_replaced_job_that_fails_does_not_report_its_error(qtbot):
    """A slow read replaced by a newer one: its late error must not overwrite the newer result."""
    release = threading.Event()

    def slow_failure():
        release.wait(5)
        raise ValueError("stale")

    slot = TaskSlot()
    first, second = FunctionWorker(slow_failure, needs_tensorflow=False), FunctionWorker(counting_job, 1)
    seen = []
    first.signals.failed.connect(lambda exc: seen.append(("failed", str(exc))))
    first.signals.cancelled.connect(lambda value: seen.append(("cancelled", value)))
    slot.start(first)
    slot.start(second)
    with qtbot.waitSignal(first.signals.released, timeout=5000):
        release.set()
    assert seen == []
    # An explicit Cancel still lets a real error through.
    third = FunctionWorker(slow_failure, needs_tensorflow=False)
    errors = []
    third.signals.failed.connect(errors.append)
    release.clear()
    slot.start(third)
    slot.cancel()
    with qtbot.waitSignal(third.signals.released, timeout=5000):
        release.set()
    assert [str(e) for e in errors] == ["stale"]


@pytest.mark.parametrize("kind", ["manifest", "model"])
def test_workspace_survives_a_restart(qtbot, settings, kind, tmp_path):
    from gui.state import AppState

    state = AppState(settings)
    setter = getattr(state, f"set_{kind}_path")
    signal = getattr(state, f"{kind}_changed")
    with qtbot.waitSignal(signal) as blocker:
        setter(tmp_path / "x.json")
    assert blocker.args == [str(tmp_path / "x.json")]
    settings.sync()
    again = AppState(settings)
    assert getattr(again, f"{kind}_path") == str(tmp_path / "x.json")
    assert again.recent(kind) == [str(tmp_path / "x.json")]


def test_tensorflow_jobs_wait_for_the_start_up_import_and_others_do_not(qtbot):
    from gui.worker import tensorflow_import_finished, tensorflow_import_started

    ran = []
    tensorflow_import_started()
    try:
        heavy = FunctionWorker(lambda: ran.append("heavy"))
        light = FunctionWorker(lambda: ran.append("light"), needs_tensorflow=False)
        with qtbot.waitSignal(light.signals.finished, timeout=5000):
            heavy.start()
            light.start()
        time.sleep(0.1)
        assert ran == ["light"]  # the TensorFlow job is still waiting for the import
    finally:
        tensorflow_import_finished()
    qtbot.waitUntil(lambda: ran == ["light", "heavy"], timeout=5000)


def test_a_job_cancelled_while_it_waits_for_the_import_never_runs(qtbot):
    from gui.worker import tensorflow_import_finished, tensorflow_import_started

    ran = []
    tensorflow_import_started()
    try:
        waiting = FunctionWorker(lambda: ran.append("ran"))
        with qtbot.waitSignal(waiting.signals.cancelled, timeout=5000):
            waiting.start()
            time.sleep(0.05)
            waiting.cancel()
    finally:
        tensorflow_import_finished()
    assert waiting.is_done and ran == []


def test_many_long_jobs_do_not_queue_a_short_one(qtbot):
    gate = threading.Event()
    blockers = [FunctionWorker(lambda: gate.wait(10), needs_tensorflow=False) for _ in range(4)]
    quick = FunctionWorker(lambda: "quick", needs_tensorflow=False)
    try:
        for worker in blockers:
            worker.start()
        with qtbot.waitSignal(quick.signals.finished, timeout=3000) as blocker:
            quick.start()
        assert blocker.args == ["quick"]
    finally:
        gate.set()


def test_a_worker_nobody_keeps_still_delivers_its_result(qtbot):
    import gc

    results = []

    def fire_and_forget():
        worker = FunctionWorker(lambda: time.sleep(0.05) or "done", needs_tensorflow=False)
        worker.signals.finished.connect(results.append)
        worker.start()

    fire_and_forget()
    time.sleep(0.2)  # the job ends before the GUI thread gets to its queued signals
    gc.collect()
    qtbot.waitUntil(lambda: results == ["done"], timeout=3000)


def test_a_slot_of_the_last_signal_sees_the_worker_done(qtbot):
    from PySide6.QtCore import Qt

    slot = TaskSlot()
    seen = []
    worker = FunctionWorker(lambda: "ok", needs_tensorflow=False)
    # A direct connection runs at the moment of emission, so it sees the order exactly.
    worker.signals.finished.connect(lambda _value: seen.append(slot.busy), Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(worker.signals.finished, timeout=3000):
        slot.start(worker)
    assert seen == [False]
