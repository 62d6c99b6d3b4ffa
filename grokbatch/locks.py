"""File locks: the manifest's short transaction lock, and a job's lock for a whole run.

Both are portalocker (flock) locks on separate lock files, so they never block reading the
files they protect. The transaction lock waits, bounded; the run lock does not wait for
another run: a second run of the same job is refused (it waits only for the instant a
`run status` takes to look at the lock). Lock files are opened without following symlinks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import IO

import portalocker

from grokbatch import paths
from grokbatch.errors import DiskError, JobLockedError, LockBusyError, LockTimeoutError
from grokbatch.processes import pid_alive

# The manifest lock is held for a few milliseconds per transaction; 30 s means something
# is badly wrong (a frozen process), and we say so rather than wait forever.
_LOCK_TIMEOUT_S = 30.0
# A thread other than the main one tries the lock once, without waiting.
_LOCK_FLAGS = portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING
# `run status` holds a job's run lock for an instant to see whether a run holds it (and
# to clear what a dead run left). When the PID written in the lock file is not alive, the
# holder is such a look, not a run: a run starting then waits this long for it instead of
# reporting itself locked. A live recorded PID is refused at once.
_RUN_LOCK_PROBE_GRACE_S = 1.0
# A run lock file removed and made anew while we waited: look again, a bounded number of
# times (each only after another process won and then gave up the lock).
_RUN_LOCK_ATTEMPTS = 3


class _LockTimeout(Exception):
    """Raised by the alarm that bounds a blocking lock wait."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise _LockTimeout


def _acquire(fh: IO[str], lock_path: Path, timeout_s: float = _LOCK_TIMEOUT_S) -> None:
    """Take the exclusive lock on `fh`, or raise LockTimeoutError after `timeout_s`.

    In the main thread the wait is a blocking flock, bounded by an alarm: the kernel
    wakes a waiter the moment the holder lets go, so many processes share the lock fairly
    and nobody burns CPU polling. An alarm can only interrupt the main thread, so other
    threads (the lease renewer) make one attempt and get LockBusyError if it is taken.
    """
    timeout = LockTimeoutError(f"could not lock {lock_path} within {timeout_s:.0f} s")
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        try:
            portalocker.lock(fh, portalocker.LockFlags.EXCLUSIVE)
        except _LockTimeout:
            raise timeout from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        return
    try:
        portalocker.lock(fh, _LOCK_FLAGS)
    except portalocker.exceptions.LockException:
        raise LockBusyError(f"{lock_path} is locked; try again later") from None


def _open_lock_file(lock_path: Path) -> IO[str]:
    """Open (creating, 0600) a lock file for reading and writing, never through a symlink."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | paths.NO_FOLLOW, paths.PRIVATE_FILE_MODE)
    except OSError as exc:
        raise DiskError.from_os_error("open lock file", lock_path, exc) from None
    return os.fdopen(fd, "r+")


def try_lock(lock_path: Path) -> IO[str] | None:
    """`lock_path` (created if missing) open with its exclusive lock taken, or None when
    another holds it; the lock is held until the file is closed. Never waits."""
    fh = _open_lock_file(lock_path)
    try:
        portalocker.lock(fh, _LOCK_FLAGS)
    except portalocker.exceptions.LockException:
        fh.close()
        return None
    return fh


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold the exclusive lock on `lock_path` (created if missing), waiting a bounded time."""
    with _open_lock_file(lock_path) as fh:
        _acquire(fh, lock_path)
        try:
            yield
        finally:
            portalocker.unlock(fh)


def _is_current_file(fh: IO[str], path: Path) -> bool:
    """Whether `fh` is still the file at `path` (not one removed since it was opened)."""
    try:
        here, there = os.fstat(fh.fileno()), os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _recorded_holder(lock_path: Path) -> int | None:
    """The PID the last run wrote into its lock file, if it is a number."""
    try:
        text = lock_path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _locked_job_error(job: str, lock_path: Path) -> JobLockedError:
    holder = _recorded_holder(lock_path) or "unknown"
    return JobLockedError(
        f"job {job} is already running (PID {holder}); wait for it or stop it first"
    )


def _take_run_lock(job: str, lock_path: Path) -> IO[str]:
    """The open, locked run lock file of `job`, or JobLockedError."""
    for _ in range(_RUN_LOCK_ATTEMPTS):
        fh = _open_lock_file(lock_path)
        try:
            try:
                portalocker.lock(fh, _LOCK_FLAGS)
            except portalocker.exceptions.LockException:
                if pid_alive(_recorded_holder(lock_path)):  # a run holds it: refuse at once
                    raise _locked_job_error(job, lock_path) from None
                try:  # a `run status` looking at the lock lets go at once; a run does not
                    _acquire(fh, lock_path, _RUN_LOCK_PROBE_GRACE_S)
                except (LockTimeoutError, LockBusyError):
                    raise _locked_job_error(job, lock_path) from None
            if _is_current_file(fh, lock_path):
                return fh
        except BaseException:
            fh.close()
            raise
        fh.close()  # a failed run removed the file while we waited: lock the new one
    raise _locked_job_error(job, lock_path)


@contextlib.contextmanager
def job_lock(job: str, *, record_holder: bool = True) -> Iterator[None]:
    """Hold the job's run lock, or raise JobLockedError (exit 4) naming the holder.

    The lock file holds the PID of the run (`record_holder`; a look that holds the lock
    for an instant writes none, so a run starting meanwhile waits for it instead of being
    refused). If this run created it and then fails (a full or read-only disk, say), the
    file is removed again, so a failed start leaves no lock file behind; it is removed
    while still locked, and a waiting run notices and retries.
    """
    lock_path = paths.run_lock_file(job)
    paths.make_private_dir(lock_path.parent)
    created = not os.path.lexists(lock_path)
    fh = _take_run_lock(job, lock_path)
    try:
        if record_holder:
            try:
                fh.seek(0)
                fh.truncate()
                fh.write(str(os.getpid()))
                fh.flush()
            except OSError as exc:
                raise DiskError.from_os_error("write", lock_path, exc) from None
        yield
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                lock_path.unlink()
            with contextlib.suppress(OSError):  # a new job's directory, if nothing else is in it
                lock_path.parent.rmdir()
        raise
    finally:
        portalocker.unlock(fh)
        with contextlib.suppress(OSError):  # a full disk fails the flush of the PID again:
            fh.close()  # that error would hide the one raised above, which says where


def job_is_running(job: str) -> bool:
    """Whether a live process holds the job's run lock, found without taking it from anyone.

    A lock held by a process that died is released by the kernel, so a lock that can be
    taken means no run is live. The probe is a shared lock held for an instant; a run that
    starts in that instant waits for it (see `_RUN_LOCK_PROBE_GRACE_S`).
    """
    lock_path = paths.run_lock_file(job)
    try:
        fd = os.open(lock_path, os.O_RDONLY | paths.NO_FOLLOW)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: do not call a run interrupted that may be live
    with os.fdopen(fd, "r") as fh:
        try:
            portalocker.lock(fh, portalocker.LockFlags.SHARED
                             | portalocker.LockFlags.NON_BLOCKING)
        except portalocker.exceptions.LockException:
            return True
        portalocker.unlock(fh)
        return False
