"""The parts of a training run that touch TensorFlow: data, devices, per-stage model, outputs.

Kept apart from core.train (the order of things) so each piece stays small and testable.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from core.errors import DatasetError
from core.jobs import report

TRAIN, VAL, TEST = "train", "val", "test"


@dataclass
class TrainData:
    images: np.ndarray  # memory map of every manifest sample, resized
    train: Any  # tf.data: (images, labels[, sample weights]), shuffled
    val: Any  # tf.data or None
    samples: dict[str, list]  # split -> manifest samples
    rows: dict[str, np.ndarray]  # split -> cache rows
    train_batches: int
    class_weights: dict[int, float] | None

    @property
    def counts(self) -> dict[str, int]:
        return {name: len(self.samples[name]) for name in (TRAIN, VAL, TEST)}


def load(config, manifest, *, on_progress=None, stop=None) -> TrainData | None:
    """Decode (or reuse the cache) and build the datasets; None if stopped while decoding."""
    from core import pipeline
    from core.train import batches_per_epoch

    samples = {name: manifest.split_samples(name) for name in (TRAIN, VAL, TEST)}
    _check_classes(manifest, samples[TRAIN])
    images = pipeline.decoded_images(manifest, config.input_size, on_progress=on_progress, stop=stop)
    if images is None:
        return None
    rows = {name: pipeline.rows_of(manifest, s) for name, s in samples.items()}
    labels = {name: pipeline.label_indices(manifest, s) for name, s in samples.items()}
    weights = pipeline.class_weights(manifest, labels[TRAIN]) if config.class_weights else None
    train = pipeline.make_dataset(images, rows[TRAIN], labels[TRAIN], batch_size=config.batch_size,
                                  shuffle=True, seed=config.seed, weights=weights)
    val = None
    if samples[VAL]:
        val = pipeline.make_dataset(images, rows[VAL], labels[VAL], batch_size=config.batch_size,
                                    shuffle=False, seed=config.seed)
    return TrainData(images, train, val, samples, rows,
                     batches_per_epoch(len(samples[TRAIN]), config.batch_size), weights)


def _check_classes(manifest, train_samples) -> None:
    if len(manifest.classes) < 2:
        raise DatasetError("Training needs at least two classes; the manifest has "
                           f"{len(manifest.classes)}.")
    present = {s.label for s in train_samples}
    if not train_samples:
        raise DatasetError("The training split is empty: make a split with training images first.")
    missing = [c for c in manifest.classes if c not in present]
    if missing:
        raise DatasetError("These classes have no training images: " + ", ".join(missing)
                           + ". Add images of them or leave them out of the split.")


@dataclass
class Device:
    strategy: Any
    xla: bool
    mixed_precision: bool
    description: str

    def scope(self):
        return self.strategy.scope()


@contextlib.contextmanager
def device_setup(config) -> Iterator[Device]:
    """Strategy (MirroredStrategy over >1 device), mixed precision and XLA as configured.

    "auto" switches mixed precision and XLA on only on a GPU; the global dtype policy is
    restored afterwards, so other code in the process (the viewer) is unaffected.
    """
    import keras
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    devices = gpus or tf.config.list_logical_devices("CPU")
    strategy = tf.distribute.MirroredStrategy([d.name for d in devices]) if len(devices) > 1 else tf.distribute.get_strategy()
    mixed = config.mixed_precision == "on" or (config.mixed_precision == "auto" and bool(gpus))
    # Keras itself leaves XLA off under tf.distribute; "on" forces it.
    xla = config.xla == "on" or (config.xla == "auto" and bool(gpus) and len(devices) == 1)
    kind = "GPU" if gpus else "CPU"
    text = f"{len(devices)} {kind}{'s' if len(devices) > 1 else ''}"
    text += " (MirroredStrategy)" if len(devices) > 1 else ""
    text += ", mixed precision" if mixed else ""
    text += ", XLA" if xla else ""
    previous = keras.mixed_precision.global_policy().name
    keras.utils.set_random_seed(config.seed)
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield Device(strategy, xla, mixed, text)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _optimizer(stage, batches: int):
    import keras

    rate = stage.learning_rate
    if stage.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps=max(1, stage.epochs * batches), alpha=0.01)
    return keras.optimizers.Adam(learning_rate=rate)


def batchnorm_frozen(run) -> bool:
    """Whether BatchNorm statistics stay frozen in this run.

    Freezing them keeps what ImageNet taught the backbone. From random initialisation the
    stored statistics are placeholders (mean 0, variance 1): frozen, they let activations
    grow through 50 layers (first losses near 30), so they are learnt instead.
    """
    return run.config.keep_batchnorm_frozen and run.weights.source != "none"


def stage_model(run, model, stage, index: int, device):
    """The model set up for one stage: built (or restored from the checkpoint), made trainable, recompiled."""
    from core.model import build_model, set_trainable

    config, state = run.config, run.state
    checkpoint = run.folder.checkpoint_path(state) if model is None else None
    same_stage = checkpoint is not None and state.stage_index == index and not state.stage_finished
    if model is None:
        model = build_model(len(run.manifest.classes), config,
                            weights_path=None if checkpoint else run.weights.path)
        if checkpoint is not None and not same_stage:
            model.load_weights(checkpoint)  # a finished stage: weights only, its optimizer is done
    set_trainable(model, stage.trainable, keep_batchnorm_frozen=batchnorm_frozen(run))
    model.compile(optimizer=_optimizer(stage, run.data.train_batches), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=device.xla)
    if same_stage:
        # Build the optimizer's slots for this stage's trainable weights, then load them
        # with the weights, so Adam's moments and the schedule's step carry on.
        model.optimizer.build(model.trainable_variables)
        model.load_weights(checkpoint)
    return model


def evaluate_model(run, model) -> dict | None:
    """Scores of the restored best model on the test split (or, lacking one, on validation)."""
    from core import pipeline
    from core.evaluate import class_groups, compute_metrics
    from core.train import NO_TEST_WARNING

    split = TEST if run.data.samples[TEST] else (VAL if run.data.samples[VAL] else None)
    if split is None:
        return None
    samples, rows = run.data.samples[split], run.data.rows[split]
    report(run.on_progress, event="evaluate", split=split, images=len(samples))
    labels = pipeline.label_indices(run.manifest, samples)
    ds = pipeline.make_dataset(run.data.images, rows, labels, batch_size=run.config.batch_size,
                               shuffle=False, seed=0).map(lambda x, y: x)
    probs = model.predict(ds, verbose=0)
    metrics = compute_metrics(labels, probs, run.manifest.classes,
                              patients=[s.patient for s in samples],
                              magnifications=[s.magnification for s in samples],
                              groups=class_groups(run.manifest, run.manifest.classes),
                              image_level=bool(run.manifest.image_level))
    if split == VAL:
        metrics["warnings"].insert(1 if run.manifest.image_level else 0, NO_TEST_WARNING)
    metrics["split"] = split
    classes = run.manifest.classes
    metrics["predictions"] = [
        {"path": s.path, "true": s.label, "pred": classes[int(p.argmax())], "probability": float(p.max())}
        for s, p in zip(samples, probs)
    ]
    return metrics


def save_outputs(run, model, evaluation: dict | None):
    """evaluation.json, confusion_matrix.png, best.keras (if no validation chose one) and the bundle."""
    from core.bundle import make_card, save_bundle
    from core.config import config_to_dict
    from core.evaluate import class_groups, plot_confusion
    from core.fileio import write_json_atomic

    folder = run.folder
    if evaluation is not None:
        write_json_atomic(folder.evaluation, evaluation)
        plot_confusion(evaluation["confusion_matrix"], evaluation["classes"], folder.confusion,
                       title=f"Confusion matrix ({evaluation['split']} split)")
    if not folder.best_model.is_file():
        folder.save_best(model)
    metrics = {k: v for k, v in (evaluation or {}).items() if k != "predictions"}
    card = make_card(classes=list(run.manifest.classes), input_size=run.config.input_size,
                     config=config_to_dict(run.config), manifest_hash=run.manifest.hash, metrics=metrics,
                     weights_source=run.weights.source,
                     groups=class_groups(run.manifest, run.manifest.classes), name=folder.root.name)
    # A copy without optimizer state (a third of the size): the bundle is for prediction.
    # Not keras.models.clone_model: it recompiles the copy and builds a fresh optimizer.
    clean = type(model).from_config(model.get_config())
    clean.set_weights(model.get_weights())
    return save_bundle(clean, card, folder.bundle)
