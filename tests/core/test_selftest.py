"""`histoclass selftest`: every check passes here, and a failing check makes the exit non-zero."""
from __future__ import annotations

import io
import sys

import pytest

from core import paths
from core.cli import main as cli_main
from core.cli import selftest_cmd
from core.weights import WEIGHTS_FILENAME


def test_every_check_passes_with_one_line_each(capsys):
    assert cli_main(["selftest"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(selftest_cmd.CHECKS) + 1
    for line, name in zip(lines, selftest_cmd.CHECKS):
        assert line.startswith(f"ok   {name} "), line
    assert "main window 'HistoClass' shown" in lines[-2]
    assert "predictions identical" in lines[3]
    count = len(selftest_cmd.CHECKS)
    assert lines[-1].startswith(f"selftest ok: {count} of {count} checks passed")


def test_qt_that_cannot_start_fails_the_selftest(capsys, monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "no-such-platform")
    assert cli_main(["selftest", "images", "qt"]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("ok   images ")
    assert lines[1].startswith("FAIL qt ")
    assert "exited with" in lines[1]
    assert lines[2].startswith("selftest FAILED: qt (1 of 2 checks)")


def test_damaged_bundled_weights_fail_and_later_checks_still_run(tmp_path, monkeypatch):
    (tmp_path / WEIGHTS_FILENAME).write_bytes(b"not an HDF5 file at all")
    monkeypatch.setattr(paths, "bundled_models_dir", lambda: tmp_path)
    out = io.StringIO()
    results = selftest_cmd.run_selftest(["weights", "images"], out=out)
    assert [(r.name, r.ok) for r in results] == [("weights", False), ("images", True)]
    assert "WeightsError" in results[0].detail and "not a Keras weights file" in results[0].detail
    assert out.getvalue().splitlines()[0].startswith("FAIL weights ")


def test_weights_check_reports_where_it_looked_when_there_are_none(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "bundled_models_dir", lambda: tmp_path / "bundled")
    monkeypatch.setattr(paths, "user_models_dir", lambda: tmp_path / "user")
    monkeypatch.setattr(paths, "keras_cache_models_dir", lambda: tmp_path / "cache")
    [result] = selftest_cmd.run_selftest(["weights"], out=io.StringIO())
    assert result.ok
    assert "none found" in result.detail and str(tmp_path / "bundled") in result.detail


def test_unknown_check_name_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["selftest", "no-such-check"])
    assert exit_info.value.code == 2
    assert "no check named 'no-such-check'" in capsys.readouterr().err


def test_child_is_started_with_the_flag_the_launcher_routes_to_the_gui_check(monkeypatch):
    import types

    from histoclass.__main__ import main as launcher

    command = selftest_cmd.gui_selftest_command()
    fake = types.ModuleType("gui.selftest")  # stands in for the Qt check (no Qt in tests/core)
    fake.main = lambda: 7
    monkeypatch.setitem(sys.modules, "gui.selftest", fake)
    assert launcher([command[-1]]) == 7
