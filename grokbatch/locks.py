"""File locks: the manifest's short transaction lock, and a job's lock for a whole run.

Both are portalocker (flock) locks on separate lock files, so they never block reading the
files they protect. The transaction lock waits, bounded; the run lock never waits: a second
run of the same job is refused at once.
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
from grokbatch.errors import JobLockedError, ManifestError

# The manifest lock is held for a few milliseconds per transaction; 30 s means something
# is badly wrong (a frozen process), and we say so rather than wait forever.
_LOCK_TIMEOUT_S = 30.0
# A thread other than the main one tries the lock once, without waiting.
_LOCK_FLAGS = portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING


class LockTimeoutError(ManifestError):
    """The manifest lock could not be taken in time: a process holding it is stuck."""


class LockBusyError(ManifestError):
    """A thread other than the main one found the lock taken (it never waits)."""


class _LockTimeout(Exception):
    """Raised by the alarm that bounds a blocking lock wait."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise _LockTimeout


def _acquire(fh: IO[str], lock_path: Path) -> None:
    """Take the exclusive lock on `fh`, or raise LockTimeoutError after _LOCK_TIMEOUT_S.

    In the main thread the wait is a blocking flock, bounded by an alarm: the kernel
    wakes a waiter the moment the holder lets go, so many processes share the lock fairly
    and nobody burns CPU polling. An alarm can only interrupt the main thread, so other
    threads (the lease renewer) make one attempt and get LockBusyError if it is taken.
    """
    timeout = LockTimeoutError(f"could not lock {lock_path} within {_LOCK_TIMEOUT_S:.0f} s")
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, _LOCK_TIMEOUT_S)
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


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold the exclusive lock on `lock_path` (created if missing), waiting a bounded time."""
    with open(lock_path, "a") as fh:
        _acquire(fh, lock_path)
        try:
            yield
        finally:
            portalocker.unlock(fh)


@contextlib.contextmanager
def job_lock(job: str) -> Iterator[None]:
    """Hold the job's run lock, or raise JobLockedError (exit 4) naming the holder."""
    lock_path = paths.run_lock_file(job)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = portalocker.Lock(lock_path, mode="a+", timeout=0, fail_when_locked=True,
                            flags=portalocker.LockFlags.EXCLUSIVE
                            | portalocker.LockFlags.NON_BLOCKING)
    try:
        handle = lock.acquire()
    except portalocker.exceptions.LockException:
        try:
            holder = lock_path.read_text().strip() or "unknown"
        except OSError:
            holder = "unknown"
        raise JobLockedError(
            f"job {job} is already running (PID {holder}); wait for it or stop it first"
        ) from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        lock.release()
