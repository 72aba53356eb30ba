"""Honest evaluation: image-, patient- and group-level scores, calibration, confusion matrix.

`compute_metrics` works on plain arrays, so it is tested against hand-computed examples;
`evaluate_bundle` runs a saved model on a manifest split and adds one row per image.
Patient-level accuracy follows BreakHis (Spanhol et al. 2016): for each patient the
fraction of their images classified correctly, averaged over patients.
"""
from __future__ import annotations

import warnings as _warnings
from collections import defaultdict
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from core import RESEARCH_NOTICE
from core.errors import DatasetError
from core.jobs import ProgressCallback, StopFlag, report, should_stop

ECE_BINS = 15
# The headline scores, in the order every report and table shows them.
SCORE_KEYS = ("accuracy", "balanced_accuracy", "macro_f1", "patient_accuracy")
OPTIMISTIC_WARNING = (
    "Scores are optimistic: this split was made by image, not by patient, so images of the "
    "same patient are in both training and test."
)
GROUPS = ("benign", "malignant")


def expected_calibration_error(y_true: np.ndarray, y_prob: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """Top-label ECE: confidences fall in equal-width bins (lo, hi]; sum of |accuracy - confidence| weighted by bin share."""
    confidence = y_prob.max(axis=1)
    correct = (y_prob.argmax(axis=1) == y_true).astype(float)
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def patient_accuracy(correct: np.ndarray, patients: Sequence[str | None]) -> float | None:
    """BreakHis patient recognition rate: mean over patients of their fraction of correct images."""
    per_patient: dict[str, list[bool]] = defaultdict(list)
    for ok, patient in zip(correct, patients):
        if patient is not None:
            per_patient[patient].append(bool(ok))
    if not per_patient:
        return None
    return float(np.mean([np.mean(v) for v in per_patient.values()]))


def _per_class(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict[str, dict]:
    from sklearn.metrics import precision_recall_fscore_support

    labels = list(range(len(classes)))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i, name in enumerate(classes)
    }


def _by_magnification(correct, patients, magnifications) -> dict[str, dict] | None:
    if magnifications is None or all(m is None for m in magnifications):
        return None
    rows: dict[str, list[int]] = defaultdict(list)
    for i, mag in enumerate(magnifications):
        if mag is not None:
            rows[str(mag)].append(i)
    result = {}
    for mag in sorted(rows, key=lambda m: (len(m), m)):
        idx = np.asarray(rows[mag])
        pats = None if patients is None else [patients[i] for i in idx]
        result[mag] = {
            "accuracy": float(correct[idx].mean()),
            "patient_accuracy": None if pats is None else patient_accuracy(correct[idx], pats),
            "images": int(idx.size),
        }
    return result


def _group_accuracy(y_true, y_pred, classes, groups) -> float | None:
    """Benign-vs-malignant accuracy derived from the class labels, when every class has a group.

    `groups` maps class -> group (see `class_groups`).
    """
    if not groups:
        return None
    mapped = [groups.get(name) for name in classes]
    if any(g not in GROUPS for g in mapped) or len(set(mapped)) < 2:
        return None
    lookup = np.asarray([GROUPS.index(g) for g in mapped])
    return float((lookup[y_true] == lookup[y_pred]).mean())


def _check_inputs(y_true, y_prob, classes) -> tuple[np.ndarray, np.ndarray]:
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if y_prob.ndim != 2 or y_prob.shape[0] == 0:
        raise DatasetError("There are no images to evaluate: the chosen split is empty.")
    if y_prob.shape[1] != len(classes):
        raise DatasetError(
            f"The model gives {y_prob.shape[1]} class scores but {len(classes)} class names were given."
        )
    names = {c: i for i, c in enumerate(classes)}
    y_true = np.asarray([names[y] if isinstance(y, str) else int(y) for y in y_true], dtype=np.int64)
    if y_true.shape[0] != y_prob.shape[0]:
        raise DatasetError("The number of true labels and of predictions differ.")
    return y_true, y_prob


def compute_metrics(
    y_true: Sequence[int | str] | np.ndarray,
    y_prob: np.ndarray,
    classes: Sequence[str],
    *,
    patients: Sequence[str | None] | None = None,
    magnifications: Sequence[str | None] | None = None,
    groups: Mapping[str, str | None] | None = None,
    image_level: bool = False,
) -> dict[str, Any]:
    """All scores of one evaluation as plain JSON-ready data (see CONTRACTS.md)."""
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score

    classes = list(classes)
    y_true, y_prob = _check_inputs(y_true, y_prob, classes)
    y_pred = y_prob.argmax(axis=1)
    correct = y_pred == y_true
    labels = list(range(len(classes)))
    warnings = [OPTIMISTIC_WARNING] if image_level else []
    present = [i for i in labels if (y_true == i).any()]
    absent = [classes[i] for i in labels if i not in present]
    if absent:
        warnings.append(
            "No images of: " + ", ".join(absent) + ". Balanced accuracy and macro F1 cover "
            "only the classes that are present; their per-class scores are undefined."
        )
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")  # sklearn warns about absent classes; reported above
        balanced = balanced_accuracy_score(y_true, y_pred)
    return {
        "accuracy": float(correct.mean()),
        "balanced_accuracy": float(balanced),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "patient_accuracy": None if patients is None else patient_accuracy(correct, patients),
        "patients": None if patients is None else len({p for p in patients if p is not None}),
        "per_class": _per_class(y_true, y_pred, classes),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "classes": classes,
        "ece": expected_calibration_error(y_true, y_prob),
        "by_magnification": _by_magnification(correct, patients, magnifications),
        "benign_malignant_accuracy": _group_accuracy(y_true, y_pred, classes, groups),
        "images": int(y_true.size),
        "warnings": warnings,
        "notice": RESEARCH_NOTICE,
    }


def class_groups(manifest, classes: Sequence[str]) -> dict[str, str | None]:
    """class -> benign/malignant when every image of that class in the manifest agrees."""
    seen: dict[str, set] = defaultdict(set)
    for s in manifest.samples:
        seen[s.label].add(s.group)
    return {c: next(iter(seen[c])) if len(seen.get(c, ())) == 1 else None for c in classes}


def evaluate_bundle(
    bundle,
    manifest,
    split: str | None = "test",
    *,
    on_progress: ProgressCallback | None = None,
    stop: StopFlag | None = None,
    batch_size: int = 32,
) -> dict[str, Any] | None:
    """Run a saved model on one split of a manifest (split None or "all": every image).

    Returns None when stopped. The decoded images come from the same cache as training.
    """
    from core import pipeline

    classes = list(bundle.classes)
    samples = _samples_to_score(manifest, split, classes)
    everything = split in (None, "all")  # the images over the class cap too
    images = pipeline.decoded_images(manifest, bundle.input_size, on_progress=on_progress, stop=stop,
                                     include_unused=everything)
    if images is None:
        return None
    rows = pipeline.rows_of(manifest, samples, include_unused=everything)
    probs = _predict_rows(bundle, images, rows, batch_size, on_progress, stop)
    if probs is None:
        return None
    card_groups = (getattr(bundle, "card", None) or {}).get("groups") or class_groups(manifest, classes)
    metrics = compute_metrics(
        [s.label for s in samples], probs, classes,
        patients=[s.patient for s in samples],
        magnifications=[s.magnification for s in samples],
        groups=card_groups,
        image_level=bool(manifest.image_level),
    )
    metrics["split"] = split or "all"
    metrics["predictions"] = [
        {"path": s.path, "true": s.label, "pred": classes[int(p.argmax())], "probability": float(p.max())}
        for s, p in zip(samples, probs)
    ]
    return metrics


def _samples_to_score(manifest, split: str | None, classes: list[str]) -> list:
    samples = list(manifest.samples) if split in (None, "all") else manifest.split_samples(split)
    if not samples:
        raise DatasetError(f"The manifest has no images in the '{split}' split.")
    unknown = sorted({s.label for s in samples} - set(classes))
    if unknown:
        raise DatasetError(
            "The model was not trained on these classes of the manifest: " + ", ".join(unknown)
            + f". It knows: {', '.join(classes)}."
        )
    return samples


def _predict_rows(bundle, images, rows, batch_size, on_progress, stop) -> np.ndarray | None:
    out = []
    for start in range(0, len(rows), batch_size):
        if should_stop(stop):
            return None
        batch = np.asarray(images[rows[start:start + batch_size]])
        out.append(np.asarray(bundle.predict(batch, batch_size=batch_size)))
        report(on_progress, event="evaluate", done=min(start + batch_size, len(rows)), total=len(rows))
    return np.concatenate(out, axis=0)


def plot_confusion(cm, classes: Sequence[str], path: str | Path, *, title: str = "Confusion matrix") -> Path:
    """Save the confusion matrix (rows = true class) as a PNG with counts and row percentages."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from core.fileio import atomic_path

    cm = np.asarray(cm, dtype=np.int64)
    n = len(classes)
    side = max(4.0, 0.6 * n + 2.5)
    fig = Figure(figsize=(side + 1, side), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    totals = cm.sum(axis=1, keepdims=True).clip(min=1)
    share = cm / totals
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{cm[i, j]}\n{share[i, j]:.0%}", ha="center", va="center", fontsize=8,
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), labels=list(classes), rotation=45, ha="right")
    ax.set_yticks(range(n), labels=list(classes))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.text(0.5, 0.01, RESEARCH_NOTICE, ha="center", fontsize=7, color="dimgray")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return path
