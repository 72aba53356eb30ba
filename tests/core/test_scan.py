"""Scanning: the three layouts, bad files, junk, duplicates, progress and stop."""
from __future__ import annotations

import os
import shutil
import threading

import numpy as np
import pytest
from PIL import Image

from core.errors import DatasetError
from core.scan import (
    BREAKHIS_CLASSES,
    detect_layout,
    parse_breakhis_name,
    preview_pattern,
    scan,
)
from tests.core.datagen import make_breakhis, make_folders, make_idc, write_png

IDC_PATTERN = r"(?P<patient>\d+)/(?P<label>[01])/.*\.png"


def test_parse_breakhis_name():
    info = parse_breakhis_name("SOB_B_TA-14-4659-40-001.png")
    assert info["label"] == "tubular_adenoma" and info["group"] == "benign"
    assert info["patient"] == "14-4659" and info["magnification"] == "40X"
    letters = parse_breakhis_name("some/dir/SOB_M_DC-14-22549AB-400-012.PNG")
    assert letters["patient"] == "14-22549AB" and letters["label"] == "ductal_carcinoma"
    assert letters["group"] == "malignant" and letters["magnification"] == "400X"
    assert parse_breakhis_name("SOB_B_PT-14-21998AB-100-005.png")["label"] == "phyllodes_tumor"
    for bad in ("SOB_B_XX-14-4659-40-001.png", "tile_01.png", "SOB_B_TA-14-4659-40-001.txt"):
        assert parse_breakhis_name(bad) is None


def test_breakhis_classes_are_the_eight_tumour_types():
    assert len(BREAKHIS_CLASSES) == 8 and "ductal_carcinoma" in BREAKHIS_CLASSES


def test_breakhis_layout(tmp_path):
    make_breakhis(tmp_path, [("TA", "14-4659", 40, 2), ("DC", "14-13412", 100, 2),
                             ("LC", "14-13412", 200, 1), ("A", "14-22549AB", 400, 1)])
    catalog = scan(tmp_path)
    assert catalog.layout == "breakhis" and len(catalog.samples) == 6 and not catalog.skipped
    summary = catalog.summary()
    assert summary["classes"] == {"adenosis": 1, "ductal_carcinoma": 2,
                                  "lobular_carcinoma": 1, "tubular_adenoma": 2}
    assert summary["patients"]["ductal_carcinoma"] == 1 and summary["patients_total"] == 3
    assert summary["magnifications"] == {"40X": 2, "100X": 2, "200X": 1, "400X": 1}
    assert {s.group for s in catalog.samples} == {"benign", "malignant"}
    assert catalog.table()["tubular_adenoma"] == {"40X": 2, "100X": 0, "200X": 0, "400X": 0}


def test_folders_layout_reads_tiff_and_has_no_patients(tmp_path):
    make_folders(tmp_path, {"01_TUMOR": 2, "02_STROMA": 3}, suffix=".tif")
    catalog = scan(tmp_path)
    assert catalog.layout == "folders" and catalog.classes == ["01_TUMOR", "02_STROMA"]
    assert all(s.patient is None for s in catalog.samples)
    assert catalog.summary()["patients"] == {"01_TUMOR": None, "02_STROMA": None}


def test_pattern_layout_and_idc_detection(tmp_path):
    make_idc(tmp_path, {"8959": {"0": 2, "1": 1}, "9345": {"0": 1, "1": 2}, "10290": {"0": 1}})
    with pytest.raises(DatasetError, match="--layout pattern"):
        scan(tmp_path)  # three patients holding the same 0/1 folders are not classes
    catalog = scan(tmp_path, layout="pattern", pattern=IDC_PATTERN)
    assert catalog.summary()["classes"] == {"0": 4, "1": 3}
    assert catalog.patients_by_class() == {"0": 3, "1": 2}


def test_pattern_errors(tmp_path):
    write_png(tmp_path / "a" / "x.png")
    with pytest.raises(DatasetError, match="label"):
        scan(tmp_path, layout="pattern", pattern=r"(?P<patient>\w+)/.*")
    with pytest.raises(DatasetError, match="not a valid"):
        scan(tmp_path, layout="pattern", pattern=r"(?P<label>[")
    with pytest.raises(DatasetError, match="needs a regular expression"):
        scan(tmp_path, layout="pattern")


def test_preview_pattern():
    rows = preview_pattern(r"(?P<patient>\d+)/(?P<label>[01])/(?P<magnification>\d+)x_.*\.png",
                           ["12/1/40x_a.png", "12/2/40x_b.png", "other.png"])
    assert rows[0] == {"label": "1", "patient": "12", "magnification": "40X", "group": None}
    assert rows[1] is None and rows[2] is None


def test_missing_empty_and_flat_folders(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        scan(tmp_path / "nope")
    with pytest.raises(DatasetError, match="No images"):
        scan(tmp_path)
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(DatasetError, match="No images"):
        scan(tmp_path)
    write_png(tmp_path / "loose.png")
    with pytest.raises(DatasetError, match="class folders"):
        detect_layout(tmp_path)


def test_bad_files_are_skipped_with_reasons_and_junk_is_silent(tmp_path):
    make_folders(tmp_path, {"a": 2, "b": 2})
    good = (tmp_path / "a" / "tile_000.png").read_bytes()
    (tmp_path / "a" / "zero.png").write_bytes(b"")
    (tmp_path / "a" / "cut.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "b" / "junk.jpg").write_bytes(os.urandom(500))
    (tmp_path / "b" / "notes.txt").write_text("not an image")
    (tmp_path / "b" / "copy.png").write_bytes(good)
    os.symlink(tmp_path / "nowhere.png", tmp_path / "b" / "dangling.png")
    Image.fromarray(np.full((4, 4), 40000, np.uint16)).save(tmp_path / "a" / "deep.png")
    Image.new("L", (4, 4), 9).save(tmp_path / "a" / "grey.png")
    Image.new("RGBA", (4, 4), (1, 2, 3, 0)).save(tmp_path / "b" / "alpha.png")
    Image.new("P", (4, 4), 3).save(tmp_path / "b" / "palette.png")
    for junk in (".DS_Store", "Thumbs.db", ".hidden.png", "._tile_000.png"):
        (tmp_path / "a" / junk).write_bytes(b"\x00junk")
    (tmp_path / ".cache").mkdir()
    write_png(tmp_path / ".cache" / "x.png")
    catalog = scan(tmp_path)
    reasons = {s.path: s.reason for s in catalog.skipped}
    assert set(reasons) == {"a/zero.png", "a/cut.png", "b/junk.jpg", "b/notes.txt",
                            "b/copy.png", "b/dangling.png"}
    assert "empty" in reasons["a/zero.png"] and "truncated" in reasons["a/cut.png"]
    assert "not an image" in reasons["b/notes.txt"] and "cannot read" in reasons["b/dangling.png"]
    assert reasons["b/copy.png"] == "exact duplicate of a/tile_000.png"
    kept = {s.path for s in catalog.samples}
    assert {"a/deep.png", "a/grey.png", "b/alpha.png", "b/palette.png"} <= kept
    assert len(kept) == 8


def test_progress_events_and_parallel_matches_serial(tmp_path):
    make_folders(tmp_path, {"a": 40, "b": 30})
    shutil.copy(tmp_path / "a" / "tile_000.png", tmp_path / "b" / "dup.png")
    events = []
    serial = scan(tmp_path, on_progress=events.append, workers=1)
    parallel = scan(tmp_path, workers=2)
    assert serial.samples == parallel.samples and serial.skipped == parallel.skipped
    assert events[-1] == {"event": "scan", "done": 71, "total": 71, "path": events[-1]["path"]}
    assert [e["done"] for e in events] == sorted(e["done"] for e in events)


def test_parallel_scan_from_a_worker_thread(tmp_path):
    make_folders(tmp_path, {"a": 20, "b": 20})
    result = {}
    worker = threading.Thread(target=lambda: result.update(c=scan(tmp_path, workers=2)))
    worker.start()
    worker.join(60)
    assert len(result["c"].samples) == 40


@pytest.mark.parametrize("workers", [1, 2])
def test_stop_flag_returns_a_partial_cancelled_catalog(tmp_path, workers):
    make_folders(tmp_path, {"a": 60, "b": 60})
    stop = threading.Event()

    def on_progress(event):
        if event["done"] >= 16:
            stop.set()

    catalog = scan(tmp_path, on_progress=on_progress, stop=stop, workers=workers)
    assert catalog.cancelled
    assert 16 <= len(catalog.samples) < 120


def test_real_breakhis_sample(breakhis_sample):
    summary = scan(breakhis_sample).summary()
    assert summary["layout"] == "breakhis" and summary["images"] == 23
    assert len(summary["classes"]) == 8 and set(summary["classes"]) == set(BREAKHIS_CLASSES)
    assert set(summary["magnifications"]) == {"40X", "100X", "200X", "400X"}
    assert sum(summary["magnifications"].values()) == 23 and summary["skipped"] == []
    assert summary["patients"]["fibroadenoma"] == 3


def test_real_idc_with_a_pattern(idc_root):
    catalog = scan(idc_root, layout="pattern", pattern=r"(?P<patient>8959)/(?P<label>[01])/.*\.png")
    assert catalog.samples and {s.patient for s in catalog.samples} == {"8959"}
    assert set(catalog.classes) == {"0", "1"}
    assert all(s.reason == "path does not match the pattern" for s in catalog.skipped)


def test_real_kather_folders(kather_sample):
    catalog = scan(kather_sample, layout="folders")
    assert len(catalog.samples) == 24 and len(catalog.classes) == 8
