"""The Dataset view end to end: real BreakHis sample and a generated tree with bad files.

Scan on the worker (the GUI keeps ticking), cancel, the counts table, thumbnails, the
split preview, and the manifest saved as the workspace's manifest.
"""
from __future__ import annotations

import re
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent

from gui.dataset.dataset_view import DatasetView
from gui.dataset.models import RAW, TOTAL

BREAKHIS_NAME = re.compile(r"SOB_[BM]_[A-Z]+-(?P<patient>\d+-[0-9A-Z]+)-(?P<mag>\d+)-\d+\.png")


def expected_breakhis(root: Path) -> dict[tuple[str, str], tuple[int, set]]:
    """(class, magnification or '*') -> (images, patients), from folder and file names."""
    found: dict[tuple[str, str], list] = defaultdict(lambda: [0, set()])
    for path in root.rglob("*.png"):
        label = path.parts[path.parts.index("SOB") + 1]  # .../SOB/<tumour type>/...
        match = BREAKHIS_NAME.fullmatch(path.name)
        for key in ((label, f"{match['mag']}X"), (label, "*"), (TOTAL, "*")):
            found[key][0] += 1
            found[key][1].add(match["patient"])
    return {k: (n, p) for k, (n, p) in found.items()}


@pytest.fixture
def view(qtbot, app_state):
    widget = DatasetView(app_state)
    qtbot.addWidget(widget)
    widget.resize(1200, 700)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()


def scan_and_wait(qtbot, view, folder, timeout=30000):
    view.open_folder(folder)
    qtbot.waitUntil(lambda: not view.scanning and view.catalog is not None, timeout=timeout)
    return view.catalog


def wait_for_split(qtbot, view):
    panel = view.results.split
    qtbot.waitUntil(lambda: not panel._task.busy and not panel._debounce.isActive()
                    and (panel.manifest is not None or panel.error.isVisibleTo(panel)), timeout=15000)
    return panel


def test_breakhis_sample_table_chart_and_thumbnails(qtbot, view, breakhis_sample):
    catalog = scan_and_wait(qtbot, view, breakhis_sample)
    expected = expected_breakhis(breakhis_sample)
    counts = view.results.counts
    assert catalog.layout == "breakhis" and view.layout_widget.detected.text() == "Found: BreakHis file names"
    assert counts.classes == sorted(k[0] for k in expected if k[1] == "*" and k[0] != TOTAL)
    assert counts.mags == ["40X", "100X", "200X", "400X"]
    for (label, mag), (images, patients) in expected.items():
        assert counts.counts(label, mag) == (images, len(patients)), (label, mag)
    total_row = counts.rowCount() - 1
    all_col = counts.headers.index("All images")
    assert counts.data(counts.index(total_row, all_col)) == f"{expected[(TOTAL, '*')][0]}  ({len(expected[(TOTAL, '*')][1])})"
    assert view.results.chart.counts == {c: expected[(c, "*")][0] for c in counts.classes}
    assert view.results.summary.text().startswith("23 images · 8 classes")
    assert view.results.tabText(2) == "Skipped (0)"

    gallery = view.results.gallery
    view.results.setCurrentWidget(gallery)
    assert gallery.proxy.rowCount() == 23
    qtbot.waitUntil(lambda: len(gallery.model.loader.cache) >= 5, timeout=15000)  # decoded on the worker
    thumb = next(iter(gallery.model.loader.cache.values()))
    size = thumb.deviceIndependentSize()
    assert round(max(size.width(), size.height())) == gallery.model.loader.size
    gallery.set_filter("label", "adenosis")
    assert gallery.proxy.rowCount() == expected[("adenosis", "*")][0]
    gallery.set_filter("magnification", "40X")
    assert gallery.proxy.rowCount() == expected[("adenosis", "40X")][0]
    assert gallery.count.text() == f"Showing {gallery.proxy.rowCount()} of 23 images"


def test_split_preview_and_manifest_saved_as_the_workspace_manifest(qtbot, view, app_state, breakhis_sample, tmp_path):
    from core.manifest import load_manifest

    scan_and_wait(qtbot, view, breakhis_sample)
    panel = wait_for_split(qtbot, view)
    model = panel.model
    assert model.splits == ["Train", "Validation", "Test"]
    assert sum(model.cell(TOTAL, s)[0] for s in model.splits) == 23
    sides = defaultdict(set)
    for sample in panel.manifest.samples:
        sides[sample.patient].add(sample.split)
    assert all(len(s) == 1 for s in sides.values())  # no patient in two splits
    # the sample has 1 ductal carcinoma patient: the preview must say that class cannot be tested
    assert model.cell("ductal_carcinoma", "Test")[0] == 0
    assert ("ductal_carcinoma", "Test") in model.flagged
    assert panel.warnings_area.isVisibleTo(panel) and "ductal_carcinoma" in panel.warnings.text()

    target = tmp_path / "sample-manifest.json"
    with qtbot.waitSignal(app_state.manifest_changed, timeout=5000):
        assert panel.save_to(str(target))
    saved = load_manifest(target)
    assert saved.hash == panel.manifest.hash and len(saved.samples) == 23
    assert app_state.manifest_path == str(target) and app_state.recent("manifest")[0] == str(target)
    assert panel.saved.isVisibleTo(panel) and str(target) in panel.saved.text()
    assert view.catalog is not None  # saving does not swap the scan for the saved file


def test_image_split_warns_and_k_folds_show_fold_columns(qtbot, view, breakhis_sample):
    scan_and_wait(qtbot, view, breakhis_sample)
    panel = wait_for_split(qtbot, view)
    settings = panel.settings
    assert not settings.image_warning.isVisibleTo(settings)
    settings.by_image.setChecked(True)
    assert settings.image_warning.isVisibleTo(settings) and "optimistic" in settings.image_warning.text()
    qtbot.waitUntil(lambda: panel.manifest is not None and panel.manifest.image_level, timeout=15000)
    assert "optimistic" in panel.warnings.text()

    settings.by_patient.setChecked(True)
    settings.kfold.setChecked(True)
    settings.folds.setValue(3)
    qtbot.waitUntil(lambda: panel.manifest is not None and panel.manifest.folds == 3
                    and panel.model.splits[:3] == ["Fold 1", "Fold 2", "Fold 3"], timeout=15000)
    assert sum(panel.model.cell(TOTAL, f"Fold {i}")[0] for i in (1, 2, 3)) == 23
    settings.seed.setValue(7)
    qtbot.waitUntil(lambda: panel.manifest.seed == 7, timeout=15000)


def write_png(path: Path, colour: tuple[int, int, int], size=(40, 30)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.zeros((size[1], size[0], 3), np.uint8)
    array[:] = colour
    array[::3, ::3] = (255, 255, 255)
    Image.fromarray(array).save(path)


@pytest.fixture
def messy_tree(tmp_path) -> Path:
    """Two class folders with good images, and every kind of bad file."""
    root = tmp_path / "messy"
    for label, colour in (("benign", (200, 120, 160)), ("malignant", (90, 40, 120))):
        for i in range(4):
            write_png(root / label / f"{label}_{i}.png", (colour[0], colour[1] + 10 * i, colour[2]))
    (root / "benign" / "empty.png").write_bytes(b"")
    good = (root / "benign" / "benign_0.png").read_bytes()
    (root / "malignant" / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "malignant" / "notes.png").write_text("not an image at all")
    (root / "malignant" / "readme.txt").write_text("lab notes")
    (root / "malignant" / "zz_copy_of_0.png").write_bytes((root / "malignant" / "malignant_0.png").read_bytes())
    return root


def test_generated_tree_with_bad_files_lists_each_skip_with_its_reason(qtbot, view, messy_tree):
    catalog = scan_and_wait(qtbot, view, messy_tree)
    assert catalog.layout == "folders"
    counts = view.results.counts
    assert counts.counts("benign") == (4, None) and counts.counts("malignant") == (4, None)
    skipped = dict(view.results.skipped.items)
    assert set(skipped) == {"benign/empty.png", "malignant/truncated.png", "malignant/notes.png",
                            "malignant/readme.txt", "malignant/zz_copy_of_0.png"}
    assert all(reason for reason in skipped.values())
    assert "duplicate" in skipped["malignant/zz_copy_of_0.png"]
    assert view.results.tabText(2) == "Skipped (5)"
    index = view.results.skipped.index(0, 1)
    assert view.results.skipped.data(index, RAW) == view.results.skipped.items[0][1]
    # no patient ids in class folders: only an image split is possible, and it says why
    settings = view.results.split.settings
    assert not settings.by_patient.isEnabled() and settings.by_image.isChecked()
    assert settings.image_warning.isVisibleTo(settings) and "no patient IDs" in settings.image_warning.text()
    panel = wait_for_split(qtbot, view)
    assert panel.manifest is not None and panel.manifest.image_level


def slow_probe(monkeypatch, seconds=0.02):
    import core.scan

    real = core.scan.probe_file
    monkeypatch.setattr(core.scan, "probe_file", lambda path: (time.sleep(seconds), real(path))[1])


def many_images(root: Path, n: int) -> Path:
    for i in range(n):
        write_png(root / ("a" if i % 2 else "b") / f"img_{i:03d}.png", (i % 255, 80, 120), size=(16, 16))
    return root


def test_gui_keeps_ticking_while_a_scan_runs(qtbot, view, tmp_path, monkeypatch):
    slow_probe(monkeypatch)
    root = many_images(tmp_path / "many", 64)  # ~1.3 s of checking with the slowed probe
    ticks: list[float] = []
    timer = QTimer(view)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    started = time.monotonic()
    scan_and_wait(qtbot, view, root)
    elapsed = time.monotonic() - started
    timer.stop()
    assert elapsed > 1.0
    gaps = np.diff(ticks)
    assert len(ticks) >= elapsed / 0.02 * 0.5  # at least half the ticks a free GUI would get
    assert gaps.max() < 0.3, f"the GUI thread froze for {gaps.max():.2f} s"
    assert view.catalog is not None and len(view.catalog.samples) == 64


def test_cancel_stops_the_scan_and_keeps_the_previous_results(qtbot, view, breakhis_sample, tmp_path, monkeypatch):
    scan_and_wait(qtbot, view, breakhis_sample)
    before = view.catalog
    slow_probe(monkeypatch, 0.05)
    root = many_images(tmp_path / "slow", 80)
    messages: list[str] = []
    view.status_message.connect(messages.append)
    view.open_folder(root)
    assert view.progress.isVisibleTo(view) and view.scanning
    qtbot.waitUntil(lambda: view.progress.bar.maximum() == 80, timeout=10000)
    started = time.monotonic()
    view.progress.cancel_button.click()
    assert view.progress.cancel_button.text() == "Cancelling…"
    qtbot.waitUntil(lambda: not view.scanning, timeout=10000)
    assert time.monotonic() - started < 3  # a stop lands within one chunk of files
    assert not view.progress.isVisibleTo(view)
    assert view.catalog is before and view.results.counts.counts(TOTAL)[0] == 23
    qtbot.waitUntil(lambda: any("cancelled" in m for m in messages), timeout=5000)


def test_pattern_layout_previews_what_it_extracts(qtbot, view, tmp_path):
    root = tmp_path / "idc_like"
    for i, patient in enumerate(("8863", "9036", "10253")):
        for label in ("0", "1"):
            colour = (100 + 20 * i, 50 + 60 * int(label), 150)  # all different: no duplicates
            write_png(root / patient / label / f"{patient}_idx5_x1_y1_class{label}.png", colour)
    (root / "stray.png").write_bytes(b"")
    view.open_folder(root, scan=False)
    layout = view.layout_widget
    qtbot.waitUntil(lambda: len(layout._paths) == 6, timeout=5000)  # sampled on the worker
    layout.set_layout_key("pattern")
    assert layout.preview.isVisibleTo(layout)
    layout.pattern.setText(r"(?P<patient>[^/]+)/(?P<label>[01])/[^/]+")
    rows = {layout.preview.item(r, 0).text(): [layout.preview.item(r, c).text() for c in (1, 2)]
            for r in range(layout.preview.rowCount())}
    assert rows["10253/0/10253_idx5_x1_y1_class0.png"] == ["0", "10253"]
    assert rows["stray.png"][0] == "no match"
    layout.pattern.setText(r"(?P<patient>[^/]+/")  # half typed: says what is wrong, no crash
    assert layout.error.isVisibleTo(layout) and "regular expression" in layout.error.text()
    layout.pattern.setText(r"(?P<patient>[^/]+)/(?P<label>[01])/[^/]+")
    layout.pattern_submitted.emit()
    qtbot.waitUntil(lambda: not view.scanning and view.catalog is not None, timeout=20000)
    assert view.catalog.layout == "pattern" and view.results.counts.counts(TOTAL) == (6, 3)


def test_dropping_a_folder_scans_it(qtbot, view, breakhis_sample):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(breakhis_sample))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    view.dropEvent(event)
    assert view.folder == breakhis_sample
    qtbot.waitUntil(lambda: not view.scanning and view.catalog is not None, timeout=30000)
    assert view.results.counts.counts(TOTAL)[0] == 23


def test_a_folder_without_images_says_so(qtbot, view, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    view.open_folder(tmp_path / "empty")
    qtbot.waitUntil(lambda: not view.scanning and view.error.isVisibleTo(view), timeout=10000)
    assert "No images" in view.error.text()
    assert view.stack.currentWidget() is view.empty
