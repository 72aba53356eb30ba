"""Every metric of core.evaluate against a small example worked out by hand (numbers in comments)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core import RESEARCH_NOTICE
from core.errors import DatasetError
from core.evaluate import (
    OPTIMISTIC_WARNING,
    compute_metrics,
    expected_calibration_error,
    patient_accuracy,
    plot_confusion,
)

CLASSES = ["a", "b", "c"]
Y_TRUE = [0, 0, 0, 1, 1, 2]
#            a     b     c        pred  right  confidence
Y_PROB = np.array([
    [0.85, 0.10, 0.05],  # a     yes    0.85
    [0.65, 0.25, 0.10],  # a     yes    0.65
    [0.18, 0.72, 0.10],  # b     no     0.72
    [0.12, 0.78, 0.10],  # b     yes    0.78
    [0.05, 0.40, 0.55],  # c     no     0.55
    [0.08, 0.10, 0.82],  # c     yes    0.82
])
PATIENTS = ["P1", "P1", "P1", "P2", "P3", "P3"]
MAGS = ["40X", "40X", "40X", "100X", "100X", "100X"]
GROUPS = {"a": "benign", "b": "malignant", "c": "malignant"}


@pytest.fixture(scope="module")
def metrics():
    return compute_metrics(Y_TRUE, Y_PROB, CLASSES, patients=PATIENTS, magnifications=MAGS, groups=GROUPS)


def test_image_level_scores(metrics):
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    # recalls a 2/3, b 1/2, c 1/1
    assert metrics["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    # precisions a 2/2, b 1/2, c 1/2 -> F1 a 0.8, b 0.5, c 2/3
    assert metrics["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert metrics["images"] == 6
    assert metrics["notice"] == RESEARCH_NOTICE


def test_per_class_and_confusion_matrix(metrics):
    per = metrics["per_class"]
    assert per["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert per["b"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert per["c"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert metrics["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert metrics["classes"] == CLASSES


def test_patient_accuracy_is_mean_of_per_patient_fractions(metrics):
    # P1 2/3 right, P2 1/1, P3 1/2 -> mean 13/18, not the image accuracy 4/6
    assert metrics["patient_accuracy"] == pytest.approx((2 / 3 + 1 + 1 / 2) / 3)
    assert metrics["patients"] == 3
    assert patient_accuracy(np.array([True, False]), [None, None]) is None


def test_by_magnification(metrics):
    by = metrics["by_magnification"]
    assert list(by) == ["40X", "100X"]
    assert by["40X"] == pytest.approx({"accuracy": 2 / 3, "patient_accuracy": 2 / 3, "images": 3})
    # 100X: P2 1/1, P3 1/2 -> 0.75
    assert by["100X"] == pytest.approx({"accuracy": 2 / 3, "patient_accuracy": 0.75, "images": 3})


def test_benign_malignant_accuracy(metrics):
    # true B B B M M M, predicted a a b b c c -> B B M M M M: 5 of 6
    assert metrics["benign_malignant_accuracy"] == pytest.approx(5 / 6)
    partial = compute_metrics(Y_TRUE, Y_PROB, CLASSES, groups={"a": "benign", "b": None, "c": "malignant"})
    assert partial["benign_malignant_accuracy"] is None
    assert partial["patient_accuracy"] is None and partial["by_magnification"] is None


def test_expected_calibration_error():
    y = np.asarray(Y_TRUE)
    # 10 bins (lo, hi]: (.5,.6] {0.55 wrong} .55; (.6,.7] {0.65 right} .35;
    # (.7,.8] {.72 wrong, .78 right} |0.5-0.75|=.25 x2; (.8,.9] {.85, .82 right} |1-.835|=.165 x2
    assert expected_calibration_error(y, Y_PROB, n_bins=10) == pytest.approx((0.55 + 0.35 + 0.5 + 0.33) / 6)
    # default 15 bins split .72 and .78: .55 + .35 + .72 + .22 + 2 x .165
    default = compute_metrics(Y_TRUE, Y_PROB, CLASSES)["ece"]
    assert default == pytest.approx((0.55 + 0.35 + 0.72 + 0.22 + 0.33) / 6)
    perfect = np.eye(3)[[0, 1, 2]]
    assert expected_calibration_error(np.array([0, 1, 2]), perfect) == pytest.approx(0.0)


def test_image_level_split_warns_first():
    result = compute_metrics(Y_TRUE, Y_PROB, CLASSES, image_level=True)
    assert result["warnings"][0] == OPTIMISTIC_WARNING
    assert "optimistic" in result["warnings"][0]
    assert compute_metrics(Y_TRUE, Y_PROB, CLASSES)["warnings"] == []


def test_absent_class_is_reported_and_left_out_of_macro_scores():
    probs = np.hstack([Y_PROB * 0.9, np.full((6, 1), 0.1)])
    result = compute_metrics(Y_TRUE, probs, CLASSES + ["d"])
    assert any("No images of: d" in w for w in result["warnings"])
    assert result["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert result["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert result["per_class"]["d"]["support"] == 0


def test_labels_may_be_class_names():
    names = [CLASSES[i] for i in Y_TRUE]
    assert compute_metrics(names, Y_PROB, CLASSES)["accuracy"] == pytest.approx(4 / 6)


def test_bad_input_raises_typed_errors():
    with pytest.raises(DatasetError, match="no images"):
        compute_metrics([], np.zeros((0, 3)), CLASSES)
    with pytest.raises(DatasetError, match="class scores"):
        compute_metrics(Y_TRUE, Y_PROB[:, :2], CLASSES)


def test_plot_confusion_writes_png(tmp_path):
    path = plot_confusion([[2, 1, 0], [0, 1, 1], [0, 0, 1]], CLASSES, tmp_path / "cm.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 300
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
