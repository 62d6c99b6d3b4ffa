"""One worker process: its own profile copy and Chromium, claiming items until none is left.

    copy profile -> launch browser -> open the permalink once -> check sign-in
      -> loop: stop set? -> claim -> generate -> download -> record -> ...

A worker talks to the runner only through the shared stop Event and a one-way pipe of
events (log records, state changes, stop reasons). It runs in its own process group, so a
Ctrl-C on the terminal reaches only the runner, which decides what it means; and it
watches its parent, so a killed runner never leaves a worker or a browser behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from loguru import logger
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from grokbatch.browser import BrowserChoice, find_browser, launch_persistent
from grokbatch.downloads import (
    MB,
    browser_identity,
    download_video,
)
from grokbatch.errors import (
    DownloadError,
    SiteChallengeError,
    UnknownLanguageError,
    VideoGoneError,
)
from grokbatch.generator import GenerationResult, VideoGenerator, challenge_message
from grokbatch.logs import redact, register_secret, worker_sink
from grokbatch.manifest import ItemStatus, Manifest, RunStatus
from grokbatch.outcomes import RETRYABLE, Outcome
from grokbatch.preflight import PageCheck, look_at_loaded_page
from grokbatch.profiles import copy_profile, kill_browsers_using, remove_profile
from grokbatch.quota import fetch_quota
from grokbatch.selectors import Selectors
from grokbatch.session import detect_signed_in
from grokbatch.timeline import mark_event
from grokbatch.worker_entry import (
    EXIT_ORPHANED,
    EXIT_STARTUP_FAILED,
    START_POLL_S,
    START_SIGNAL_MAX_WAIT_S,
    LaunchGate,
    ScoutRole,
    StartSignal,
    WorkerSpec,
    worker_number,
)

# How often the watchdog looks for a vanished parent: the runner being SIGKILLed must
# not leave browsers running for long.
_PARENT_CHECK_S = 0.5
# Browser relaunches one worker makes before it gives up (and the runner replaces it).
_MAX_RELAUNCHES = 3
# A video's hard deadline past its timeout: a page reload and one control wait, plus slack.
_DEADLINE_SLACK_S = 5.0
# A worker opens the post afresh after this many videos: the page keeps every video it made
# in its history strip, so it grows with each one (measured by `scripts/bench.py`'s long run).
RELOAD_EVERY_VIDEOS = 25
# Worker process exit codes (the runner reads them with events; these are a fallback).
EXIT_OK = 0


class _Events:
    """The worker's end of the event pipe; safe to use from several threads."""

    def __init__(self, conn: Connection, worker_id: str) -> None:
        self.conn = conn
        self.worker_id = worker_id
        self._lock = threading.Lock()

    def send(self, event: dict[str, Any]) -> None:
        event.setdefault("worker", self.worker_id)
        with self._lock, contextlib.suppress(OSError, ValueError):
            self.conn.send(event)

    def state(self, state: str, **extra: Any) -> None:
        self.send({"type": "state", "state": state, **extra})

    def mark(self, name: str) -> None:
        """This worker reached start-up phase `name` (see timeline.py)."""
        self.send(mark_event(name))


def _kill_own_group_and_exit(profile_dir: Path) -> None:
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
    os._exit(EXIT_ORPHANED)


class _Watchdog(threading.Thread):
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
            if os.getppid() != self.spec.parent_pid:
                _kill_own_group_and_exit(self.spec.profile_dir)
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


class Worker:
    """The work loop of one worker process."""

    def __init__(self, spec: WorkerSpec, stop: Event, events: _Events,
                 launch_gate: LaunchGate | None = None,
                 start_signal: StartSignal | None = None,
                 scout: ScoutRole | None = None) -> None:
        self.spec = spec
        self.start_signal = start_signal
        self.scout = scout
        self.number = worker_number(spec.worker_id)
        self.stop = stop
        self.events = events
        self.launch_gate = launch_gate
        self.manifest = Manifest(spec.manifest_path)
        self.selectors = Selectors.load(spec.selectors_file)
        self.context: BrowserContext | None = None
        self.generator: VideoGenerator | None = None
        # A browser that dies is relaunched, a few times at most: a browser that keeps
        # dying on this machine is the runner's to replace.
        self.relaunches_left = _MAX_RELAUNCHES
        self.current_index: int | None = None
        self.videos_on_page = 0
        self.watchdog = _Watchdog(spec, self.manifest)

    def _on_progress(self, percent: int) -> None:
        """The page reported generation progress: show it in the live display."""
        self.events.state("generating", item=self.current_index, progress=percent)

    # ----------------------------------------------------------------- browser
    def _leave_launch_gate(self) -> None:
        if self.launch_gate is not None:
            self.launch_gate.leave()

    def _launch(self, playwright: Playwright, choice: BrowserChoice) -> None:
        spec = self.spec
        self.context = launch_persistent(
            playwright,
            spec.profile_dir,
            choice,
            headless=spec.headless,
            timeout_s=spec.page_load_timeout_s,
        )
        self.events.mark("browser")
        self.context.set_default_timeout(spec.element_timeout_s * 1000)
        page = self.context.pages[0] if self.context.pages else self.context.new_page()
        # A renderer crash ends the attempt at once, not at its timeout: the browser is
        # ended (no Playwright call from inside an event), so every pending wait fails now.
        page.on("crash", self._on_crash)
        self.generator = VideoGenerator(
            page,
            spec.permalink,
            self.selectors,
            timeout_s=spec.timeout_s,
            element_timeout_s=spec.element_timeout_s,
            page_load_timeout_s=spec.page_load_timeout_s,
            debug_dir=spec.run_dir / "debug",
            worker_id=spec.worker_id,
            video_duration=spec.video_duration,
            resolution=spec.resolution,
            choice=spec.choice,
            on_progress=self._on_progress,
        )
        self.generator.open_post()
        self.events.mark("page")

    def _on_crash(self, page: Page) -> None:
        if self.generator is not None and page is self.generator.page:  # not a past browser's
            kill_browsers_using(self.spec.profile_dir)

    def _close_browser(self) -> None:
        if self.context is not None:
            with contextlib.suppress(Exception):
                self.context.close()
        self.context = None

    # ----------------------------------------------------------------- loop
    def run(self) -> int:
        """Work until no item is left or the stop Event is set; return the exit code."""
        spec = self.spec
        self.events.state("starting")
        started = time.monotonic()
        copied = copy_profile(spec.account_profile, spec.profile_dir)
        self.events.mark("profile")
        marks = [f"profile {copied.bytes / 1e6:.1f} MB {time.monotonic() - started:.2f} s"]
        with sync_playwright() as playwright:
            try:
                choice = find_browser(playwright, spec.browser_path)
                self.events.mark("driver")
                marks.append(f"driver {time.monotonic() - started:.2f} s")
                self._launch(playwright, choice)
                marks.append(f"browser+page {time.monotonic() - started:.2f} s")
                assert self.generator is not None
                signed_in: bool | None = True
                if self.scout is None:  # no worker looks for the run: see for itself
                    signed_in = detect_signed_in(
                        self.generator.page, self.selectors, spec.page_load_timeout_s)
                    self.events.mark("signed_in")
                logger.debug("{}: ready: {}", spec.worker_id, ", ".join(marks))
                self._leave_launch_gate()
            except PlaywrightError as exc:
                self._leave_launch_gate()
                logger.error("{}: browser did not start: {}", spec.worker_id,
                             str(exc).splitlines()[0])
                self._close_browser()
                self.events.send({"type": "startup_failed", "error": str(exc).splitlines()[0]})
                return EXIT_STARTUP_FAILED
            except (SiteChallengeError, UnknownLanguageError) as exc:
                self._leave_launch_gate()
                self._stop_run(exc)
                self._close_browser()
                return EXIT_OK
            if signed_in is None:  # neither shown in time: the preflight's verdict stands
                logger.debug("{}: no sign-in sign on the page; going on", spec.worker_id)
            if signed_in is False:
                logger.error("{}: the account is not signed in", spec.worker_id)
                self.stop.set()
                self.events.send({"type": "stop", "reason": Outcome.AUTH_REQUIRED.value})
                with contextlib.suppress(Exception):
                    self.manifest.set_status(RunStatus.STOPPED_AUTH, "not signed in")
                self._close_browser()
                return EXIT_OK
            if not self._wait_for_go():
                logger.debug("{}: not needed; leaving before any claim", spec.worker_id)
                self._close_browser()
                return EXIT_OK
            self.events.mark("go")
            try:
                self._work_loop(playwright, choice)
            finally:
                self._close_browser()
        self.events.state("stopped")
        return EXIT_OK

    def _wait_for_go(self) -> bool:
        """Wait for the runner's word (True: go). Meanwhile, if no worker has looked at the
        page for the run yet, look: this worker's page is loaded."""
        if self.start_signal is None:
            return True
        deadline = time.monotonic() + START_SIGNAL_MAX_WAIT_S
        while time.monotonic() < deadline:
            if self.stop.is_set() or os.getppid() != self.spec.parent_pid:
                return False
            if self.scout is not None and self.scout.take(self.number):
                self._look()
            word = self.start_signal.poll(START_POLL_S)
            if word is not None:
                return word and not self.stop.is_set()
        return False

    def _look(self) -> None:
        """Look at the loaded page for the whole run (signed in, language, quota) and tell
        the runner, which decides whether and how the run goes on."""
        assert self.generator is not None
        try:
            check = look_at_loaded_page(self.generator.page, self.generator.watch,
                                        self.selectors, self.spec.permalink,
                                        self.spec.page_load_timeout_s)
        except PlaywrightError as exc:
            check = PageCheck(url=self.spec.permalink, error=redact(
                str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"))
        self.events.mark("look")
        self.events.send({"type": "look", "check": check})

    def _stop_run(self, exc: SiteChallengeError | UnknownLanguageError) -> None:
        """The page cannot be worked (a browser check, a language without words): stop all."""
        challenge = isinstance(exc, SiteChallengeError)
        message = challenge_message(self.spec.account) if challenge else str(exc)
        logger.error("{}: {}", self.spec.worker_id, message)
        self.stop.set()
        self.events.send({"type": "stop", "message": message,
                          "reason": Outcome.AUTH_REQUIRED.value if challenge else "USAGE"})
        if challenge:
            with contextlib.suppress(Exception):
                self.manifest.set_status(RunStatus.STOPPED_AUTH, message)

    def _work_loop(self, playwright: Playwright, choice: BrowserChoice) -> None:
        spec = self.spec
        watchdog = self.watchdog
        watchdog.start()
        first = True
        try:
            while not self.stop.is_set():
                item = self.manifest.claim_next_item(spec.worker_id)
                if item is None:
                    break
                if first:
                    self.events.mark("first_claim")
                watchdog.holding.set()
                try:
                    self._process(item, playwright, choice)
                finally:
                    watchdog.holding.clear()
                if first:
                    self.events.mark("first_video")
                    first = False
        finally:
            watchdog.finished.set()

    def _process(self, item: dict[str, Any], playwright: Playwright, choice: BrowserChoice) -> None:
        spec = self.spec
        index = item["index"]
        prompt_index = item.get("promptIndex") or 0
        prompt = spec.prompts[prompt_index] if spec.prompts else None
        self.current_index = index
        label = f"video #{index}" + (f" (prompt #{prompt_index + 1})" if len(spec.prompts) > 1
                                     else "")
        if item.get("downloadOnly") and item.get("videoUrl"):
            # The site already made this video: fetch it, never make it again, unless the
            # site says it no longer has it.
            outcome = Outcome.COMPLETED
            if spec.auto_download:
                self.events.state("downloading", item=index)
                fetched, gone = self._download(index, item["videoUrl"])
            else:
                fetched, gone = {}, False
            if not gone:
                if fetched.get("video"):
                    fetched.update(error=None, error_kind=None)
                    logger.info("{}: video #{} downloaded again", spec.worker_id, index)
                elif spec.auto_download:
                    outcome = Outcome.DOWNLOAD_ERROR
                self.manifest.update_item(index, spec.worker_id, status=ItemStatus.COMPLETED,
                                          download_only=None, **fetched)
                self.events.send({"type": "item", "index": index, "outcome": outcome.value})
                self.events.state("idle")
                return
            logger.warning("{}: video #{}: {}; it is gone, so it is generated again",
                           spec.worker_id, index, fetched.get("error"))
            self.manifest.update_item(index, spec.worker_id, video_url=None, video=None,
                                      download_only=None)
        self.events.state("generating", item=index)
        assert self.generator is not None
        self.watchdog.arm(spec.timeout_s + spec.page_load_timeout_s + spec.element_timeout_s
                          + _DEADLINE_SLACK_S)
        try:
            result = self.generator.generate(prompt, label)
        except (SiteChallengeError, UnknownLanguageError) as exc:
            self.manifest.release_item(index, spec.worker_id)
            self._stop_run(exc)
            return
        finally:
            self.watchdog.arm(None)
        if self.watchdog.deadline_hit.is_set():
            result = GenerationResult(Outcome.TIMEOUT, "no result by the video's hard deadline; "
                                      "the browser was stopped", elapsed_s=result.elapsed_s)
        browser_gone = (result.outcome is Outcome.BROWSER_CRASHED
                        or self.watchdog.deadline_hit.is_set() or self.generator.page.is_closed())
        self._record(item, result)
        self.videos_on_page += 1
        if self.videos_on_page >= RELOAD_EVERY_VIDEOS:
            self.generator.reload_before_next()
            self.videos_on_page = 0
        if browser_gone:
            if self.relaunches_left <= 0:
                raise RuntimeError("the browser keeps dying")
            self.relaunches_left -= 1
            logger.warning("{}: the browser was lost; starting it again", spec.worker_id)
            self._close_browser()
            kill_browsers_using(spec.profile_dir)
            self._launch(playwright, choice)

    def _record(self, item: dict[str, Any], result: GenerationResult) -> None:
        spec = self.spec
        index = item["index"]
        wid = spec.worker_id
        outcome = result.outcome
        if outcome is Outcome.COMPLETED:
            # Recorded while the item is still held, before any upscale or download: from
            # here on a failure (even this process dying) can cost the file, never the
            # video, since a requeued item holding a videoUrl is only downloaded.
            self.manifest.update_item(
                index, wid, video_url=result.video_url, choice=result.choice,
                generation_s=round(result.elapsed_s, 3), download_only=None,
            )
            changes: dict[str, Any] = {"status": ItemStatus.COMPLETED, "error": None,
                                       "error_kind": None}
            changes.update(self._after_generation(index, result.video_url))
            self.manifest.update_item(index, wid, **changes)
            logger.info("{}: video #{} completed in {:.1f} s", wid, index, result.elapsed_s)
            if changes.get("error_kind"):
                outcome = Outcome.DOWNLOAD_ERROR
        elif outcome.stops_run:
            self.manifest.release_item(index, wid)
            self.stop.set()
            self.events.send({"type": "stop", "reason": outcome.value})
            if outcome is Outcome.RATE_LIMIT:
                self.manifest.set_status(RunStatus.STOPPED_RATE_LIMIT, "rate limit reached")
                self._record_quota()
                logger.warning("{}: rate limit reached; every worker stops", wid)
            else:
                self.manifest.set_status(RunStatus.STOPPED_AUTH, "not signed in")
                logger.error("{}: signed out; every worker stops", wid)
        elif outcome in RETRYABLE and item["attempts"] < spec.max_attempts:
            self.manifest.retry_later(index, wid, outcome.value, result.error)
            logger.warning("{}: video #{} failed ({}); it goes to the back of the queue "
                           "(attempt {} of {})", wid, index, outcome.value, item["attempts"],
                           spec.max_attempts)
        else:
            self.manifest.update_item(
                index, wid, status=ItemStatus.FAILED, error_kind=outcome.value,
                error=result.error, generation_s=round(result.elapsed_s, 3),
            )
            logger.warning("{}: video #{} failed: {}", wid, index, outcome.value)
        self.events.send({"type": "item", "index": index, "outcome": outcome.value})
        self.events.state("idle")

    def _record_quota(self) -> None:
        """After a rate limit: keep what the site's quota says, and when videos may start
        again (the job's cooldown)."""
        assert self.generator is not None
        answer = fetch_quota(self.generator.page, self.selectors.quota_path)
        if answer.quota is None:
            return
        until = answer.quota.next_available_at
        self.manifest.update_fields(lastQuota=answer.quota.to_json(),
                                    **({"cooldownUntil": until.isoformat()} if until else {}))

    def _after_generation(self, index: int, video_url: str | None) -> dict[str, Any]:
        """Upscale, download and delete, as configured; the manifest changes they make."""
        spec = self.spec
        changes: dict[str, Any] = {}
        if not video_url:
            return changes
        assert self.generator is not None
        hd_url = None
        if spec.auto_upscale:
            self.events.state("upscaling", item=index)
            hd_url = self.generator.upscale()
            changes["hd_video"] = None if hd_url is None else {"url": hd_url}
            if hd_url:  # kept at once, as the video's own URL is
                self.manifest.update_item(index, spec.worker_id, hd_video=changes["hd_video"])
        saved_all = True
        if spec.auto_download:
            self.events.state("downloading", item=index)
            changes.update(self._download(index, video_url)[0])
            saved_all = changes.get("video") is not None
            if hd_url:
                hd, _ = self._download(index, hd_url, suffix="-hd")
                if hd.get("video"):
                    changes["hd_video"] = {**hd["video"], "url": hd_url}
                else:
                    saved_all = False
            if spec.auto_upscale and hd_url is None:
                saved_all = False
        if spec.auto_delete and saved_all:
            changes["deleted"] = self.generator.delete_video()
        return changes

    def _download(self, index: int, url: str, suffix: str = "") -> tuple[dict[str, Any], bool]:
        """Save one made video: (the manifest changes, whether the site no longer has it).

        Never raises for a failed save: it ends as DOWNLOAD_ERROR with the URL kept.
        """
        spec = self.spec
        assert self.context is not None and self.generator is not None
        stem = spec.run_dir / "videos" / f"{spec.run_dir.name}-{index:03d}{suffix}"
        try:
            identity = browser_identity(self.context, self.generator.page)
            video = download_video(url, stem, spec.run_dir, identity,
                                   timeout_s=spec.page_load_timeout_s,
                                   max_bytes=spec.max_video_mb * MB)
        except Exception as exc:  # whatever broke, saving must cost the file, not the video
            reason = str(exc) if isinstance(exc, DownloadError) else (
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            gone = isinstance(exc, VideoGoneError)
            if not gone:
                logger.warning("{}: video #{} made but not saved: {}; its URL is kept, only "
                               "the download is retried", spec.worker_id, index, reason)
            return ({"video": None, "error": reason, "error_kind": Outcome.DOWNLOAD_ERROR.value},
                    gone)
        return {"video": video.to_json()}, False


def worker_main(spec: WorkerSpec, stop: Event, conn: Connection,
                launch_gate: LaunchGate | None = None,
                start_signal: StartSignal | None = None,
                scout: ScoutRole | None = None) -> None:
    """Run a worker in this process (called by `worker_entry.worker_process`), then exit."""
    events = _Events(conn, spec.worker_id)
    events.mark("imports")
    worker_sink(events.send, spec.worker_id)
    for prompt in spec.prompts:
        register_secret(prompt)
    code = EXIT_OK
    try:
        code = Worker(spec, stop, events, launch_gate, start_signal, scout).run()
    except Exception as exc:  # log what killed us, without locals (they may hold a prompt)
        logger.error("{}: crashed: {}: {}", spec.worker_id, type(exc).__name__,
                     str(exc).splitlines()[0] if str(exc) else "")
        code = 1
    finally:
        if launch_gate is not None:
            launch_gate.leave()
        kill_browsers_using(spec.profile_dir)  # in its own session: not ours to reap
        if not spec.keep_profile:
            remove_profile(spec.profile_dir)
        with contextlib.suppress(Exception):
            conn.close()
    os._exit(code)  # skip atexit handlers of the parent's modules; everything is closed
