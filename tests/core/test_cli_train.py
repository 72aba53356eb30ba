"""`histoclass train` / `histoclass evaluate` as a user or the GUI runs them.

The training subprocess sees two logical CPU devices, so the run goes through
tf.distribute.MirroredStrategy (the multi-GPU path); Ctrl-C (SIGINT) stops it after a
batch with a checkpoint, and a second process resumes it from the run folder alone.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main
from core.config import Augmentation, EarlyStopping, Stage, TrainConfig, save_config
from core.run_folder import RunFolder
from tests.core.synthetic import make_manifest

REPO = Path(__file__).resolve().parents[2]
TWO_CPUS = """
import sys, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from core.cli import main
sys.exit(main(sys.argv[1:]))
"""
CONFIG = TrainConfig(
    input_size=64, batch_size=8, seed=3, weights="none",
    augmentation=Augmentation(flip="none", rotation=0.0, contrast=0.0),
    early_stopping=EarlyStopping(enabled=False),
    stages=(Stage("head", 2, 1e-2, "head"),),
)


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    make_manifest(tmp / "data", images_per_patient=3)
    save_config(CONFIG, tmp / "config.json")
    env = {**os.environ, "HISTOCLASS_CACHE_DIR": str(tmp / "cache"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    args = ["train", "--manifest", str(tmp / "data" / "manifest.json"), "--config", str(tmp / "config.json"),
            "--out", str(tmp / "run"), "--json"]
    proc = subprocess.Popen([sys.executable, "-c", TWO_CPUS, *args], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first_lines = []
    for line in proc.stdout:
        first_lines.append(line)
        if line.startswith("{") and json.loads(line)["event"] == "epoch":
            proc.send_signal(signal.SIGINT)  # Ctrl-C after the first epoch
    first_code = proc.wait(timeout=300)
    first_err = proc.stderr.read()
    state_after_cancel = RunFolder(tmp / "run").read_state()
    # Resume in this process (one device), from the run folder alone: no --manifest, no --config.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HISTOCLASS_CACHE_DIR", env["HISTOCLASS_CACHE_DIR"])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            resumed_code = main(["train", "--out", str(tmp / "run"), "--resume", "--json"])
    return {"tmp": tmp, "env": env, "first": _lines("".join(first_lines)), "first_code": first_code,
            "first_err": first_err, "state": state_after_cancel, "resumed": _lines(out.getvalue()),
            "resumed_code": resumed_code, "resumed_err": ""}


def test_training_uses_mirrored_strategy_on_two_devices(cli_run):
    start = next(e for e in cli_run["first"] if e["event"] == "start")
    assert start["device"].startswith("2 CPUs (MirroredStrategy)"), cli_run["first_err"]
    assert "random initialisation" in start["warnings"][0]


def test_ctrl_c_cancels_with_a_checkpoint(cli_run):
    last = cli_run["first"][-1]
    assert last["event"] == "cancelled" and cli_run["first_code"] == 130, cli_run["first_err"]
    assert "--resume" in last["message"]
    assert cli_run["state"].epochs_done == 1 and cli_run["state"].checkpoint


def test_resume_from_the_run_folder_finishes(cli_run):
    events, code = cli_run["resumed"], cli_run["resumed_code"]
    assert code == 0, cli_run["resumed_err"]
    last = events[-1]
    assert last["event"] == "finished" and Path(last["bundle"]).is_file()
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "patient_accuracy", "per_class",
                "confusion_matrix", "classes", "ece", "warnings"):
        assert key in last["evaluation"]
    assert [e["global_epoch"] for e in events if e["event"] == "epoch"] == [2]
    assert [r["global_epoch"] for r in RunFolder(cli_run["tmp"] / "run").read_history()] == [1, 2]


def test_evaluate_command(cli_run, capsys, monkeypatch):
    from core.cli.train_cmds import format_evaluation

    monkeypatch.setenv("HISTOCLASS_CACHE_DIR", cli_run["env"]["HISTOCLASS_CACHE_DIR"])
    tmp = cli_run["tmp"]
    bundle = str(tmp / "run" / "model.hcmodel")
    # Same images, but declared split by image: every score must be flagged as optimistic.
    make_manifest(tmp / "data", images_per_patient=3, by="image")
    assert main(["evaluate", bundle, "--manifest", str(tmp / "data" / "manifest.json"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["split"] == "test" and result["images"] == 6 and len(result["predictions"]) == 6
    assert result["accuracy"] == pytest.approx(cli_run["resumed"][-1]["evaluation"]["accuracy"])
    assert result["warnings"][0].startswith("Scores are optimistic")
    text = format_evaluation(result, "model")
    assert text[0].startswith("Warning: Scores are optimistic")
    assert text[-1] == "For research use only. Not for clinical diagnosis."


def test_a_moved_dataset_is_found_with_data_root(cli_run, capsys, monkeypatch):
    """The run copied to another machine: the manifest names a folder that is not there."""
    from core.manifest import load_manifest
    from core.run_folder import RunFolder
    from core.train import _follow_moved_images

    monkeypatch.setenv("HISTOCLASS_CACHE_DIR", cli_run["env"]["HISTOCLASS_CACHE_DIR"])
    tmp = cli_run["tmp"]
    data = json.loads((tmp / "run" / "manifest.json").read_text())
    data["root"] = str(tmp / "on-the-lab-pc")  # the root is not part of the manifest's hash
    moved = tmp / "moved.json"
    moved.write_text(json.dumps(data))
    bundle = str(tmp / "run" / "model.hcmodel")
    assert main(["evaluate", bundle, "--manifest", str(moved)]) == 2
    assert "--data-root" in capsys.readouterr().err
    assert main(["evaluate", bundle, "--manifest", str(moved), "--data-root", str(tmp / "data"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["accuracy"] == pytest.approx(cli_run["resumed"][-1]["evaluation"]["accuracy"])

    # Resuming with --data-root makes the run's own copy point to the new place.
    folder = RunFolder(tmp / "copied-run")
    folder.root.mkdir()
    moved_manifest = load_manifest(moved, check_files=False)
    (folder.manifest).write_text(moved.read_text())
    _follow_moved_images(folder, moved_manifest.relocated(tmp / "data"))
    assert load_manifest(folder.manifest).root == str(tmp / "data")


def test_train_failures_end_with_a_failed_line(tmp_path, capsys):
    code = main(["train", "--manifest", str(tmp_path / "missing.json"), "--config", str(tmp_path / "c.json"),
                 "--out", str(tmp_path / "run"), "--json"])
    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert code == 2 and last["event"] == "failed" and "not found" in last["message"]
    assert main(["train", "--out", str(tmp_path / "run")]) == 2
    assert "--manifest and --config" in capsys.readouterr().err
