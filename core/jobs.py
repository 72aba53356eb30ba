"""The contract every long job follows: plain data in, a progress callback, a stop flag.

`stop` is anything with `is_set()` (a `threading.Event` is the usual one). `on_progress`
receives plain dicts. Neither knows about Qt: the GUI worker adapts them to signals.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

ProgressCallback = Callable[[dict[str, Any]], None]


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


def report(on_progress: ProgressCallback | None, **event: Any) -> None:
    """Send one progress event if anyone listens."""
    if on_progress is not None:
        on_progress(event)


def should_stop(stop: StopFlag | None) -> bool:
    return stop is not None and stop.is_set()
