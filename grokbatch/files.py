"""Writing private files atomically: a reader sees the old file or the new one, never half.

The bytes go to a temp file in the same directory, are flushed and fsynced, made 0600,
then `os.replace`d over the target. A process killed at any instant leaves either the
old file or the new one, and at worst a stray temp file that nothing reads.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from types import TracebackType

from grokbatch.errors import DiskError
from grokbatch.paths import NO_FOLLOW, PRIVATE_FILE_MODE, RunFiles


class AtomicFile:
    """A temp file in `directory` that becomes its target on `commit`, or vanishes.

    For content written piece by piece (a streamed download) whose final name may only be
    known at the end. Use as a context manager: leaving it without `commit` deletes it.
    """

    def __init__(self, directory: Path, name_hint: str) -> None:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name_hint}.", suffix=".tmp", dir=directory)
        self.tmp_path = Path(tmp_name)
        self._fh = os.fdopen(fd, "wb")
        self._done = False

    def write(self, data: bytes) -> None:
        """Append `data`."""
        self._fh.write(data)

    def written(self) -> Path:
        """The temp file's path, with everything written so far flushed to it (to read it
        back before it is committed)."""
        self._fh.flush()
        return self.tmp_path

    def commit(self, target: Path) -> None:
        """Flush, fsync, make 0600 and rename over `target` (in the same directory)."""
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.chmod(self.tmp_path, PRIVATE_FILE_MODE)
        os.replace(self.tmp_path, target)
        self._done = True

    def discard(self) -> None:
        """Close and delete the temp file (nothing was committed)."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(OSError):
            self._fh.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp_path)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.discard()


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` (0600) in one step; DiskError naming it if that fails.

    Symlink-safe: the temp file is made new (O_EXCL), and `os.replace` replaces a symlink
    at `path` rather than writing where it points.
    """
    try:
        with AtomicFile(path.parent, path.name) as tmp:
            tmp.write(data)
            tmp.commit(path)
    except DiskError:
        raise
    except OSError as exc:
        raise DiskError.from_os_error("write", path, exc) from None


def set_room_aside(path: Path, size: int) -> None:
    """Take `size` bytes of the disk in the file at `path` (allocated, not a sparse file),
    for `give_room_back` to free when the disk is full; DiskError if the disk has no such
    room."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | NO_FOLLOW, PRIVATE_FILE_MODE)
    except OSError as exc:
        raise _no_room(path, size, exc) from None
    try:
        _allocate(fd, size)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise _no_room(path, size, exc) from None
    finally:
        os.close(fd)


def _allocate(fd: int, size: int) -> None:
    """Give the file at `fd` `size` bytes of the disk: with fallocate where the platform and
    the file system have it, else by writing zeros."""
    allocate = getattr(os, "posix_fallocate", None)  # none on macOS
    if allocate is not None:
        try:
            allocate(fd, 0, size)
            return
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise
    zeros = bytes(min(size, 1 << 16))
    written = 0
    while written < size:
        written += os.write(fd, zeros[:size - written])


def _no_room(path: Path, size: int, exc: OSError) -> DiskError:
    return DiskError.from_os_error(f"set {size // 1024} KB aside in", path, exc)


def give_room_back(path: Path, size: int | None = None) -> bool:
    """Free `size` bytes of the room `set_room_aside` took at `path` (None: all of it, as
    all of it when less is left): True if there was room to free."""
    try:
        fd = os.open(path, os.O_WRONLY | NO_FOLLOW)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise DiskError.from_os_error("free room in", path, exc) from None
    try:
        held = os.fstat(fd).st_size
        if size is not None and held > size:
            os.ftruncate(fd, held - size)  # the blocks past the new end go back to the disk
            return True
    finally:
        os.close(fd)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return True


def remove_stale_temp_files(directory: Path) -> int:
    """Delete temp files that a killed writer left in `directory` and its `videos/`.

    Call only while holding the job's lock: then no writer of this job is alive.
    """
    removed = 0
    for folder in (directory, RunFiles(directory).videos):
        if not folder.is_dir():
            continue
        for leftover in folder.glob(".*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
                removed += 1
    return removed
