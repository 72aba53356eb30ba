"""The HTML run report: configuration, curves, metrics and the research-use notice."""
from __future__ import annotations

from core import RESEARCH_NOTICE
from core.report import curves_png, render_report, write_report
from tests.core.test_runs import make_run

EVALUATION = {
    "accuracy": 0.9, "balanced_accuracy": 0.875, "macro_f1": 0.86, "patient_accuracy": 0.8, "ece": 0.05,
    "per_class": {"0": {"precision": 0.9, "recall": 0.95, "f1": 0.92, "support": 20},
                  "<1>": {"precision": 0.8, "recall": 0.8, "f1": 0.8, "support": 5}},
    "confusion_matrix": [[19, 1], [1, 4]], "classes": ["0", "<1>"], "images": 25, "split": "test",
    "warnings": ["Split by image: scores are optimistic."],
}


def test_report_of_a_finished_run(tmp_path):
    run = make_run(tmp_path, "20260101-000000-a", history_rows=3, evaluation=EVALUATION, bundle=True)
    (run / "confusion_matrix.png").write_bytes(b"\x89PNG fake")
    html = render_report(run)
    assert html.count(RESEARCH_NOTICE) == 2  # at the top and at the bottom
    assert "random initialisation" in html  # the configuration says weights "none"
    assert "Split by image: scores are optimistic." in html
    assert "<td>Balanced accuracy</td><td>0.875</td>" in html
    assert "<td>&lt;1&gt;</td>" in html and "<1>" not in html  # class names are escaped
    assert html.count("data:image/png;base64,") == 2  # confusion matrix picture and curves
    assert "&quot;trainable&quot;: &quot;from:conv4_block1&quot;" in html  # the configuration, as JSON
    path = write_report(run, tmp_path / "out" / "report.html")
    assert path.read_text(encoding="utf-8") == html


def test_report_warns_when_asked_for_weights_were_not_found(tmp_path):
    """The configuration asked for ImageNet weights, but the run recorded none were found."""
    import json

    from core.run_folder import RunFolder, RunState
    from tests.core.test_runs import CONFIG

    run = make_run(tmp_path, "20260101-000000-c", history_rows=1, evaluation=EVALUATION, bundle=True,
                   config={**CONFIG, "weights": "imagenet"})
    assert "random initialisation" not in render_report(run)  # no record: the configuration decides
    RunFolder(run).checkpoints.mkdir()
    RunFolder(run).write_state(RunState(weights_source="none"))
    assert "random initialisation" in render_report(run)
    RunFolder(run).write_state(RunState(weights_source="imagenet"))
    assert "random initialisation" not in render_report(run)
    assert json.loads((run / "config.json").read_text())["weights"] == "imagenet"


def test_report_of_a_cancelled_run_says_so(tmp_path):
    run = make_run(tmp_path, "20260101-000000-b")
    html = render_report(run)
    assert "no evaluation yet" in html
    assert RESEARCH_NOTICE in html
    assert "data:image/png" not in html


def test_curves_png_is_a_png_or_none():
    assert curves_png([]) is None
    rows = [{"global_epoch": 1, "stage": "head", "loss": 1.0, "accuracy": 0.5, "val_loss": 1.2, "val_accuracy": 0.4},
            {"global_epoch": 2, "stage": "tune", "loss": 0.8, "accuracy": 0.6, "val_loss": None, "val_accuracy": None}]
    assert curves_png(rows).startswith(b"\x89PNG")
