"""The command-line entry: help, unknown command, piping into a reader that closes early."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "histoclass" in capsys.readouterr().out


def test_every_documented_command_is_registered():
    from core.cli import build_parser

    text = build_parser().format_help()
    for command in ("scan", "split", "config", "weights", "predict", "train", "evaluate", "selftest"):
        assert command in text, command


def test_a_reader_that_closes_early_gives_no_traceback(breakhis_sample):
    """`histoclass scan ... | head`: the reader is gone before the command writes."""
    code = "import sys; from core.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "scan", str(breakhis_sample)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    proc.stdout.close()  # closed before the child has started writing
    stderr = proc.stderr.read()
    proc.wait(timeout=60)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert proc.returncode == 141
