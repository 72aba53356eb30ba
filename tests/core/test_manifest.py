"""Manifest: JSON round trip, and every kind of damage caught with a message that names it."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from core.errors import ImagesMissingError, ManifestError
from core.manifest import Manifest, ManifestSample, load_manifest, relocate_manifest, save_manifest
from core.scan import scan
from core.split import SplitOptions, make_split
from tests.core.datagen import make_breakhis


@pytest.fixture
def dataset(tmp_path) -> Path:
    root = tmp_path / "images"
    spec = [(code, f"14-{100 + i}{code}", 40, 2) for code in ("A", "DC") for i in range(4)]
    make_breakhis(root, spec)
    return root


@pytest.fixture
def manifest(dataset) -> Manifest:
    return make_split(scan(dataset), SplitOptions(folds=2, fold=1, cap_per_class=5, seed=3))


def test_round_trip(tmp_path, manifest):
    path = tmp_path / "out" / "manifest.json"
    save_manifest(manifest, path)
    loaded = load_manifest(path)
    assert loaded == manifest
    data = json.loads(path.read_text())
    for key in ("schema_version", "seed", "options", "classes", "root", "samples", "hash"):
        assert key in data
    assert set(data["samples"][0]) >= {"path", "label", "patient", "magnification", "split", "fold"}
    assert [p.name for p in path.parent.iterdir()] == ["manifest.json"]  # no temporary left


def test_accessors(manifest):
    train = manifest.split_samples("train")
    assert train and all(s.split == "train" for s in train)
    assert manifest.abspath(train[0]).is_file()
    assert not manifest.image_level
    with pytest.raises(ManifestError, match="Unknown split"):
        manifest.split_samples("training")


def test_hash_changes_with_content_and_is_recomputed_on_request(manifest):
    changed = dataclasses.replace(manifest, seed=99, hash="")
    assert changed.hash != manifest.hash
    stale = dataclasses.replace(manifest, seed=99)
    with pytest.raises(ManifestError, match="changed after its hash"):
        save_manifest(stale, "unused.json")


def edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.fixture
def saved(tmp_path, manifest) -> Path:
    path = tmp_path / "m.json"
    save_manifest(manifest, path)
    return path


def test_bad_json_names_the_line(saved):
    saved.write_text('{"schema_version": 1,\n  "seed": }')
    with pytest.raises(ManifestError, match="damaged JSON at line 2"):
        load_manifest(saved)


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="not found"):
        load_manifest(tmp_path / "nope.json")


def test_wrong_schema_version(saved):
    edit(saved, lambda d: d.update(schema_version=7))
    with pytest.raises(ManifestError, match="schema_version 7"):
        load_manifest(saved)


def test_missing_key(saved):
    edit(saved, lambda d: d.pop("classes"))
    with pytest.raises(ManifestError, match="missing classes"):
        load_manifest(saved)


def test_hand_edit_breaks_the_hash(saved):
    def move_to_train(d):
        d["samples"][0]["split"] = "train" if d["samples"][0]["split"] != "train" else "test"
    edit(saved, move_to_train)
    with pytest.raises(ManifestError, match="edited or damaged"):
        load_manifest(saved)


@pytest.mark.parametrize("field, value, words", [
    ("split", "holdout", "split 'holdout'"),
    ("label", "mystery", "label 'mystery'"),
    ("fold", -1, "fold -1"),
])
def test_bad_sample_fields_are_named(saved, field, value, words):
    edit(saved, lambda d: d["samples"][2].update({field: value}))
    with pytest.raises(ManifestError, match=words) as err:
        load_manifest(saved)
    assert "sample 3" in str(err.value)


def test_missing_images_are_named(saved, dataset, manifest):
    gone = manifest.samples[1]
    (dataset / gone.path).unlink()
    with pytest.raises(ManifestError, match="1 of 16 images") as err:
        load_manifest(saved)
    assert gone.path in str(err.value)
    assert load_manifest(saved, check_files=False) == manifest


def test_missing_image_folder(saved, dataset):
    dataset.rename(dataset.with_name("moved"))
    with pytest.raises(ImagesMissingError, match="image folder named in .* is missing") as err:
        load_manifest(saved)
    assert err.value.root == str(dataset) and "--data-root" in str(err.value)


def test_a_moved_folder_is_found_again_with_the_same_identity(saved, dataset, manifest):
    moved = dataset.rename(dataset.with_name("moved"))
    loaded = load_manifest(saved, root=moved)  # the command line's --data-root: file untouched
    assert loaded.root == str(moved) and loaded.hash == manifest.hash
    assert loaded.samples == manifest.samples and manifest.abspath(manifest.samples[0]) != loaded.abspath(loaded.samples[0])
    assert json.loads(saved.read_text())["root"] == str(dataset)

    relocate_manifest(saved, moved)  # the app's Locate…: the file now points there
    again = load_manifest(saved)
    assert again.root == str(moved) and again.hash == manifest.hash
    assert all(again.abspath(s).is_file() for s in again.samples)


def test_relocating_to_the_wrong_folder_changes_nothing(saved, dataset, tmp_path):
    before = saved.read_text()
    wrong = tmp_path / "elsewhere"
    wrong.mkdir()
    with pytest.raises(ImagesMissingError, match="16 of 16 images .* are missing"):
        relocate_manifest(saved, wrong)
    with pytest.raises(ManifestError, match="does not exist"):
        relocate_manifest(saved, tmp_path / "nowhere")
    assert saved.read_text() == before


def test_failed_save_keeps_the_old_file(saved, manifest, monkeypatch):
    before = saved.read_text()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    other = dataclasses.replace(manifest, seed=5, hash="")
    monkeypatch.setattr("core.fileio.json.dumps", boom)
    with pytest.raises(OSError):
        save_manifest(other, saved)
    assert saved.read_text() == before
    assert sorted(p.name for p in saved.parent.iterdir() if p.name.startswith(".m.json")) == []


def test_minimal_manifest_by_hand(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    m = Manifest(1, 0, {"by": "image"}, ["c"], str(tmp_path),
                 (ManifestSample("a.png", "c", None, None, None, "test", None),), (), {"c": 1.0})
    save_manifest(m, tmp_path / "m.json")
    loaded = load_manifest(tmp_path / "m.json")
    assert loaded.image_level and loaded.hash == m.hash
