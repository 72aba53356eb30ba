"""Prediction: folder walking, batched threaded prediction with unreadable files reported,
stop flag, CSV, overlapping tiles, and `histoclass predict` on the real BreakHis sample."""
from __future__ import annotations

import csv
import json
import threading

import numpy as np
import pytest
from PIL import Image

from core import RESEARCH_NOTICE
from core.bundle import load_bundle
from core.cli import main as cli_main
from core.predict import (
    csv_columns,
    iter_image_paths,
    predict_paths,
    predict_tiles,
    tile_boxes,
    write_csv,
)
from tests.core.bundle_helpers import CLASSES, make_tiny_bundle


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("predict") / "tiny.hcmodel"
    make_tiny_bundle(path)
    return path


@pytest.fixture(scope="module")
def bundle(bundle_path):
    return load_bundle(bundle_path)


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    files = {"a/1.png": (40, 60), "a/sub/2.jpg": (50, 50), "b/3.tif": (30, 45), "b/4.bmp": (64, 32),
             ".hidden/5.png": (20, 20)}
    arrays = {}
    for rel, (h, w) in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays[rel] = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        Image.fromarray(arrays[rel]).save(path)
    (tmp_path / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    (tmp_path / "b" / "empty.png").write_bytes(b"")
    (tmp_path / "b" / "notes.txt").write_text("not an image", encoding="utf-8")
    return tmp_path, arrays


def test_iter_image_paths(folder):
    root, _ = folder
    found = [p.relative_to(root).as_posix() for p in iter_image_paths([root])]
    assert found == ["a/1.png", "a/sub/2.jpg", "b/3.tif", "b/4.bmp", "b/broken.png", "b/empty.png"]
    flat = [p.name for p in iter_image_paths([root / "a"], recursive=False)]
    assert flat == ["1.png"]
    loose = list(iter_image_paths([root / "b" / "notes.txt", root / "gone.png"]))
    assert [p.name for p in loose] == ["notes.txt", "gone.png"]


def test_predict_paths_reports_bad_files_and_matches_the_bundle(bundle, folder):
    root, arrays = folder
    events = []
    rows = list(predict_paths(bundle, [root, root / "gone.png"], batch_size=2,
                              on_progress=events.append, workers=2))
    assert [r["path"] for r in rows] == [str(p) for p in iter_image_paths([root, root / "gone.png"])]
    errors = {r["path"].rsplit("/", 1)[-1]: r["error"] for r in rows if "error" in r}
    assert set(errors) == {"broken.png", "empty.png", "gone.png"}
    assert "empty" in errors["empty.png"]
    good = [r for r in rows if "error" not in r]
    decoded = [np.asarray(Image.open(root / rel).convert("RGB")) for rel in
               ("a/1.png", "a/sub/2.jpg", "b/3.tif", "b/4.bmp")]
    expected = bundle.predict(decoded)
    for row, probs in zip(good, expected):
        assert set(row["probabilities"]) == set(CLASSES)
        got = np.array([row["probabilities"][c] for c in CLASSES])
        np.testing.assert_allclose(got, probs, atol=1e-5)
        assert row["label"] == CLASSES[int(np.argmax(probs))]
        assert row["probability"] == pytest.approx(float(probs.max()))
    assert events[-1]["done"] == events[-1]["total"] == len(rows)
    assert all(e["event"] == "predict" for e in events)


def test_stop_flag_ends_between_batches(bundle, folder):
    root, _ = folder
    stop = threading.Event()
    rows = []
    for row in predict_paths(bundle, [root], batch_size=1, stop=stop, workers=1):
        rows.append(row)
        stop.set()
    assert 1 <= len(rows) < 6


def test_write_csv(bundle, folder, tmp_path):
    root, _ = folder
    rows = list(predict_paths(bundle, [root], batch_size=4))
    out = tmp_path / "out" / "results.csv"
    assert write_csv(rows, out, bundle) == len(rows)
    with open(out, newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == csv_columns(CLASSES)
    assert [t["file"] for t in table] == [r["path"] for r in rows]
    for record, row in zip(table, rows):
        assert record["model"] == bundle.name and record["model_sha256"] == bundle.sha256
        assert record["notice"] == RESEARCH_NOTICE and record["date"]
        if "error" in row:
            assert record["error"] and record["predicted_class"] == ""
        else:
            assert record["predicted_class"] == row["label"]
            assert float(record[f"p_{CLASSES[0]}"]) == pytest.approx(row["probabilities"][CLASSES[0]], abs=1e-6)


@pytest.mark.parametrize("height, width, tile, overlap", [
    (460, 700, 230, 0.5), (100, 100, 64, 0.0), (50, 300, 224, 0.25), (33, 47, 32, 0.9),
])
def test_tile_boxes_cover_the_image(height, width, tile, overlap):
    boxes = tile_boxes(height, width, tile, overlap)
    covered = np.zeros((height, width), bool)
    side = min(tile, height, width)
    for x0, y0, x1, y1 in boxes:
        assert x1 - x0 == y1 - y0 == side and 0 <= x0 and x1 <= width and 0 <= y0 and y1 <= height
        covered[y0:y1, x0:x1] = True
    assert covered.all()
    assert len(set(boxes)) == len(boxes)


def test_predict_tiles_aggregates_by_the_mean(bundle):
    image = np.random.default_rng(1).integers(0, 256, size=(120, 200, 3), dtype=np.uint8)
    result = predict_tiles(bundle, image, tile=64, overlap=0.5)
    boxes, table = result["boxes"], np.array(result["probabilities"])
    assert len(boxes) == len(table) > 1
    crops = [image[y0:y1, x0:x1] for x0, y0, x1, y1 in boxes]
    np.testing.assert_allclose(table, bundle.predict(crops), atol=1e-5)
    mean = table.mean(axis=0)
    assert [result["aggregate"][c] for c in CLASSES] == pytest.approx(list(mean))
    assert result["label"] == CLASSES[int(np.argmax(mean))]
    assert "mean" in result["method"] and str(len(boxes)) in result["method"]
    assert result["notice"] == RESEARCH_NOTICE and not result["cancelled"]
    small = predict_tiles(bundle, image[:20, :20])
    assert small["boxes"] == [[0, 0, 20, 20]]


def test_predict_command_on_real_breakhis(bundle_path, breakhis_sample, tmp_path, capsys):
    out_csv = tmp_path / "breakhis.csv"
    code = cli_main(["predict", str(bundle_path), str(breakhis_sample), "--json", "--csv", str(out_csv)])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 23 and not any("error" in r for r in rows)
    for row in rows:
        assert row["label"] in CLASSES
        assert sum(row["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    with open(out_csv, newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 23
    assert cli_main(["predict", str(bundle_path), str(tmp_path / "nothing-here")]) == 0
    assert "UNREADABLE" in capsys.readouterr().out
    assert cli_main(["predict", str(out_csv), str(breakhis_sample)]) == 2
    assert "not a HistoClass model" in capsys.readouterr().err
