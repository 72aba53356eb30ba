"""Staged transfer learning of ResNet50 on a manifest, resumable, evaluated, bundled.

`train(config, manifest, run_dir, on_progress=..., stop=..., resume=...)` runs the stages
of the configuration one after the other. Each stage sets what is trainable and
recompiles with its own learning rate (and schedule); the backbone's BatchNormalization
layers stay in inference mode (see core.model). After every epoch a checkpoint (model and
optimizer state) and the run state are written atomically, so `resume=True` continues at
the next epoch of the stage where the run stopped: after a cancel, Ctrl-C or a killed
process. The best epoch (by validation loss) is restored at the end, evaluated on the test
split and saved as a model bundle. See core.run_folder for the files of a run.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import RESEARCH_NOTICE
from core.config import TrainConfig, config_to_dict, save_config
from core.errors import ConfigError, DatasetError, ManifestError
from core.jobs import ProgressCallback, StopFlag, report, should_stop
from core.manifest import Manifest, load_manifest, save_manifest
from core.run_folder import RunFolder, RunState

NO_VALIDATION_WARNING = "There is no validation split: early stopping is off and the last epoch is kept."
NO_TEST_WARNING = ("There is no test split: the scores below are on the validation split, which also "
                   "chose the best epoch, so they are optimistic.")


@dataclass
class TrainResult:
    status: str  # "finished" | "cancelled"
    run_dir: Path
    bundle_path: Path | None
    evaluation: dict | None
    history: list[dict] = field(default_factory=list)
    weights_source: str = "none"
    message: str = ""


@dataclass
class _Run:
    """Everything one call of train() works with."""

    config: TrainConfig
    manifest: Manifest
    folder: RunFolder
    state: RunState
    history: list[dict]
    data: Any  # core.train_steps.TrainData
    weights: Any  # core.weights.WeightsResolution
    warnings: list[str]
    on_progress: ProgressCallback | None
    stop: StopFlag | None
    best_weights: list | None = None


def train(
    config: TrainConfig,
    manifest: Manifest,
    run_dir: str | Path,
    *,
    on_progress: ProgressCallback | None = None,
    stop: StopFlag | None = None,
    resume: bool = False,
) -> TrainResult:
    """Train, evaluate and bundle; returns a cancelled result (checkpoint kept) when stopped."""
    from core import train_steps
    from core.weights import resolve_weights

    folder = RunFolder(run_dir)
    state = _open_run_folder(folder, config, manifest, resume)
    if state.finished and folder.bundle.is_file():
        return _finished_result(folder, state)
    history = folder.read_history()[: state.global_epochs]
    weights = _starting_weights(config, state, resolve_weights)
    data = train_steps.load(config, manifest, on_progress=on_progress, stop=stop)
    if data is None:
        return _cancelled(folder, state, history, weights.source, "Cancelled while decoding the images.")
    run = _Run(config, manifest, folder, state, history, data, weights,
               _warnings(config, manifest, weights, data), on_progress, stop)
    with train_steps.device_setup(config) as device:
        report(on_progress, event="start", stages=[s.name for s in config.stages],
               total_epochs=config.total_epochs, weights_source=weights.source, warnings=run.warnings,
               resumed=resume and state.global_epochs > 0, device=device.description,
               train_images=data.counts["train"], val_images=data.counts["val"], test_images=data.counts["test"])
        with device.scope():
            model = _train_stages(run, device)
            if model is None:
                return _cancelled(folder, state, history, weights.source,
                                  f"Cancelled; the checkpoint is kept. Resume with: histoclass train --out {folder.root} --resume")
            return _finish(run, model)


def _starting_weights(config: TrainConfig, state: RunState, resolve):
    """Where the run's weights came from: found now, or, once a checkpoint exists, as recorded then."""
    from dataclasses import replace

    found = resolve(config.weights)
    if state.checkpoint and state.weights_source:
        return replace(found, path=None, source=state.weights_source, message=state.weights_message)
    state.weights_source, state.weights_message = found.source, found.message
    return found


def _open_run_folder(folder: RunFolder, config: TrainConfig, manifest: Manifest, resume: bool) -> RunState:
    state = folder.read_state() if resume else None
    if state is not None:
        if state.manifest_hash and state.manifest_hash != manifest.hash:
            raise ConfigError(
                f"The run in {folder.root} was trained on a different manifest; resume it with its own "
                "manifest (leave --manifest out to use the copy in the run folder) or start a new run."
            )
        _check_same_config(folder, config)
        _follow_moved_images(folder, manifest)
        return state
    if not resume and (folder.state_json.exists() or folder.bundle.exists()):
        raise ConfigError(
            f"{folder.root} already holds a training run. Resume it (--resume) or choose a new folder."
        )
    folder.root.mkdir(parents=True, exist_ok=True)
    save_config(config, folder.config)
    save_manifest(manifest, folder.manifest)
    return RunState(manifest_hash=manifest.hash)


def _follow_moved_images(folder: RunFolder, manifest: Manifest) -> None:
    """Resumed with the images elsewhere (--data-root): the run's copy points there from now on."""
    try:
        saved = load_manifest(folder.manifest, check_files=False)
    except ManifestError:
        saved = None
    if saved is None or saved.root != manifest.root:
        save_manifest(manifest, folder.manifest)


def _check_same_config(folder: RunFolder, config: TrainConfig) -> None:
    try:
        saved = json.loads(folder.config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        save_config(config, folder.config)
        return
    if saved != json.loads(json.dumps(config_to_dict(config))):
        raise ConfigError(
            f"The configuration differs from the one the run in {folder.root} started with; resume "
            "with the same configuration (leave --config out to use the run folder's copy)."
        )


BATCHNORM_LEARNS_WARNING = ("BatchNormalization layers learn their statistics in this run: keeping them "
                            "frozen only makes sense with pretrained weights.")


def _warnings(config, manifest, weights, data) -> list[str]:
    from core.evaluate import OPTIMISTIC_WARNING

    warnings = []
    if weights.source == "none":
        warnings.append(weights.message)
        if config.keep_batchnorm_frozen:
            warnings.append(BATCHNORM_LEARNS_WARNING)
    if manifest.image_level:
        warnings.append(OPTIMISTIC_WARNING)
    warnings.extend(w for w in manifest.warnings if w not in warnings)
    if data.counts["val"] == 0:
        warnings.append(NO_VALIDATION_WARNING)
    if data.counts["test"] == 0:
        warnings.append(NO_TEST_WARNING)
    return warnings


def _train_stages(run: _Run, device):
    """Run the remaining stages; the model, or None when cancelled (after a checkpoint)."""
    from core import train_steps
    from core.training_callbacks import StopOnFlag

    state = run.state
    first = state.stage_index + (1 if state.stage_finished else 0)
    model = None
    for index in range(first, len(run.config.stages)):
        stage = run.config.stages[index]
        resumed_after_stage = model is None and state.stage_finished and state.checkpoint
        model = train_steps.stage_model(run, model, stage, index, device)
        if resumed_after_stage:
            _restore_best(run, model)  # what an uninterrupted run did at the end of that stage
        if index != state.stage_index:
            state.stage_index, state.epochs_done, state.stage_finished, state.wait = index, 0, False, 0
        report(run.on_progress, event="stage", stage=stage.name, stage_index=index, trainable=stage.trainable,
               learning_rate=stage.learning_rate, schedule=stage.schedule, epochs=stage.epochs,
               start_epoch=state.epochs_done + 1)
        stopper = StopOnFlag(run.stop)
        if state.epochs_done < stage.epochs and not should_stop(run.stop):
            _fit_stage(run, model, stage, index, stopper)
        if stopper.stopped or should_stop(run.stop):
            run.folder.save_checkpoint(model, state, run.history)
            return None
        state.stage_finished = True
        _restore_best(run, model)
    if model is None:  # every stage was already done: only the final steps were missing
        model = train_steps.stage_model(run, None, run.config.stages[-1], len(run.config.stages) - 1, device)
        _restore_best(run, model)
    state.finished = True
    run.folder.write_state(state)
    return model


def _fit_stage(run: _Run, model, stage, index: int, stopper) -> None:
    from core.training_callbacks import EpochKeeper, ProgressReporter, StageRun

    config = run.config
    epochs_after = [s.epochs for s in config.stages[index + 1:]]

    def later_epochs(epoch: int) -> int:
        return (stage.epochs - epoch) + sum(epochs_after)

    stage_run = StageRun(
        stage=stage, stage_index=index, batches=run.data.train_batches, later_epochs=later_epochs,
        folder=run.folder, state=run.state, history=run.history, val_data=run.data.val,
        monitor=config.early_stopping.monitor,
        patience=config.early_stopping.patience if config.early_stopping.enabled and run.data.val is not None else None,
        on_progress=run.on_progress, stop=stopper, best_weights=run.best_weights,
    )
    model.fit(
        run.data.train, epochs=stage.epochs, initial_epoch=run.state.epochs_done, verbose=0, shuffle=False,
        # The reporter goes first, so a stop set from its progress event ends this very batch.
        callbacks=[ProgressReporter(stage_run), stopper, EpochKeeper(stage_run)],
    )
    run.best_weights = stage_run.best_weights


def _restore_best(run: _Run, model) -> None:
    """Go on from (and finally keep) the best epoch so far, when it is not the latest one."""
    state = run.state
    if state.best_epoch is None or state.best_epoch == state.global_epochs:
        return
    if run.best_weights is None and run.folder.best_model.is_file():
        import keras

        run.best_weights = keras.saving.load_model(run.folder.best_model, compile=False).get_weights()
    if run.best_weights is not None:
        model.set_weights(run.best_weights)


def _finish(run: _Run, model) -> TrainResult:
    from core import train_steps

    evaluation = train_steps.evaluate_model(run, model)
    bundle_path = train_steps.save_outputs(run, model, evaluation)
    message = _summary(run, evaluation)
    run.folder.report.parent.mkdir(parents=True, exist_ok=True)
    from core.fileio import write_text_atomic

    write_text_atomic(run.folder.report, message + "\n")
    report(run.on_progress, event="finished_training", bundle=str(bundle_path))
    return TrainResult("finished", run.folder.root, bundle_path, evaluation, list(run.history),
                       run.weights.source, message)


def _summary(run: _Run, evaluation: dict | None) -> str:
    """The run's report; its first line is the warning that matters most (random init, optimistic split)."""
    from core.evaluate import SCORE_KEYS

    lines = list(run.warnings)
    state = run.state
    lines.append(f"Training finished after {state.global_epochs} epochs "
                 f"({', '.join(s.name for s in run.config.stages)}); best epoch: {state.best_epoch or state.global_epochs}.")
    if evaluation:
        split = evaluation.get("split", "test")
        scores = ", ".join(f"{k.replace('_', ' ')} {evaluation[k]:.3f}" for k in
                           SCORE_KEYS
                           if isinstance(evaluation.get(k), (int, float)))
        lines.append(f"On the {split} split ({evaluation['images']} images): {scores}.")
    lines.append(RESEARCH_NOTICE)
    return "\n".join(lines)


def _finished_result(folder: RunFolder, state: RunState) -> TrainResult:
    try:
        evaluation = json.loads(folder.evaluation.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        evaluation = None
    try:
        message = folder.report.read_text(encoding="utf-8").strip()
    except OSError:
        message = "This run had already finished."
    return TrainResult("finished", folder.root, folder.bundle, evaluation,
                       folder.read_history()[: state.global_epochs], state.weights_source or "none", message)


def _cancelled(folder, state, history, weights_source, message) -> TrainResult:
    return TrainResult("cancelled", folder.root, None, None, list(history), weights_source, message)


def batches_per_epoch(images: int, batch_size: int) -> int:
    if images <= 0:
        raise DatasetError("The training split is empty: make a split with training images first.")
    return math.ceil(images / batch_size)

