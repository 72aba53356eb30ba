"""Training runs in a child process: progress, result, stop flag, errors and crashes cross over.

These jobs are tiny functions in this module (the child imports it by name); no TensorFlow.
"""
from __future__ import annotations

import os
import threading
import time

import pytest

from core.errors import ConfigError
from gui.training.process_job import JobProcessError, run_in_process

HERE = __name__


def counting(n, *, on_progress, stop):
    for i in range(n):
        on_progress({"event": "epoch", "i": i, "pid": os.getpid()})
    return {"done": n, "nice": os.nice(0) if hasattr(os, "nice") else None}


def until_stopped(*, on_progress, stop):
    on_progress({"event": "start"})
    deadline = time.monotonic() + 60
    while not stop.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)
    return "stopped" if stop.is_set() else "timed out"


def failing(*, on_progress, stop):
    raise ConfigError("configuration key 'stages': at least one stage is needed")


def dying(*, on_progress, stop):
    os._exit(3)


def test_progress_and_result_come_back_from_a_lower_priority_child():
    events = []
    result = run_in_process(f"{HERE}:counting", 3, on_progress=events.append)
    assert [e["i"] for e in events] == [0, 1, 2]
    assert events[0]["pid"] != os.getpid()
    assert result["done"] == 3
    if result["nice"] is not None:
        assert result["nice"] >= (os.nice(0) if hasattr(os, "nice") else 0) + 1


def test_stop_flag_reaches_the_child():
    stop = threading.Event()
    started = threading.Event()

    def on_progress(event):
        if event["event"] == "start":
            started.set()
            stop.set()

    assert run_in_process(f"{HERE}:until_stopped", on_progress=on_progress, stop=stop) == "stopped"
    assert started.is_set()


def test_the_childs_error_is_raised_here_with_its_type_and_message():
    with pytest.raises(ConfigError, match="at least one stage"):
        run_in_process(f"{HERE}:failing")


def test_a_child_that_dies_gives_a_clear_error():
    with pytest.raises(JobProcessError, match="exit code 3"):
        run_in_process(f"{HERE}:dying")
