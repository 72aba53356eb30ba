"""Scan a folder of histology images into a Catalog: one Sample per usable image.

Every candidate file is checked cheaply (header + integrity check, see core.images) on all
cores, and hashed so that exact duplicates are caught. Bad files are skipped with their
path and reason; hidden files and OS junk are ignored; nothing stops the scan but the
stop flag, which returns what was found so far with `cancelled=True`.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
import threading
from collections import Counter, defaultdict
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from core.errors import DatasetError
from core.images import probe_bytes, read_limited
from core.jobs import ProgressCallback, StopFlag, report, should_stop
from core.layouts import (  # noqa: F401 - part of this module's public API
    BREAKHIS_CLASSES,
    BREAKHIS_CODES,
    LAYOUTS,
    compile_pattern,
    describe,
    detect_from_paths,
    detect_layout,
    list_files,
    normalize_magnification,
    parse_breakhis_name,
    preview_pattern,
)

NO_MAGNIFICATION = "-"
# Below this many files one process is faster than starting a pool.
_PARALLEL_FROM = 1000


@dataclass(frozen=True)
class Sample:
    path: str  # posix, relative to root
    label: str
    patient: str | None
    magnification: str | None
    group: str | None  # benign / malignant


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass
class Catalog:
    root: Path
    layout: str
    samples: list[Sample]
    skipped: list[Skipped]
    cancelled: bool = False
    pattern: str | None = None

    @property
    def classes(self) -> list[str]:
        return sorted({s.label for s in self.samples})

    @property
    def has_patients(self) -> bool:
        return bool(self.samples) and all(s.patient is not None for s in self.samples)

    def patients_by_class(self) -> dict[str, int | None]:
        """Number of distinct patients per class; None for a class with no patient ids."""
        found: dict[str, set[str]] = defaultdict(set)
        unknown: set[str] = set()
        for s in self.samples:
            if s.patient is None:
                unknown.add(s.label)
            else:
                found[s.label].add(s.patient)
        return {c: (None if c in unknown else len(found[c])) for c in self.classes}

    def summary(self) -> dict:
        """The `histoclass scan --json` object."""
        mags = Counter(s.magnification for s in self.samples if s.magnification is not None)
        patients = {s.patient for s in self.samples if s.patient is not None}
        return {
            "root": str(self.root),
            "layout": self.layout,
            "images": len(self.samples),
            "classes": dict(sorted(Counter(s.label for s in self.samples).items())),
            "patients": self.patients_by_class(),
            "patients_total": len(patients) if self.has_patients else None,
            "magnifications": dict(sorted(mags.items(), key=lambda kv: _mag_key(kv[0]))),
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "cancelled": self.cancelled,
        }

    def table(self) -> dict[str, dict[str, int]]:
        """Images per class and magnification: {class: {magnification or "-": count}}."""
        columns = sorted({s.magnification or NO_MAGNIFICATION for s in self.samples}, key=_mag_key)
        counts = Counter((s.label, s.magnification or NO_MAGNIFICATION) for s in self.samples)
        return {c: {m: counts[(c, m)] for m in columns} for c in self.classes}


def _mag_key(mag: str) -> tuple[int, float, str]:
    digits = mag[:-1] if mag.endswith("X") else ""
    try:
        return (0, float(digits), mag)
    except ValueError:
        return (1, 0.0, mag)


def scan(
    root: str | os.PathLike,
    *,
    layout: str = "auto",
    pattern: str | None = None,
    on_progress: ProgressCallback | None = None,
    stop: StopFlag | None = None,
    workers: int | None = None,
) -> Catalog:
    """Find, label and check every image under root; see the module docstring.

    `workers`: processes checking files (default: one per core, for 1,000 files or more;
    1 checks every file in this process).
    """
    root = _check_root(root)
    if layout not in LAYOUTS:
        raise DatasetError(f"Unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    regex = compile_pattern(pattern) if layout == "pattern" else None
    images, others = list_files(root, stop)
    if not images and not should_stop(stop):
        raise DatasetError(f"No images (PNG, JPEG, TIFF, BMP) found in {root}")
    if layout == "auto" and images:
        layout = detect_from_paths(images, root)
    skipped = [Skipped(p, f"not an image file ({Path(p).suffix or 'no extension'})") for p in others]
    wanted: list[tuple[str, dict]] = []
    for rel in images:
        info, why = describe(rel, layout, regex)
        if info is None:
            skipped.append(Skipped(rel, why))
        else:
            wanted.append((rel, info))
    results = probe_files(root, [rel for rel, _ in wanted], on_progress=on_progress, stop=stop,
                          workers=workers)
    samples, bad = _collect(wanted, results)
    skipped = sorted(skipped + bad, key=lambda s: s.path)
    cancelled = should_stop(stop)
    return Catalog(root, layout, samples, skipped, cancelled, pattern if layout == "pattern" else None)


def _check_root(root: str | os.PathLike) -> Path:
    path = Path(root).expanduser()
    if not path.exists():
        raise DatasetError(f"Folder not found: {path}")
    if not path.is_dir():
        raise DatasetError(f"Not a folder: {path}. Choose the folder that holds the images.")
    return path.resolve()


def _collect(wanted: list[tuple[str, dict]], results: dict[str, tuple]) -> tuple[list[Sample], list[Skipped]]:
    """Samples in path order; bad files and later copies of an identical file are skipped."""
    samples: list[Sample] = []
    bad: list[Skipped] = []
    first_with: dict[str, str] = {}
    for rel, info in wanted:
        if rel not in results:
            continue  # cancelled before this file was checked
        ok, reason, digest = results[rel]
        if not ok:
            bad.append(Skipped(rel, reason))
        elif digest in first_with:
            bad.append(Skipped(rel, f"exact duplicate of {first_with[digest]}"))
        else:
            first_with[digest] = rel
            samples.append(Sample(rel, info["label"], info["patient"], info["magnification"], info["group"]))
    return samples, bad


def probe_file(path: str) -> tuple[bool, str | None, str | None]:
    """(usable, reason if not, content hash): one read serves both checks."""
    data, problem = read_limited(path)
    if problem is not None:
        return False, problem, None
    info = probe_bytes(data)
    digest = hashlib.sha1(data, usedforsecurity=False).hexdigest() if info.ok else None
    return info.ok, info.reason, digest


def _probe_chunk(paths: list[str]) -> list[tuple[bool, str | None, str | None]]:
    return [probe_file(p) for p in paths]


def probe_files(
    root: Path,
    relpaths: list[str],
    *,
    on_progress: ProgressCallback | None = None,
    stop: StopFlag | None = None,
    workers: int | None = None,
) -> dict[str, tuple]:
    """{relpath: (ok, reason, digest)} for every file checked before a stop."""
    total = len(relpaths)
    auto = workers is None
    workers = min(_cpu_count(), 8) if auto else max(1, workers)
    size = max(16, min(256, total // (workers * 8) or 16))
    chunks = [relpaths[i:i + size] for i in range(0, total, size)]
    results: dict[str, tuple] = {}
    report(on_progress, event="scan", done=0, total=total, path="")
    if workers < 2 or (auto and total < _PARALLEL_FROM):
        _probe_serial(root, chunks, results, total, on_progress, stop)
        return results
    executor = _executor(workers)
    try:
        _probe_parallel(executor, root, chunks, results, total, on_progress, stop)
    except Exception:  # a broken pool (killed worker, sandbox): finish in this process
        rest = [c for c in chunks if c[-1] not in results]
        _probe_serial(root, rest, results, total, on_progress, stop)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    return results


def _cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _executor(workers: int) -> Executor:
    """Processes where that is safe, else threads.

    Checking a file is mostly Python code, which threads cannot run in parallel, so
    processes are faster; but only "fork" starts them without re-running the caller's main
    module (a script without a main guard would run again in every worker), and forking
    is only safe from a process with a single thread. The GUI scans from a worker thread,
    macOS and Windows cannot fork safely, and a frozen app has no interpreter to spare:
    they get threads, which still overlap reading and hashing of large files.
    """
    if (
        sys.platform.startswith("linux")
        and not getattr(sys, "frozen", False)
        and threading.current_thread() is threading.main_thread()
        and threading.active_count() == 1
    ):
        try:
            return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        except (OSError, ValueError):
            pass
    return ThreadPoolExecutor(workers)


def _record(chunk, found, results, total, on_progress) -> None:
    results.update(zip(chunk, found))
    report(on_progress, event="scan", done=len(results), total=total, path=chunk[-1])


def _probe_serial(root, chunks, results, total, on_progress, stop) -> None:
    for chunk in chunks:
        if should_stop(stop):
            return
        _record(chunk, _probe_chunk([str(root / p) for p in chunk]), results, total, on_progress)


def _probe_parallel(executor, root, chunks, results, total, on_progress, stop) -> None:
    pending = {executor.submit(_probe_chunk, [str(root / p) for p in c]): c for c in chunks}
    while pending:
        done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        for future in done:
            _record(pending.pop(future), future.result(), results, total, on_progress)
        if should_stop(stop):
            return
