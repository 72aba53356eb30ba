"""Wizard pages fed with hand-made run folders and evaluations (no training, no TensorFlow)."""
from __future__ import annotations

import json
import shutil

from core import RESEARCH_NOTICE
from core.config import TrainConfig
from gui.training.results_page import ResultsPage, cell_predictions
from gui.training.training_view import RESULTS, RUN, RUNS, TrainingView
from tests.core.test_runs import make_run

PREDICTIONS = [
    {"path": "p1/1/a.png", "true": "1", "pred": "0", "probability": 0.61},
    {"path": "p1/1/b.png", "true": "1", "pred": "0", "probability": 0.97},
    {"path": "p2/1/c.png", "true": "1", "pred": "1", "probability": 0.55},
    {"path": "p2/1/d.png", "true": "1", "pred": "1", "probability": 0.99},
    {"path": "p3/0/e.png", "true": "0", "pred": "0", "probability": 0.90},
]
EVALUATION = {
    "accuracy": 0.6, "balanced_accuracy": 0.75, "macro_f1": 0.58, "patient_accuracy": 0.5, "images": 5,
    "patients": 3, "split": "test", "classes": ["0", "1"], "confusion_matrix": [[1, 0], [2, 2]],
    "per_class": {"0": {"precision": 0.33, "recall": 1.0, "f1": 0.5, "support": 1},
                  "1": {"precision": 1.0, "recall": 0.5, "f1": 0.67, "support": 4}},
    "warnings": ["Split by image: scores are optimistic."], "predictions": PREDICTIONS,
}


def test_cell_lists_most_confidently_wrong_first_and_least_confident_right_first():
    wrong = cell_predictions(PREDICTIONS, "1", "0")
    assert [p["path"] for p in wrong] == ["p1/1/b.png", "p1/1/a.png"]
    right = cell_predictions(PREDICTIONS, "1", "1")
    assert [p["path"] for p in right] == ["p2/1/c.png", "p2/1/d.png"]


def test_results_page_from_a_run_folder(qtbot, tmp_path):
    run = make_run(tmp_path, "20260101-000000-r", history_rows=2, evaluation=EVALUATION, bundle=True)
    page = ResultsPage()
    qtbot.addWidget(page)
    page.show_run(run, image_root="/data/idc")  # evaluation read from evaluation.json
    assert page.score_labels["balanced_accuracy"].text() == "0.750"
    assert "optimistic" in page.warnings.text()
    assert page.notice.text() == RESEARCH_NOTICE
    assert page.per_class.item(1, 2).text() == "0.500"
    assert page.save_button.isEnabled() and page.report_button.isEnabled()
    with qtbot.waitSignal(page.confusion.cell_clicked):
        page.confusion.select(1, 0)
    assert page.images.count() == 2
    assert page.images.item(0).toolTip() == "/data/idc/p1/1/b.png"
    assert "most confidently wrong first" in page.cell_title.text()
    qtbot.waitUntil(lambda: not page.thumbnails.busy, timeout=10000)  # those files do not exist:
    assert page.images.item(0).icon().isNull()  # no thumbnail, no crash
    cell = page.confusion.cell_at(0.9, 0.2)  # data coordinates: column 1, row 0
    assert cell == (0, 1) and page.confusion.cell_at(5, 5) is None


def test_results_page_save_buttons_write_where_the_user_chose(qtbot, tmp_path, monkeypatch):
    from gui.training import results_page

    run = make_run(tmp_path, "20260101-000000-r", history_rows=2, evaluation=EVALUATION, bundle=True)
    page = ResultsPage()
    qtbot.addWidget(page)
    page.show_run(run)
    chosen = tmp_path / "copy"  # no suffix: the bundle gets .hcmodel
    monkeypatch.setattr(results_page.QFileDialog, "getSaveFileName", lambda *a, **k: (str(chosen), ""))
    page.save_button.click()
    assert (tmp_path / "copy.hcmodel").read_bytes() == b"zip"
    assert "saved to" in page.header.text()
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setattr(results_page.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(blocked / "report.html"), ""))
    page.report_button.click()
    assert page.header.text().startswith("The report could not be written to")


def test_cell_images_get_thumbnails(qtbot, tmp_path):
    from PIL import Image

    Image.new("RGB", (60, 40), (200, 80, 120)).save(tmp_path / "b.png")
    page = ResultsPage()
    qtbot.addWidget(page)
    evaluation = dict(EVALUATION, predictions=[dict(PREDICTIONS[1], path="b.png"), dict(PREDICTIONS[0], path="gone.png")])
    page.show_run(tmp_path, evaluation, image_root=tmp_path)
    page.confusion.select(1, 0)
    qtbot.waitUntil(lambda: not page.images.item(0).icon().isNull(), timeout=10000)
    qtbot.waitUntil(lambda: not page.thumbnails.busy, timeout=10000)
    assert page.images.item(1).icon().isNull()  # unreadable: listed, without a picture


def test_past_runs_compare_reopen_and_resume(qtbot, app_state, tmp_path):
    runs_dir = tmp_path / "runs"
    finished = make_run(runs_dir, "20260102-000000-done", history_rows=5, evaluation=EVALUATION, bundle=True)
    cancelled = make_run(runs_dir, "20260101-000000-cut", history_rows=2)
    app_state.settings.setValue("training/runs_dir", str(runs_dir))
    view = TrainingView(app_state)
    qtbot.addWidget(view)
    view.go_to(RUNS)
    page = view.runs_page
    assert [r.path for r in page.runs] == [finished, cancelled]
    assert page.table.item(0, 3).text() == "finished" and page.table.item(1, 3).text() == "incomplete"
    page.table.selectAll()
    assert page.compare_button.isEnabled() and not page.reopen_button.isEnabled()
    page.compare_button.click()
    assert page.comparison.columnCount() == 2
    labels = [page.comparison.verticalHeaderItem(r).text() for r in range(page.comparison.rowCount())]
    status_row = labels.index("Status")
    assert page.comparison.item(status_row, 1).text() == "incomplete"
    assert page.comparison.item(status_row, 0).font().bold()  # differs between the runs
    assert not page.comparison.item(labels.index("Input size"), 0).font().bold()  # the same
    page.table.clearSelection()
    page.select_run(cancelled)
    page.reopen_button.click()
    assert view.stack.currentIndex() == RUN
    assert view.run_page.resume_button.isEnabled()
    assert sorted(view.run_page.curves.epochs) == [1, 2]
    page.table.clearSelection()
    page.select_run(finished)
    page.reopen_button.click()
    assert view.stack.currentIndex() == RESULTS
    assert view.results_page.score_labels["accuracy"].text() == "0.600"
    assert sorted(view.run_page.curves.epochs) == [1, 2, 3, 4, 5]  # its curves are on the Run page
    assert not view.run_page.resume_button.isEnabled()


def test_a_past_run_follows_its_dataset_to_where_it_was_located(qtbot, app_state, tmp_path):
    from core.manifest import load_manifest, relocate_manifest
    from tests.core.synthetic import make_manifest

    make_manifest(tmp_path / "data", images_per_patient=1)
    runs_dir = tmp_path / "runs"
    finished = make_run(runs_dir, "20260102-000000-done", history_rows=2, evaluation=EVALUATION, bundle=True)
    cut = make_run(runs_dir, "20260101-000000-cut", history_rows=1)
    for run in (finished, cut):
        shutil.copy(tmp_path / "data" / "manifest.json", run / "manifest.json")
    moved = (tmp_path / "data").rename(tmp_path / "moved")
    relocate_manifest(moved / "manifest.json", moved)  # as Locate… does
    app_state.settings.setValue("training/runs_dir", str(runs_dir))
    view = TrainingView(app_state)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.data_page.manifest_loaded, timeout=10000):
        view.data_page.load(str(moved / "manifest.json"))
    view.go_to(RUNS)
    view.runs_page.select_run(finished)
    view.runs_page.reopen_button.click()
    assert view.results_page.image_root == moved  # its test images open from the new place
    assert json.loads((finished / "manifest.json").read_text())["root"] == str(tmp_path / "data")
    view.runs_page.table.clearSelection()
    view.runs_page.select_run(cut)
    view.runs_page.reopen_button.click()
    assert view.run_page.resume_button.isEnabled()
    assert load_manifest(cut / "manifest.json").root == str(moved)  # resumes on the new folder
    # Loading the manifest started the augmentation preview (it imports TensorFlow): let it end.
    qtbot.waitUntil(lambda: not view.augment_page.slot.busy, timeout=120000)


def test_bad_configuration_file_is_reported_not_raised(qtbot, app_state, tmp_path, monkeypatch):
    from gui.training import training_view

    view = TrainingView(app_state)
    qtbot.addWidget(view)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"input_size": 64, "stagez": []}))
    monkeypatch.setattr(training_view.QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    view._load_config_dialog()
    assert "stagez" in view.problem.text() and not view.problem.isHidden()
    assert view.current_config().input_size == 224  # the settings were left as they were


def test_model_page_says_where_the_weights_come_from(qtbot, app_state, tmp_path):
    from gui.training.model_page import ModelPage

    page = ModelPage(app_state)
    qtbot.addWidget(page)
    weights = tmp_path / "resnet50_notop.h5"
    weights.write_bytes(b"\x89HDF\r\n\x1a\n")
    page.weights.setCurrentIndex(page.weights.findData("file"))
    page.weights_file.setText(str(weights))
    page.refresh_weights()
    assert page.weights_setting() == str(weights)
    assert str(weights) in page.weights_status.text() and page.weights_status.property("role") == "success"
    page.weights.setCurrentIndex(page.weights.findData("none"))
    assert "random initialisation" in page.weights_status.text()
    assert page.weights_status.property("role") == "warning"
    page.dropout.setValue(0.5)
    config = page.apply(TrainConfig())
    assert config.weights == "none" and config.regularization.dropout == 0.5


def test_stage_diagram_says_batchnorm_learns_without_pretrained_weights(qtbot, app_state, tmp_path):
    """core.train lets BatchNorm learn from random weights; the Stages page must say the same."""
    view = TrainingView(app_state)
    qtbot.addWidget(view)
    page, stages = view.model_page, view.stages_page
    weights = tmp_path / "resnet50_notop.h5"
    weights.write_bytes(b"\x89HDF\r\n\x1a\n")
    page.weights.setCurrentIndex(page.weights.findData("file"))
    page.weights_file.setText(str(weights))
    page.refresh_weights()
    assert stages.keep_bn_frozen.isChecked() and "stay frozen" in stages.diagram.batchnorm_note()
    page.weights.setCurrentIndex(page.weights.findData("none"))
    assert "No pretrained weights: BatchNorm layers learn" in stages.diagram.batchnorm_note()
    assert "Ignored" in stages.keep_bn_frozen.toolTip()
    assert view.current_config().keep_batchnorm_frozen  # the choice is kept for a run with weights


def test_view_fits_a_small_laptop_screen(qtbot, app_state):
    view = TrainingView(app_state)
    qtbot.addWidget(view)
    hint = view.minimumSizeHint()
    assert hint.height() <= 600 and hint.width() <= 1100, hint  # pages scroll; buttons stay in view
