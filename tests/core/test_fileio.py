"""Atomic writes leave either the old file or the new one, with ordinary permissions."""
from __future__ import annotations

import os
import stat

import pytest

from core.fileio import atomic_path, write_json_atomic, write_text_atomic


def test_write_replaces_the_target_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "sub" / "a.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"a": 2})
    assert target.read_text().strip().endswith("}")
    assert '"a": 2' in target.read_text()
    assert [p.name for p in target.parent.iterdir()] == ["a.json"]


def test_an_error_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.txt"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_saved_files_get_the_users_default_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "report.html"
        write_text_atomic(target, "<html></html>")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
