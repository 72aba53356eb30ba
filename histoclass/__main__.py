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
    from core.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
