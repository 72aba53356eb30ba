"""Pretrained weights: search order, checking a file really is ResNet50 no-top, import,
offline download, and the `histoclass weights` command. Weights files are saved here from
a randomly initialised ResNet50 (no network)."""
from __future__ import annotations

import dataclasses
import json
import shutil

import h5py
import keras
import numpy as np
import pytest

from core import paths
from core.cli import main as cli_main
from core.config import default_config
from core.errors import WeightsError
from core.model import build_model
from core.weights import (
    WEIGHTS_FILENAME,
    check_weights_file,
    download_weights,
    import_weights,
    resolve_weights,
)


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Point the three search places at empty temporary folders."""
    dirs = {name: tmp_path / name for name in ("bundled", "user", "keras")}
    monkeypatch.setattr(paths, "bundled_models_dir", lambda: dirs["bundled"])
    monkeypatch.setattr(paths, "user_models_dir", lambda: dirs["user"])
    monkeypatch.setattr(paths, "keras_cache_models_dir", lambda: dirs["keras"])
    return dirs


def _put(folder, content=b"x"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / WEIGHTS_FILENAME).write_bytes(content)
    return folder / WEIGHTS_FILENAME


@pytest.fixture(scope="module")
def backbone():
    return keras.applications.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3))


@pytest.fixture(scope="module")
def keras3_file(backbone, tmp_path_factory):
    """A Keras 3 weights file stored under the official name."""
    folder = tmp_path_factory.mktemp("w3")
    backbone.save_weights(folder / "notop.weights.h5")
    shutil.copyfile(folder / "notop.weights.h5", folder / WEIGHTS_FILENAME)
    return folder / WEIGHTS_FILENAME


def test_nothing_found_says_random_initialisation(places):
    result = resolve_weights("imagenet")
    assert result.path is None and result.source == "none"
    assert [p for p, _ in result.searched] == [places[k] / WEIGHTS_FILENAME
                                               for k in ("bundled", "user", "keras")]
    assert not any(found for _, found in result.searched)
    assert "random initialisation" in result.message


def test_search_order(places, tmp_path):
    keras_file = _put(places["keras"])
    assert resolve_weights("imagenet").source == "keras-cache"
    user_file = _put(places["user"])
    assert resolve_weights("imagenet").path == user_file
    bundled_file = _put(places["bundled"])
    result = resolve_weights("imagenet")
    assert (result.path, result.source) == (bundled_file, "bundled")
    assert result.searched == [(bundled_file, True)]
    configured = tmp_path / "mine.h5"
    configured.write_bytes(b"x")
    assert resolve_weights(str(configured)).source == "config"
    missing = resolve_weights(str(tmp_path / "gone.h5"))
    assert missing.source == "bundled" and "not found" in missing.message
    assert keras_file.exists()


def test_weights_switched_off(places):
    _put(places["bundled"])
    result = resolve_weights("none")
    assert result.path is None and result.source == "none" and result.searched == []


def test_keras3_file_checks_and_loads_into_the_model(backbone, keras3_file):
    check_weights_file(keras3_file)
    config = dataclasses.replace(default_config(), input_size=32)
    model = build_model(2, config, weights_path=keras3_file)
    for mine, theirs in zip(model.get_layer("resnet50").get_weights(), backbone.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_legacy_h5_file_like_the_official_one(backbone, tmp_path):
    legacy = tmp_path / "legacy.h5"
    backbone.save(legacy)  # Keras 2 HDF5 layout, as the official download
    with h5py.File(legacy, "r") as handle:
        assert "model_weights" in handle
    check_weights_file(legacy)


def test_wrong_files_are_refused(tmp_path):
    with_top = keras.applications.ResNet50(include_top=True, weights=None, input_shape=(32, 32, 3),
                                           classes=3)
    with_top.save_weights(tmp_path / "top.weights.h5")
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    other.save_weights(tmp_path / "other.weights.h5")
    (tmp_path / "text.h5").write_text("not weights", encoding="utf-8")
    cases = {"top.weights.h5": "not ResNet50 no-top", "other.weights.h5": "no-top",
             "text.h5": "not a Keras weights file", "missing.h5": "not found"}
    for name, words in cases.items():
        with pytest.raises(WeightsError, match=words):
            check_weights_file(tmp_path / name)


def test_import_copies_into_the_user_folder(places, keras3_file):
    target = import_weights(keras3_file)
    assert target == places["user"] / WEIGHTS_FILENAME
    assert target.read_bytes() == keras3_file.read_bytes()
    assert resolve_weights("imagenet").source == "user"


def test_import_refuses_without_copying(places, tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(WeightsError):
        import_weights(bad)
    assert not (places["user"] / WEIGHTS_FILENAME).exists()


def test_download_offline_fails_with_one_line(places):
    with pytest.raises(WeightsError) as info:
        download_weights("http://127.0.0.1:9/" + WEIGHTS_FILENAME)  # nothing listens there
    message = str(info.value)
    assert "\n" not in message and "offline" in message and "--import" in message
    assert not (places["keras"] / WEIGHTS_FILENAME).exists()


def test_weights_command(places, keras3_file, capsys):
    assert cli_main(["weights", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["source"] == "none" and len(report["searched"]) == 3
    assert cli_main(["weights", "--import", str(keras3_file)]) == 0
    out = capsys.readouterr().out
    assert "[found]" in out and str(places["user"]) in out
    assert cli_main(["weights", "--import", str(places["user"] / "nope.h5")]) == 2
    assert "not found" in capsys.readouterr().err
