"""Everything that crosses the boundary between the runner and its worker processes.

The runner gives each worker a `WorkerSpec` (picklable: it is sent to the worker process) and
three shared objects: the run's stop flag (`StopFlag`), a launch slot (`LaunchGate`) and
its word (`StartSignal`): look at the page for the whole run, go, or leave. A worker
talks back only through a one-way pipe of events (`Events`): log records, start-up marks
(its "page" mark tells the runner it can look), state changes, finished items, stop
requests and its look at the page. A worker's exit code backs the events up.

Nothing here makes the runner wait on a lock a worker holds: a worker may be killed at
any moment, and the runner must still stop the run, reap it and say what happened.

This module is light on purpose: the runner imports it, and the runner loads no Playwright.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum, IntEnum
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.synchronize import Semaphore
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grokbatch.run.timeline import mark_event

if TYPE_CHECKING:  # not imported at run time: a worker imports this module first
    from grokbatch.config import RunConfig
    from grokbatch.manifest.resume import Saving
    from grokbatch.paths import RunFiles

# Longest a worker waits for a launch slot before it launches anyway.
_LAUNCH_GATE_MAX_WAIT_S = 300.0
# How often a waiting worker looks at the stop flag and its parent.
_GATE_POLL_S = 0.5
# How often a worker waiting for the runner's word looks at the stop flag and its parent.
START_POLL_S = 0.1
# Longest a worker waits for the word to go (a look at the page is bounded by the page load
# timeout, far below this); past it, the worker leaves without claiming anything.
START_SIGNAL_MAX_WAIT_S = 600.0


class WorkerExit(IntEnum):
    """A worker process's exit code (the runner reads events first; these back them up)."""

    OK = 0
    CRASHED = 1
    STARTUP_FAILED = 12
    ORPHANED = 13  # the runner vanished; the worker cleaned up after itself


class EventKind(str, Enum):
    """The `type` of an event a worker sends."""

    LOG = "log"  # a log record (grokbatch.logs.worker_sink)
    MARK = "mark"  # a start-up phase reached (grokbatch.run.timeline)
    STATE = "state"  # what the worker is doing now (WorkerState), for the live display
    ITEM = "item"  # an item finished, with its outcome
    STOP = "stop"  # the whole run must stop (StopReason)
    LOOK = "look"  # the worker's look at the page for the run (a site.page_check.PageCheck)
    STARTUP_FAILED = "startup_failed"  # its browser did not start


class WorkerState(str, Enum):
    """What a worker is doing, as the live display shows it."""

    STARTING = "starting"
    IDLE = "idle"
    GENERATING = "generating"
    LOOKING = "looking for"  # a video an earlier try started or made, on its own post
    UPSCALING = "upscaling"
    DOWNLOADING = "downloading"
    STOPPED = "stopped"


class StopReason(str, Enum):
    """Why a run stops before its queue is empty; the runner turns it into a status."""

    RATE_LIMIT = "RATE_LIMIT"  # the site's limit: every worker finishes its video, exit 75
    AUTH_REQUIRED = "AUTH_REQUIRED"  # signed out or a browser check: stop at once, exit 3
    USAGE = "USAGE"  # the page cannot be worked as configured (no words): exit 2
    INTERRUPTED = "INTERRUPTED"  # a signal to the runner: exit 130
    DISK = "DISK"  # a worker could not write (a full or read-only disk): no one can, exit 1


# Stops whose reason stands whatever stops the run after them: nothing useful can happen.
DECISIVE_STOPS = frozenset({StopReason.AUTH_REQUIRED, StopReason.USAGE, StopReason.DISK})
# Of those, the ones after which every worker is stopped at once: signed out, no video
# can finish. After the others each worker stops by itself at its next step, releasing
# what it holds (killed, it could be halfway through writing a file).
HARD_STOPS = frozenset({StopReason.AUTH_REQUIRED})


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs; picklable: it is sent to the worker process."""

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
    headless_shell: bool = False
    auto_upscale: bool = False
    auto_delete: bool = False
    video_duration: str | None = None
    resolution: str | None = None
    choice: str = "first"
    keep_profile: bool = False
    max_attempts: int = 3
    max_video_mb: int = 200  # downloads.DEFAULT_MAX_VIDEO_MB; not imported, to stay light
    driver_socket: str | None = None  # the run's shared driver; None: start one's own
    temp_dir: Path | None = None  # the run's temporary directory (`scratch.py`); None: ours

    @classmethod
    def for_run(cls, config: RunConfig, worker: str, files: RunFiles, manifest_path: Path,
                account_profile: Path, prompts: tuple[str | None, ...],
                driver_socket: str | None = None, temp_dir: Path | None = None) -> WorkerSpec:
        """The spec of worker `worker` of a run with `config`, started by this process."""
        return cls(
            worker_id=worker, account=config.account, run_dir=files.dir,
            manifest_path=manifest_path, account_profile=account_profile,
            profile_dir=files.worker_profile(worker), permalink=config.permalink,
            prompts=prompts, headless=not config.headed, timeout_s=config.timeout_s,
            element_timeout_s=config.element_timeout_s,
            page_load_timeout_s=config.page_load_timeout_s, browser_path=config.browser_path,
            headless_shell=config.headless_shell, selectors_file=config.selectors,
            auto_download=config.auto_download,
            auto_upscale=config.auto_upscale,
            auto_delete=config.auto_delete, video_duration=config.video_duration,
            resolution=config.resolution, choice=config.choice,
            keep_profile=config.keep_profiles, max_attempts=config.max_attempts,
            max_video_mb=config.max_video_mb, driver_socket=driver_socket, temp_dir=temp_dir,
        )

    @property
    def saving(self) -> Saving:
        """What the worker does with each video the site makes."""
        from grokbatch.manifest.resume import Saving  # the manifest: only when needed

        return Saving(download=self.auto_download, upscale=self.auto_upscale,
                      delete=self.auto_delete)

    @property
    def number(self) -> int:
        """The number in the worker's id (`worker-3` -> 3)."""
        return worker_number(self.worker_id)


def worker_id(number: int) -> str:
    """A worker's id: `worker-<number>` (also its profile copy's directory name)."""
    return f"worker-{number}"


def worker_number(worker_id: str) -> int:
    """The number in a worker id (`worker-3` -> 3)."""
    return int(worker_id.rsplit("-", 1)[-1])


def runner_gone() -> bool:
    """True once the runner that started this worker process has exited (False outside a
    worker process).

    A worker's parent is the runner's fork server, not the runner, so its parent's pid says
    nothing; multiprocessing gives the worker a pipe end that only the runner keeps open.
    """
    runner = multiprocessing.parent_process()
    return runner is not None and not runner.is_alive()


class LaunchGate:
    """A worker's hold on one of the runner's launch slots (one per core, at least two):
    a worker starts its Playwright driver and its browser only while it holds one. The
    runner only ever gives slots back: for a worker killed while it held one."""

    def __init__(self, slots: Semaphore) -> None:
        self.slots = slots
        self.held = False

    def enter(self, stop: StopFlag) -> bool:
        """Wait for a slot (bounded); False if the run stopped or the runner died."""
        deadline = time.monotonic() + _LAUNCH_GATE_MAX_WAIT_S
        while time.monotonic() < deadline:
            if stop.is_set() or runner_gone():
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


class StopFlag:
    """The run's stop flag, shared by the runner and every worker: set once, never cleared.

    The same `set` and `is_set` as a multiprocessing.Event, but one byte of shared memory
    and no lock. An Event's `set` and `is_set` take a lock shared by every process of the
    run; a process killed while it holds that lock (a hard stop, the OOM killer, a
    `kill -9`) leaves every later `set` or `is_set`, in the runner and in every worker,
    waiting forever. A byte that is only ever written from 0 to 1 needs no lock.
    """

    def __init__(self, ctx: BaseContext) -> None:
        self._flag = ctx.RawValue(ctypes.c_ubyte, 0)

    def set(self) -> None:
        """Stop the run (every process sees it at its next look)."""
        self._flag.value = 1

    def is_set(self) -> bool:
        """Whether the run is stopping."""
        return bool(self._flag.value)


class Word(IntEnum):
    """The runner's word to a worker (see StartSignal)."""

    WAIT = 0  # nothing yet
    LOOK = 1  # look at the page for the whole run, and tell
    GO = 2  # claim items
    LEAVE = 3  # not needed: claim nothing and exit


class StartSignal:
    """The runner's word to one worker: look at the page for the run, go, or leave. A
    worker may start its browser before it, but claims nothing until it says go.

    A one-way pipe from the runner to its worker, one byte a word; the latest word stands.
    The worker waits on the pipe, so it hears a word at once. The runner's `say` never
    waits: one byte fits in any pipe, and a gone worker's pipe is an error it ignores. No
    lock is shared that a killed worker could leave held (see StopFlag).
    """

    def __init__(self, ctx: BaseContext) -> None:
        self._heard, self._said = ctx.Pipe(duplex=False)
        self._last = Word.WAIT

    def say(self, word: Word) -> None:
        """(The runner) give the worker `word`; it replaces any word before it."""
        with contextlib.suppress(OSError, ValueError):
            self._said.send_bytes(bytes([word]))

    def wait_for(self, words: Collection[Word], timeout_s: float) -> Word | None:
        """(The worker) wait up to `timeout_s` for one of `words`; return it, or None if
        none came. A runner that closed its end says LEAVE: no word will come."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                while self._heard.poll():
                    self._last = Word(self._heard.recv_bytes()[-1])
            except (EOFError, OSError):  # for good: a closed pipe stays readable
                self._last = Word.LEAVE
                return self._last if self._last in words else None
            if self._last in words:
                return self._last
            left = deadline - time.monotonic()
            if left <= 0 or not self._heard.poll(left):
                return None

    def keep_saying_end(self) -> None:
        """(The runner, once the worker has started) close its copy of the worker's end."""
        self._heard.close()

    def keep_hearing_end(self) -> None:
        """(The worker, at its start) close its copy of the runner's end."""
        self._said.close()

    def close(self) -> None:
        """Close both ends (the worker is gone)."""
        self._heard.close()
        self._said.close()


class Events:
    """A worker's end of the event pipe; safe to use from several threads. Events are plain
    dicts of plain values (enum values, not members) whichever end reads them."""

    def __init__(self, conn: Connection, worker_id: str) -> None:
        self.conn = conn
        self.worker_id = worker_id
        self._lock = threading.Lock()

    def send(self, event: dict[str, Any]) -> None:
        """Send one event (a gone runner is not an error: the watchdog handles that)."""
        event.setdefault("worker", self.worker_id)
        with self._lock, contextlib.suppress(OSError, ValueError):
            self.conn.send(event)

    def mark(self, name: str) -> None:
        """This worker reached start-up phase `name` (see timeline.py)."""
        self.send(mark_event(name))

    def state(self, state: WorkerState, **extra: Any) -> None:
        """What this worker is doing now (`item`, `progress` for the display)."""
        self.send({"type": EventKind.STATE.value, "state": state.value, **extra})

    def item_done(self, index: int, outcome: str, status: str) -> None:
        """A try at an item ended with `outcome` (an Outcome value), leaving the item in
        `status` (an ItemStatus value: PENDING when it goes back to the queue)."""
        self.send({"type": EventKind.ITEM.value, "index": index, "outcome": outcome,
                   "status": status})

    def startup_failed(self, error: str) -> None:
        """This worker's browser did not start."""
        self.send({"type": EventKind.STARTUP_FAILED.value, "error": error})

    def look(self, check: Any) -> None:
        """This worker's look at the page for the run (a site.page_check.PageCheck)."""
        self.send({"type": EventKind.LOOK.value, "check": check})

    def stop_run(self, reason: StopReason, message: str | None = None) -> None:
        """Ask the runner to stop the whole run."""
        self.send({"type": EventKind.STOP.value, "reason": reason.value,
                   **({"message": message} if message else {})})
