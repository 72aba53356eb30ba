"""core.pipeline: decode once into a memory-mapped cache, feed tf.data from it, class weights."""
from __future__ import annotations

import dataclasses
import os
import threading

import numpy as np
import pytest

from core import pipeline
from core.errors import ImageError
from core.images import load_rgb
from core.model import resize_for_model
from tests.core.synthetic import make_manifest

SIZE = 24


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(pipeline.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def manifest(tmp_path):
    return make_manifest(tmp_path / "data", images_per_patient=2)


def test_images_are_decoded_once_then_read_from_the_cache(cache, manifest, monkeypatch):
    events = []
    first = pipeline.decoded_images(manifest, SIZE, on_progress=events.append)
    assert isinstance(first, np.memmap) and first.shape == (len(manifest.samples), SIZE, SIZE, 3)
    assert events[-1] == {"event": "decode", "done": 20, "total": 20, "cached": False}
    files = list(cache.iterdir())
    assert len(files) == 1 and files[0].name.startswith(f"{manifest.hash[:12]}-{SIZE}px-")

    def no_decoding(*args):
        raise AssertionError("decoded again")

    monkeypatch.setattr(pipeline, "_load", no_decoding)
    events.clear()
    again = pipeline.decoded_images(manifest, SIZE, on_progress=events.append)
    assert events == [{"event": "decode", "done": 20, "total": 20, "cached": True}]
    assert np.array_equal(first, again)


def test_cached_pixels_are_the_resized_decoded_images_png_and_tiff(cache, manifest):
    images = pipeline.decoded_images(manifest, SIZE)
    suffixes = set()
    for row, sample in enumerate(manifest.samples):
        expected = resize_for_model(load_rgb(manifest.abspath(sample)), SIZE)
        assert np.array_equal(images[row], expected), sample.path
        suffixes.add(sample.path.rsplit(".", 1)[1])
    assert suffixes == {"png", "tif"}


def test_a_new_size_or_manifest_gets_its_own_cache_and_a_damaged_cache_is_rebuilt(cache, manifest):
    pipeline.decoded_images(manifest, SIZE)
    pipeline.decoded_images(manifest, SIZE + 8)
    other = dataclasses.replace(manifest, samples=manifest.samples[:-1], hash="")
    assert pipeline.decoded_images(other, SIZE).shape[0] == len(manifest.samples) - 1
    assert len(list(cache.glob("*.npy"))) == 3
    path = pipeline.cache_path(manifest, SIZE)
    path.write_bytes(b"not an array")
    assert pipeline.decoded_images(manifest, SIZE).shape == (20, SIZE, SIZE, 3)


def test_images_over_the_class_cap_are_not_decoded_unless_every_image_is_asked_for(cache, manifest, monkeypatch):
    unused = {1, 6, 7}  # left out of every split, as the class cap does
    capped = dataclasses.replace(manifest, hash="", samples=tuple(
        dataclasses.replace(s, split=None) if i in unused else s for i, s in enumerate(manifest.samples)))
    decoded = []
    real_load = pipeline._load
    monkeypatch.setattr(pipeline, "_load", lambda path, size: (decoded.append(path), real_load(path, size))[1])
    images = pipeline.decoded_images(capped, SIZE)
    assert images.shape == (17, SIZE, SIZE, 3) and len(decoded) == 17
    assert not {str(capped.abspath(capped.samples[i])) for i in unused} & set(decoded)
    test = capped.split_samples("test")
    for row, sample in zip(pipeline.rows_of(capped, test), test):
        assert np.array_equal(images[row], resize_for_model(load_rgb(capped.abspath(sample)), SIZE))
    everything = pipeline.decoded_images(capped, SIZE, include_unused=True)  # e.g. `evaluate --split all`
    assert everything.shape == (20, SIZE, SIZE, 3)
    rows = pipeline.rows_of(capped, list(capped.samples), include_unused=True)
    assert np.array_equal(everything[rows[6]], resize_for_model(load_rgb(capped.abspath(capped.samples[6])), SIZE))


def test_only_the_most_recently_used_caches_are_kept(cache, manifest, monkeypatch):
    monkeypatch.setattr(pipeline, "KEEP_CACHES", 2)
    first = pipeline.decoded_images(manifest, 16)
    pipeline.decoded_images(manifest, 20)
    os.utime(pipeline.cache_path(manifest, 16), (1, 1))  # long unused
    pipeline.decoded_images(manifest, 24)
    assert sorted(p.name.split("-")[1] for p in cache.glob("*.npy")) == ["20px", "24px"]
    assert first.shape[1] == 16  # a map still open keeps its data


def test_an_undecodable_image_is_named_and_leaves_no_cache(cache, manifest):
    broken = manifest.abspath(manifest.samples[3])
    broken.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(ImageError, match=manifest.samples[3].path):
        pipeline.decoded_images(manifest, SIZE)
    assert not list(cache.iterdir())


def test_stop_while_decoding_returns_none_and_leaves_no_cache(cache, manifest):
    stop = threading.Event()
    stop.set()
    assert pipeline.decoded_images(manifest, SIZE, stop=stop) is None
    assert not list(cache.iterdir())


def test_dataset_serves_every_training_image_once_per_epoch_shuffled_by_seed(cache, manifest):
    images = pipeline.decoded_images(manifest, SIZE)
    train = manifest.split_samples("train")
    rows, labels = pipeline.rows_of(manifest, train), pipeline.label_indices(manifest, train)
    weights = {0: 0.5, 1: 2.0}

    def epoch_of(ds):
        xs, ys, ws = zip(*[(x.numpy(), y.numpy(), w.numpy()) for x, y, w in ds])
        return np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)

    ds = pipeline.make_dataset(images, rows, labels, batch_size=5, shuffle=True, seed=7, weights=weights)
    x1, y1, w1 = epoch_of(ds)
    x2, _, _ = epoch_of(ds)
    assert x1.shape == (len(train), SIZE, SIZE, 3) and x1.dtype == np.uint8
    expected = {images[r].tobytes(): labels[i] for i, r in enumerate(rows)}
    assert sorted(im.tobytes() for im in x1) == sorted(expected)  # each image once
    assert all(expected[im.tobytes()] == y for im, y in zip(x1, y1))  # with its own label
    assert list(w1) == [weights[int(y)] for y in y1]
    assert not np.array_equal(x1, x2)  # reshuffled each epoch
    same_seed = pipeline.make_dataset(images, rows, labels, batch_size=5, shuffle=True, seed=7, weights=weights)
    assert np.array_equal(epoch_of(same_seed)[0], x1)
    plain = pipeline.make_dataset(images, rows, labels, batch_size=5, shuffle=False, seed=0)
    x, y = next(iter(plain))
    assert np.array_equal(x.numpy(), images[rows[:5]]) and len(plain.element_spec) == 2


def test_class_weights_balance_the_training_split(manifest):
    # 3 of class 0, 1 of class 1: n / (classes * count) = 4/6 and 4/2
    weights = pipeline.class_weights(manifest, np.array([0, 0, 0, 1]))
    assert weights == pytest.approx({0: 4 / 6, 1: 2.0})
    given = dataclasses.replace(manifest, class_weights={"blue": 1.5, "red": 0.75}, hash="")
    assert pipeline.class_weights(given, np.array([0, 1])) == {0: 1.5, 1: 0.75}
