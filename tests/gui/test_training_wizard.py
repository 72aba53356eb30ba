"""A whole pass through the training wizard on a tiny generated dataset, with real training.

Every page is used; a two-stage run (32 px, random weights, batch 8, 1 epoch a stage) is
cancelled in its first batch and resumed; the results page is filled from the real
evaluation; and a timer on the GUI thread must never stall more than 100 ms meanwhile.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from core import RESEARCH_NOTICE
from core.config import MIN_NETWORK_INPUT_SIZE, load_config
from core.manifest import save_manifest
from core.scan import scan
from core.split import SplitOptions, make_split
from tests.gui.stall_meter import MAX_STALL_S, StallMeter
from gui.training.stage_model import BLOCK, EPOCHS, MODE, RATE
from gui.training.training_view import AUGMENT, DATA, MODEL, RESULTS, RUN, RUNS, STAGES, TrainingView

EDIT = Qt.ItemDataRole.EditRole


def _tile(label: str, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:40, 0:40]
    if label == "stroma":  # pink, smooth
        base = np.stack([np.full_like(xx, 215), np.full_like(xx, 140), np.full_like(xx, 170)], -1)
    else:  # dense purple nuclei-like checkerboard
        dots = (((xx // 5) + (yy // 5)) % 2) * 90
        base = np.stack([90 + 0 * xx, 40 + dots // 3, 150 + dots // 2], -1)
    return np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def manifest_path(tmp_path_factory):
    """PNGs under <patient>/<class>/, scanned and split by patient with core.split."""
    root = tmp_path_factory.mktemp("tiny_dataset")
    rng = np.random.default_rng(1)
    for p in range(16):
        label = "stroma" if p % 2 else "tumour"
        folder = root / f"P{p:02d}" / label
        folder.mkdir(parents=True)
        for i in range(3):
            Image.fromarray(_tile(label, rng)).save(folder / f"P{p:02d}_{label}_{i}.png")
    catalog = scan(root, layout="pattern", pattern=r"(?P<patient>[^/]+)/(?P<label>[^/]+)/.+")
    manifest = make_split(catalog, SplitOptions(by="patient", val=0.25, test=0.25, seed=3))
    path = root / "manifest.json"
    save_manifest(manifest, path)
    return path


@pytest.fixture
def view(qtbot, app_state, tmp_path):
    from gui.app import import_tensorflow

    import_tensorflow()  # as the app does at start-up, before any training

    app_state.settings.setValue("training/runs_dir", str(tmp_path / "runs"))
    widget = TrainingView(app_state)
    qtbot.addWidget(widget)
    widget.resize(1100, 760)
    widget.show()
    yield widget
    widget.shutdown()
    worker = widget.run_page.slot.current
    if worker is not None:
        worker.wait(60)


def _configure(view, qtbot, manifest_path):
    # Page 1: data.
    view.go_to(DATA)
    with qtbot.waitSignal(view.data_page.manifest_loaded, timeout=20000):
        view.state.set_manifest_path(str(manifest_path))
    assert view.data_page.table.rowCount() == 3  # two classes and the total
    assert view.data_page.table.item(2, 0).text() == "All classes"
    assert "patients" in view.data_page.table.item(2, 1).text()
    assert "2 classes" in view.data_page.info.text()
    # Page 2: model. 32 px is below what users may choose, so lower the field's minimum.
    view.go_to(MODEL)
    page = view.model_page
    page.input_size.setMinimum(MIN_NETWORK_INPUT_SIZE)
    page.input_size.setValue(32)
    page.batch_size.setValue(8)
    page.weights.setCurrentIndex(page.weights.findData("none"))
    assert "random initialisation" in page.weights_status.text()
    page.early_stopping.setChecked(False)
    # Page 3: augmentation, previewed on a real training image of the manifest.
    view.go_to(AUGMENT)
    aug = view.augment_page
    aug.contrast_on.setChecked(False)
    aug.rotation.setValue(0.1)
    qtbot.waitUntil(lambda: not aug.slot.busy and "augmented versions" in aug.preview_status.text(), timeout=60000)
    assert all(cell.pixmap() is not None and not cell.pixmap().isNull() for cell in aug.cells)
    assert aug.augmentation().contrast == 0.0 and aug.augmentation().rotation == 0.1
    # Page 4: two stages of one epoch; an impossible value blocks the start until fixed.
    view.go_to(STAGES)
    model = view.stages_page.model
    model.setData(model.index(0, EPOCHS), "0", EDIT)
    assert not view.run_page.start_button.isEnabled()
    assert "Stages" in view.problem.text()
    model.setData(model.index(0, EPOCHS), "1", EDIT)
    model.setData(model.index(1, EPOCHS), "1", EDIT)
    model.setData(model.index(1, MODE), "from", EDIT)
    model.setData(model.index(1, BLOCK), "conv5_block3", EDIT)
    model.setData(model.index(1, RATE), "1e-4", EDIT)
    assert view.config_problem() is None
    assert view.run_page.start_button.isEnabled()


def _check_config_file(view, tmp_path):
    path = tmp_path / "wizard-config.json"
    view.save_config_file(path)
    saved = load_config(path, min_input_size=MIN_NETWORK_INPUT_SIZE)
    assert saved == view.current_config()
    assert [s.trainable for s in saved.stages] == ["head", "from:conv5_block3"]
    assert saved.input_size == 32 and saved.weights == "none"
    view.model_page.batch_size.setValue(16)
    view.load_config_file(path)  # loading puts every page back
    assert view.model_page.batch_size.value() == 8
    assert view.current_config() == saved


def _cancel_then_resume(view, qtbot, meter):
    run_page = view.run_page
    cancelled_at = []


    def cancel_on_first_batch(event):
        meter.events.append((round(time.perf_counter() - meter.t0, 2), event.get("event")))
        if event.get("event") == "batch" and not cancelled_at:
            cancelled_at.append(event)
            run_page.cancel()

    view.go_to(RUN)  # as a user does: open the Run page (its first paint), then press Start
    qtbot.waitUntil(lambda: run_page.curves.full_draw_count > 0, timeout=10000)
    meter.start()
    with qtbot.waitSignal(run_page.run_started, timeout=5000):
        run_page.start_button.click()
    worker = run_page.slot.current
    worker.signals.progress.connect(cancel_on_first_batch)
    with qtbot.waitSignal(run_page.run_cancelled, timeout=240000) as blocker:
        pass
    result = blocker.args[0]
    assert result.status == "cancelled"
    assert cancelled_at and cancelled_at[0]["stage"] == "head"
    assert run_page.resume_button.isEnabled() and run_page.start_button.isEnabled()
    assert "Resume" in run_page.status.text()
    assert (result.run_dir / "checkpoints" / "state.json").is_file()  # the checkpoint is kept
    draws_before = run_page.curves.draw_count
    full_draws_before = run_page.curves.full_draw_count
    epochs_seen = []
    with qtbot.waitSignal(run_page.run_finished, timeout=400000) as blocker:
        run_page.resume_button.click()
        run_page.slot.current.signals.progress.connect(
            lambda e: epochs_seen.append(e["global_epoch"]) if e.get("event") == "epoch" else None)
        run_page.slot.current.signals.progress.connect(
            lambda e: meter.events.append((round(time.perf_counter() - meter.t0, 2), e.get("event"))))
        # Training ends with this event; the results page then renders once (outside the measure).
        run_page.slot.current.signals.progress.connect(
            lambda e: meter.stop() if e.get("event") == "finished_training" else None)
    meter.stop()
    assert epochs_seen == [1, 2]  # contiguous over both stages after the resume
    assert run_page.curves.draw_count > draws_before  # the curves were redrawn during the run
    # ...by blitting: the slow full draw was done before Start (axes sized for the plan).
    assert run_page.curves.full_draw_count == full_draws_before
    return blocker.args[0]


def _check_curves(view):
    curves = view.run_page.curves
    assert sorted(curves.epochs) == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(curves.epochs[2])
    assert [name for _, name in curves.boundaries] == ["head", "fine_tune"]
    assert curves.batch_x, "no per-batch trace"
    assert view.run_page.progress.value() == view.run_page.progress.maximum()


def _check_results(view, result, tmp_path):
    assert view.stack.currentIndex() == RESULTS
    evaluation = json.loads((result.run_dir / "evaluation.json").read_text())
    results = view.results_page
    assert results.score_labels["balanced_accuracy"].text() == f"{evaluation['balanced_accuracy']:.3f}"
    assert results.score_labels["patient_accuracy"].text() == f"{evaluation['patient_accuracy']:.3f}"
    assert results.per_class.rowCount() == 2
    assert results.notice.text() == RESEARCH_NOTICE
    matrix = np.array(evaluation["confusion_matrix"])
    i, j = np.unravel_index(np.argmax(matrix), matrix.shape)
    results.confusion.select(int(i), int(j))
    assert results.images.count() == matrix[i, j]
    opened = []
    view.open_images_requested.connect(opened.append)
    first = results.images.item(0)
    results.images.itemDoubleClicked.emit(first)
    assert opened == [[first.data(Qt.ItemDataRole.UserRole)]]
    assert view.state.model_path == str(result.bundle_path)
    assert Path(first.data(Qt.ItemDataRole.UserRole)).is_file()
    html = results.export_report_to(tmp_path / "report.html").read_text()
    assert RESEARCH_NOTICE in html and "Balanced accuracy" in html and "data:image/png;base64" in html
    assert "conv5_block3" in html
    saved = results.save_bundle_to(tmp_path / "copy")
    assert saved.read_bytes() == result.bundle_path.read_bytes()
    return evaluation


def _check_past_runs(view, result, evaluation):
    view.go_to(RUNS)
    runs = view.runs_page
    assert [r.path for r in runs.runs] == [result.run_dir]
    assert runs.runs[0].status == "finished"
    assert runs.table.item(0, 4).text() == f"{evaluation['balanced_accuracy']:.3f}"
    runs.table.selectRow(0)
    runs.reopen_button.click()
    assert view.stack.currentIndex() == RESULTS
    runs.start_from_button.click()
    assert view.stack.currentIndex() == DATA
    assert view.current_config().stages[1].trainable == "from:conv5_block3"


def test_whole_wizard_pass(view, qtbot, manifest_path, tmp_path):
    _configure(view, qtbot, manifest_path)  # pages 1-4
    _check_config_file(view, tmp_path)
    meter = StallMeter()
    result = _cancel_then_resume(view, qtbot, meter)  # page 5
    print(f"GUI timer: longest gap {meter.max_gap * 1000:.0f} ms, longest stall of the app's own "
          f"{meter.max_stall * 1000:.0f} ms; slow garbage collections: {meter.slow_gc}; "
          f"own stalls over 50 ms: {[w for w in meter.stalls() if w[2] > 0.05]}; events: {meter.events}")
    assert meter.max_stall < MAX_STALL_S, (
        f"the GUI thread stalled for {meter.max_stall * 1000:.0f} ms; windows over 50 ms (s, raw, stall): "
        f"{[w for w in meter.stalls() if w[1] > 0.05]}; events: {meter.events}; slow gc: {meter.slow_gc}")
    _check_curves(view)
    evaluation = _check_results(view, result, tmp_path)  # page 6
    _check_past_runs(view, result, evaluation)
