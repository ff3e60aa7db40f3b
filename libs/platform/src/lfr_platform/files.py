"""Small private files written so that no reader ever sees half of one (keys, blobs)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_file_once(path: Path, content: bytes) -> None:
    """Create `path` (0600) with `content` unless it exists; never leaves a half-written file visible.

    Several services start at once under `lfr up`: the content is written to a private temp file and
    hard-linked into place, so exactly one writer wins and every reader sees complete content.
    """
    _put_file(path, content, replace=False)


def replace_file(path: Path, content: bytes) -> None:
    """Write `path` (0600) atomically: readers see the old content or the new, never a mixture."""
    _put_file(path, content, replace=True)


def _put_file(path: Path, content: bytes, *, replace: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temp, path)
            return
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
    finally:
        temp.unlink(missing_ok=True)
