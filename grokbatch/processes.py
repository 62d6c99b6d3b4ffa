"""Questions about other processes on this machine, asked by PID, and the one way to end
one at once."""

from __future__ import annotations

import contextlib
import os
import signal


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this PID exists on this machine."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is only someone else's
    return True


def kill_now(pid: int, *, group: bool = False) -> None:
    """SIGKILL process `pid`, or with `group` its whole process group (`pid` leads it). One
    already gone, or someone else's, is not an error: the caller wanted it gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
