"""The training configuration: defaults, JSON round trip, refusals naming the key, no TensorFlow."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.config import (
    MIN_NETWORK_INPUT_SIZE,
    RESNET_BLOCKS,
    Augmentation,
    Regularization,
    Stage,
    TrainConfig,
    config_from_dict,
    config_to_dict,
    default_config,
    load_config,
    save_config,
)
from core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_default_follows_the_recipe():
    config = default_config()
    head, fine = config.stages
    assert head.trainable == "head"
    assert fine.trainable == "from:conv4_block1"
    assert 10 <= head.learning_rate / fine.learning_rate <= 100
    assert 15 <= config.total_epochs <= 25
    assert config.early_stopping.enabled and config.early_stopping.monitor == "val_loss"
    assert config.input_size == 224 and config.weights == "imagenet"
    assert config.regularization.kernel_l2 > 0 and config.regularization.bias_l2 > 0


def test_default_dict_has_the_documented_keys():
    data = config_to_dict(default_config())
    for key in ("schema_version", "input_size", "batch_size", "seed", "weights", "augmentation",
                "regularization", "class_weights", "early_stopping", "stages"):
        assert key in data
    assert set(data["augmentation"]) == {"flip", "rotation", "contrast"}
    assert set(data["regularization"]) == {"kernel_l2", "bias_l2", "dropout"}
    assert {"name", "epochs", "learning_rate", "trainable"} <= set(data["stages"][0])
    json.dumps(data)  # plain JSON


def test_file_round_trip(tmp_path):
    config = dataclasses.replace(default_config(), input_size=128, seed=7,
                                 augmentation=Augmentation("horizontal", 0.0, 0.2),
                                 stages=(Stage("only", 3, 0.01, "from:conv5_block2", "cosine"),))
    path = tmp_path / "config.json"
    save_config(config, path)
    assert load_config(path) == config


def test_missing_keys_take_defaults():
    config = config_from_dict({"input_size": 96, "regularization": {"dropout": 0.5}})
    assert config.input_size == 96
    assert config.regularization == Regularization(dropout=0.5)
    assert config.stages == default_config().stages


@pytest.mark.parametrize("data, key", [
    ({"inputsize": 224}, "inputsize"),
    ({"augmentation": {"flip": "none", "zoom": 0.1}}, "augmentation.zoom"),
    ({"stages": [{"name": "a", "epochs": 1, "learning_rate": 0.1, "lr": 1}]}, "stages[0].lr"),
    ({"stages": [{"name": "a", "epochs": 1}]}, "stages[0].learning_rate"),
    ({"input_size": 40}, "input_size"),
    ({"input_size": 1024}, "input_size"),
    ({"input_size": "224"}, "input_size"),
    ({"batch_size": True}, "batch_size"),
    ({"regularization": {"dropout": 1.5}}, "regularization.dropout"),
    ({"regularization": {"kernel_l2": -1}}, "regularization.kernel_l2"),
    ({"augmentation": {"flip": "diagonal"}}, "augmentation.flip"),
    ({"early_stopping": {"monitor": "loss"}}, "early_stopping.monitor"),
    ({"mixed_precision": "yes"}, "mixed_precision"),
    ({"class_weights": 1}, "class_weights"),
    ({"stages": []}, "stages"),
    ({"stages": [{"name": "a", "epochs": 0, "learning_rate": 0.1}]}, "stages.a.epochs"),
    ({"stages": [{"name": "a", "epochs": 1, "learning_rate": 0.1, "trainable": "from:conv9_block1"}]},
     "stages.a.trainable"),
    ({"stages": [{"name": "a", "epochs": 1, "learning_rate": 0.1},
                 {"name": "a", "epochs": 1, "learning_rate": 0.1}]}, "stages"),
    ({"schema_version": 2}, "schema_version"),
    ({"weights": ""}, "weights"),
])
def test_refusals_name_the_key(data, key):
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    assert f"'{key}'" in str(info.value)


def test_small_inputs_only_when_asked():
    with pytest.raises(ConfigError):
        config_from_dict({"input_size": 32})
    assert config_from_dict({"input_size": 32}, min_input_size=MIN_NETWORK_INPUT_SIZE).input_size == 32
    with pytest.raises(ConfigError):
        TrainConfig(input_size=16)


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{\"input_size\": ", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(bad)
    bad.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigError, match="JSON object"):
        load_config(bad)


def test_resnet_blocks_in_network_order():
    assert RESNET_BLOCKS[0] == "conv1" and RESNET_BLOCKS[-1] == "conv5_block3"
    assert len(RESNET_BLOCKS) == 1 + 3 + 4 + 6 + 3
    assert RESNET_BLOCKS.index("conv4_block1") < RESNET_BLOCKS.index("conv5_block1")


def test_config_module_loads_without_tensorflow():
    code = ("import sys, core.config, core.cli.model_cmds; "
            "print('tensorflow' in sys.modules or 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(64, 512), batch=st.integers(1, 256), seed=st.integers(0, 2**31 - 1),
    flip=st.sampled_from(["horizontal_and_vertical", "horizontal", "vertical", "none"]),
    rotation=st.floats(0, 0.5), dropout=st.floats(0, 0.95),
    trainable=st.sampled_from(["head", "all"] + [f"from:{b}" for b in RESNET_BLOCKS]),
    lr=st.floats(1e-7, 1.0),
)
def test_any_valid_config_survives_json(size, batch, seed, flip, rotation, dropout, trainable, lr):
    config = TrainConfig(input_size=size, batch_size=batch, seed=seed,
                         augmentation=Augmentation(flip, rotation, 0.0),
                         regularization=Regularization(dropout=dropout),
                         stages=(Stage("s", 2, lr, trainable),))
    text = json.dumps(config_to_dict(config))
    assert config_from_dict(json.loads(text)) == config
