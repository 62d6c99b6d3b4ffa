"""locks.py: the run lock of a job, as `run start` takes it and `run status` looks at it."""

from __future__ import annotations

import subprocess
import sys

import portalocker
import pytest

from grokbatch import paths
from grokbatch.errors import JobLockedError
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
