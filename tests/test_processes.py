"""grokbatch.processes: whether a PID is alive, and ending a process (or its group) at once
without caring whether it is still there."""

from __future__ import annotations

import subprocess
import sys
import time

from grokbatch.processes import kill_now, pid_alive

# Bound on waiting for a process to end; only a hang reaches it.
_WAIT_S = 30.0
_SLEEPER = "import time; time.sleep(600)"


def test_kill_now_ends_a_process_and_a_gone_one_is_not_an_error() -> None:
    proc = subprocess.Popen([sys.executable, "-c", _SLEEPER])
    assert pid_alive(proc.pid)
    kill_now(proc.pid)
    assert proc.wait(_WAIT_S) == -9
    kill_now(proc.pid)  # reaped: no such process any more, and no error
    assert not pid_alive(proc.pid)


def test_kill_now_with_group_ends_the_leader_and_its_children() -> None:
    code = ("import subprocess, sys; "
            f"child = subprocess.Popen([sys.executable, '-c', {_SLEEPER!r}]); "
            "print(child.pid, flush=True); child.wait()")
    leader = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    assert leader.stdout is not None
    child = int(leader.stdout.readline())
    kill_now(leader.pid, group=True)
    assert leader.wait(_WAIT_S) == -9
    deadline = time.monotonic() + _WAIT_S  # a bound only: the child dies at once
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
