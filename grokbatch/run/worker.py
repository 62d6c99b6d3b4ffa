"""One worker process: its own profile copy and Chromium, claiming items until none is left.

    anything left for it? -> copy profile -> launch browser -> open the permalink
      -> wait for the runner's word
      (asked: look at the page for the run) -> go: loop: stop set? -> claim -> generate
      -> save -> record

A worker talks to the runner only through the shared stop flag, the runner's word to it
and a one-way pipe of events (log records, state changes, stop reasons). It runs in its
own process group, so a Ctrl-C on the terminal reaches only the runner, which decides
what it means; and it watches its parent, so a killed runner never leaves a worker or a
browser behind.
"""

from __future__ import annotations

import contextlib
import os
import time
from multiprocessing.connection import Connection
from typing import Any

from loguru import logger
from playwright.sync_api import BrowserContext, Page, Playwright
from playwright.sync_api import Error as PlaywrightError

from grokbatch.browser import BrowserChoice, find_browser, launch_persistent, tune_driver
from grokbatch.clock import now_iso
from grokbatch.drivers import driver_listens, open_playwright
from grokbatch.errors import (
    DiskError,
    ManifestError,
    NotItemHolderError,
    PageMismatchError,
    SiteChallengeError,
)
from grokbatch.heap import GIVE_BACK_EVERY, give_back_free_memory
from grokbatch.logs import first_line, register_secret, worker_sink
from grokbatch.manifest import Item, ItemStatus, Manifest, SiteGeneration
from grokbatch.outcomes import RETRYABLE, Outcome
from grokbatch.paths import RunFiles
from grokbatch.profiles import copy_profile, kill_browsers_using, remove_profile
from grokbatch.run.looking import look_for_started
from grokbatch.run.saving import VideoSaver
from grokbatch.run.watchdog import DEADLINE_SLACK_S, Watchdog
from grokbatch.run.worker_protocol import (
    START_POLL_S,
    START_SIGNAL_MAX_WAIT_S,
    Events,
    LaunchGate,
    StartSignal,
    StopFlag,
    StopReason,
    Word,
    WorkerExit,
    WorkerSpec,
    WorkerState,
    runner_gone,
)
from grokbatch.site.generator import GenerationResult, VideoGenerator
from grokbatch.site.page_check import PageCheck, challenge_message
from grokbatch.site.preflight import look_at_loaded_page
from grokbatch.site.quota import fetch_quota
from grokbatch.site.selectors import Selectors

# Browser relaunches one worker makes before it gives up (and the runner replaces it).
_MAX_RELAUNCHES = 3
# Videos in a row a worker could not start (the page did not load, a control was missing)
# before it leaves the rest for a rerun: the site is down or has changed, and each try
# takes a second or so. None of them spends an attempt.
_UNSTARTED_IN_A_ROW = 3


class Worker:
    """The work loop of one worker process."""

    def __init__(self, spec: WorkerSpec, stop: StopFlag, events: Events,
                 launch_gate: LaunchGate | None = None,
                 start_signal: StartSignal | None = None) -> None:
        """`start_signal` None: claim at once."""
        self.spec = spec
        self.start_signal = start_signal
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
        self.unstarted = 0  # videos in a row that failed before their generate click
        self.current_index: int | None = None
        # The generation the site started for the current video, and since when (monotonic).
        self.generation: SiteGeneration | None = None
        self.started = 0.0
        self.watchdog = Watchdog(spec, self.manifest)
        self.saver = VideoSaver(spec, self.manifest, events)

    def _on_progress(self, percent: int) -> None:
        """The page reported generation progress: show it in the live display, and keep
        how far the site has come (for a try that gives up before the end: `_record`)."""
        self.events.state(WorkerState.GENERATING, item=self.current_index, progress=percent)
        if self.generation is not None and percent > self.generation.get("progress", 0):
            self.generation["progress"] = percent
            self.generation["progressSeconds"] = round(time.monotonic() - self.started, 3)

    def _on_started(self, video_posts: list[str]) -> None:
        """The site started the current video: keep where it will be (its video posts),
        so that if this process does not live to see it, the next try finds it there
        instead of making it again."""
        if self.current_index is None:
            return
        generation: SiteGeneration = {"videoPostIds": video_posts, "startedAt": now_iso()}
        self.generation, self.started = generation.copy(), time.monotonic()
        try:
            self.manifest.update_item(self.current_index, self.spec.worker_id,
                                      generation=generation)
        except (NotItemHolderError, ManifestError) as exc:
            logger.warning("{}: video #{}: where the site makes it was not kept: {}",
                           self.spec.worker_id, self.current_index, exc)

    # ----------------------------------------------------------------- browser
    def _leave_launch_gate(self) -> None:
        if self.launch_gate is not None:
            self.launch_gate.leave()

    def _launch(self, playwright: Playwright, choice: BrowserChoice) -> None:
        spec = self.spec
        self.context = launch_persistent(playwright, spec.profile_dir, choice,
                                         headless=spec.headless,
                                         timeout_s=spec.page_load_timeout_s)
        # The page loads in the renderer: the next may launch. The slot goes back before
        # the mark that tells the runner so (a worker killed in between holds none).
        self._leave_launch_gate()
        self.events.mark("browser")
        self.context.set_default_timeout(spec.element_timeout_s * 1000)
        page = self.context.pages[0] if self.context.pages else self.context.new_page()
        # A renderer crash ends the attempt at once, not at its timeout: the browser is
        # ended (no Playwright call from inside an event), so every pending wait fails now.
        page.on("crash", self._on_crash)
        self.generator = VideoGenerator(
            page, spec.permalink, self.selectors, timeout_s=spec.timeout_s,
            element_timeout_s=spec.element_timeout_s, page_load_timeout_s=spec.page_load_timeout_s,
            debug_dir=RunFiles(spec.run_dir).debug, worker_id=spec.worker_id,
            video_duration=spec.video_duration, resolution=spec.resolution, choice=spec.choice,
            on_progress=self._on_progress, on_started=self._on_started,
            stopping=lambda: self.stop.is_set() or runner_gone())
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
    def run(self) -> WorkerExit:
        """Work until no item is left or the stop flag is set; return the exit code."""
        spec = self.spec
        if not self._needed():
            logger.debug("{}: nothing left for it; leaving before its browser starts",
                         spec.worker_id)
            return WorkerExit.OK
        self.events.state(WorkerState.STARTING)
        try:
            copy_profile(spec.account_profile, spec.profile_dir)
        except FileNotFoundError:  # the account's profile (a full disk is a DiskError)
            # Removed under the run: every worker, and each replacement, would crash on it.
            message = (f"the profile of account {spec.account} is gone "
                       f"({spec.account_profile}): add the account again with `grokbatch "
                       f"accounts add {spec.account}`, then rerun the same command")
            self._stop_all(StopReason.USAGE, message)
            return WorkerExit.OK
        self.events.mark("profile")
        with open_playwright(spec.driver_socket, spec.worker_id) as playwright:
            try:
                choice = find_browser(playwright, spec.browser_path,
                                      headless_shell=spec.headless_shell)
                logger.debug("{}: browser {}", spec.worker_id, choice.describe())
                self.events.mark("driver")
                self._launch(playwright, choice)
            except PlaywrightError as exc:
                error = first_line(str(exc))
                what = "browser did not start" if self.context is None else (
                    "the site's page did not load")
                logger.error("{}: {}: {}", spec.worker_id, what, error)
                self._close_browser()
                self.events.startup_failed(error)
                return WorkerExit.STARTUP_FAILED
            except (SiteChallengeError, PageMismatchError) as exc:
                self._stop_run(exc)
                self._close_browser()
                return WorkerExit.OK
            finally:
                self._leave_launch_gate()
            if not self._wait_for_go():
                logger.debug("{}: not needed; leaving before any claim", spec.worker_id)
                self._close_browser()
                return WorkerExit.OK
            self.events.mark("go")
            try:
                self._work_loop(playwright, choice)
            finally:
                self._close_browser()
        self.events.state(WorkerState.STOPPED)
        return WorkerExit.OK

    def _needed(self) -> bool:
        """Whether this worker may still have something to do: once the runner has let the
        workers claim, whether a claim would give an item now; before that, yes (the
        quota is not known yet, and this worker's page may be the one the runner looks at);
        no once the runner told it to leave.

        Asked once it holds its launch slot, before its driver and browser start. With
        more workers than the videos need (`--parallel 100` for 100 videos of a few
        seconds), the first ones had made every video while the last still waited for a
        slot; each then started a browser for nothing, a CPU-second taken from the workers
        that were generating, and the run waited for them all.
        """
        word = (Word.GO if self.start_signal is None
                else self.start_signal.wait_for({Word.GO, Word.LEAVE}, 0))
        if word is Word.GO:
            return self.manifest.has_claimable_item()
        return word is None

    def _wait_for_go(self) -> bool:
        """Wait for the runner's word (True: go). Meanwhile, if the runner asks, look at
        the page for the whole run: this worker's page is loaded (its "page" mark)."""
        if self.start_signal is None:
            return True
        deadline = time.monotonic() + START_SIGNAL_MAX_WAIT_S
        awaited = {Word.LOOK, Word.GO, Word.LEAVE}
        while time.monotonic() < deadline:
            if self.stop.is_set() or runner_gone():
                return False
            word = self.start_signal.wait_for(awaited, START_POLL_S)
            if word is Word.LOOK:
                awaited.discard(Word.LOOK)  # once: the runner's next word is go or leave
                self._look()
            elif word is not None:
                return word is Word.GO and not self.stop.is_set()
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
            check = PageCheck(url=self.spec.permalink, error=first_line(str(exc)) or "no answer")
        if check.challenge or check.signed_in is False:
            self._snapshot(Outcome.AUTH_REQUIRED.value)  # the run stops on this page
        self.events.mark("look")
        self.events.look(check)

    def _snapshot(self, kind: str) -> None:
        """A debug snapshot of a page that stops the run: what the user needs to see."""
        if self.generator is not None:
            with contextlib.suppress(PlaywrightError, OSError, DiskError):
                self.generator.save_debug(kind)

    def _stop_run(self, exc: SiteChallengeError | PageMismatchError) -> None:
        """The page cannot be worked (a browser check, a language without words, an option
        asked for that it does not offer): stop all."""
        challenge = isinstance(exc, SiteChallengeError)
        message = challenge_message(self.spec.account) if challenge else str(exc)
        self._snapshot(Outcome.AUTH_REQUIRED.value if challenge else "STOPPED")
        self._stop_all(StopReason.AUTH_REQUIRED if challenge else StopReason.USAGE, message)

    def _stop_all(self, reason: StopReason, message: str) -> None:
        """Stop every worker, and the run for `reason`, saying why."""
        logger.error("{}: {}", self.spec.worker_id, message)
        self.stop.set()
        self.events.stop_run(reason, message)

    def _work_loop(self, playwright: Playwright, choice: BrowserChoice) -> None:
        spec = self.spec
        watchdog = self.watchdog
        watchdog.start()
        first = True
        processed = 0
        try:
            while not self.stop.is_set():
                # A run killed under it (its driver may outlive it by a moment) starts
                # nothing more: the rerun does.
                item = self.manifest.claim_next_item(
                    spec.worker_id, stopping=lambda: self.stop.is_set() or runner_gone())
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
                processed += 1
                if self.saver.disk_refused is not None:
                    # Its URL is kept; every worker would make videos it cannot save.
                    self._stop_all(StopReason.DISK, self.saver.disk_refused)
                    break
                if processed % GIVE_BACK_EVERY == 0:
                    give_back_free_memory()  # what the manifest's transactions left free
                if self.unstarted >= _UNSTARTED_IN_A_ROW:
                    logger.error("{}: {} tries in a row could not start a video; it leaves the "
                                 "rest for a rerun (`grokbatch doctor` checks the page)",
                                 spec.worker_id, self.unstarted)
                    break
        finally:
            watchdog.finished.set()

    def _process(self, item: Item, playwright: Playwright, choice: BrowserChoice) -> None:
        spec = self.spec
        index = item["index"]
        prompt_index = item.get("promptIndex") or 0
        prompt = spec.prompts[prompt_index] if spec.prompts else None
        self.current_index = index
        self.generation = None
        label = f"video #{index}" + (f" (prompt #{prompt_index + 1})" if len(spec.prompts) > 1
                                     else "")
        if item.get("downloadOnly") and item.get("videoUrl"):
            # The site already made this video: save it, never make it again, unless the
            # site says it no longer has it.
            assert self.context is not None and self.generator is not None
            if (self.saver.fetch_again(item, self.context, self.generator)
                    or not self._make_anew(item, "the site no longer has it")):
                return
        elif (item.get("generation") and not item.get("videoUrl")
              and self._find_made(item, playwright, choice)):
            return  # an earlier try started it, and did not live to see its end
        self.events.state(WorkerState.GENERATING, item=index)
        assert self.generator is not None
        self.watchdog.arm(spec.timeout_s + spec.page_load_timeout_s + spec.element_timeout_s
                          + DEADLINE_SLACK_S)
        try:
            result = self.generator.generate(prompt, label)
        except (SiteChallengeError, PageMismatchError) as exc:
            self._stop_run(exc)  # before the item goes back: no one may claim it then
            self.manifest.release_item(index, spec.worker_id)
            return
        finally:
            self.watchdog.arm(None)
        if result.stopped:  # given back unasked: the next run makes it
            self.manifest.release_item(index, spec.worker_id)
            self.events.state(WorkerState.IDLE)
            return
        if self.watchdog.deadline_hit.is_set():
            result = GenerationResult(Outcome.TIMEOUT, "no result by the video's hard deadline; "
                                      "the browser was stopped", elapsed_s=result.elapsed_s,
                                      clicked=result.clicked)
        self._after(item, result, playwright, choice)

    def _find_made(self, item: Item, playwright: Playwright, choice: BrowserChoice) -> bool:
        """Look for the video an earlier try started (`looking`); True once the item is
        dealt with (the video found and kept, the look failed, the run is stopping, the
        quota allows no new one), False when this worker is to make it now."""
        index, generation = item["index"], item.get("generation")
        assert generation is not None and self.generator is not None
        self.events.state(WorkerState.LOOKING, item=index)
        result = look_for_started(index, generation, self.spec, self.generator, self.watchdog,
                                  give_up=lambda: self.stop.is_set() or runner_gone())
        if result is not None:
            self._after(item, result, playwright, choice)
            return True
        if self.stop.is_set() or runner_gone():
            self.manifest.release_item(index, self.spec.worker_id)  # the next run looks again
            self.events.state(WorkerState.IDLE)
            return True
        why = "the site shows no video from the try that started it"
        if item["attempts"] >= self.spec.max_attempts:
            # A rerun's look for the video of the item's last attempt: none is left to make
            # another with.
            kind = item.get("errorKind") or Outcome.TIMEOUT.value
            self.manifest.update_item(index, self.spec.worker_id, status=ItemStatus.FAILED,
                                      error_kind=kind, error=why, generation=None)
            logger.warning("{}: video #{}: {}, and it has had its {} attempts; failed: {}",
                           self.spec.worker_id, index, why, self.spec.max_attempts, kind)
            self.events.item_done(index, kind, ItemStatus.FAILED.value)
            self.events.state(WorkerState.IDLE)
            return True
        return not self._make_anew(item, why)

    def _make_anew(self, item: Item, why: str) -> bool:
        """The held video is to be made again (`why`): True if the quota allows it now
        (it counts as an attempt); else it is given back for a rerun."""
        index, worker = item["index"], self.spec.worker_id
        if self.manifest.make_anew(index, worker):
            item["attempts"] += 1  # as the claim would have counted it
            logger.info("{}: video #{}: {}; it is made now", worker, index, why)
            return True
        logger.info("{}: video #{}: {}; the quota allows no more videos in this run, so it "
                    "waits for a rerun", worker, index, why)
        self.events.state(WorkerState.IDLE)
        return False

    def _after(self, item: Item, result: GenerationResult, playwright: Playwright,
               choice: BrowserChoice) -> None:
        """Record `result`, then start the browser again if it was lost on the way."""
        assert self.generator is not None
        browser_gone = (result.outcome is Outcome.BROWSER_CRASHED
                        or self.watchdog.deadline_hit.is_set() or self.generator.page.is_closed())
        self._record(item, result)
        if browser_gone:
            if self.relaunches_left <= 0:
                raise RuntimeError("the browser keeps dying")
            self.relaunches_left -= 1
            logger.warning("{}: the browser was lost; starting it again", self.spec.worker_id)
            self._relaunch(playwright, choice)

    def _relaunch(self, playwright: Playwright, choice: BrowserChoice) -> None:
        """Close the browser (killing what is left of it) and start a new one."""
        self._close_browser()
        kill_browsers_using(self.spec.profile_dir)
        self._launch(playwright, choice)

    def _record(self, item: Item, result: GenerationResult) -> None:
        spec = self.spec
        index = item["index"]
        worker = spec.worker_id
        outcome = result.outcome
        if result.clicked:
            self.unstarted = 0
        if result.clicked and result.made_none:
            # Nothing to look for on its video post: the site said it made no video.
            self.manifest.update_item(index, worker, generation=None)
        elif (outcome is not Outcome.COMPLETED and self.generation is not None
              and "progress" in self.generation):
            # Given up on while the site was making it: how far it had come tells the next
            # try's look how long the rest may take (`looking`).
            self.manifest.update_item(index, worker, generation=self.generation)
        ends = ItemStatus.PENDING  # unless it completes or fails for good below
        if outcome is Outcome.COMPLETED:
            ends = ItemStatus.COMPLETED
            # Recorded while the item is still held, before any upscale or download: from
            # here on a failure (even this process dying) can cost the file, never the
            # video, since a requeued item holding a videoUrl is only downloaded.
            made_now: dict[str, Any] = {} if result.found_again else {
                "generation_s": round(result.elapsed_s, 3)}
            self.manifest.update_item(index, worker, video_url=result.video_url,
                                      choice=result.choice, download_only=None, **made_now)
            changes: dict[str, Any] = {"status": ItemStatus.COMPLETED, "error": None,
                                       "error_kind": None}
            assert self.context is not None and self.generator is not None
            changes.update(self.saver.after_generation(index, result.video_url, self.context,
                                                       self.generator))
            self.manifest.update_item(index, worker, **changes)
            if not result.found_again:
                logger.info("{}: video #{} completed in {:.1f} s", worker, index,
                            result.elapsed_s)
            if changes.get("error_kind"):
                outcome = Outcome.DOWNLOAD_ERROR
        elif outcome.stops_run:
            self.stop.set()  # before the item goes back: no one may claim it then
            self.manifest.release_item(index, worker)
            self.events.stop_run(StopReason(outcome.value))
            if outcome is Outcome.RATE_LIMIT:
                self._record_quota()
                logger.warning("{}: rate limit reached; every worker stops", worker)
            else:
                logger.error("{}: signed out; every worker stops", worker)
        elif outcome in RETRYABLE and not result.clicked:
            # No generation started: to the back of the queue, no attempt spent.
            self.unstarted += 1
            self.manifest.retry_later(index, worker, outcome.value, result.error,
                                      attempted=False)
            logger.warning("{}: video #{} was not started ({}: {}); it goes to the back of "
                           "the queue", worker, index, outcome.value, result.error)
        elif outcome in RETRYABLE and runner_gone():
            # Its run was killed, and the driver and browser with it: not the video's fault.
            self.manifest.release_item(index, worker, "its run ended before the video did")
            logger.warning("{}: video #{} outlived its run ({}); it goes back to the queue",
                           worker, index, outcome.value)
        elif outcome in RETRYABLE and item["attempts"] < spec.max_attempts:
            self.manifest.retry_later(index, worker, outcome.value, result.error)
            logger.warning("{}: video #{} failed ({}); it goes to the back of the queue "
                           "(attempt {} of {})", worker, index, outcome.value, item["attempts"],
                           spec.max_attempts)
        else:
            ends = ItemStatus.FAILED
            self.manifest.update_item(
                index, worker, status=ItemStatus.FAILED, error_kind=outcome.value,
                error=result.error, generation_s=round(result.elapsed_s, 3),
            )
            logger.warning("{}: video #{} failed: {}", worker, index, outcome.value)
        self.events.item_done(index, outcome.value, ends.value)
        self.events.state(WorkerState.IDLE)

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


def worker_main(spec: WorkerSpec, stop: StopFlag, conn: Connection,
                launch_gate: LaunchGate | None = None,
                start_signal: StartSignal | None = None) -> None:
    """Run a worker in this process (called by `worker_entry.worker_process`), then exit."""
    events = Events(conn, spec.worker_id)
    events.mark("imports")
    tune_driver()
    worker_sink(events.send, spec.worker_id)
    for prompt in spec.prompts:
        register_secret(prompt)
    code = WorkerExit.OK
    try:
        code = Worker(spec, stop, events, launch_gate, start_signal).run()
    except DiskError as exc:  # the next worker could not write either: the run stops
        logger.error("{}: {}", spec.worker_id, first_line(str(exc)))
        stop.set()
        events.stop_run(StopReason.DISK, first_line(str(exc)))
        code = WorkerExit.CRASHED
    except Exception as exc:  # log what killed us, without locals (they may hold a prompt)
        if spec.driver_socket is not None and not driver_listens(spec.driver_socket):
            logger.warning("{}: its shared Playwright driver is gone, and its browser with "
                           "it; a replacement starts with a driver of its own", spec.worker_id)
        else:
            logger.error("{}: crashed: {}: {}", spec.worker_id, type(exc).__name__,
                         first_line(str(exc)))
        code = WorkerExit.CRASHED
    finally:
        if launch_gate is not None:
            launch_gate.leave()
        kill_browsers_using(spec.profile_dir)  # in its own session: not ours to reap
        if not spec.keep_profile:
            remove_profile(spec.profile_dir)
        with contextlib.suppress(Exception):
            conn.close()
    os._exit(code)  # skip atexit handlers of the parent's modules; everything is closed
