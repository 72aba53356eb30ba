"""The viewer end to end, offscreen, on the real BreakHis sample with a small trained bundle.

The bundle is a ResNet50 (weights=None, 32 px input) trained a few steps on generated
images, so its answers are arbitrary but fixed: what matters is that the panel, the
batch and the CSV say exactly what `histoclass predict` says for the same files.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from core import RESEARCH_NOTICE
from tests.conftest import shared_data
from tests.gui.stall_meter import MAX_STALL_S, StallMeter

BENIGN = {"adenosis", "fibroadenoma", "phyllodes_tumor", "tubular_adenoma"}
INPUT_SIZE = 32
WAIT_MS = 120_000  # a shared 2-core machine can be slow; a pass is usually seconds


@pytest.fixture(scope="session")
def bundle_path(tmp_path_factory) -> Path:
    import keras

    from core.bundle import make_card, save_bundle
    from core.config import Augmentation, Stage, TrainConfig
    from core.layouts import BREAKHIS_CLASSES
    from core.model import build_model

    classes = sorted(BREAKHIS_CLASSES)
    groups = {c: "benign" if c in BENIGN else "malignant" for c in classes}
    config = TrainConfig(input_size=INPUT_SIZE, weights="none",
                         augmentation=Augmentation(flip="none", rotation=0.0, contrast=0.0),
                         stages=(Stage("head", 1, 1e-3, "head"),))
    keras.utils.set_random_seed(0)
    model = build_model(len(classes), config)
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(len(classes)), 4)
    images = rng.normal(0, 20, (len(labels), 48, 48, 3)) + labels[:, None, None, None] * 25 + 30
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(np.clip(images, 0, 255).astype(np.uint8), labels, epochs=2, batch_size=8, verbose=0)
    path = tmp_path_factory.mktemp("bundle") / "viewer-test.hcmodel"
    card = make_card(classes=classes, input_size=INPUT_SIZE, groups=groups, name="viewer-test",
                     metrics={"accuracy": 0.5, "balanced_accuracy": 0.5})
    save_bundle(model, card, path)
    return path


@pytest.fixture(scope="session")
def breakhis_files() -> list[Path]:
    root = shared_data("breakhis-sample")
    return sorted(root.rglob("*.png"))


@pytest.fixture(scope="session")
def cli_predictions(bundle_path, breakhis_files) -> dict[str, dict]:
    """`histoclass predict --json` on the whole sample folder, keyed by resolved path."""
    import contextlib
    import io

    from core.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["predict", str(bundle_path), str(shared_data("breakhis-sample")), "--json"])
    assert code == 0
    rows = _json_rows(out.getvalue())
    assert len(rows) == len(breakhis_files)
    return {str(Path(r["path"]).resolve()): r for r in rows}


def _json_rows(text: str) -> list[dict]:
    """The predict command's JSON: one object per line, or one list/object with the rows."""
    text = text.strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
    if isinstance(data, dict):
        data = data.get("predictions") or data.get("rows") or data.get("results")
    return list(data)


@pytest.fixture
def view(qtbot, app_state, bundle_path):
    from gui.viewer.viewer_view import ViewerView

    app_state.set_model_path(str(bundle_path))
    widget = ViewerView(app_state)
    widget.resize(1300, 800)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: widget.bundle is not None, timeout=WAIT_MS)
    yield widget
    assert widget.shutdown(30_000)


def _wait_batch(qtbot, view) -> None:
    """Until the batch has ended as the user sees it: every row filled, Cancel greyed out."""
    panel = view.file_panel

    def ended() -> bool:
        rows = panel.model.rowCount()
        return rows > 0 and panel.model.done_count == rows and not panel.cancel_button.isEnabled()

    qtbot.waitUntil(ended, timeout=WAIT_MS)


def _wait_shown(qtbot, view, path) -> None:
    qtbot.waitUntil(lambda: view.shown is not None and view.shown.path == str(path), timeout=WAIT_MS)


def test_notice_and_model_name_are_visible(view):
    assert view.notice_label.isVisible() and view.notice_label.text() == RESEARCH_NOTICE
    assert view.model_button.text() == "Model: viewer-test"
    dialog = view.show_model_card()
    assert "adenosis (benign)" in dialog.browser.toPlainText()
    assert "32 px" in dialog.browser.toPlainText()
    dialog.close()


def test_folder_predictions_and_panel_match_the_command_line(qtbot, view, breakhis_files, cli_predictions):
    view.open_images([str(shared_data("breakhis-sample"))])
    _wait_batch(qtbot, view)
    model = view.file_panel.model
    assert sorted(Path(p).resolve() for p in model.paths) == [p.resolve() for p in breakhis_files]
    for row in model.results():
        expected = cli_predictions[str(Path(row["path"]).resolve())]
        assert row["label"] == expected["label"]
        assert row["probability"] == pytest.approx(expected["probability"], abs=1e-5)
    for path in (model.paths[0], model.paths[-1]):
        view.file_panel.select_path(path)
        _wait_shown(qtbot, view, path)
        expected = cli_predictions[str(Path(path).resolve())]
        summary = view.prediction_panel.summary
        assert summary.label == expected["label"]
        assert summary.probability == pytest.approx(expected["probability"], abs=1e-5)
        assert dict(summary.ranked) == pytest.approx(expected["probabilities"], abs=1e-5)
        assert view.prediction_panel.group_label.isVisible()
        assert view.canvas.image_size == (700, 460)
        assert view.zoom_label.text().endswith("%")


def test_uncertain_flag_follows_the_threshold(qtbot, view, breakhis_files):
    view.open_images([str(breakhis_files[0])])
    _wait_shown(qtbot, view, breakhis_files[0])
    qtbot.waitUntil(lambda: view.prediction_panel.summary is not None, timeout=WAIT_MS)
    top = view.prediction_panel.summary.probability
    view.prediction_panel.set_threshold(min(1.0, top + 0.05))
    assert view.prediction_panel.uncertain_label.isVisible()
    view.prediction_panel.set_threshold(max(0.0, top - 0.05))
    assert not view.prediction_panel.uncertain_label.isVisible()
    saved = float(view.state.settings.value("viewer/uncertain_threshold"))
    assert saved == view.prediction_panel.threshold == pytest.approx(max(0.0, top - 0.05), abs=0.005)


def test_heatmap_toggles_and_follows_the_chosen_class(qtbot, view, breakhis_files):
    path = breakhis_files[3]
    view.open_images([str(path)])
    _wait_shown(qtbot, view, path)
    controls, canvas = view.overlay_panel, view.canvas
    controls.heatmap_check.setChecked(True)
    qtbot.waitUntil(lambda: canvas.overlay("heatmap") is not None, timeout=WAIT_MS)
    item = canvas.overlay("heatmap")
    assert item.isVisible() and (item.image.width(), item.image.height()) == (700, 460)
    assert view.overlays.heatmap.class_name == view.prediction_panel.summary.label
    controls.heatmap_opacity.setValue(80)
    assert item.opacity() == pytest.approx(0.8)
    controls.heatmap_check.setChecked(False)
    assert not canvas.overlay("heatmap").isVisible()
    controls.heatmap_check.setChecked(True)
    other = next(c for c in view.bundle.classes if c != view.prediction_panel.summary.label)
    controls.choose_class(other)
    qtbot.waitUntil(lambda: view.overlays.heatmap is not None and view.overlays.heatmap.class_name == other,
                    timeout=WAIT_MS)
    assert canvas.overlay("heatmap").isVisible()
    assert other.replace("_", " ") in controls.heatmap_status.text()


def test_tiles_map_and_slide_level_result(qtbot, view, breakhis_files, tmp_path):
    from core.predict import predict_tiles

    crop = tmp_path / "crop.png"  # a small crop keeps the tile count (and the test) small
    Image.open(breakhis_files[5]).crop((100, 100, 260, 220)).save(crop)
    view.open_images([str(crop)])
    _wait_shown(qtbot, view, crop)
    view.overlay_panel.tiles_check.setChecked(True)
    qtbot.waitUntil(lambda: view.canvas.overlay("tiles") is not None, timeout=WAIT_MS)
    expected = predict_tiles(view.bundle, view.shown.array)
    status = view.overlay_panel.tiles_status.text()
    assert "Slide level" in status and expected["method"] in status
    assert view.overlays.tiles.result["aggregate"] == pytest.approx(expected["aggregate"], abs=1e-5)
    assert view.canvas.overlay("tiles").isVisible()
    view.overlay_panel.tiles_check.setChecked(False)
    assert not view.canvas.overlay("tiles").isVisible()


def _make_batch_folder(root: Path, files: list[Path]) -> Path:
    """Links to the real images in nested folders, plus two files that cannot be read."""
    for i, source in enumerate(files):
        folder = root / f"case{i % 3}" / ("deep" if i % 2 else "")
        folder.mkdir(parents=True, exist_ok=True)
        os.symlink(source, folder / source.name)
    (root / "case0" / "empty.png").write_bytes(b"")
    (root / "case1" / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


def test_folder_batch_exports_csv_and_lists_unreadable_files(qtbot, view, breakhis_files, tmp_path, cli_predictions):
    folder = _make_batch_folder(tmp_path / "slides", breakhis_files[:8])
    for suffix in (".jpg", ".bmp"):  # the same slide in the other formats a lab may have
        Image.open(breakhis_files[9]).convert("RGB").save(folder / "case2" / f"converted{suffix}")
    view.open_images([str(folder)])
    _wait_batch(qtbot, view)
    model = view.file_panel.model
    assert model.rowCount() == 12 and model.error_count == 2
    for name in ("converted.jpg", "converted.bmp"):
        row = model.result(str(folder / "case2" / name))
        assert row["label"] in view.bundle.classes and 0 < row["probability"] <= 1
    assert "2 unreadable" in view.file_panel.status_label.text()
    out = view.export_csv(tmp_path / "predictions.csv")
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_name = {Path(r["file"]).name: r for r in rows}
    for source in breakhis_files[:8]:
        row = by_name[source.name]
        expected = cli_predictions[str(source.resolve())]
        assert row["predicted_class"] == expected["label"]
        assert float(row["probability"]) == pytest.approx(expected["probability"], abs=1e-4)
        assert row["model_sha256"] == view.bundle.sha256 and row["model"] == "viewer-test"
        assert row[f"p_{expected['label']}"] == row["probability"] and not row["error"]
    for name in ("empty.png", "truncated.jpg"):
        assert by_name[name]["error"] and not by_name[name]["predicted_class"]
    assert all(r["notice"] == RESEARCH_NOTICE for r in rows)


def test_gui_never_stalls_while_a_batch_runs(qtbot, view, breakhis_files, tmp_path):
    folder = tmp_path / "many"
    for copy in range(3):
        _make_batch_folder(folder / f"copy{copy}", breakhis_files)
    meter = StallMeter()
    meter.start()
    view.open_images([str(folder)])
    _wait_batch(qtbot, view)
    meter.stop()
    assert view.file_panel.model.rowCount() == 3 * (len(breakhis_files) + 2)
    assert len(meter.samples) > 20
    assert meter.max_stall < MAX_STALL_S, f"the GUI thread stalled for {meter.max_stall * 1000:.0f} ms"


def test_cancel_stops_a_batch(qtbot, view, breakhis_files, tmp_path):
    folder = tmp_path / "many"
    for copy in range(4):
        _make_batch_folder(folder / f"copy{copy}", breakhis_files)
    view.open_images([str(folder)])
    qtbot.waitUntil(lambda: view.file_panel.cancel_button.isEnabled(), timeout=WAIT_MS)
    view.file_panel.cancel_button.click()
    qtbot.waitUntil(lambda: not view.batch_task.busy, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: view.file_panel.status_label.text().startswith("Cancelled"), timeout=WAIT_MS)
    assert view.file_panel.model.done_count < view.file_panel.model.rowCount()
    assert view.file_panel.export_button.isEnabled() == (view.file_panel.model.done_count > 0)


def test_drop_opens_files_and_bad_files_do_not_crash(qtbot, view, breakhis_files, tmp_path):
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"II*\x00garbage")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(bad)), QUrl.fromLocalFile(str(breakhis_files[1]))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    view.dropEvent(event)
    qtbot.waitUntil(lambda: view.file_panel.model.rowCount() == 2, timeout=WAIT_MS)
    view.file_panel.select_path(str(bad))
    qtbot.waitUntil(lambda: "Could not" in view.prediction_panel.class_label.text(), timeout=WAIT_MS)
    assert not view.canvas.has_image
    view.file_panel.select_path(str(breakhis_files[1]))
    _wait_shown(qtbot, view, breakhis_files[1])
    assert view.canvas.has_image


def test_large_image_opens_without_blocking_the_gui(qtbot, view, tmp_path):
    big = tmp_path / "big.tif"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (3000, 4000, 3), dtype=np.uint8)).save(big)
    meter = StallMeter()
    meter.start()
    view.open_images([str(big)])
    _wait_shown(qtbot, view, big)
    qtbot.wait(100)
    meter.stop()
    assert view.canvas.image_size == (4000, 3000)
    assert meter.max_stall < MAX_STALL_S, f"the GUI thread stalled for {meter.max_stall * 1000:.0f} ms"
