"""`histoclass` opens the window; `histoclass <command>` runs the command line.

The command-line path never imports Qt, so the same jobs run on a headless server.
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        from gui.app import main as gui_main

        return gui_main()
    # Hidden: `histoclass selftest` starts the app again with this flag to check Qt in a
    # child process (gui/selftest.py), so that the command line never imports Qt itself.
    from core.cli.selftest_cmd import GUI_SELFTEST_FLAG

    if args == [GUI_SELFTEST_FLAG]:
        from gui.selftest import main as gui_selftest_main

        return gui_selftest_main()
    from core.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    import multiprocessing

    # The training window runs jobs in a spawned child process; in the frozen app that
    # child is this executable again, and freeze_support() runs it (then exits) here.
    multiprocessing.freeze_support()
    sys.exit(main())
