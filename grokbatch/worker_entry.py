"""The first code a worker process runs: light on purpose.

Spawned workers all start at once. Importing Playwright and starting a browser costs a
couple of CPU-seconds each, so on a small machine ten workers doing it together are all
ready late. A worker therefore waits for a launch slot (one per core, at least two)
before it imports anything heavy, and gives the slot back once its browser is signed in:
the first workers generate within seconds while the rest start up behind them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.synchronize import Event, Semaphore
from pathlib import Path

from grokbatch.timeline import mark_event

# Longest a worker waits for a launch slot before it launches anyway.
_LAUNCH_GATE_MAX_WAIT_S = 300.0
# How often a waiting worker looks at the stop flag and its parent.
_GATE_POLL_S = 0.5
# How often a worker waiting for the word to go looks at the stop flag, its parent and
# whether the look at the page still needs doing.
START_POLL_S = 0.1
# Longest a worker waits for the word to go (a look at the page is bounded by the page load
# timeout, far below this); past it, the worker leaves without claiming anything.
START_SIGNAL_MAX_WAIT_S = 600.0
# Worker process exit codes other than 0 (the runner reads events first; these back them up).
EXIT_STARTUP_FAILED = 12
EXIT_ORPHANED = 13


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs; picklable for the spawn start method."""

    worker_id: str
    account: str  # the alias, for messages that say what to run
    run_dir: Path
    manifest_path: Path
    account_profile: Path
    profile_dir: Path
    permalink: str
    prompts: tuple[str | None, ...]  # by promptIndex; a single-prompt job has one
    headless: bool
    timeout_s: float
    element_timeout_s: float
    page_load_timeout_s: float
    browser_path: str | None
    selectors_file: Path | None
    auto_download: bool
    parent_pid: int
    auto_upscale: bool = False
    auto_delete: bool = False
    video_duration: str | None = None
    resolution: str | None = None
    choice: str = "first"
    keep_profile: bool = False
    max_attempts: int = 3
    max_video_mb: int = 200  # downloads.DEFAULT_MAX_VIDEO_MB; not imported, to stay light


class LaunchGate:
    """A worker's hold on one of the runner's launch slots."""

    def __init__(self, slots: Semaphore) -> None:
        self.slots = slots
        self.held = False

    def enter(self, stop: Event, parent_pid: int) -> bool:
        """Wait for a slot (bounded); False if the run stopped or the runner died."""
        deadline = time.monotonic() + _LAUNCH_GATE_MAX_WAIT_S
        while time.monotonic() < deadline:
            if stop.is_set() or os.getppid() != parent_pid:
                return False
            if self.slots.acquire(timeout=_GATE_POLL_S):
                self.held = True
                return True
        return True  # waited long enough: launch anyway

    def leave(self) -> None:
        """Give the slot back (once)."""
        if self.held:
            self.held = False
            self.slots.release()


class StartSignal:
    """The runner's word to one worker: go (the run's look at the page passed) or leave
    (not needed). A worker may start its browser before it, but claims nothing until it."""

    _WAIT, _GO, _LEAVE = 0, 1, 2

    def __init__(self, ctx: BaseContext) -> None:
        self._decided = ctx.Event()
        self._verdict = ctx.Value("b", self._WAIT)

    def go(self) -> None:
        """Let the worker claim items."""
        self._verdict.value = self._GO
        self._decided.set()

    def leave(self) -> None:
        """Tell the worker it is not needed: it claims nothing and exits."""
        self._verdict.value = self._LEAVE
        self._decided.set()

    def poll(self, timeout_s: float) -> bool | None:
        """Wait up to `timeout_s` for the word: True for go, False for leave, None if none."""
        if not self._decided.wait(timeout_s):
            return None
        return bool(self._verdict.value == self._GO)


class ScoutRole:
    """Which worker looks at the page for the whole run (signed in? quota?) before anyone
    claims: the first whose page loaded. The runner frees the role if that worker dies
    before it told what it saw, and closes it once it knows."""

    FREE, DONE = -1, -2

    def __init__(self, ctx: BaseContext) -> None:
        self._holder = ctx.Value("i", self.FREE)

    def take(self, number: int) -> bool:
        """Take the role if nobody holds it; True if this worker now does."""
        with self._holder.get_lock():
            if self._holder.value != self.FREE:
                return False
            self._holder.value = number
            return True

    def release(self, number: int) -> None:
        """Free the role if worker `number` holds it (it died before it told)."""
        with self._holder.get_lock():
            if self._holder.value == number:
                self._holder.value = self.FREE

    def close(self) -> None:
        """No more looks are needed."""
        with self._holder.get_lock():
            self._holder.value = self.DONE


def worker_number(worker_id: str) -> int:
    """The number in a worker id (`worker-3` -> 3)."""
    return int(worker_id.rsplit("-", 1)[-1])


def send_mark(conn: Connection, worker_id: str, name: str) -> None:
    """Tell the runner this worker reached start-up phase `name` (see timeline.py)."""
    with contextlib.suppress(OSError, ValueError):
        conn.send({**mark_event(name), "worker": worker_id})


def worker_process(spec: WorkerSpec, stop: Event, conn: Connection,
                   slots: Semaphore | None = None, start: StartSignal | None = None,
                   scout: ScoutRole | None = None) -> None:
    """Entry point of a worker process (multiprocessing, spawn)."""
    os.setpgrp()  # a terminal Ctrl-C goes to the runner only; the runner decides
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    send_mark(conn, spec.worker_id, "entry")
    gate = LaunchGate(slots) if slots is not None else None
    if gate is not None and not gate.enter(stop, spec.parent_pid):
        with contextlib.suppress(OSError):
            conn.close()
        os._exit(0 if os.getppid() == spec.parent_pid else EXIT_ORPHANED)
    send_mark(conn, spec.worker_id, "gate")
    from grokbatch.worker import worker_main  # the heavy imports, once it is our turn

    worker_main(spec, stop, conn, gate, start, scout)
