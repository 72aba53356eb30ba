"""Run-folder discovery and summaries (no TensorFlow, no Qt): hand-written run folders."""
from __future__ import annotations

import json
from datetime import datetime

from core.runs import (
    compare_runs,
    config_summary,
    default_runs_dir,
    discover_runs,
    new_run_dir,
    read_history,
    read_run,
)

CONFIG = {
    "schema_version": 1,
    "input_size": 64,
    "batch_size": 8,
    "weights": "none",
    "augmentation": {"flip": "horizontal", "rotation": 0.1, "contrast": 0.0},
    "regularization": {"kernel_l2": 1e-4, "bias_l2": 1e-4, "dropout": 0.3},
    "class_weights": True,
    "stages": [
        {"name": "head", "epochs": 2, "learning_rate": 0.001, "trainable": "head"},
        {"name": "fine-tune", "epochs": 3, "learning_rate": 1e-5, "trainable": "from:conv4_block1"},
    ],
}


def make_run(root, name, *, history_rows=0, evaluation=None, bundle=False, config=CONFIG):
    run = root / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps(config))
    samples = [{"split": "train"}] * 8 + [{"split": "test"}] * 4 + [{"split": None}] * 5  # 5 over the cap
    manifest = {"root": "/data/idc", "classes": ["0", "1"], "hash": "abc", "samples": samples}
    (run / "manifest.json").write_text(json.dumps(manifest))
    if history_rows:
        lines = ["stage,epoch,global_epoch,loss,accuracy,val_loss,val_accuracy"]
        for i in range(history_rows):
            lines.append(f"head,{i + 1},{i + 1},{1.0 - i * 0.1},{0.5 + i * 0.1},0.9,{0.6 + i * 0.05}")
        (run / "history.csv").write_text("\n".join(lines) + "\n")
    if evaluation is not None:
        (run / "evaluation.json").write_text(json.dumps(evaluation))
    if bundle:
        (run / "model.hcmodel").write_bytes(b"zip")
    return run


def test_default_runs_dir_is_in_user_data():
    assert default_runs_dir().name == "runs"


def test_new_run_dir_is_unique_and_sanitised(tmp_path):
    now = datetime(2026, 1, 2, 3, 4, 5)
    first = new_run_dir(tmp_path, "idc data/x", now=now)
    second = new_run_dir(tmp_path, "idc data/x", now=now)
    assert first.name == "20260102-030405-idc-data-x"
    assert second.name == "20260102-030405-idc-data-x-2"
    assert first.is_dir() and second.is_dir()


def test_read_history_converts_numbers_and_tolerates_missing(tmp_path):
    run = make_run(tmp_path, "20260101-000000-a", history_rows=3)
    rows = read_history(run)
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert rows[2]["accuracy"] == 0.7
    assert rows[0]["stage"] == "head"
    assert read_history(tmp_path / "nowhere") == []


def test_finished_incomplete_and_empty_runs(tmp_path):
    evaluation = {"accuracy": 0.9, "balanced_accuracy": 0.85, "macro_f1": 0.8, "patient_accuracy": 0.88}
    done = make_run(tmp_path, "20260103-000000-done", history_rows=5, evaluation=evaluation, bundle=True)
    cancelled = make_run(tmp_path, "20260102-000000-cancelled", history_rows=2)
    empty = make_run(tmp_path, "20260101-000000-empty")
    (tmp_path / "not-a-run").mkdir()
    runs = discover_runs(tmp_path)
    assert [r.path for r in runs] == [done, cancelled, empty]
    assert [r.status for r in runs] == ["finished", "incomplete", "empty"]
    assert runs[0].scores["balanced_accuracy"] == 0.85
    assert runs[0].bundle_path == done / "model.hcmodel"
    assert runs[1].bundle_path is None
    assert runs[0].best_val_accuracy == 0.8
    assert runs[1].epochs_done == 2 and runs[1].total_epochs == 5
    assert runs[0].data == "idc (12 images, 2 classes)"
    assert runs[0].created == datetime(2026, 1, 3)


def test_damaged_run_is_listed_not_raised(tmp_path):
    run = tmp_path / "20260101-000000-broken"
    run.mkdir()
    (run / "config.json").write_text("{not json")
    (run / "evaluation.json").write_text("[1, 2]")
    info = read_run(run)
    assert info.config is None
    assert info.summary == "configuration unreadable"
    assert info.data == "dataset unknown"
    assert info.scores == {}


def test_missing_runs_root_gives_empty_list(tmp_path):
    assert discover_runs(tmp_path / "missing") == []


def test_config_summary_names_size_weights_and_stages():
    text = config_summary(CONFIG)
    assert text == "64 px, batch 8, random init; head 2 ep @ 0.001 → from conv4_block1 3 ep @ 1e-05"


def test_compare_runs_puts_runs_side_by_side(tmp_path):
    a = read_run(make_run(tmp_path, "20260101-000000-a", history_rows=2, evaluation={"accuracy": 0.5}))
    other = dict(CONFIG, input_size=128)
    b = read_run(make_run(tmp_path, "20260102-000000-b", config=other))
    rows = dict(compare_runs([a, b]))
    assert rows["Input size"] == ["64", "128"]
    assert rows["Accuracy"] == ["0.500", "–"]
    assert rows["Epochs done"] == ["2 / 5", "0 / 5"]
    assert rows["Rotation"] == ["0.1", "0.1"]
