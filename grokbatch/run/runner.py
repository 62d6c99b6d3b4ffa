"""ParallelRunner: start the worker processes, watch them, stop them, summarise the run.

The supervisor pattern of dramatiq's CLI: the runner starts every worker at once and waits
on their event pipes and process sentinels together. Workers take turns at the heavy part
of start-up (a launch slot each, one per core), and claim nothing before the runner's word:
the runner asks the first worker whose page loads to look at it for the whole run (signed
in, language, quota), and the runner's judge of that look stops the run or lets the
workers go.

The first SIGINT/SIGTERM/SIGHUP sets the shared stop flag (workers finish their current
video; after a hang-up the console goes to /dev/null, the log goes on); a second SIGINT or
SIGTERM, or a worker still busy after the grace period, gets the worker's whole process
group killed and its items released. A worker that dies is noticed at once: its
item goes back to PENDING and a replacement starts, at most `parallel` times per run.
The runner alone writes the run's status.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerProcess
from pathlib import Path
from types import FrameType
from typing import Any

from loguru import logger

from grokbatch import paths
from grokbatch.clock import iso, parse_iso, utc_now
from grokbatch.config import RunConfig
from grokbatch.drivers import SharedDrivers
from grokbatch.errors import ConfigError, UsageError
from grokbatch.heap import steady_heap
from grokbatch.logs import Hangup, first_line, log_forwarded
from grokbatch.manifest import (
    ItemStatus,
    Manifest,
    ManifestDocument,
    RunStatus,
    failed_by_kind,
    not_saved_in_full,
    started_on_site,
    status_counts,
)
from grokbatch.processes import kill_now
from grokbatch.profiles import kill_browsers_using, remove_profile
from grokbatch.run import capacity
from grokbatch.run.progress import Progress
from grokbatch.run.summary import Halt, RunSummary, final_status
from grokbatch.run.timeline import Timeline
from grokbatch.run.worker_entry import (
    start_fork_server,
    start_worker,
    stop_fork_server,
    worker_context,
)
from grokbatch.run.worker_protocol import (
    DECISIVE_STOPS,
    HARD_STOPS,
    EventKind,
    StartSignal,
    StopFlag,
    StopReason,
    Word,
    WorkerExit,
    WorkerSpec,
    WorkerState,
    worker_id,
    worker_number,
)
from grokbatch.scratch import ScratchDir
from grokbatch.site.page_check import PageCheck

# How long one look at the pipes and processes may block: bounds how late a signal or a
# dead worker is noticed.
_WATCH_INTERVAL_S = 0.25
# Browsers launched at the same time (one per core, at least two): launching is CPU-bound,
# so on a small machine ten at once are all ready late, where two at a time get the first
# workers generating within seconds and the rest soon after.
_MIN_LAUNCH_SLOTS = 2
# After a hard kill, how long to wait for a worker's process to be reaped.
_REAP_TIMEOUT_S = 5.0
# How often the runner looks for a worker that holds a video but stopped renewing its
# lease (frozen, or wedged where its own watchdog cannot run): a manifest read each time.
_LEASE_CHECK_S = 15.0

# Judges the first worker's look at the page: a halt if the run must not go on.
Judge = Callable[[PageCheck], Halt | None]


@dataclass
class _WorkerHandle:
    worker_id: str
    process: ForkServerProcess
    conn: Connection
    start: StartSignal
    startup_failed: bool = False
    page_loaded: bool = False  # it can look at the page for the run
    holds_slot: bool = False  # it holds a launch slot (between its "gate" and "browser" marks)
    launched: bool = False  # it passed its launch gate: its browser is starting or up


class ParallelRunner:
    """Runs one job's pending items with `config.parallel` worker processes."""

    def __init__(
        self,
        config: RunConfig,
        job_name: str,
        manifest: Manifest,
        account_profile: Path,
        prompts: tuple[str | None, ...],
        *,
        judge: Judge,
        show_progress: bool = True,
        timeline: Timeline | None = None,
    ) -> None:
        self.config = config
        self.job_name = job_name
        self.manifest = manifest
        self.account_profile = account_profile
        self.prompts = prompts
        self.judge = judge
        self.files = paths.run_files(job_name)
        self.ctx = worker_context()
        self.stop = StopFlag(self.ctx)
        self.launch_gate = self.ctx.Semaphore(max(_MIN_LAUNCH_SLOTS, os.cpu_count() or 1))
        self.scout: str | None = None  # the worker asked to look at the page for the run
        self.workers: dict[str, _WorkerHandle] = {}
        self.drivers = SharedDrivers()  # the run's shared Playwright drivers (run() starts them)
        self.scratch: ScratchDir | None = None  # their and the browsers' TMPDIR (run() makes it)
        self.next_worker = 0
        self.replacements = 0
        self.memory_cap = config.parallel  # workers the memory holds (set by run())
        self.worker_mb = capacity.worker_memory_mb(config.headless_shell,
                                                   own_driver=not config.shared_driver)
        self.started_claiming = False  # the workers were told to go (replacements go at once)
        self.halted: Halt | None = None  # the judge stopped the run before any claim
        self.stop_reason: StopReason | None = None
        self.stop_message: str | None = None
        self.signals = 0
        self.first_signal: int | None = None  # what the first stop request was
        self.browsers_started = 0
        self.startup_error: str | None = None  # the first worker's whose browser did not start
        self.hangup: Hangup | None = None  # set while the run answers signals
        self.stop_requested_at: float | None = None
        self.progress = Progress(enabled=show_progress)
        self.timeline = timeline or Timeline()

    # ----------------------------------------------------------------- workers
    @property
    def temp_dir(self) -> Path | None:
        """The run's temporary directory (`scratch.py`), if it has one."""
        return self.scratch.path if self.scratch else None

    def _spawn(self) -> None:
        worker = worker_id(self.next_worker)
        self.next_worker += 1
        spec = WorkerSpec.for_run(self.config, worker, self.files, self.manifest.path,
                                  self.account_profile, self.prompts,
                                  self.drivers.socket_for(worker_number(worker)),
                                  self.temp_dir)
        start = StartSignal(self.ctx)
        if self.started_claiming:
            start.say(Word.GO)
        self.timeline.worker_mark(worker, "spawned")
        process, events = start_worker(self.ctx, spec, self.stop, self.launch_gate, start)
        self.workers[worker] = _WorkerHandle(worker, process, events, start)
        self.progress.worker_state(worker, WorkerState.STARTING.value)

    def _kill(self, handle: _WorkerHandle) -> None:
        """Kill a worker and everything it started (its own process group)."""
        pid = handle.process.pid
        if pid is not None:
            kill_now(pid, group=True)
        handle.process.join(_REAP_TIMEOUT_S)

    # ----------------------------------------------------------------- events
    def _handle_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        worker = str(event.get("worker", "?"))
        if kind == EventKind.LOG:
            log_forwarded(event)
        elif kind == EventKind.STATE:
            self.progress.worker_state(worker, str(event.get("state")), event.get("item"),
                                       event.get("progress"))
        elif kind == EventKind.MARK:
            self.timeline.on_event(event)
            self._on_mark(worker, str(event.get("mark")))
        elif kind == EventKind.ITEM:
            self.progress.item_done(str(event.get("status")))
        elif kind == EventKind.STOP:
            self._on_stop(StopReason(str(event.get("reason"))), event.get("message"))
        elif kind == EventKind.LOOK:
            self._judge_look(event.get("check"))
        elif kind == EventKind.STARTUP_FAILED:
            self.workers[worker].startup_failed = True
            self.startup_error = self.startup_error or str(event.get("error"))

    def _on_stop(self, reason: StopReason, message: str | None) -> None:
        """A worker asks the run to stop: a decisive stop's reason wins over another's."""
        if self.stop_reason not in DECISIVE_STOPS:
            self.stop_reason = reason
            self.stop_message = message or self.stop_message
        self._request_stop()
        if reason in HARD_STOPS:
            self._hard_stop()  # nothing useful can happen signed out

    def _on_mark(self, worker: str, mark: str) -> None:
        handle = self.workers.get(worker)
        if handle is None:
            return
        if mark == "browser":
            self.browsers_started += 1
        if mark in ("gate", "browser"):
            handle.holds_slot = mark == "gate"
            handle.launched = True
        elif mark == "page":
            handle.page_loaded = True
            self._ask_for_look()

    def _ask_for_look(self) -> None:
        """Ask the first worker whose page is loaded to look at it for the whole run,
        unless the look is done, asked of a live worker already, or the run is stopping."""
        if (self.started_claiming or self.halted is not None or self.scout is not None
                or self.stop.is_set()):
            return
        for handle in self.workers.values():
            if handle.page_loaded:
                self.scout = handle.worker_id
                handle.start.say(Word.LOOK)
                return

    def _judge_look(self, check: Any) -> None:
        """A worker looked at the page for the run: stop the run, or let the workers go."""
        if self.started_claiming or self.halted is not None:
            return
        self.timeline.runner_mark("look")
        if not isinstance(check, PageCheck):
            check = PageCheck(url=self.config.permalink, error="no look at the page")
        try:
            verdict = self.judge(check)
        except (UsageError, ConfigError) as exc:  # a setting the page shows to be wrong
            self._on_stop(StopReason.USAGE, str(exc))  # as a worker that found it would
            self._hard_stop()
            return
        if verdict is None:
            self._let_workers_claim()
            return
        self.halted = verdict
        self._request_stop()
        self._hard_stop()

    def _drain(self, handle: _WorkerHandle) -> bool:
        """Handle the events waiting on a worker's pipe; False once the pipe is closed."""
        try:
            while handle.conn.poll():
                self._handle_event(handle.conn.recv())
        except (EOFError, OSError):
            return False
        return True

    def _drain_or_reap(self, handle: _WorkerHandle) -> None:
        if not self._drain(handle) and handle.worker_id in self.workers:
            self._reap(handle)

    # ----------------------------------------------------------------- how many work
    def _fit_in_memory(self, wanted: int) -> int:
        """How many of `wanted` workers to start: those the available memory holds."""
        available = capacity.available_memory_mb()
        self.memory_cap = capacity.workers_that_fit(wanted, available, self.worker_mb)
        if self.memory_cap < wanted:
            logger.warning("memory: {} MB available, about {} MB per worker: starting {} of "
                           "{} workers{}", available, self.worker_mb, self.memory_cap, wanted,
                           self._shell_hint(wanted, available))
        return self.memory_cap

    def _shell_hint(self, wanted: int, available: int | None) -> str:
        """How many workers Chromium's headless shell would fit, if it fits more."""
        if self.config.headless_shell:
            return ""
        shell_mb = capacity.worker_memory_mb(True, own_driver=not self.config.shared_driver)
        fit = capacity.workers_that_fit(wanted, available, shell_mb)
        return (f" (--headless-shell would fit {fit}: see its help)"
                if fit > self.memory_cap else "")

    def _let_workers_claim(self) -> None:
        """Tell the workers to go; those the quota leaves nothing to do, to leave: the
        workers furthest along go first (a page loaded, then a browser starting), so that
        none whose browser is up leaves while one that has yet to start its own goes."""
        live = sorted(self.workers.values(), key=lambda h: (not h.page_loaded, not h.launched))
        allowed = capacity.workers_within_budget(len(live), self.manifest.snapshot())
        if allowed < len(live):
            logger.info("the video quota leaves work for {} of {} worker(s)", allowed, len(live))
        for n, handle in enumerate(live):
            handle.start.say(Word.GO if n < allowed else Word.LEAVE)
        self.started_claiming = True

    # ----------------------------------------------------------------- stopping
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # No logging here (not safe in a signal handler): set flags, the loop reports.
        if signum == signal.SIGHUP:
            if self.hangup is not None:
                self.hangup.hang_up()
            if self.signals:  # the kernel and then the shell send one: never a hard stop
                return
        self.signals += 1
        self.first_signal = self.first_signal or signum
        self.stop.set()

    def _request_stop(self) -> None:
        self.stop.set()
        if self.stop_requested_at is None:
            self.stop_requested_at = time.monotonic()

    def _hard_stop(self) -> None:
        for handle in self.workers.values():
            if handle.process.is_alive():
                self._kill(handle)
        self.manifest.requeue_abandoned(frozenset(self.workers))

    def _reap(self, handle: _WorkerHandle) -> None:
        """A worker ended: read its last events, requeue what it held, maybe replace it."""
        self._drain(handle)
        handle.process.join(_REAP_TIMEOUT_S)
        if handle.process.pid is not None:  # a crashed worker may leave its browser behind
            kill_now(handle.process.pid, group=True)
        handle.conn.close()
        handle.start.close()
        code = handle.process.exitcode
        if handle.holds_slot and code is not None and code < 0:
            # Killed by a signal while it launched: it could not give its slot back.
            self.launch_gate.release()
        del self.workers[handle.worker_id]
        if self.scout == handle.worker_id:  # it died before it told: ask another
            self.scout = None
            self._ask_for_look()
        requeued = self.manifest.requeue_abandoned(frozenset({handle.worker_id}))
        self.progress.worker_state(handle.worker_id, WorkerState.STOPPED.value)
        crashed = code not in (WorkerExit.OK, WorkerExit.STARTUP_FAILED) or bool(requeued)
        if not crashed or self.stop.is_set():
            return
        logger.warning("{} died (exit code {}); {}", handle.worker_id, code,
                       f"item(s) {requeued} back in the queue" if requeued else
                       "it held no item")
        pending = self.manifest.snapshot()["pendingCount"]
        if pending and self.replacements < self.config.parallel:
            live = len(self.workers)
            if live >= self.memory_cap or not capacity.room_for_another(
                    live, capacity.available_memory_mb(), self.worker_mb):
                logger.warning("no memory for a replacement worker; {} worker(s) go on", live)
                return
            self.replacements += 1
            try:
                self._spawn()
            except OSError as exc:  # the run's temporary directory emptied under it, say
                logger.warning("a replacement worker could not start ({}); {} worker(s) go "
                               "on, and a rerun makes what they leave",
                               f"{type(exc).__name__}: {first_line(str(exc))}",
                               len(self.workers))
                return
            logger.info("started a replacement worker ({} so far)", self.replacements)

    # ----------------------------------------------------------------- main loop
    def run(self) -> RunSummary:
        """Run the job's pending items; return the summary (with the exit code).

        No worker claims an item before the judge has seen the first worker's look at the
        page; a halt from the judge means the run must not go on: the workers are stopped
        and the run ends with the halt's status (kept in `halted`).
        """
        started = time.monotonic()
        self.timeline.runner_mark("runner_start")
        paths.make_private_dir(self.files.worker_profiles)
        self.manifest.set_status(RunStatus.IN_PROGRESS)
        snapshot = self.manifest.snapshot()
        todo = snapshot["pendingCount"]
        self.progress.start(total=snapshot["batchSize"], done=snapshot["completedCount"],
                            failed=snapshot["failedCount"])
        workers = self._fit_in_memory(min(self.config.parallel, todo))
        steady_heap()  # the runner reads the manifest all run long too (grokbatch/heap.py)
        on_site = sum(1 for item in snapshot["items"]
                      if item["status"] == ItemStatus.PENDING.value and started_on_site(item))
        logger.info("job {}: {} video(s) to make{}, with {} worker(s)", self.job_name,
                    todo - on_site, f" and {on_site} made or started already (to fetch or "
                    "look for)" if on_site else "", workers)
        self.hangup = Hangup()
        previous = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        try:  # the handlers stay until the status is written (the last finally)
            try:
                self.scratch = ScratchDir.create()
                if self.config.shared_driver:
                    self.drivers = SharedDrivers.start(
                        workers, self.temp_dir)
                if workers:
                    start_fork_server(self.temp_dir)  # while the drivers start
                self.drivers.wait_ready()
                self.timeline.runner_mark("drivers")
                if self.drivers.drivers:
                    logger.info("{} worker(s) share {} Playwright driver(s)", workers,
                                len(self.drivers.drivers))
                for _ in range(workers):
                    self._spawn()
                self._watch()
            finally:
                for handle in list(self.workers.values()):
                    self._kill(handle)
                hangup, self.hangup = self.hangup, None
                if hangup is not None:
                    hangup.close()
                self.progress.stop()
                try:
                    self.manifest.requeue_abandoned(
                        frozenset(worker_id(n) for n in range(self.next_worker)))
                finally:  # a disk that refuses the manifest now skips none of what follows
                    # Chromium runs in a session of its own: the process-group kills above
                    # miss it.
                    kill_browsers_using(self.files.worker_profiles)
                    self.drivers.stop()
                    stop_fork_server()
                    if self.scratch:  # what the killed browsers and drivers left in it goes too
                        self.scratch.remove()
                    if not self.config.keep_profiles:
                        remove_profile(self.files.worker_profiles)
                    self.timeline.write(self.files.dir)
            return self._finish(time.monotonic() - started)
        finally:
            # A Ctrl-C during the cleanup or the status's writing is one more stop request,
            # not a KeyboardInterrupt that leaves the job IN_PROGRESS.
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _watch(self) -> None:
        """Until every worker is gone: pass on events, reap the dead, answer signals."""
        announced = 0
        next_lease_check = time.monotonic() + _LEASE_CHECK_S
        while self.workers and self.halted is None:
            if time.monotonic() >= next_lease_check:
                next_lease_check = time.monotonic() + _LEASE_CHECK_S
                self._stop_lapsed()
            if self.signals > announced:
                if announced == 0:
                    self.stop_reason = self.stop_reason or StopReason.INTERRUPTED
                    self._request_stop()
                    hung_up = self.hangup is not None and self.hangup.happened
                    logger.warning(
                        "the terminal hung up: finishing current videos (only run.log "
                        "hears of it now)" if hung_up else
                        "finishing current videos — press Ctrl-C again to stop now"
                        if self.first_signal == signal.SIGINT else
                        "SIGTERM: finishing current videos — a second SIGTERM stops now")
                if self.signals >= 2:
                    logger.warning("stopping now; unfinished videos go back to the queue")
                    self._hard_stop()
                announced = self.signals
            if self.stop_requested_at is not None and (
                time.monotonic() - self.stop_requested_at > self.config.shutdown_grace_s
            ):
                logger.warning("workers still busy after {:.0f} s; stopping them",
                               self.config.shutdown_grace_s)
                self._hard_stop()
            handles: dict[object, _WorkerHandle] = {h.conn: h for h in self.workers.values()}
            sentinels: dict[object, _WorkerHandle] = {
                h.process.sentinel: h for h in self.workers.values()
            }
            ready = wait([*handles, *sentinels], timeout=_WATCH_INTERVAL_S)  # type: ignore[list-item]
            for obj in ready:
                if obj in handles:
                    self._drain_or_reap(handles[obj])
            for obj in ready:
                handle = sentinels.get(obj)
                if handle is not None and handle.worker_id in self.workers:
                    self._reap(handle)
            self.drivers.report_exited()
            self.progress.refresh()

    def _stop_lapsed(self) -> None:
        """Kill each worker whose lease on its video lapsed: it stopped renewing it (frozen,
        or wedged where its own watchdog cannot run), so the run would wait for it forever.
        It is then reaped as any dead worker: its video goes back to the queue, and a
        replacement may start."""
        for worker in sorted(self.manifest.lapsed_holders() & set(self.workers)):
            pid = self.workers[worker].process.pid
            logger.warning("{} stopped renewing its hold on its video; stopping it", worker)
            if pid is not None:
                kill_now(pid, group=True)

    # ----------------------------------------------------------------- the end
    def _after_spent_budget(self, doc: ManifestDocument) -> None:
        """The run made every video the site's quota allowed it, and the site refused none:
        a rerun may start when the quota said more would be allowed, or at once if it did
        not say (its look at the page finds out before any video starts), not after the
        cooldown of a rate limit."""
        told = parse_iso((doc.get("lastQuota") or {}).get("nextAvailableAt"))
        now = utc_now()
        self.manifest.update_fields(cooldownUntil=iso(told if told and told > now else now))

    def _finish(self, wall_s: float) -> RunSummary:
        if (self.config.browser_path and self.startup_error and not self.browsers_started
                and self.stop_reason is None):
            # The browser asked for started in no worker: the flag, not the run, is wrong
            # (it said "a rerun retries N", and each rerun failed the same way).
            self.stop_reason = StopReason.USAGE
            self.stop_message = (f"the browser at {self.config.browser_path} started in no "
                                 f"worker ({self.startup_error}): give --browser-path a "
                                 "Chromium or Chrome, or leave it out")
        doc = self.manifest.snapshot()
        counts = status_counts(doc)
        unsaved = not_saved_in_full(doc, self.config.auto_download)
        if self.halted is not None:
            status, code, message = self.halted.status, self.halted.exit_code, self.halted.message
        else:
            status, code, message = final_status(self.stop_reason, self.stop_message, counts,
                                                 unsaved, doc, self.config.max_attempts)
        self.manifest.set_status(status, message if status is not RunStatus.COMPLETED else None)
        if (status is RunStatus.STOPPED_RATE_LIMIT and self.halted is None
                and self.stop_reason is not StopReason.RATE_LIMIT):
            self._after_spent_budget(doc)
        return RunSummary(
            job_name=self.job_name,
            run_dir=self.files.dir,
            status=status.value,
            exit_code=code,
            counts=counts,
            failed_by_kind=failed_by_kind(doc),
            wall_s=wall_s,
            replacements=self.replacements,
            message=message,
        )
