"""The training configuration: a versioned JSON file and the frozen dataclasses it maps to.

This module never imports TensorFlow: the GUI reads and writes configurations before the
engine loads. Every value is checked when a dataclass is made, and `config_from_dict`
refuses unknown keys, so a typo in a JSON file is named rather than silently ignored.

Input size: users choose 64..512 px (`MIN_INPUT_SIZE`..`MAX_INPUT_SIZE`); files, the
command line and the GUI go through `config_from_dict`, which enforces that range. The
dataclass itself accepts down to `MIN_NETWORK_INPUT_SIZE` (32 px, the smallest input
ResNet50 reduces to a 1x1 feature map) so that tests can build tiny models; pass
`min_input_size=MIN_NETWORK_INPUT_SIZE` to `config_from_dict`/`load_config` to read such
a test configuration back.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from core.errors import ConfigError
from core.fileio import write_json_atomic

SCHEMA_VERSION = 1
MIN_INPUT_SIZE = 64
MAX_INPUT_SIZE = 512
MIN_NETWORK_INPUT_SIZE = 32

# ResNet50's residual blocks in network order; "conv1" is the stem. `from:<block>`
# unfreezes that block and everything after it.
RESNET_BLOCKS: tuple[str, ...] = ("conv1",) + tuple(
    f"conv{stage}_block{block}"
    for stage, blocks in ((2, 3), (3, 4), (4, 6), (5, 3))
    for block in range(1, blocks + 1)
)

FLIP_MODES = ("horizontal_and_vertical", "horizontal", "vertical", "none")
SCHEDULES = ("constant", "cosine")
MONITORS = ("val_loss", "val_accuracy")
AUTO_ON_OFF = ("auto", "on", "off")
WEIGHTS_KEYWORDS = ("imagenet", "none")


def _fail(key: str, problem: str) -> None:
    raise ConfigError(f"configuration key '{key}': {problem}")


def _check_number(key: str, value: Any, low: float, high: float, *, integer: bool = False) -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        _fail(key, f"expected {'a whole number' if integer else 'a number'}, got {value!r}")
    if not (low <= value <= high) or (not integer and not math.isfinite(value)):
        _fail(key, f"{value!r} is outside the allowed range {low}..{high}")


def _check_choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        _fail(key, f"{value!r} is not one of {', '.join(choices)}")


def _check_bool(key: str, value: Any) -> None:
    if not isinstance(value, bool):
        _fail(key, f"expected true or false, got {value!r}")


def check_trainable(value: Any, key: str = "trainable") -> None:
    """`head`, `all` or `from:<block>` with a block from RESNET_BLOCKS."""
    if value in ("head", "all"):
        return
    if isinstance(value, str) and value.startswith("from:") and value[5:] in RESNET_BLOCKS:
        return
    _fail(key, f"{value!r} is not 'head', 'all' or 'from:<block>' (e.g. from:conv4_block1, "
               f"from:conv5_block1)")


@dataclass(frozen=True)
class Stage:
    name: str
    epochs: int
    learning_rate: float
    trainable: str = "head"
    schedule: str = "constant"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            _fail("stages.name", "each stage needs a non-empty name")
        _check_number(f"stages.{self.name}.epochs", self.epochs, 1, 1000, integer=True)
        _check_number(f"stages.{self.name}.learning_rate", self.learning_rate, 1e-9, 1.0)
        check_trainable(self.trainable, f"stages.{self.name}.trainable")
        _check_choice(f"stages.{self.name}.schedule", self.schedule, SCHEDULES)


@dataclass(frozen=True)
class Augmentation:
    flip: str = "horizontal_and_vertical"
    rotation: float = 0.25  # fraction of a full turn: 0.25 = up to +-90 degrees
    contrast: float = 0.1

    def __post_init__(self) -> None:
        _check_choice("augmentation.flip", self.flip, FLIP_MODES)
        _check_number("augmentation.rotation", self.rotation, 0.0, 0.5)
        _check_number("augmentation.contrast", self.contrast, 0.0, 0.9)

    @property
    def active(self) -> bool:
        return self.flip != "none" or self.rotation > 0 or self.contrast > 0


@dataclass(frozen=True)
class Regularization:
    kernel_l2: float = 1e-4
    bias_l2: float = 1e-4
    dropout: float = 0.3

    def __post_init__(self) -> None:
        _check_number("regularization.kernel_l2", self.kernel_l2, 0.0, 1.0)
        _check_number("regularization.bias_l2", self.bias_l2, 0.0, 1.0)
        _check_number("regularization.dropout", self.dropout, 0.0, 0.95)


@dataclass(frozen=True)
class EarlyStopping:
    enabled: bool = True
    monitor: str = "val_loss"
    patience: int = 4

    def __post_init__(self) -> None:
        _check_bool("early_stopping.enabled", self.enabled)
        _check_choice("early_stopping.monitor", self.monitor, MONITORS)
        _check_number("early_stopping.patience", self.patience, 0, 1000, integer=True)


def default_stages() -> tuple[Stage, ...]:
    # Head first on a frozen backbone, then fine-tune from conv4_block1 at a 10x lower rate.
    return (
        Stage("head", epochs=5, learning_rate=1e-3, trainable="head"),
        Stage("fine_tune", epochs=15, learning_rate=1e-4, trainable="from:conv4_block1",
              schedule="cosine"),
    )


@dataclass(frozen=True)
class TrainConfig:
    schema_version: int = SCHEMA_VERSION
    input_size: int = 224
    batch_size: int = 32
    seed: int = 42
    weights: str = "imagenet"  # "imagenet", "none" or a path to a no-top weights file
    augmentation: Augmentation = field(default_factory=Augmentation)
    regularization: Regularization = field(default_factory=Regularization)
    class_weights: bool = True
    early_stopping: EarlyStopping = field(default_factory=EarlyStopping)
    keep_batchnorm_frozen: bool = True
    mixed_precision: str = "auto"
    xla: str = "auto"
    stages: tuple[Stage, ...] = field(default_factory=default_stages)

    def __post_init__(self) -> None:
        if self.schema_version != SCHEMA_VERSION:
            _fail("schema_version", f"{self.schema_version!r} is not supported (this version of "
                                    f"HistoClass reads version {SCHEMA_VERSION})")
        _check_number("input_size", self.input_size, MIN_NETWORK_INPUT_SIZE, MAX_INPUT_SIZE,
                      integer=True)
        _check_number("batch_size", self.batch_size, 1, 4096, integer=True)
        _check_number("seed", self.seed, 0, 2**31 - 1, integer=True)
        if not isinstance(self.weights, str) or not self.weights.strip():
            _fail("weights", "expected 'imagenet', 'none' or the path of a weights file")
        for key, kind in (("augmentation", Augmentation), ("regularization", Regularization),
                          ("early_stopping", EarlyStopping)):
            if not isinstance(getattr(self, key), kind):
                _fail(key, f"expected {kind.__name__}")
        _check_bool("class_weights", self.class_weights)
        _check_bool("keep_batchnorm_frozen", self.keep_batchnorm_frozen)
        _check_choice("mixed_precision", self.mixed_precision, AUTO_ON_OFF)
        _check_choice("xla", self.xla, AUTO_ON_OFF)
        self._check_stages()

    def _check_stages(self) -> None:
        if not isinstance(self.stages, tuple) or not self.stages:
            _fail("stages", "at least one stage is needed")
        if not all(isinstance(s, Stage) for s in self.stages):
            _fail("stages", "each stage must be a Stage")
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            _fail("stages", f"stage names must be unique, got {names}")

    @property
    def total_epochs(self) -> int:
        return sum(s.epochs for s in self.stages)


def default_config() -> TrainConfig:
    return TrainConfig()


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    data = dataclasses.asdict(config)
    data["stages"] = [dataclasses.asdict(s) for s in config.stages]
    return data


_SECTIONS = {"augmentation": Augmentation, "regularization": Regularization,
             "early_stopping": EarlyStopping}


def _known_keys(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def _section(cls: type, data: Any, key: str) -> Any:
    if not isinstance(data, dict):
        _fail(key, "expected an object")
    unknown = sorted(set(data) - _known_keys(cls))
    if unknown:
        _fail(f"{key}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(_known_keys(cls)))})")
    return cls(**data)


def _stages(data: Any) -> tuple[Stage, ...]:
    if not isinstance(data, list) or not data:
        _fail("stages", "expected a non-empty list of stages")
    stages = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            _fail(f"stages[{index}]", "expected an object")
        missing = sorted({"name", "epochs", "learning_rate"} - set(item))
        if missing:
            _fail(f"stages[{index}].{missing[0]}", "missing")
        stages.append(_section(Stage, item, f"stages[{index}]"))
    return tuple(stages)


def config_from_dict(data: Any, *, min_input_size: int = MIN_INPUT_SIZE) -> TrainConfig:
    """Build a TrainConfig from JSON data; missing keys take their defaults.

    Raises ConfigError naming the first unknown key or impossible value.
    """
    if not isinstance(data, dict):
        raise ConfigError("a configuration must be a JSON object")
    unknown = sorted(set(data) - _known_keys(TrainConfig))
    if unknown:
        _fail(unknown[0], "unknown key (check the spelling; `histoclass config --default` "
                          "prints every key)")
    values = dict(data)
    for key, cls in _SECTIONS.items():
        if key in values:
            values[key] = _section(cls, values[key], key)
    if "stages" in values:
        values["stages"] = _stages(values["stages"])
    try:
        config = TrainConfig(**values)
    except TypeError as exc:  # a wrong type that slipped past a field check
        raise ConfigError(f"configuration: {exc}") from None
    if config.input_size < min_input_size:
        _fail("input_size", f"{config.input_size} is outside the allowed range "
                            f"{min_input_size}..{MAX_INPUT_SIZE}")
    return config


def load_config(path: str | os.PathLike, *, min_input_size: int = MIN_INPUT_SIZE) -> TrainConfig:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not valid JSON "
                          f"(line {exc.lineno}: {exc.msg})") from None
    return config_from_dict(data, min_input_size=min_input_size)


def save_config(config: TrainConfig, path: str | os.PathLike) -> None:
    write_json_atomic(path, config_to_dict(config))
