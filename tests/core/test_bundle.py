"""The .hcmodel bundle: identical predictions after a round trip, a complete card, atomic
writes, and clear refusals of damaged, foreign, tampered or unsafe files."""
from __future__ import annotations

import hashlib
import json
import zipfile

import keras
import numpy as np
import pytest

from core import RESEARCH_NOTICE
from core.bundle import BUNDLE_SCHEMA_VERSION, load_bundle, make_card, save_bundle
from core.errors import BundleError
from tests.core.bundle_helpers import CLASSES, GROUPS, make_tiny_bundle


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("bundle") / "tiny.hcmodel"
    model, card = make_tiny_bundle(path)
    return path, model, card


@pytest.fixture(scope="module")
def loaded(saved):
    return load_bundle(saved[0])


@pytest.fixture(scope="module")
def members(saved):
    with zipfile.ZipFile(saved[0]) as archive:
        return json.loads(archive.read("card.json")), archive.read("model.keras")


def _write(path, card, model_bytes):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("card.json", json.dumps(card))
        archive.writestr("model.keras", model_bytes)
    return path


def test_round_trip_gives_identical_predictions(saved, loaded):
    _, model, _ = saved
    images = np.random.default_rng(0).integers(0, 256, size=(5, 46, 70, 3), dtype=np.uint8)
    expected = np.asarray(model.predict(images, verbose=0))
    np.testing.assert_allclose(loaded.predict(images), expected, atol=1e-6)
    # A different batch shape may pick a different CPU kernel (oneDNN), whose float32 sums
    # run in another order: the same model then differs in the 6th decimal, not more.
    np.testing.assert_allclose(loaded.predict(images, batch_size=2), expected, atol=1e-5)
    as_list = loaded.predict([images[0], images[1, :30, :40]])
    assert as_list.shape == (2, 3)
    np.testing.assert_allclose(as_list.sum(axis=1), 1.0, rtol=1e-5)
    assert loaded.predict([]).shape == (0, 3)


def test_card_is_complete(saved, loaded):
    path, _, _ = saved
    card = loaded.card
    for key in ("classes", "groups", "input_size", "config", "manifest_hash", "metrics",
                "weights_source", "versions", "created", "notice", "schema_version"):
        assert key in card, key
    assert loaded.classes == CLASSES and loaded.groups == GROUPS and loaded.input_size == 32
    assert card["notice"] == RESEARCH_NOTICE and card["schema_version"] == BUNDLE_SCHEMA_VERSION
    assert {"keras", "tensorflow", "histoclass"} <= set(card["versions"])
    assert card["config"]["input_size"] == 32 and card["manifest_hash"] == "abc123"
    assert loaded.name == "tiny test model"
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_save_refuses_a_card_that_does_not_fit(saved, tmp_path):
    _, model, _ = saved
    with pytest.raises(BundleError, match="3 outputs"):
        save_bundle(model, make_card(classes=["a", "b"], input_size=32), tmp_path / "x.hcmodel")
    with pytest.raises(BundleError, match="lacks"):
        save_bundle(model, {"classes": CLASSES}, tmp_path / "x.hcmodel")
    assert not list(tmp_path.iterdir())


def test_a_failed_save_leaves_the_old_file(saved, tmp_path, monkeypatch):
    path, model, card = saved
    target = tmp_path / "keep.hcmodel"
    target.write_bytes(path.read_bytes())

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(model, "save", broken_save)
    with pytest.raises(OSError):
        save_bundle(model, card, target)
    assert target.read_bytes() == path.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["keep.hcmodel"]


def test_damaged_and_foreign_files_are_refused(saved, members, tmp_path):
    path, _, _ = saved
    card, model_bytes = members
    (tmp_path / "text.hcmodel").write_text("hello", encoding="utf-8")
    (tmp_path / "cut.hcmodel").write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with zipfile.ZipFile(tmp_path / "foreign.hcmodel", "w") as archive:
        archive.writestr("readme.txt", "x")
    _write(tmp_path / "stranger.hcmodel", {**card, "format": "other-app"}, model_bytes)
    _write(tmp_path / "newer.hcmodel", {**card, "schema_version": 99}, model_bytes)
    cases = {"text": "not a HistoClass model", "cut": "not a HistoClass model",
             "foreign": "lacks card.json", "stranger": "foreign", "newer": "newer HistoClass",
             "absent": "not found"}
    for name, words in cases.items():
        with pytest.raises(BundleError, match=words):
            load_bundle(tmp_path / f"{name}.hcmodel")


def test_tampered_files_are_refused(members, tmp_path):
    card, model_bytes = members
    flipped = bytearray(model_bytes)
    flipped[len(flipped) // 2] ^= 0xFF
    _write(tmp_path / "model.hcmodel", card, bytes(flipped))
    with pytest.raises(BundleError, match="altered or damaged"):
        load_bundle(tmp_path / "model.hcmodel")
    _write(tmp_path / "card.hcmodel", {**card, "classes": ["a", "b"]}, model_bytes)
    with pytest.raises(BundleError, match="3 outputs but the card names 2"):
        load_bundle(tmp_path / "card.hcmodel")


def test_code_in_a_model_is_never_run(members, tmp_path):
    """A model with a Lambda layer (arbitrary code) and a matching checksum: safe mode refuses."""
    card, _ = members
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    keras.Model(inputs, outputs).save(tmp_path / "lambda.keras")
    model_bytes = (tmp_path / "lambda.keras").read_bytes()
    forged = {**card, "model_sha256": hashlib.sha256(model_bytes).hexdigest()}
    _write(tmp_path / "unsafe.hcmodel", forged, model_bytes)
    with pytest.raises(BundleError, match="could not be loaded safely"):
        load_bundle(tmp_path / "unsafe.hcmodel")
