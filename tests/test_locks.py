"""locks.py: the run lock of a job, as `run start` takes it and `run status` looks at it."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from typing import Any

import portalocker
import pytest

from grokbatch import locks, paths
from grokbatch.errors import DiskError, JobLockedError
from grokbatch.locks import job_is_running, job_lock


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_run_lock_whose_recorded_run_is_alive_is_refused_naming_it() -> None:
    with job_lock("job"):
        assert job_is_running("job")
        with pytest.raises(JobLockedError, match=r"already running \(PID \d+\)"), \
                job_lock("job"):
            pass
    assert not job_is_running("job")


def test_a_look_at_the_lock_that_never_lets_go_is_waited_for_boundedly_then_refused() -> None:
    """The recorded run is dead, so the holder is taken for a `run status` look: waited
    for, but only up to the grace, then refused (never a hang)."""
    lock_path = paths.run_lock_file("job")
    paths.make_private_dir(lock_path.parent)
    dead = _dead_pid()
    lock_path.write_text(str(dead))
    with open(lock_path) as looker:
        portalocker.lock(looker, portalocker.LockFlags.SHARED)
        with pytest.raises(JobLockedError, match=rf"PID {dead}"), job_lock("job"):
            pass
    with job_lock("job"):  # the look let go: the run starts
        assert job_is_running("job")


def test_looking_at_a_job_without_a_lock_file_makes_none() -> None:
    assert not job_is_running("never-ran")
    assert not paths.run_lock_file("never-ran").exists()


class _FullDiskFile:
    """The lock file on a full disk: writing the PID fails, and so does the close that
    would flush it again."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def fileno(self) -> int:
        return int(self.real.fileno())

    def seek(self, offset: int) -> None:
        self.real.seek(offset)

    def truncate(self) -> None:
        self.real.truncate()

    def write(self, text: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    flush = write  # type: ignore[assignment]

    def close(self) -> None:
        self.real.close()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_at_the_lock_names_the_file_and_leaves_no_new_job_directory(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before, the failed close hid the first error: "error: No space left on device", no path.
    take = locks._take_run_lock
    monkeypatch.setattr(locks, "_take_run_lock",
                        lambda job, path: _FullDiskFile(take(job, path)))
    lock = paths.run_lock_file("full")
    with pytest.raises(DiskError, match=f"cannot write {lock}: No space left on device"), \
            job_lock("full"):
        pass
    assert not lock.parent.exists()
