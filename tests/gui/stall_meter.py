"""Measure how long the GUI thread stalls, net of time the OS gave other processes."""
from __future__ import annotations

import gc
import time

from PySide6.QtCore import QTimer

MAX_STALL_S = 0.100  # the issues' limit for a GUI pause while heavy work runs


def _runqueue_wait_s() -> float | None:
    """Time this thread spent runnable but waiting for a CPU (Linux schedstat), else None."""
    try:
        with open("/proc/thread-self/schedstat") as fh:
            return int(fh.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


class StallMeter:
    """Ticks every 10 ms on the GUI thread and finds the longest stall between ticks.

    The test machine is shared: when other processes keep every core busy, the OS may not
    run the GUI thread for a while however idle the app is. On Linux that waiting-for-a-CPU
    time is known (schedstat) and subtracted, so `max_stall` measures what the app itself
    does: running slow code on the GUI thread or blocking it (e.g. on the GIL). The kernel
    books waiting time lazily, so stalls are measured over two consecutive gaps, less one
    normal tick. `max_gap` keeps the raw figure.
    """

    TICK_S = 0.010

    def __init__(self):
        self.timer = QTimer()
        self.timer.setInterval(int(self.TICK_S * 1000))
        self.timer.timeout.connect(lambda: self.samples.append((time.perf_counter(), _runqueue_wait_s())))
        self.samples = []
        self.events = []
        self.t0 = time.perf_counter()

    def start(self):
        self.samples = []
        self.slow_gc = []  # (seconds since start, generation, ms) of garbage collections over 20 ms
        self.t0 = time.perf_counter()
        gc.callbacks.append(self._on_gc)
        self.timer.start()

    def stop(self):
        self.timer.stop()
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase, info):
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif time.perf_counter() - self._gc_started > 0.02:
            self.slow_gc.append((round(self._gc_started - self.t0, 2), info["generation"],
                                 round((time.perf_counter() - self._gc_started) * 1000)))

    @property
    def max_gap(self) -> float:
        return max((b[0] - a[0] for a, b in zip(self.samples, self.samples[1:])), default=0.0)

    def stalls(self) -> list[tuple[float, float, float]]:
        """(seconds since start, raw time over two gaps, the app's own stall) per window."""
        out = []
        for a, b in zip(self.samples, self.samples[2:]):
            wall = b[0] - a[0]
            waited = b[1] - a[1] if a[1] is not None and b[1] is not None else 0.0
            out.append((round(a[0] - self.t0, 2), round(wall, 3), round(wall - waited - self.TICK_S, 3)))
        return out

    @property
    def max_stall(self) -> float:
        return max((s[2] for s in self.stalls()), default=0.0)
