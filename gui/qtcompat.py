"""Work around a reference-count bug in PySide6's `SignalInstance.emit` (seen in 6.12.0).

There, `emit()` returns `True` without a new reference; Python drops the unused result,
so every emit from Python takes one reference off `True`. On Python 3.11 (where `True` is
not immortal) the process aborts after a few tens of thousands of emits with "Fatal Python
error: bool_dealloc" - minutes into a training run, or after scrolling a few thousand
thumbnails. The check below measures whether this PySide6 has the bug and, only then,
wraps `emit` to hand back the missing reference. PySide6 6.11.3 does not have it.
"""
from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal, SignalInstance

_PROBES = 8


class _Probe(QObject):
    ping = Signal()


def emit_loses_references() -> int:
    """How many references to True/False one emit loses (0 on a healthy PySide6)."""
    probe = _Probe()
    before = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(_PROBES):
        probe.ping.emit()
    lost_true = before[0] - sys.getrefcount(True)
    lost_false = before[1] - sys.getrefcount(False)
    for value, lost in ((True, lost_true), (False, lost_false)):
        for _ in range(max(0, lost)):  # give back what the probe itself took
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(value))
    return max(lost_true, lost_false) // _PROBES


def install() -> bool:
    """Patch `SignalInstance.emit` if this PySide6 needs it; True when patched."""
    if getattr(SignalInstance.emit, "_histoclass_patched", False):
        return True
    if emit_loses_references() <= 0:
        return False
    original = SignalInstance.emit
    incref = ctypes.pythonapi.Py_IncRef

    def emit(self, *args):
        result = original(self, *args)
        if result is True or result is False:
            incref(ctypes.py_object(result))
        return result

    emit._histoclass_patched = True
    SignalInstance.emit = emit
    return True


PATCHED = install()
