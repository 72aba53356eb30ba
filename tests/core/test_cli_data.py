"""`histoclass scan` and `histoclass split` as a user runs them."""
from __future__ import annotations

import json

import pytest

from core.cli import main
from core.manifest import load_manifest
from tests.core.datagen import make_folders, make_idc

IDC_PATTERN = r"(?P<patient>\d+)/(?P<label>[01])/.*\.png"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_scan_json_on_the_breakhis_sample(capsys, breakhis_sample):
    code, out, _ = run(capsys, "scan", str(breakhis_sample), "--json")
    summary = json.loads(out)
    assert code == 0
    assert summary["images"] == 23 and len(summary["classes"]) == 8
    assert {"layout", "images", "classes", "patients", "magnifications", "skipped"} <= set(summary)


def test_scan_table(capsys, breakhis_sample):
    code, out, _ = run(capsys, "scan", str(breakhis_sample))
    assert code == 0
    lines = out.splitlines()
    assert lines[3].split() == ["class", "40X", "100X", "200X", "400X", "images", "patients"]
    assert lines[-1].split()[0] == "total" and lines[-1].split()[-2] == "23"


def test_scan_exit_codes(capsys, tmp_path):
    code, out, err = run(capsys, "scan", str(tmp_path / "missing"))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "not found" in err
    code, _, err = run(capsys, "scan", str(tmp_path))
    assert code == 2 and "No images" in err
    make_folders(tmp_path, {"a": 1})
    (tmp_path / "a" / "zero.png").write_bytes(b"")
    code, out, _ = run(capsys, "scan", str(tmp_path), "--json")
    assert code == 0 and json.loads(out)["skipped"] == [{"path": "a/zero.png", "reason": "empty file (0 bytes)"}]


def test_split_writes_a_patient_safe_manifest(capsys, tmp_path):
    make_idc(tmp_path / "idc", {str(8000 + p): {"0": 2, "1": 1 + p % 2} for p in range(12)})
    out_path = tmp_path / "m.json"
    code, out, _ = run(capsys, "split", str(tmp_path / "idc"), "--layout", "pattern",
                       "--pattern", IDC_PATTERN, "-o", str(out_path), "--json", "--seed", "5")
    assert code == 0
    summary = json.loads(out)
    assert summary["manifest"] == str(out_path)
    assert sum(summary["splits"][s]["patients_total"] for s in ("train", "val", "test")) == 12
    m = load_manifest(out_path)
    sides = {}
    for s in m.samples:
        sides.setdefault(s.patient, set()).add(s.split)
    assert all(len(v) == 1 for v in sides.values())
    code, out, _ = run(capsys, "split", str(tmp_path / "idc"), "--pattern", IDC_PATTERN,
                       "-o", str(out_path), "--folds", "3", "--fold", "2", "--cap-per-class", "5")
    assert code == 0 and "3 folds, fold 2 is the test set" in out
    assert "For research use only" in out
    assert load_manifest(out_path).options["cap_per_class"] == 5


def test_split_folders_by_patient_fails_plainly_then_works_by_image(capsys, tmp_path, kather_sample):
    out_path = tmp_path / "k.json"
    code, _, err = run(capsys, "split", str(kather_sample), "--layout", "folders", "-o", str(out_path))
    assert code == 2 and "--by image" in err and not out_path.exists()
    code, out, _ = run(capsys, "split", str(kather_sample), "--layout", "folders", "--by", "image",
                       "-o", str(out_path))
    assert code == 0 and "optimistic" in out
    assert load_manifest(out_path).image_level


def test_split_magnifications_on_the_breakhis_sample(capsys, tmp_path, breakhis_sample):
    out_path = tmp_path / "b.json"
    code, out, _ = run(capsys, "split", str(breakhis_sample), "-o", str(out_path),
                       "--magnifications", "40,100", "--json")
    assert code == 0
    m = load_manifest(out_path)
    assert len(m.samples) == 13 and {s.magnification for s in m.samples} == {"40X", "100X"}


@pytest.mark.parametrize("extra, words", [(["--val", "0.6", "--test", "0.6"], "nothing to train"),
                                          (["--fold", "1"], "needs --folds")])
def test_split_bad_options(capsys, tmp_path, breakhis_sample, extra, words):
    code, _, err = run(capsys, "split", str(breakhis_sample), "-o", str(tmp_path / "x.json"), *extra)
    assert code == 2 and words in err
