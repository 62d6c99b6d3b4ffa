"""Writing private files atomically: a reader sees the old file or the new one, never half.

The bytes go to a temp file in the same directory, are flushed and fsynced, made 0600,
then `os.replace`d over the target. A process killed at any instant leaves either the
old file or the new one, and at worst a stray temp file that nothing reads.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from grokbatch.paths import PRIVATE_FILE_MODE


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` (0600) in one step."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, PRIVATE_FILE_MODE)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def remove_stale_temp_files(directory: Path) -> int:
    """Delete temp files that a killed writer left in `directory` and its `videos/`.

    Call only while holding the job's lock: then no writer of this job is alive.
    """
    removed = 0
    for folder in (directory, directory / "videos"):
        for leftover in folder.glob(".*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
                removed += 1
    return removed
