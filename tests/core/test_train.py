"""core.train on generated separable images: learning, cancel within one batch, resume, stages, outputs.

One small run (ResNet50 from random initialisation at 32 px, 24 training images, batch 8)
is cancelled at batch 2 of epoch 2 and then resumed to the end; the tests below read that
run. Early stopping and the best-epoch restore are tested with a fake model, as Keras
tests its own EarlyStopping.
"""
from __future__ import annotations

import json
import threading
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from core.config import Augmentation, EarlyStopping, Stage, TrainConfig
from core.errors import ConfigError
from core.run_folder import RunFolder, RunState
from tests.core.synthetic import make_manifest

CONFIG = TrainConfig(
    input_size=32, batch_size=8, seed=1, weights="none",
    augmentation=Augmentation(flip="horizontal", rotation=0.0, contrast=0.0),
    early_stopping=EarlyStopping(enabled=True, monitor="val_loss", patience=5),
    stages=(Stage("head", 2, 1e-2, "head"), Stage("top", 1, 1e-3, "from:conv5_block3")),
)
STOP_AT = {"global_epoch": 2, "batch": 2}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from core.train import train

    tmp = tmp_path_factory.mktemp("train")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HISTOCLASS_CACHE_DIR", str(tmp / "cache"))
        manifest = make_manifest(tmp / "data")
        stop = threading.Event()
        first_events: list[dict] = []

        def cancel_at_batch(event):
            first_events.append(event)
            if event["event"] == "batch" and all(event[k] == v for k, v in STOP_AT.items()):
                stop.set()

        first = train(CONFIG, manifest, tmp / "run", on_progress=cancel_at_batch, stop=stop)
        folder = RunFolder(tmp / "run")
        after_cancel = SimpleNamespace(state=folder.read_state(), history=folder.read_history(),
                                       checkpoints=sorted(p.name for p in folder.checkpoints.glob("*.keras")))
        second_events: list[dict] = []
        second = train(CONFIG, manifest, tmp / "run", on_progress=second_events.append, resume=True)
    return SimpleNamespace(manifest=manifest, folder=folder, first=first, first_events=first_events,
                           after_cancel=after_cancel, second=second, second_events=second_events, tmp=tmp)


def _of(events, kind):
    return [e for e in events if e["event"] == kind]


def test_cancel_lands_within_one_batch_and_keeps_a_checkpoint(run):
    assert run.first.status == "cancelled" and run.first.bundle_path is None
    batches = _of(run.first_events, "batch")
    assert {k: batches[-1][k] for k in STOP_AT} == STOP_AT  # nothing ran after the stop
    assert [e["global_epoch"] for e in _of(run.first_events, "epoch")] == [1]
    assert run.after_cancel.state.epochs_done == 1 and run.after_cancel.state.stage_index == 0
    assert len(run.after_cancel.checkpoints) == 1
    assert [row["global_epoch"] for row in run.after_cancel.history] == [1]
    assert "--resume" in run.first.message


def test_resume_continues_at_the_next_epoch_with_contiguous_history(run):
    assert run.second.status == "finished"
    first_batch = _of(run.second_events, "batch")[0]
    assert (first_batch["stage"], first_batch["epoch"], first_batch["global_epoch"], first_batch["batch"]) == ("head", 2, 2, 1)
    assert _of(run.second_events, "start")[0]["resumed"] is True
    rows = run.folder.read_history()
    assert [r["global_epoch"] for r in rows] == [1, 2, 3]
    assert [(r["stage"], r["epoch"]) for r in rows] == [("head", 1), ("head", 2), ("top", 1)]
    assert rows[0] == run.after_cancel.history[0]  # the epoch before the cancel is kept as it was
    assert [r["global_epoch"] for r in run.second.history] == [1, 2, 3]


def test_each_stage_is_recompiled_with_its_own_learning_rate(run):
    stage_events = _of(run.second_events, "stage")
    assert [(e["stage"], e["trainable"]) for e in stage_events] == [("head", "head"), ("top", "from:conv5_block3")]
    rates = [r["learning_rate"] for r in run.folder.read_history()]
    assert rates[:2] == pytest.approx([1e-2] * 2) and rates[2] == pytest.approx(1e-3)


def test_loss_falls_and_the_separable_set_is_learned(run):
    rows = run.folder.read_history()
    assert rows[-1]["loss"] < rows[0]["loss"]
    evaluation = run.second.evaluation
    assert _of(run.second_events, "evaluate") == [{"event": "evaluate", "split": "test", "images": 8}]
    assert evaluation["split"] == "test" and evaluation["images"] == 8
    assert evaluation["accuracy"] > 0.9 and evaluation["balanced_accuracy"] > 0.9
    saved = json.loads(run.folder.evaluation.read_text())
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "patient_accuracy", "per_class",
                "confusion_matrix", "classes", "ece", "warnings"):
        assert key in saved
    assert len(saved["predictions"]) == 8


def test_run_folder_holds_every_output(run):
    root = run.folder.root
    for name in ("config.json", "manifest.json", "history.csv", "best.keras", "evaluation.json",
                 "confusion_matrix.png", "model.hcmodel", "report.txt"):
        assert (root / name).is_file(), name
    with Image.open(root / "confusion_matrix.png") as image:
        assert image.format == "PNG"
    state = run.folder.read_state()
    assert state.finished and state.global_epochs == 3


def test_report_first_line_says_random_initialisation(run):
    first_line = run.folder.report.read_text().splitlines()[0]
    assert "random initialisation" in first_line
    assert "random initialisation" in run.second.message.splitlines()[0]
    assert run.second.weights_source == "none"


def test_bundle_round_trip_gives_the_evaluated_predictions(run):
    from core import pipeline
    from core.bundle import load_bundle

    bundle = load_bundle(run.second.bundle_path)
    assert _optimizer_bytes(run.second.bundle_path) == 0  # for prediction only: a third of the size
    assert bundle.classes == run.manifest.classes and bundle.input_size == 32
    assert bundle.card["weights_source"] == "none"
    assert bundle.card["metrics"]["accuracy"] == run.second.evaluation["accuracy"]
    test = run.manifest.split_samples("test")
    images = pipeline.decoded_images(run.manifest, 32)[pipeline.rows_of(run.manifest, test)]
    probs = bundle.predict(np.asarray(images))
    expected = [p["probability"] for p in run.second.evaluation["predictions"]]
    assert probs.max(axis=1) == pytest.approx(expected, abs=1e-4)


def _optimizer_bytes(bundle_path) -> int:
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(bundle_path) as outer:
        inner = zipfile.ZipFile(io.BytesIO(outer.read("model.keras")))
    sizes = []
    with h5py.File(io.BytesIO(inner.read("model.weights.h5")), "r") as weights:
        if "optimizer" in weights:
            weights["optimizer"].visititems(
                lambda name, item: sizes.append(item.nbytes) if isinstance(item, h5py.Dataset) else None)
    return sum(sizes)


def test_a_finished_run_resumes_to_its_result_and_a_used_folder_is_refused(run):
    from core.train import train

    again = train(CONFIG, run.manifest, run.folder.root, resume=True)
    assert again.status == "finished" and again.evaluation["accuracy"] == run.second.evaluation["accuracy"]
    with pytest.raises(ConfigError, match="already holds a training run"):
        train(CONFIG, run.manifest, run.folder.root)
    other = TrainConfig(**{**CONFIG.__dict__, "seed": 2})
    with pytest.raises(ConfigError, match="configuration differs"):
        train(other, run.manifest, run.folder.root, resume=True)


# --- stages without training: what each stage makes trainable ---------------------------


def _stage_model_run(config, tmp_path):
    from core.weights import resolve_weights

    return SimpleNamespace(config=config, state=RunState(), folder=RunFolder(tmp_path),
                           manifest=SimpleNamespace(classes=["a", "b"]), weights=resolve_weights("none"),
                           data=SimpleNamespace(train_batches=3))


@pytest.mark.parametrize("keep_bn_frozen", [True, False])
def test_stage_model_sets_trainable_weights_and_recompiles(tmp_path, keep_bn_frozen):
    import keras

    from core.train_steps import stage_model

    config = TrainConfig(**{**CONFIG.__dict__, "keep_batchnorm_frozen": keep_bn_frozen})
    fake = _stage_model_run(config, tmp_path)
    fake.weights = SimpleNamespace(source="config", path=None)  # as if pretrained: freezing applies
    device = SimpleNamespace(xla=False)
    model = stage_model(fake, None, Stage("h", 1, 1e-2, "head"), 0, device)
    assert len(model.trainable_weights) == 2  # the Dense head: kernel + bias
    head_optimizer = model.optimizer
    model = stage_model(fake, model, Stage("t", 1, 1e-3, "from:conv5_block3", schedule="cosine"), 1, device)
    names = {w.path.split("/")[-2] for w in model.trainable_weights}
    assert model.optimizer is not head_optimizer
    assert isinstance(model.optimizer.learning_rate_schedule if hasattr(model.optimizer, "learning_rate_schedule")
                      else model.optimizer._learning_rate, keras.optimizers.schedules.CosineDecay)
    assert all(n.startswith("conv5_block3_") or n == "logits" for n in names)
    conv_layers = {n for n in names if n.endswith("_conv")}
    assert conv_layers == {"conv5_block3_1_conv", "conv5_block3_2_conv", "conv5_block3_3_conv"}
    assert any(n.endswith("_bn") for n in names) is (not keep_bn_frozen)
    model = stage_model(fake, model, Stage("a", 1, 1e-4, "all"), 2, device)
    convs = sum(1 for w in model.trainable_weights if w.path.split("/")[-2].endswith("_conv"))
    assert convs == 2 * 53  # all 53 convolutions, kernel + bias
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-4)


def test_batchnorm_learns_when_training_from_random_initialisation(tmp_path):
    from core.train_steps import stage_model

    fake = _stage_model_run(CONFIG, tmp_path)  # weights "none", keep_batchnorm_frozen True
    model = stage_model(fake, None, Stage("t", 1, 1e-3, "from:conv5_block3"), 0, SimpleNamespace(xla=False))
    names = {w.path.split("/")[-2] for w in model.trainable_weights}
    assert "conv5_block3_1_bn" in names


def test_the_report_says_batchnorm_learns_without_pretrained_weights(run):
    from core.train import BATCHNORM_LEARNS_WARNING

    assert BATCHNORM_LEARNS_WARNING in (run.folder.root / "report.txt").read_text()


# --- early stopping and the best epoch, with a fake model --------------------------------


class FakeModel:
    def __init__(self, val_losses):
        self.val_losses = list(val_losses)
        self.epoch = 0
        self.stop_training = False
        self.optimizer = None

    def get_weights(self):
        return [np.array([self.epoch])]

    def set_weights(self, weights):
        self.epoch = int(weights[0][0])

    def evaluate(self, data, verbose=0, return_dict=True):
        return {"loss": self.val_losses[self.epoch - 1], "accuracy": 0.5}

    def save(self, path):
        path.write_bytes(b"model")


def test_early_stopping_stops_after_patience_and_the_best_epoch_is_restored(tmp_path):
    from core.train import _restore_best
    from core.training_callbacks import EpochKeeper, StageRun, StopOnFlag

    model = FakeModel([1.0, 0.5, 0.7, 0.6, 0.8])
    folder = RunFolder(tmp_path)
    state = RunState()
    stage_run = StageRun(stage=Stage("s", 10, 1e-3), stage_index=0, batches=1, later_epochs=lambda e: 0,
                         folder=folder, state=state, history=[], val_data=object(), monitor="val_loss",
                         patience=2, on_progress=None, stop=StopOnFlag(None))
    keeper = EpochKeeper(stage_run)
    keeper.set_model(model)
    for epoch in range(5):
        if model.stop_training:
            break
        model.epoch = epoch + 1
        keeper.on_epoch_begin(epoch)
        keeper.on_epoch_end(epoch, {"loss": 1.0, "accuracy": 0.5})
    assert model.stop_training and model.epoch == 4  # 0.7 and 0.6 did not beat 0.5: patience 2 used up
    assert (state.best_epoch, state.best_value, state.stage_finished) == (2, 0.5, True)
    assert folder.best_model.is_file() and folder.read_state().checkpoint
    fake_run = SimpleNamespace(state=state, best_weights=stage_run.best_weights, folder=folder)
    _restore_best(fake_run, model)
    assert model.epoch == 2


# --- devices: mixed precision and XLA only where asked for (or on a GPU) -------------------


@pytest.mark.parametrize("mixed, xla", [("on", "on"), ("auto", "auto"), ("off", "off")])
def test_device_setup_applies_and_restores_mixed_precision(mixed, xla):
    import keras
    import tensorflow as tf

    from core.train_steps import device_setup

    on_gpu = bool(tf.config.list_logical_devices("GPU"))
    config = TrainConfig(**{**CONFIG.__dict__, "mixed_precision": mixed, "xla": xla})
    before = keras.mixed_precision.global_policy().name
    with device_setup(config) as device:
        expect_mixed = mixed == "on" or (mixed == "auto" and on_gpu)
        assert device.mixed_precision is expect_mixed
        assert keras.mixed_precision.global_policy().name == ("mixed_float16" if expect_mixed else before)
        assert device.xla is (xla == "on" or (xla == "auto" and on_gpu))
        assert ("mixed precision" in device.description) is expect_mixed
    assert keras.mixed_precision.global_policy().name == before
