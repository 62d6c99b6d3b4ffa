"""A run's scratch directory: where its drivers and browsers keep their temporary files
(and a command's that starts a browser of its own: `for_command`).

Chromium keeps its singleton socket in a directory of its own in the temporary directory,
and Playwright's driver keeps one for its artifacts. Each removes its directory when it
closes, neither when it is killed, and a run kills browsers (a hard stop on the quota or
on a browser check, a hung browser) and may be killed itself: each such kill left a
directory in /tmp for good (a cron job that runs into its quota every day, two a day).

So a run gives its drivers and browsers a temporary directory of its own (TMPDIR), 0700,
where its fork server keeps its socket too (`worker_entry.start_fork_server`),
beside the others in the temporary directory (Chromium keeps its shared memory there too,
with `--disable-dev-shm-usage`, so it must stay on the same file system), and removes it
when it ends. It holds a lock in it all run long, taken before the directory has its
name: a run that finds such a directory with its lock free removes it, for the run that
made it was killed.

A temporary directory whose path is too long for Chromium's socket (a Unix socket's path
has a limit) is one no browser starts in, with or without a directory of the run's own;
the run's directory then goes in /tmp instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from loguru import logger

from grokbatch import locks, paths
from grokbatch.errors import DiskError

PREFIX = "grokbatch-run-"
# Its name while its lock is taken: a directory of this name is not yet any run's.
_STAGING_PREFIX = ".grokbatch-new-"
_LOCK_NAME = ".run.lock"
# The deepest path Chromium makes in it: a Unix socket's (paths.MAX_SOCKET_PATH).
_CHROMIUM_SOCKET = "org.chromium.Chromium.XXXXXX/SingletonSocket"
_MKDTEMP_LETTERS = 8  # the random part of a name tempfile.mkdtemp makes
# Where the run's directory goes when the temporary directory's path is too long.
_SHORT_BASE = Path("/tmp")
# A run names its directory a moment after making it; one still unnamed after this was
# left by a run killed in that moment.
_STAGING_STALE_S = 10.0


class ScratchDir:
    """A run's temporary directory, and the lock that says its run is alive."""

    def __init__(self, path: Path, lock: IO[str]) -> None:
        self.path = path
        self._lock = lock

    @classmethod
    def create(cls, base: Path | None = None) -> ScratchDir | None:
        """A new scratch directory in `base` (default: the temporary directory, or /tmp if
        its path is too long), its lock held, once those of killed runs are gone; None when
        none can be made, or its path would be too long for Chromium's socket (the run then
        leaves TMPDIR as it is)."""
        base = base or _default_base()
        if not _fits(base):
            logger.debug("no scratch directory for the run: {} is too long a path for "
                         "Chromium's socket", base)
            return None
        remove_stale(base)
        try:
            staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=base))  # 0700
        except OSError as exc:
            logger.debug("no scratch directory for the run ({})", exc)
            return None
        path = staging.with_name(PREFIX + staging.name.removeprefix(_STAGING_PREFIX))
        lock = None
        try:
            lock = locks.try_lock(staging / _LOCK_NAME)  # nobody else knows it: never None
            if lock is None:
                raise OSError(f"{staging} is locked")
            staging.rename(path)
        except (OSError, DiskError) as exc:
            logger.debug("no scratch directory for the run ({})", exc)
            if lock is not None:
                lock.close()
            shutil.rmtree(staging, ignore_errors=True)
            return None
        return cls(path, lock)

    def remove(self) -> None:
        """Remove the directory and all in it (call once its browsers and drivers are
        gone), then let its lock go."""
        shutil.rmtree(self.path, ignore_errors=True)
        self._lock.close()


def _fits(base: Path) -> bool:
    """Whether Chromium's socket fits in a scratch directory made in `base`."""
    longest = base / f"{PREFIX}{'x' * _MKDTEMP_LETTERS}" / _CHROMIUM_SOCKET
    return len(os.fsencode(longest)) <= paths.MAX_SOCKET_PATH


def _default_base() -> Path:
    """The temporary directory, or /tmp when a scratch directory there would be too deep
    for Chromium's socket and /tmp is one we can write in."""
    base = Path(tempfile.gettempdir())
    if not _fits(base) and os.access(_SHORT_BASE, os.W_OK | os.X_OK):
        return _SHORT_BASE
    return base


def remove_left_behind() -> int:
    """Remove the scratch directories killed runs left where runs make theirs; return how
    many. Every `run start` does, even one that stops before any worker starts."""
    return remove_stale(_default_base())


def remove_stale(base: Path) -> int:
    """Remove the scratch directories in `base` of runs that were killed (ours, lock
    free); return how many."""
    removed = 0
    for directory in [*base.glob(f"{PREFIX}*"), *base.glob(f"{_STAGING_PREFIX}*")]:
        with contextlib.suppress(OSError, DiskError):  # not ours to remove, or gone
            info = directory.lstat()
            if not directory.is_dir() or directory.is_symlink() or info.st_uid != os.getuid():
                continue
            if directory.name.startswith(_STAGING_PREFIX):
                if time.time() - info.st_mtime < _STAGING_STALE_S:
                    continue  # another run, naming its own
                shutil.rmtree(directory, ignore_errors=True)
                removed += 1
                continue
            lock = locks.try_lock(directory / _LOCK_NAME)
            if lock is None:  # its run is alive
                continue
            with lock:
                shutil.rmtree(directory, ignore_errors=True)
            removed += 1
    return removed


@contextlib.contextmanager
def for_command() -> Iterator[Path | None]:
    """A scratch directory for a command that starts a driver and a browser of its own
    (`accounts add`, `doctor`): this process's temporary directory while the block runs
    (start the driver in it), removed after (once the driver is gone). One that a killed
    command left is removed by the next run or command, as a killed run's is."""
    made = ScratchDir.create()
    if made is None:
        yield None
        return
    env_before, tempdir_before = os.environ.get("TMPDIR"), tempfile.tempdir
    use(made.path)
    try:
        yield made.path
    finally:
        if env_before is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = env_before
        tempfile.tempdir = tempdir_before
        made.remove()


def use(path: Path | None) -> None:
    """Make `path` this process's temporary directory, and that of every process it starts
    (a worker calls this first: its own driver and its browser inherit it)."""
    if path is None:
        return
    os.environ["TMPDIR"] = str(path)
    tempfile.tempdir = str(path)
