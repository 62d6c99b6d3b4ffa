"""ParallelRunner: start the worker processes, watch them, stop them, summarise the run.

The supervisor pattern of dramatiq's CLI: the runner spawns every worker at once (no
stagger), then waits on their event pipes and process sentinels together. The first
SIGINT/SIGTERM sets the shared stop Event (workers finish their current video); a second
one, or a worker still busy after the grace period, gets the worker's whole process group
killed and its items released. A worker that dies is noticed at once: its item goes back
to PENDING and a replacement starts, at most `parallel` times per run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnProcess
from pathlib import Path
from types import FrameType
from typing import Any

from loguru import logger

from grokbatch import capacity, paths
from grokbatch.config import RunConfig
from grokbatch.errors import ExitCode
from grokbatch.logs import log_forwarded
from grokbatch.manifest import ItemStatus, Manifest, RunStatus, failed_by_kind, status_counts
from grokbatch.outcomes import Outcome
from grokbatch.preflight import PageCheck
from grokbatch.profiles import kill_browsers_using, remove_profile
from grokbatch.progress import Progress
from grokbatch.timeline import Timeline
from grokbatch.worker_entry import (
    EXIT_STARTUP_FAILED,
    ScoutRole,
    StartSignal,
    WorkerSpec,
    worker_number,
    worker_process,
)

# How long one look at the pipes and processes may block: bounds how late a signal or a
# dead worker is noticed.
_WATCH_INTERVAL_S = 0.25
# Browsers launched at the same time (one per core, at least two): launching is CPU-bound,
# so on a small machine ten at once are all ready late, where two at a time get the first
# workers generating within seconds and the rest soon after.
_MIN_LAUNCH_SLOTS = 2
# Stop reasons that end the run at once: nothing useful can happen signed out, or on a
# page whose language has no words (a usage error).
_HARD_STOPS = frozenset({Outcome.AUTH_REQUIRED.value, "USAGE"})
# After a hard kill, how long to wait for a worker's process to be reaped.
_REAP_TIMEOUT_S = 5.0


@contextlib.contextmanager
def _bare_main_module() -> Iterator[None]:
    """Start a spawned worker without making it re-import `__main__` (the whole CLI).

    The spawn start method imports the parent's main module in every child; a worker needs
    nothing from it, and the import costs each worker a few hundred milliseconds of CPU
    at start-up, when every core is busy launching browsers.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


@dataclass
class _WorkerHandle:
    worker_id: str
    process: SpawnProcess
    conn: Connection
    start: StartSignal
    startup_failed: bool = False


@dataclass
class RunSummary:
    """What a run did, for the console summary, `--json` and the exit code."""

    job_name: str
    run_dir: Path
    status: str
    exit_code: int
    counts: dict[str, int]
    failed_by_kind: dict[str, int]
    wall_s: float
    replacements: int = 0
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The summary as `run start --json` prints it (no prompt text)."""
        return {
            "jobName": self.job_name,
            "runDir": str(self.run_dir),
            "status": self.status,
            "exitCode": self.exit_code,
            "counts": self.counts,
            "failedByKind": self.failed_by_kind,
            "wallSeconds": round(self.wall_s, 3),
            "workerReplacements": self.replacements,
            "message": self.message,
            **self.extra,
        }


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
        show_progress: bool = True,
        timeline: Timeline | None = None,
    ) -> None:
        self.config = config
        self.job_name = job_name
        self.manifest = manifest
        self.account_profile = account_profile
        self.prompts = prompts
        self.run_dir = paths.run_dir(job_name)
        self.ctx = multiprocessing.get_context("spawn")
        self.stop = self.ctx.Event()
        self.launch_gate = self.ctx.Semaphore(max(_MIN_LAUNCH_SLOTS, os.cpu_count() or 1))
        self.workers: dict[str, _WorkerHandle] = {}
        self.next_worker = 0
        self.replacements = 0
        self.memory_cap = config.parallel  # workers the memory holds (set by run())
        self.started_claiming = False  # the workers were told to go (replacements go at once)
        self.preflight_stopped: RunSummary | None = None
        self.scout = ScoutRole(self.ctx)  # which worker looks at the page for the run
        self.on_look: Callable[[PageCheck], RunSummary | None] | None = None
        self.stop_reason: str | None = None
        self.stop_message: str | None = None
        self.signals = 0
        self.stop_requested_at: float | None = None
        self.progress = Progress(enabled=show_progress)
        self.timeline = timeline or Timeline()

    # ----------------------------------------------------------------- workers
    def _spawn(self) -> None:
        worker_id = f"worker-{self.next_worker}"
        self.next_worker += 1
        spec = WorkerSpec(
            worker_id=worker_id,
            account=self.config.account,
            run_dir=self.run_dir,
            manifest_path=self.manifest.path,
            account_profile=self.account_profile,
            profile_dir=paths.worker_profile_dir(self.job_name, self.next_worker - 1),
            permalink=self.config.permalink,
            prompts=self.prompts,
            headless=not self.config.headed,
            timeout_s=self.config.timeout_s,
            element_timeout_s=self.config.element_timeout_s,
            page_load_timeout_s=self.config.page_load_timeout_s,
            browser_path=self.config.browser_path,
            selectors_file=self.config.selectors,
            auto_download=self.config.auto_download,
            parent_pid=os.getpid(),
            auto_upscale=self.config.auto_upscale,
            auto_delete=self.config.auto_delete,
            video_duration=self.config.video_duration,
            resolution=self.config.resolution,
            choice=self.config.choice,
            keep_profile=self.config.keep_profiles,
            max_attempts=self.config.max_attempts,
            max_video_mb=self.config.max_video_mb,
        )
        receiver, sender = self.ctx.Pipe(duplex=False)
        start = StartSignal(self.ctx)
        if self.started_claiming:
            start.go()
        process = self.ctx.Process(
            target=worker_process,
            args=(spec, self.stop, sender, self.launch_gate, start,
                  self.scout if self.on_look is not None else None),
            name=worker_id, daemon=False,
        )
        self.timeline.worker_mark(worker_id, "spawned")
        with _bare_main_module():
            process.start()
        sender.close()  # the worker holds the only write end: EOF means it is gone
        self.workers[worker_id] = _WorkerHandle(worker_id, process, receiver, start)
        self.progress.worker_state(worker_id, "starting")

    def _kill(self, handle: _WorkerHandle) -> None:
        """Kill a worker and everything it started (its own process group)."""
        pid = handle.process.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        handle.process.join(_REAP_TIMEOUT_S)

    # ----------------------------------------------------------------- events
    def _handle_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        worker = str(event.get("worker", "?"))
        if kind == "log":
            log_forwarded(event)
        elif kind == "state":
            self.progress.worker_state(worker, str(event.get("state")), event.get("item"),
                                       event.get("progress"))
        elif kind == "mark":
            self.timeline.on_event(event)
        elif kind == "item":
            self.progress.item_done(str(event.get("outcome")))
        elif kind == "stop":
            reason = str(event.get("reason"))
            if self.stop_reason not in _HARD_STOPS:
                self.stop_reason = reason
                self.stop_message = event.get("message") or self.stop_message
            self._request_stop()
            if reason in _HARD_STOPS:
                self._hard_stop()  # nothing useful can happen signed out or misconfigured
        elif kind == "look":
            self._judge_look(event.get("check"))
        elif kind == "startup_failed":
            self.workers[worker].startup_failed = True

    def _drain(self, handle: _WorkerHandle) -> None:
        with contextlib.suppress(EOFError, OSError):
            while handle.conn.poll():
                self._handle_event(handle.conn.recv())

    # ----------------------------------------------------------------- stopping
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # No logging here (not safe in a signal handler): set flags, the loop reports.
        self.signals += 1
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
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(handle.process.pid, signal.SIGKILL)
        handle.conn.close()
        del self.workers[handle.worker_id]
        self.scout.release(worker_number(handle.worker_id))  # if it died before it told
        requeued = self.manifest.requeue_abandoned(frozenset({handle.worker_id}))
        self.progress.worker_state(handle.worker_id, "stopped")
        code = handle.process.exitcode
        crashed = code not in (0, EXIT_STARTUP_FAILED) or bool(requeued)
        if not crashed or self.stop.is_set():
            return
        logger.warning(
            "{} died (exit code {}); item(s) {} back in the queue",
            handle.worker_id, code, requeued or "none",
        )
        pending = self.manifest.snapshot()["pendingCount"]
        if pending and self.replacements < self.config.parallel:
            live = len(self.workers)
            if live >= self.memory_cap or not capacity.room_for_another(
                    live, capacity.available_memory_mb()):
                logger.warning("no memory for a replacement worker; {} worker(s) go on", live)
                return
            self.replacements += 1
            self._spawn()
            logger.info("started a replacement worker ({} so far)", self.replacements)

    # ----------------------------------------------------------------- main loop
    def run(self, on_look: Callable[[PageCheck], RunSummary | None] | None = None
            ) -> RunSummary:
        """Run the job's pending items; return the summary (with the exit code).

        With `on_look`, the first worker whose page loads looks at it for the whole run
        (signed in, language, quota) and no worker claims an item before `on_look` has
        judged that look. A summary from it means the run must not go on: the workers are
        stopped and that summary is returned (and kept in `preflight_stopped`).
        """
        self.on_look = on_look
        if on_look is None:
            self.scout.close()
        started = time.monotonic()
        self.timeline.runner_mark("runner_start")
        paths.make_private_dir(paths.worker_profiles_dir(self.job_name))
        self.manifest.set_status(RunStatus.IN_PROGRESS)
        snapshot = self.manifest.snapshot()
        todo = snapshot["pendingCount"]
        self.progress.start(total=snapshot["batchSize"], done=snapshot["completedCount"],
                            failed=snapshot["failedCount"])
        workers = min(self.config.parallel, todo)
        if on_look is None:  # else the budget comes with the look at the page
            workers = self._within_budget(workers, snapshot)
        workers = self._fit_in_memory(workers)
        logger.info("job {}: {} video(s) to make with {} worker(s)", self.job_name, todo, workers)
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        announced = 0
        try:
            for _ in range(workers):
                self._spawn()
            if on_look is None:
                self._let_workers_claim()
            while self.workers and self.preflight_stopped is None:
                if self.signals > announced:
                    if announced == 0:
                        self.stop_reason = self.stop_reason or "INTERRUPTED"
                        self._request_stop()
                        logger.warning("finishing current videos — press Ctrl-C again to stop now")
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
                self.progress.refresh()
            if self.preflight_stopped is not None:
                return self.preflight_stopped
        finally:
            for handle in list(self.workers.values()):
                self._kill(handle)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.progress.stop()
            self.manifest.requeue_abandoned(frozenset(f"worker-{i}" for i in
                                                      range(self.next_worker)))
            # Chromium runs in a session of its own: the process-group kills above miss it.
            kill_browsers_using(paths.worker_profiles_dir(self.job_name))
            if not self.config.keep_profiles:
                remove_profile(paths.worker_profiles_dir(self.job_name))
            self.timeline.write(self.run_dir)
        return self._finish(time.monotonic() - started)

    def _judge_look(self, check: Any) -> None:
        """A worker looked at the page for the run: stop the run, or let the workers go."""
        if self.on_look is None or self.started_claiming or self.preflight_stopped is not None:
            return
        self.scout.close()
        self.timeline.runner_mark("look")
        if not isinstance(check, PageCheck):
            check = PageCheck(url=self.config.permalink, error="no look at the page")
        verdict = self.on_look(check)
        if verdict is None:
            self._let_workers_claim()
            return
        self.preflight_stopped = verdict
        self._request_stop()
        self._hard_stop()

    def _within_budget(self, workers: int, snapshot: dict[str, Any]) -> int:
        """No more workers than the quota lets generate (no idle browsers)."""
        budget = snapshot.get("generationBudget")
        if not isinstance(budget, int):
            return workers
        fetch_only = sum(1 for i in snapshot["items"]
                         if i["status"] == ItemStatus.PENDING.value and i.get("downloadOnly"))
        return max(1, min(workers, budget + fetch_only))

    def _let_workers_claim(self) -> None:
        """Tell the workers to go; those the quota leaves nothing to do, to leave."""
        live = list(self.workers.values())
        allowed = self._within_budget(len(live), self.manifest.snapshot())
        if allowed < len(live):
            logger.info("the video quota leaves work for {} of {} worker(s)", allowed, len(live))
        for n, handle in enumerate(live):
            if n < allowed:
                handle.start.go()
            else:
                handle.start.leave()
        self.started_claiming = True

    def _fit_in_memory(self, wanted: int) -> int:
        """How many of `wanted` workers to start: those the available memory holds."""
        available = capacity.available_memory_mb()
        self.memory_cap = capacity.workers_that_fit(wanted, available)
        if self.memory_cap < wanted:
            logger.warning("memory: {} MB available, about {} MB per worker: starting {} of "
                           "{} workers", available, capacity.WORKER_MEMORY_MB, self.memory_cap,
                           wanted)
        return self.memory_cap

    def _drain_or_reap(self, handle: _WorkerHandle) -> None:
        try:
            while handle.conn.poll():
                self._handle_event(handle.conn.recv())
        except (EOFError, OSError):
            if handle.worker_id in self.workers:
                self._reap(handle)

    # ----------------------------------------------------------------- the end
    def _finish(self, wall_s: float) -> RunSummary:
        doc = self.manifest.snapshot()
        counts = status_counts(doc)
        unsaved = sum(1 for i in doc["items"]
                      if i["status"] == ItemStatus.COMPLETED.value and self.config.auto_download
                      and not i.get("video"))
        status, code, message = self._final_status(counts, unsaved, doc)
        self.manifest.set_status(status, message if status is not RunStatus.COMPLETED else None)
        return RunSummary(
            job_name=self.job_name,
            run_dir=self.run_dir,
            status=status.value,
            exit_code=code,
            counts=counts,
            failed_by_kind=failed_by_kind(doc),
            wall_s=wall_s,
            replacements=self.replacements,
            message=message,
        )

    def _final_status(self, counts: dict[str, int], unsaved: int,
                      doc: dict[str, Any]) -> tuple[RunStatus, int, str]:
        if self.stop_reason == Outcome.AUTH_REQUIRED.value:
            return (RunStatus.STOPPED_AUTH, ExitCode.AUTH_REQUIRED, self.stop_message or
                    "the account is not signed in: run `grokbatch accounts add` again")
        if self.stop_reason == "USAGE":
            return RunStatus.FAILED, ExitCode.USAGE, self.stop_message or "usage error"
        if self.stop_reason == Outcome.RATE_LIMIT.value:
            return (RunStatus.STOPPED_RATE_LIMIT, ExitCode.RATE_LIMITED,
                    "stopped by the site's rate limit: rerun the same command later")
        if self.stop_reason == "INTERRUPTED":
            return (RunStatus.INTERRUPTED, ExitCode.INTERRUPTED,
                    "interrupted: rerun the same command to finish")
        if counts[ItemStatus.PENDING.value] and doc.get("generationBudget") == 0:
            return (RunStatus.STOPPED_RATE_LIMIT, ExitCode.RATE_LIMITED,
                    "the account's video quota allows no more videos now: rerun the same "
                    "command later for the rest")
        if counts[ItemStatus.PENDING.value] or counts[ItemStatus.FAILED.value]:
            return (RunStatus.FAILED, ExitCode.FAILED_ITEMS,
                    "some videos failed or were not made: rerun to retry what can be retried")
        if unsaved:
            return (RunStatus.FAILED, ExitCode.FAILED_ITEMS,
                    f"{unsaved} video(s) made but not saved: rerun to fetch them")
        return RunStatus.COMPLETED, ExitCode.OK, "every video completed"
