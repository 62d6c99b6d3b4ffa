"""A worker's watchdog thread: keeps its item's lease, ends a stuck attempt, and ends the
worker if the runner vanished.

A worker's Playwright calls block its main thread, so what must happen whatever the page
does runs here: the lease of the held item is renewed, a video past its hard deadline
(a frozen renderer no page timeout reaches) has its browser killed, and a worker whose
runner was SIGKILLed kills its browser, deletes its profile copy and exits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

from grokbatch.manifest import Manifest
from grokbatch.profiles import kill_browsers_using, remove_profile
from grokbatch.run.worker_protocol import WorkerExit, WorkerSpec, runner_gone

# A video's hard deadline past its own time: a page reload and one control wait, plus slack.
DEADLINE_SLACK_S = 5.0
# How often the watchdog looks for a vanished parent: the runner being SIGKILLed must
# not leave browsers running for long.
_PARENT_CHECK_S = 0.5


def kill_own_group_and_exit(profile_dir: Path) -> None:
    """The runner is gone: kill our browser and driver, delete the profile copy, exit."""
    me = os.getpid()
    group = os.getpgrp()
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        with contextlib.suppress(OSError, ValueError):
            if os.getpgid(int(entry.name)) == group:
                os.kill(int(entry.name), signal.SIGKILL)
    kill_browsers_using(profile_dir)
    remove_profile(profile_dir)
    os._exit(WorkerExit.ORPHANED)


class Watchdog(threading.Thread):
    """Renews the lease of the item being worked on, and exits if the runner vanished."""

    def __init__(self, spec: WorkerSpec, manifest: Manifest) -> None:
        super().__init__(name="watchdog", daemon=True)
        self.spec = spec
        self.manifest = manifest
        self.finished = threading.Event()
        self.holding = threading.Event()
        self.deadline_hit = threading.Event()
        self._deadline: float | None = None
        self._renew_every_s = manifest.lease.total_seconds() / 4

    def arm(self, seconds: float | None) -> None:
        """Kill the browser if this attempt is still running `seconds` from now (None: off,
        keeping `deadline_hit` as the attempt left it)."""
        if seconds is not None:
            self.deadline_hit.clear()
        self._deadline = None if seconds is None else time.monotonic() + seconds

    def run(self) -> None:
        since_renewal = 0.0
        while not self.finished.wait(_PARENT_CHECK_S):
            if runner_gone():
                kill_own_group_and_exit(self.spec.profile_dir)
            deadline = self._deadline
            if deadline is not None and time.monotonic() > deadline:
                # Past its hard deadline the attempt is stuck where no page timeout reaches
                # (a frozen renderer): end it by ending the browser.
                self._deadline = None
                self.deadline_hit.set()
                kill_browsers_using(self.spec.profile_dir)
            since_renewal += _PARENT_CHECK_S
            if self.holding.is_set() and since_renewal >= self._renew_every_s:
                try:
                    self.manifest.renew_lease(self.spec.worker_id)
                    since_renewal = 0.0
                except Exception:  # the lock was busy (or a passing error): retry next tick
                    continue
