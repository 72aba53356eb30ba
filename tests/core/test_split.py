"""Splitting: patients never cross splits, small classes are handled honestly, seeds reproduce."""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import DatasetError
from core.manifest import IMAGE_LEVEL_WARNING
from core.scan import Catalog, Sample, scan
from core.split import SplitOptions, make_split, summarize

MAGS = ("40X", "100X", "200X", "400X")


def catalog_of(rows, layout="breakhis"):
    """rows: (patient, label, magnification, n images)."""
    samples = []
    for patient, label, mag, n in rows:
        for i in range(n):
            samples.append(Sample(f"{label}/{patient}/{mag}/{i}.png", label, patient, mag, None))
    return Catalog(Path("/data"), layout, samples, [])


def splits_by_patient(manifest):
    sides = defaultdict(set)
    for s in manifest.samples:
        if s.split is not None:
            sides[s.patient].add(s.split)
    return sides


def assert_patient_safe(manifest):
    crossing = {p: s for p, s in splits_by_patient(manifest).items() if len(s) > 1}
    assert not crossing, f"patients in two splits: {crossing}"


@st.composite
def catalogs(draw):
    classes = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True))
    rows = []
    for p in range(draw(st.integers(len(classes), 24))):
        own = [classes[p % len(classes)]]  # every class has a patient
        if draw(st.booleans()) and len(classes) > 1:
            own.append(draw(st.sampled_from(classes)))  # some patients carry two classes
        for label in dict.fromkeys(own):
            for mag in draw(st.lists(st.sampled_from(MAGS), min_size=1, max_size=2, unique=True)):
                rows.append((f"P{p}", label, mag, draw(st.integers(1, 4))))
    return catalog_of(rows)


fractions = st.sampled_from([0.0, 0.1, 0.15, 0.2, 0.3])
caps = st.one_of(st.none(), st.integers(1, 10))
seeds = st.integers(0, 2**16)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


mag_filters = st.one_of(st.none(), st.lists(st.sampled_from(MAGS), min_size=1, max_size=3, unique=True))


@SETTINGS
@given(catalogs(), fractions, fractions, caps, mag_filters, seeds)
def test_train_val_test_never_splits_a_patient(catalog, val, test, cap, mags, seed):
    options = SplitOptions(val=val, test=test, cap_per_class=cap, seed=seed,
                           magnifications=tuple(mags) if mags else None)
    kept = [s for s in catalog.samples if not mags or s.magnification in mags]
    if not kept:
        with pytest.raises(DatasetError, match="No images at magnification"):
            make_split(catalog, options)
        return
    m = make_split(catalog, options)
    assert_patient_safe(m)
    assert [s.path for s in m.samples] == [s.path for s in kept]
    if cap is not None:
        assert max(Counter(s.label for s in m.split_samples("train")).values(), default=0) <= cap
    for c in m.classes:
        if not any(s.label == c and s.split == "train" for s in m.samples):
            assert any(w.startswith(f"{c}:") and "train" in w for w in m.warnings)


@SETTINGS
@given(catalogs(), st.integers(2, 5), st.data(), fractions, caps, seeds)
def test_k_fold_never_splits_a_patient(catalog, folds, data, val, cap, seed):
    if len({s.patient for s in catalog.samples}) < folds:
        with pytest.raises(DatasetError, match="fewer than"):
            make_split(catalog, SplitOptions(folds=folds, seed=seed))
        return
    fold = data.draw(st.integers(0, folds - 1))
    m = make_split(catalog, SplitOptions(folds=folds, fold=fold, val=val, cap_per_class=cap, seed=seed))
    assert_patient_safe(m)
    fold_of = defaultdict(set)
    for s in m.samples:
        fold_of[s.patient].add(s.fold)
    assert all(len(f) == 1 for f in fold_of.values())
    test = {s.patient for s in m.split_samples("test")}
    assert test == {p for p, f in fold_of.items() if f == {fold}}


@SETTINGS
@given(catalogs(), fractions, fractions, st.sampled_from([None, 2, 3]), seeds)
def test_image_level_split_puts_each_image_once_and_warns(catalog, val, test, folds, seed):
    if folds and len(catalog.samples) < folds:
        return
    m = make_split(catalog, SplitOptions(by="image", val=val, test=test, folds=folds, seed=seed))
    assert m.image_level and IMAGE_LEVEL_WARNING in m.warnings
    assert [s.path for s in m.samples] == [s.path for s in catalog.samples]
    assert all(s.split in ("train", "val", "test") for s in m.samples)
    if folds:
        assert {s.path for s in m.split_samples("test")} == {s.path for s in m.samples if s.fold == 0}


def test_patient_with_two_classes_stays_on_one_side():
    rows = [("14-13412", "ductal_carcinoma", "40X", 5), ("14-13412", "lobular_carcinoma", "40X", 3)]
    rows += [(f"DC{i}", "ductal_carcinoma", "40X", 3) for i in range(8)]
    rows += [(f"LC{i}", "lobular_carcinoma", "100X", 3) for i in range(4)]
    catalog = catalog_of(rows)
    for options in (SplitOptions(), SplitOptions(folds=3, fold=1), SplitOptions(cap_per_class=4),
                    SplitOptions(seed=7, val=0.3, test=0.3)):
        m = make_split(catalog, options)
        assert len(splits_by_patient(m)["14-13412"]) == 1
        assert_patient_safe(m)


def test_fractions_are_of_patients_per_class():
    rows = [(f"{c}{i}", c, "40X", 1 + i % 3) for c in "ab" for i in range(20)]
    m = make_split(catalog_of(rows), SplitOptions(val=0.15, test=0.15))
    counts = summarize(m)["splits"]
    for name, expected in (("train", 14), ("val", 3), ("test", 3)):
        assert counts[name]["patients"] == {"a": expected, "b": expected}
    assert not m.warnings


@pytest.mark.parametrize("n, expected, missing", [
    (3, {"train": 1, "val": 1, "test": 1}, []),
    (2, {"train": 1, "val": 0, "test": 1}, ["val"]),
    (1, {"train": 1, "val": 0, "test": 0}, ["val", "test"]),
])
def test_class_with_few_patients_is_honest(n, expected, missing):
    rows = [(f"big{i}", "big", "40X", 2) for i in range(20)]
    rows += [(f"pt{i}", "phyllodes_tumor", "40X", 4) for i in range(n)]
    m = make_split(catalog_of(rows), SplitOptions())
    patients = {k: v["patients"]["phyllodes_tumor"] for k, v in summarize(m)["splits"].items()}
    assert patients == expected
    notes = [w for w in m.warnings if w.startswith("phyllodes_tumor")]
    if missing:
        assert len(notes) == 1 and all(name in notes[0] for name in missing)
        assert f"only {n} patient" in notes[0]
    else:
        assert not notes
    assert_patient_safe(m)


def test_same_seed_same_manifest_other_seed_differs():
    rows = [(f"{c}{i}", c, MAGS[i % 4], 2) for c in "abc" for i in range(12)]
    catalog = catalog_of(rows)
    assert make_split(catalog, SplitOptions(seed=1)).hash == make_split(catalog, SplitOptions(seed=1)).hash
    one = make_split(catalog, SplitOptions(seed=1))
    other = make_split(catalog, SplitOptions(seed=2))
    assert one.hash != other.hash
    assert [s.split for s in one.samples] != [s.split for s in other.samples]


def test_cap_spreads_over_patients_then_magnifications():
    rows = [(f"p{i}", "a", mag, 5) for i in range(5) for mag in MAGS]
    rows += [("q0", "b", "40X", 3)]
    m = make_split(catalog_of(rows), SplitOptions(val=0, test=0, cap_per_class=10))
    train_a = [s for s in m.split_samples("train") if s.label == "a"]
    assert len(train_a) == 10
    assert set(Counter(s.patient for s in train_a).values()) == {2}
    for patient in {s.patient for s in train_a}:
        assert len({s.magnification for s in train_a if s.patient == patient}) == 2
    unused = [s for s in m.samples if s.split is None]
    assert len(unused) == 90 and all(s.label == "a" for s in unused)
    assert summarize(m)["splits"]["unused"]["images_total"] == 90


def test_class_weights_are_balanced_on_training_images():
    rows = [("p1", "a", "40X", 10), ("p2", "b", "40X", 30)]
    m = make_split(catalog_of(rows), SplitOptions(val=0, test=0))
    assert m.class_weights == pytest.approx({"a": 2.0, "b": 2 / 3})


def test_magnification_filter():
    rows = [(f"p{i}", "a", mag, 2) for i in range(4) for mag in MAGS]
    m = make_split(catalog_of(rows), SplitOptions(magnifications=("40", "100x")))
    assert {s.magnification for s in m.samples} == {"40X", "100X"}
    assert m.options["magnifications"] == ["40X", "100X"]
    with pytest.raises(DatasetError, match="magnification 25X"):
        make_split(catalog_of(rows), SplitOptions(magnifications=("25",)))


def test_no_patient_ids_needs_image_level():
    catalog = catalog_of([(None, "tumor", None, 3), (None, "stroma", None, 3)], layout="folders")
    with pytest.raises(DatasetError, match="--by image"):
        make_split(catalog, SplitOptions())
    m = make_split(catalog, SplitOptions(by="image"))
    assert m.image_level and summarize(m)["splits"]["test"]["patients_total"] is None


@pytest.mark.parametrize("options, words", [
    (SplitOptions(by="slide"), "patient"),
    (SplitOptions(val=1.2), "val fraction"),
    (SplitOptions(val=0.5, test=0.5), "nothing to train"),
    (SplitOptions(fold=1), "needs --folds"),
    (SplitOptions(folds=1), "at least 2"),
    (SplitOptions(folds=3, fold=3), "0 to 2"),
    (SplitOptions(cap_per_class=0), "at least 1"),
])
def test_impossible_options_are_refused(options, words):
    with pytest.raises(DatasetError, match=words):
        make_split(catalog_of([("p1", "a", "40X", 2), ("p2", "a", "40X", 2)]), options)


def test_cancelled_or_empty_catalog_is_refused():
    catalog = catalog_of([("p1", "a", "40X", 2)])
    catalog.cancelled = True
    with pytest.raises(DatasetError, match="stopped"):
        make_split(catalog, SplitOptions())
    with pytest.raises(DatasetError, match="No usable images"):
        make_split(catalog_of([]), SplitOptions())


def test_k_fold_warns_about_classes_with_fewer_patients_than_folds():
    rows = [(f"a{i}", "a", "40X", 2) for i in range(10)] + [(f"b{i}", "b", "40X", 2) for i in range(2)]
    m = make_split(catalog_of(rows), SplitOptions(folds=5))
    assert any(w.startswith("b: 2 patients for 5 folds, so 3 fold(s)") for w in m.warnings)
    assert m.options["fold"] == 0 and {s.fold for s in m.samples} == set(range(5))


def test_real_breakhis_sample_split(breakhis_sample):
    m = make_split(scan(breakhis_sample), SplitOptions())
    assert len(m.samples) == 23 and len(m.classes) == 8
    assert_patient_safe(m)
    assert {s.split for s in m.samples} == {"train", "val", "test"}


def test_k_fold_with_fewer_images_than_folds_in_every_class():
    # scikit-learn refuses this; the patients are dealt round the folds instead
    m = make_split(catalog_of([("p1", "a", "40X", 1), ("p2", "b", "40X", 1)]), SplitOptions(folds=2, fold=1))
    assert {s.fold for s in m.samples} == {0, 1}
    assert len(m.split_samples("test")) == 1 and len(m.split_samples("train")) == 1
