"""Atomic writes: write to a temporary file beside the target, then rename over it."""
from __future__ import annotations

import json
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


@contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces the target.

    On error the temporary file is removed and the old target, if any, is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = _new_file_beside(target, suffix or ".tmp")
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _new_file_beside(target: Path, suffix: str) -> Path:
    """Create a new, empty, uniquely named file in the target's folder.

    Not tempfile.mkstemp: it makes the file private (0600), while a saved manifest, bundle
    or report should get the permissions of any file the user creates. Mode 0666 with
    O_EXCL lets the kernel apply the user's umask (no process-wide umask juggling)."""
    for _ in range(100):
        path = target.parent / f".{target.name}.{secrets.token_hex(4)}{suffix}"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"Could not create a temporary file beside {target}")


def write_text_atomic(target: str | os.PathLike, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(target: str | os.PathLike, data: Any) -> None:
    write_text_atomic(target, json.dumps(data, indent=2, sort_keys=False) + "\n")
