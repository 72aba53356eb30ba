"""`histoclass <command>`: every job the GUI can start, from a terminal. Never imports Qt.

Each command lives in a module of this package with a `register(subparsers)` function
that adds its parser and sets `func(args) -> int`. Heavy imports (TensorFlow) happen
inside the command functions, so `histoclass scan` starts fast.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from core import RESEARCH_NOTICE, __version__
from core.errors import HistoClassError

COMMAND_MODULES = (
    "core.cli.data_cmds",  # scan, split
    "core.cli.model_cmds",  # config, weights, predict
    "core.cli.train_cmds",  # train, evaluate
    "core.cli.selftest_cmd",  # selftest
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="histoclass",
        description=f"HistoClass: train and use a histology classifier. {RESEARCH_NOTICE}",
        epilog="Run `histoclass` with no command to open the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"histoclass {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    # TensorFlow's C++ info notes (CPU features and the like) are not for users; warnings
    # and errors still show (set the variable to 0 to see everything). The two or three
    # lines TF 2.21 prints before its logging is set up ignore this setting.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try, so a closed pipe is handled below
        return code
    except HistoClassError as exc:
        print(f"histoclass {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"histoclass {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`histoclass scan ... | head`): stop quietly, as Unix tools do.
        # Point stdout at devnull so Python's flush at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
