"""Split a Catalog into train / validation / test (or K folds) without leaking patients.

The unit that is split is the patient (`by="patient"`), or each image (`by="image"`, which
puts a warning in the manifest: scores will be optimistic). Every image of a patient goes
to the same side, even when the patient has images of two classes (BreakHis 13412:
ductal and lobular carcinoma).

Train/val/test: within each class, the patients are shuffled with the seed and the
requested fractions are taken (a patient with two classes counts for its rarer one). A
class with very few patients gets at least one training patient, then one test patient,
then one validation patient, and the manifest says which splits it could not fill. No
patient is ever duplicated to fill a gap.

K-fold: scikit-learn's StratifiedGroupKFold assigns every patient a fold; fold I is the
test set, and `val` (a fraction of the remaining patients) is drawn from the rest.

`cap_per_class` keeps at most N training images per class, picked in turn across
patients and then magnifications, as the original recipe truncated over-represented
classes; the images left out stay in the manifest with `split=None`. Class weights
("balanced", from scikit-learn) are computed on what remains.
"""
from __future__ import annotations

import math
import warnings as pywarnings
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, replace

import numpy as np

from core.errors import DatasetError
from core.manifest import IMAGE_LEVEL_WARNING, SCHEMA_VERSION, SPLITS, Manifest, ManifestSample
from core.scan import Catalog, Sample, normalize_magnification


@dataclass(frozen=True)
class SplitOptions:
    by: str = "patient"  # "patient" | "image"
    val: float = 0.15  # fraction of patients (of images with by="image")
    test: float = 0.15  # ignored in K-fold mode: fold `fold` is the test set
    folds: int | None = None
    fold: int | None = None  # 0-based; defaults to 0 when folds is set
    cap_per_class: int | None = None
    magnifications: tuple[str, ...] | None = None
    seed: int = 42


def make_split(catalog: Catalog, options: SplitOptions) -> Manifest:
    """A patient-safe, seeded, reproducible Manifest from a scanned folder."""
    options = _checked(options)
    if catalog.cancelled:
        raise DatasetError("The scan was stopped before the end; scan the whole folder, then split it.")
    samples = _filtered(catalog, options.magnifications)
    units = _units(samples, options.by, catalog.layout)
    labels = [s.label for s in samples]
    notes: list[str] = [IMAGE_LEVEL_WARNING] if options.by == "image" else []
    fold_of: dict[str, int] = {}
    if options.folds:
        fold_of = _assign_folds(units, labels, options.folds, options.seed, options.by)
        notes += _fold_warnings(units, labels, fold_of, options.folds, options.by)
    split_of = _split_units(units, labels, options, fold_of)
    rows = [
        ManifestSample(s.path, s.label, s.patient, s.magnification, s.group,
                       split_of[u], fold_of.get(u) if options.folds else None)
        for s, u in zip(samples, units)
    ]
    rows = _apply_cap(rows, options.cap_per_class, options.seed)
    classes = sorted(set(labels))
    notes += _coverage_warnings(rows, classes, options)
    weights = _class_weights(rows, classes)
    opts = asdict(options) | {"magnifications": list(options.magnifications or []) or None,
                              "layout": catalog.layout, "pattern": catalog.pattern}
    return Manifest(SCHEMA_VERSION, options.seed, opts, classes, str(catalog.root), tuple(rows),
                    tuple(notes), weights, hash="")


def _checked(o: SplitOptions) -> SplitOptions:
    if o.by not in ("patient", "image"):
        raise DatasetError(f"Split by {o.by!r}? Choose 'patient' (honest) or 'image'.")
    for name in ("val", "test"):
        value = getattr(o, name)
        if not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise DatasetError(f"The {name} fraction must be from 0 up to (not including) 1, not {value}")
    if not o.folds and o.val + o.test >= 1:
        raise DatasetError(f"val + test = {o.val + o.test:g} leaves nothing to train on; keep it below 1")
    if o.fold is not None and not o.folds:
        raise DatasetError("--fold needs --folds K (the number of folds)")
    if o.folds is not None:
        if o.folds < 2:
            raise DatasetError(f"K-fold needs at least 2 folds, not {o.folds}")
        fold = 0 if o.fold is None else o.fold
        if not 0 <= fold < o.folds:
            raise DatasetError(f"Fold {fold} does not exist; with {o.folds} folds choose 0 to {o.folds - 1}")
        o = replace(o, fold=fold)
    if o.cap_per_class is not None and o.cap_per_class < 1:
        raise DatasetError(f"The cap per class must be at least 1 image, not {o.cap_per_class}")
    if o.magnifications is not None:
        if isinstance(o.magnifications, str):
            o = replace(o, magnifications=tuple(o.magnifications.split(",")))
        mags = tuple(dict.fromkeys(m for m in map(normalize_magnification, o.magnifications) if m))
        o = replace(o, magnifications=mags or None)
    return o


def _filtered(catalog: Catalog, mags: tuple[str, ...] | None) -> list[Sample]:
    samples = list(catalog.samples)
    if not samples:
        raise DatasetError(f"No usable images in {catalog.root}; nothing to split")
    if mags:
        samples = [s for s in samples if s.magnification in mags]
        if not samples:
            found = sorted({s.magnification for s in catalog.samples if s.magnification})
            raise DatasetError(
                f"No images at magnification {', '.join(mags)}; this folder has "
                f"{', '.join(found) if found else 'no magnification information'}"
            )
    return samples


def _units(samples: list[Sample], by: str, layout: str) -> list[str]:
    """What is split: the patient of each image, or the image itself."""
    if by == "image":
        return [s.path for s in samples]
    missing = [s.path for s in samples if s.patient is None]
    if missing:
        raise DatasetError(
            f"{len(missing)} of {len(samples)} images have no patient id (the {layout} layout "
            f"gives none, e.g. {missing[0]}), so they cannot be split by patient. Use --by image "
            "(scores will be optimistic) or --layout pattern with a (?P<patient>...) group."
        )
    return [s.patient for s in samples]


def _primary_labels(units: list[str], labels: list[str]) -> dict[str, str]:
    """Each unit's class for stratifying: its rarest class (by number of units)."""
    unit_classes: dict[str, set[str]] = defaultdict(set)
    for u, y in zip(units, labels):
        unit_classes[u].add(y)
    per_class = Counter(y for ys in unit_classes.values() for y in ys)
    return {u: min(ys, key=lambda y: (per_class[y], y)) for u, ys in unit_classes.items()}


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def _counts(n: int, val: float, test: float) -> tuple[int, int]:
    """(test, val) units for a class of n: at least one training unit, then test, then val."""
    n_test, n_val = _round(n * test), _round(n * val)
    if test > 0 and n_test == 0 and n >= 2:
        n_test = 1
    if val > 0 and n_val == 0 and n - n_test >= 2:
        n_val = 1
    n_val = max(0, min(n_val, n - 1 - n_test))
    n_test = max(0, min(n_test, n - 1 - n_val))
    return n_test, n_val


def _allocate(units: list[str], labels: list[str], val: float, test: float, seed: int) -> dict[str, str]:
    """Stratified by class, grouped by unit: {unit: "train"|"val"|"test"}."""
    primary = _primary_labels(units, labels)
    strata: dict[str, list[str]] = defaultdict(list)
    for u in sorted(primary):
        strata[primary[u]].append(u)
    rng = np.random.default_rng(seed)
    split_of: dict[str, str] = {}
    for label in sorted(strata):
        members = [strata[label][i] for i in rng.permutation(len(strata[label]))]
        n_test, n_val = _counts(len(members), val, test)
        for i, u in enumerate(members):
            split_of[u] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return split_of


def _assign_folds(units: list[str], labels: list[str], folds: int, seed: int, by: str) -> dict[str, int]:
    n_units = len(set(units))
    if n_units < folds:
        noun = "patients" if by == "patient" else "images"
        raise DatasetError(f"Only {n_units} {noun} to split, fewer than the {folds} folds asked for")
    from sklearn.model_selection import StratifiedGroupKFold  # ~1 s to import: only when used

    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    fold_of: dict[str, int] = {}
    with pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore", UserWarning)  # small classes: reported in our own words
        try:
            for k, (_, test_idx) in enumerate(splitter.split(np.zeros(len(units)), labels, groups=units)):
                for i in test_idx:
                    fold_of[units[i]] = k
        except ValueError:  # every class has fewer images than folds: deal patients by hand
            return _deal_folds(units, labels, folds, seed)
    return fold_of


def _deal_folds(units: list[str], labels: list[str], folds: int, seed: int) -> dict[str, int]:
    """Deal each class's shuffled units round the folds, continuing where the last class stopped."""
    primary = _primary_labels(units, labels)
    rng = np.random.default_rng(seed)
    fold_of: dict[str, int] = {}
    k = 0
    for label in sorted(set(primary.values())):
        members = sorted(u for u in primary if primary[u] == label)
        for i in rng.permutation(len(members)):
            fold_of[members[i]] = k % folds
            k += 1
    return fold_of


def _split_units(units, labels, options: SplitOptions, fold_of: dict[str, int]) -> dict[str, str]:
    if not options.folds:
        return _allocate(units, labels, options.val, options.test, options.seed)
    rest = [(u, y) for u, y in zip(units, labels) if fold_of[u] != options.fold]
    split_of = _allocate([u for u, _ in rest], [y for _, y in rest], options.val, 0.0, options.seed)
    split_of.update({u: "test" for u in units if fold_of[u] == options.fold})
    return split_of


def _fold_warnings(units, labels, fold_of, folds: int, by: str) -> list[str]:
    noun = "patients" if by == "patient" else "images"
    in_folds: dict[str, set[int]] = defaultdict(set)
    members: dict[str, set[str]] = defaultdict(set)
    for u, y in zip(units, labels):
        in_folds[y].add(fold_of[u])
        members[y].add(u)
    return [
        f"{y}: {_count(len(members[y]), noun)} for {folds} folds, so {folds - len(in_folds[y])} "
        f"fold(s) have no {y} in their test set"
        for y in sorted(in_folds) if len(in_folds[y]) < folds
    ]


def _apply_cap(rows: list[ManifestSample], cap: int | None, seed: int) -> list[ManifestSample]:
    """Keep at most `cap` training images per class; the rest get split=None."""
    if cap is None:
        return rows
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if r.split == "train":
            by_class[r.label].append(i)
    rng = np.random.default_rng(seed)
    dropped: set[int] = set()
    for label in sorted(by_class):
        idx = by_class[label]
        if len(idx) > cap:
            keep = set(_spread_pick([rows[i] for i in idx], idx, cap, rng))
            dropped.update(i for i in idx if i not in keep)
    return [replace(r, split=None) if i in dropped else r for i, r in enumerate(rows)]


def _spread_pick(rows: list[ManifestSample], idx: list[int], cap: int, rng) -> list[int]:
    """Take images in turn from each patient, and within a patient from each magnification."""
    nested: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for r, i in zip(rows, idx):
        nested[r.patient or r.path][r.magnification or ""].append(i)
    queues = []
    for patient in sorted(nested):
        by_mag = [list(rng.permutation(nested[patient][m])) for m in sorted(nested[patient])]
        queues.append([i for tier in _interleave(by_mag) for i in tier])
    order = [queues[k] for k in rng.permutation(len(queues))]
    return [i for tier in _interleave(order) for i in tier][:cap]


def _interleave(lists: list[list]) -> list[list]:
    """Round-robin tiers: [[a0, b0, c0], [a1, b1], ...]."""
    depth = max((len(x) for x in lists), default=0)
    return [[x[d] for x in lists if d < len(x)] for d in range(depth)]


def _coverage_warnings(rows: list[ManifestSample], classes: list[str], o: SplitOptions) -> list[str]:
    """Say plainly where a class could not be placed in a split without leaking."""
    noun = "patients" if o.by == "patient" else "images"
    wanted = {"train": True, "val": o.val > 0, "test": o.test > 0 or bool(o.folds)}
    present = {(r.label, r.split) for r in rows}
    units: dict[str, set] = defaultdict(set)
    for r in rows:
        units[r.label].add(r.patient if o.by == "patient" else r.path)
    notes = []
    for c in classes:
        empty = [s for s in SPLITS if wanted[s] and (c, s) not in present]
        if empty:
            notes.append(
                f"{c}: only {_count(len(units[c]), noun)}, so it has none in {' or '.join(empty)}; "
                f"scores for {c} there cannot be measured (no {noun[:-1]} is put in two splits)"
            )
    return notes


def _count(n: int, noun: str) -> str:
    return f"{n} {noun if n != 1 else noun[:-1]}"


def _class_weights(rows: list[ManifestSample], classes: list[str]) -> dict[str, float]:
    """Balanced weights on the training images; 1.0 for a class with none (it never occurs)."""
    from sklearn.utils.class_weight import compute_class_weight

    train = [r.label for r in rows if r.split == "train"]
    present = sorted(set(train))
    weights = {c: 1.0 for c in classes}
    if present:
        values = compute_class_weight("balanced", classes=np.array(present), y=np.array(train))
        weights.update({c: round(float(w), 6) for c, w in zip(present, values)})
    return weights


def summarize(manifest: Manifest) -> dict:
    """Per split: images and patients by class, and totals (the `split --json` object)."""
    names = list(SPLITS) + (["unused"] if any(s.split is None for s in manifest.samples) else [])
    splits = {}
    for name in names:
        rows = [s for s in manifest.samples if (s.split or "unused") == name]
        patients: dict[str, set] = defaultdict(set)
        for r in rows:
            patients[r.label].add(r.patient)
        known = all(r.patient is not None for r in rows)
        splits[name] = {
            "images": {c: sum(1 for r in rows if r.label == c) for c in manifest.classes},
            "patients": {c: (len(patients[c]) if known else None) for c in manifest.classes},
            "images_total": len(rows),
            "patients_total": len({r.patient for r in rows}) if known else None,
        }
    return {
        "splits": splits,
        "classes": list(manifest.classes),
        "class_weights": dict(manifest.class_weights),
        "image_level": manifest.image_level,
        "folds": manifest.options.get("folds"),
        "fold": manifest.options.get("fold"),
        "seed": manifest.seed,
        "warnings": list(manifest.warnings),
        "hash": manifest.hash,
    }
