"""VideoGenerator: make one video on one Page, and say how it ended.

The state machine of one attempt (the original design, made event-driven):

    ready page -> dismiss banner -> options (length, resolution) -> fill prompt
      -> click the generate control
      -> wait for progress, a failure, or the stream's made video(s)
      -> settle: answer the "which video?" dialog, or see the video on the page
      -> Outcome

The generation stream decides: progress, moderation (a moderated video reaches 100% too),
errors and the made videos' URLs. The page decides only what the stream cannot say, and
then only through error toasts and dialogs. Once the stream says a video was made, the
attempt is COMPLETED whatever the page does next: a made video is never made again.
Every wait is bounded by what is left of the video timeout. The clicks around a
generation (banner, options, prompt, upscale, delete, the choice dialog) are `PostPage`'s;
every few attempts the page's renderer first collects its garbage (`PageGarbage`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Response

from grokbatch.errors import PageMismatchError, SiteChallengeError, UnknownLanguageError
from grokbatch.logs import first_line, redact
from grokbatch.outcomes import Outcome
from grokbatch.site.page_check import challenge_message, unknown_language_message
from grokbatch.site.page_memory import PageGarbage
from grokbatch.site.pagewatch import PageWatch
from grokbatch.site.post_page import PostPage, clicked
from grokbatch.site.post_urls import same_post, video_post_url
from grokbatch.site.quota import fetch_quota
from grokbatch.site.selectors import Selectors

# Where a relative `videoUrl` from the stream lives on grok.com.
GROK_ASSETS = "https://assets.grok.com/"
_GROK_HOSTS = ("grok.com", "www.grok.com")
# What page.js marks as the generate control.
_GENERATE = '[data-grokbatch-target="generate"]'
# Looking for a made video on its post's page: how long one look waits for the video to
# play (and so how often a post is looked at while the site may still be making it).
_LOOK_MS = 5_000
# Waiting for the HD copy of an upscale an earlier try asked for: how often its post's page
# is loaded again (a page does not learn of an upscale that it did not ask for itself).
_HD_LOOK_S = 2.0


@dataclass(frozen=True)
class GenerationResult:
    """How one attempt ended, and what it produced."""

    outcome: Outcome
    error: str | None = None
    video_url: str | None = None
    elapsed_s: float = 0.0
    choice: str | None = None
    # Whether the generate control was clicked: only then may a generation have started,
    # and cost the quota. An attempt that ended before (the page did not load, a control
    # was missing) is no attempt at all.
    clicked: bool = False
    # The video of an earlier try, found on its post's page: nothing was generated now.
    found_again: bool = False
    # The site itself said it made no video (its stream, or its error message): a later
    # try has nothing to look for on the video's post.
    made_none: bool = False
    # The run was stopping when the video was about to be asked for: it was not.
    stopped: bool = False


class _Deadline:
    """What is left of one attempt's time budget."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def ms(self) -> float:
        return max(1.0, (self.end - time.monotonic()) * 1000)


def challenge_response(response: Response | None) -> bool:
    """Whether a page load was answered by a browser check instead of the site."""
    if response is None or response.status not in (403, 429, 503):
        return False
    headers = response.headers
    return headers.get("cf-mitigated") == "challenge" or "text/html" in headers.get(
        "content-type", "")


def resolve_video_url(raw: str, page_url: str) -> str:
    """An absolute URL for a stream's `videoUrl` (relative ones live on the assets host)."""
    if raw.startswith(("http://", "https://")):
        return raw
    if raw.startswith("/"):
        return urljoin(page_url, raw)
    host = (urlsplit(page_url).hostname or "").lower()
    base = GROK_ASSETS if host in _GROK_HOSTS else urljoin(page_url, "/assets/")
    return urljoin(base, raw)


class VideoGenerator:
    """Generates videos one after another on one page that shows the image post."""

    def __init__(
        self,
        page: Page,
        permalink: str,
        selectors: Selectors,
        *,
        timeout_s: float,
        element_timeout_s: float,
        page_load_timeout_s: float,
        debug_dir: Path,
        worker_id: str,
        video_duration: str | None = None,
        resolution: str | None = None,
        choice: str = "first",
        on_progress: Callable[[int], None] | None = None,
        on_started: Callable[[list[str]], None] | None = None,
        stopping: Callable[[], bool] | None = None,
    ) -> None:
        """`on_started` is told the video posts of each generation as soon as the stream
        names them: where its videos can be found again (`find_made_video`) if this
        process does not live to see them. `stopping` is asked just before the generate
        click: while it says the run is stopping, no video is asked for."""
        self.page = page
        self.permalink = permalink
        self.selectors = selectors
        self.timeout_s = timeout_s
        self.element_ms = element_timeout_s * 1000
        self.page_load_timeout_s = page_load_timeout_s
        self.debug_dir = debug_dir
        self.worker_id = worker_id
        self.video_duration = video_duration
        self.resolution = resolution
        self.choice = choice
        self.on_started = on_started
        self.stopping = stopping
        self._needs_reload = False
        self._options_chosen = False
        self.watch = PageWatch(page, selectors, on_progress)
        self.garbage = PageGarbage(page, worker_id)
        self.post = PostPage(page, self.watch, element_timeout_s=element_timeout_s,
                             worker_id=worker_id)
        self.crashed = False  # the page's renderer crashed (its 'crash' event)
        self._clicked = False  # this attempt clicked the generate control
        self._said_stream_unseen = False  # said once per worker, not once per video
        self._said_stream_misread = False
        self._since = 0  # the page's count of streams seen before this attempt's click
        self._label = ""  # this attempt's video, as logs name it
        self._control = ""  # the generate control this attempt clicked, as found
        self._progressed = False  # this attempt's video showed progress
        self._stream_known = False  # a stream was seen since this worker started
        page.on("crash", self._on_crash)

    def _on_crash(self, page: Page) -> None:
        self.crashed = True

    # ----------------------------------------------------------------- page state
    def open_post(self) -> None:
        """Navigate to the permalink and learn the page's language.

        Raises SiteChallengeError for a browser-check page, UnknownLanguageError for a
        language without words.
        """
        response = self.page.goto(
            self.permalink, timeout=self.page_load_timeout_s * 1000, wait_until="domcontentloaded"
        )
        if challenge_response(response):
            raise SiteChallengeError(challenge_message())
        lang = self.watch.language()
        words = self.selectors.site_words(lang)
        if words is None:
            raise UnknownLanguageError(unknown_language_message(lang))
        self.watch.set_language(words)
        self._needs_reload = False
        self._options_chosen = False

    def _choose_options(self) -> None:
        """Pick the video length and resolution (once per page load)."""
        if not self._options_chosen:
            self.post.choose_options(self.video_duration, self.resolution)
            self._options_chosen = True

    @property
    def upscale_asked(self) -> bool:
        """Whether the last `upscale` may have asked the site for an HD copy (False: it
        failed before it clicked the site's upscale item)."""
        return self.post.upscale_asked

    def upscale(self) -> str | None:
        """Ask for the HD version of the shown video; its absolute URL, or None if it failed."""
        url = self.post.upscale(self.timeout_s)
        if url is None:
            self._needs_reload = True
        return url

    def delete_video(self) -> bool:
        """Delete the shown video from the site; True once it is gone from the page."""
        deleted = self.post.delete_video()
        if not deleted:
            self._needs_reload = True
        return deleted

    def _click_generate(self) -> Outcome | None:
        """Click the generate control; an Outcome if it cannot be clicked."""
        found = self.watch.mark_generate()
        if found is None:
            raise _AttemptFailed(Outcome.GENERATION_ERROR,
                                 "no generate control found on the page (run `grokbatch doctor`)")
        self._clicked = True  # from here on a generation may start, whatever happens next
        self._control = f"found by {found.get('how')}" + (
            f", labelled {found['label']!r}" if found.get("label") else "")
        try:
            self.page.locator(_GENERATE).first.click(timeout=self.element_ms)
            return None
        except PlaywrightError as exc:
            never = not clicked(exc)
            if never:  # Playwright's log: it never clicked
                self._clicked = False
            if not found.get("disabled"):
                if never:
                    raise _AttemptFailed(Outcome.GENERATION_ERROR,
                                         _not_clickable(str(exc))) from None
                raise
        again = self.watch.mark_generate()
        if again is not None and again.get("disabled"):
            self._clicked = False  # Playwright clicks only an enabled control: none started
        # Disabled for the whole element timeout: a limit, if the quota says so.
        if self.quota_exhausted():
            return Outcome.RATE_LIMIT
        raise _AttemptFailed(Outcome.GENERATION_ERROR, "the generate control stayed disabled")

    def quota_exhausted(self) -> bool:
        """Whether the site's quota says no video may start now (False when unknown)."""
        answer = fetch_quota(self.page, self.selectors.quota_path)
        return answer.quota is not None and not answer.quota.available

    # ----------------------------------------------------------------- one attempt
    def generate(self, prompt: str | None, label: str) -> GenerationResult:
        """Make one video with `prompt` (None: the site's default); `label` names it in logs."""
        started = time.monotonic()
        made: list[str] = []
        self._clicked = self._progressed = False
        try:
            self.garbage.attempt_starting()
            if self._needs_reload or same_post(self.page.url) != same_post(self.permalink):
                self.open_post()
            self.post.dismiss_banner()
            self._choose_options()
            before = self.watch.snapshot()
            if before["failure"] == Outcome.AUTH_REQUIRED.value:
                return self._finish(Outcome.AUTH_REQUIRED, "signed out", started)
            if before["failure"] == Outcome.RATE_LIMIT.value and self.quota_exhausted():
                return self._finish(Outcome.RATE_LIMIT, "seen before generating", started)
            if prompt and not self.post.fill_prompt(prompt):
                raise _AttemptFailed(
                    Outcome.GENERATION_ERROR,
                    f"no prompt editor shown on the page within {self.element_ms / 1000:g} s "
                    "(run `grokbatch doctor`)")
            if self.stopping is not None and self.stopping():  # a Ctrl-C since the claim
                return GenerationResult(Outcome.GENERATION_ERROR, "the run is stopping",
                                        elapsed_s=time.monotonic() - started, stopped=True)
            deadline = _Deadline(self.timeout_s)
            blocked = self._click_generate()
            if blocked is not None:
                return self._finish(blocked, "the generate control is disabled", started)
            logger.debug("{}: {} started", self.worker_id, label)
            since, old = before["generation"], before["srcs"]
            self._since, self._label = since, label
            page_event = self.watch.wait(mode="generate", since_generation=since,
                                         old_srcs=old, want_progress=True,
                                         timeout_ms=deadline.ms(), grace_ms=self.element_ms)
            if page_event.get("posts") and self.on_started is not None:
                self.on_started(list(page_event["posts"]))
            # Something shows the video under way (a "0%" too): not a click that did nothing.
            self._progressed = page_event["kind"] == "progress"
            if self._progressed:
                page_event = self.watch.wait(mode="generate", since_generation=since,
                                             old_srcs=old, timeout_ms=deadline.ms(),
                                             grace_ms=self.element_ms)
            self._say_if_stream_unread(page_event, label)
            if not page_event.get("unseen"):
                self._stream_known = True  # the selectors find this site's stream
            if page_event["kind"] == "failure":
                # Begun: the stream's or the page's percent went past 0 before it ended.
                return self._page_failure(page_event, started,
                                          bool(page_event.get("progressed")))
            made = [resolve_video_url(u, self.page.url) for u in page_event.get("made") or []]
            return self._settle(page_event, since, old, made, deadline, started)
        except _AttemptFailed as failed:
            return self._fail(failed.outcome, started, failed.detail)
        except (SiteChallengeError, PageMismatchError):
            raise
        except PlaywrightError as exc:
            if made:  # the site made it: keep it, whatever the page did afterwards
                self._needs_reload = True
                return self._finish(Outcome.COMPLETED, None, started, video_url=made[0])
            return self._playwright_failure(exc, started)

    # ----------------------------------------------------------------- a made video
    def find_made_video(self, post_ids: list[str], wait_s: float,
                        give_up: Callable[[], bool]) -> str | None:
        """The absolute URL of the video the site made on one of `post_ids` (a
        generation's video posts, the kept one first), or None when none shows one.

        For a generation started by a process that did not live to see its end: the site
        went on making it. The posts' pages are looked at in turn, each for up to
        `_LOOK_MS`, until `wait_s` (the rest of the generation's time) has passed; at
        least once. PlaywrightError if a page will not load: the look is then worth
        another try, not a new generation.
        """
        end = time.monotonic() + wait_s
        self._needs_reload = True  # the permalink is loaded again before the next video
        while True:
            for n, post_id in enumerate(post_ids):
                src = self._video_on_post(post_id)
                if src is None:
                    continue
                # The videos of a pair are made together: one preferred to this one may
                # have come since its page was looked at.
                for preferred in post_ids[:n]:
                    better = self._video_on_post(preferred)
                    if better is not None:
                        return better
                return src
            if time.monotonic() >= end or give_up():
                return None

    def open_video_post(self, post_ids: list[str], video_url: str) -> bool:
        """Open the page of the made video at `video_url`, one of `post_ids` (its
        generation's video posts): True once that page shows it, so that what is left of
        saving it (its HD copy, its delete) is done there. PlaywrightError if a page will
        not load."""
        self._needs_reload = True  # the permalink is loaded again before the next video
        return any(self._video_on_post(post_id) is not None and self.post.shows_video(video_url)
                   for post_id in post_ids)

    def wait_for_hd(self, wait_s: float) -> str | None:
        """The absolute URL of the HD copy that the open video post shows, once it does:
        for an upscale an earlier try asked for, which the site may still be making. The
        page is loaded again after each `_HD_LOOK_S` without it, until `wait_s` has passed
        (looked at once at least); None if no HD copy came. PlaywrightError if the page
        will not load."""
        end = time.monotonic() + wait_s
        while True:
            left_s = max(0.0, end - time.monotonic())
            url = self.post.shown_hd(min(_HD_LOOK_S, left_s) * 1000)
            if url is not None or time.monotonic() >= end:
                return url
            self.page.reload(timeout=self.page_load_timeout_s * 1000,
                             wait_until="domcontentloaded")
            self.watch.shown_video(min(self.element_ms, _LOOK_MS))

    def _video_on_post(self, post_id: str) -> str | None:
        """The absolute URL of the video that the post's own page shows, once it plays."""
        self.page.goto(video_post_url(self.permalink, post_id),
                       timeout=self.page_load_timeout_s * 1000, wait_until="domcontentloaded")
        src = self.watch.shown_video(min(self.element_ms, _LOOK_MS))
        return resolve_video_url(src, self.page.url) if src else None

    def _say_if_stream_unread(self, page_event: dict[str, Any], label: str) -> None:
        """Say, once per worker, that the page alone told what became of a video: the
        stream was not seen, or said nothing grokbatch understands (the site changed it)."""
        if page_event.get("unseen") and not self._said_stream_unseen:
            self._said_stream_unseen = True
            logger.warning("{}: no generation stream seen for {}: the site may have moved it "
                           "(selector stream_url_pattern). The page alone is followed; a "
                           "video cut short cannot be found again", self.worker_id, label)
        if page_event.get("misread") and not self._said_stream_misread:
            self._said_stream_misread = True
            logger.warning("{}: the generation stream of {} said nothing grokbatch understands "
                           "of its video, which the page showed: the site may have changed "
                           "the stream's format", self.worker_id, label)

    def _stream_seen(self) -> bool:
        """Whether the page saw a generation stream since this attempt's click (True when
        the page cannot say)."""
        try:
            return bool(self.page.evaluate("since => window.__grokbatch.generation > since",
                                           self._since))
        except PlaywrightError:
            return True

    def _page_failure(self, page_event: dict[str, Any], started: float,
                      progressed: bool) -> GenerationResult:
        if page_event["outcome"] == "CHALLENGE":  # no video started: the item waits for a rerun
            raise SiteChallengeError(challenge_message())
        outcome = Outcome(page_event["outcome"])
        if outcome is Outcome.RATE_LIMIT and page_event.get("source") == "page":
            if progressed:
                # An error toast's words said "limit", but the video had begun: a
                # generation that progressed was not refused by a limit.
                outcome = Outcome.GENERATION_ERROR
            elif (quota := fetch_quota(self.page, self.selectors.quota_path).quota) and (
                    quota.available):
                # Nothing started and the page says why; the quota the site reports does
                # not show every limit it keeps. Clicking on would only be refused again.
                logger.warning("{}: the page says a limit is reached, though the site's quota "
                               "says videos may start: taken as a limit", self.worker_id)
        # A broken stream says nothing of the video: the site may be making it still. Nor
        # does one that ended without saying what became of the videos it named.
        return self._fail(outcome, started, page_event.get("detail"),
                          made_none=outcome is not Outcome.NETWORK_ERROR
                          and not page_event.get("unsure"))

    def _settle(self, page_event: dict[str, Any], since: int, old: list[str], made: list[str],
                deadline: _Deadline, started: float) -> GenerationResult:
        """The stream made the video(s): answer the choice dialog or find it on the page."""
        answered: str | None = None
        for _ in range(3):
            if page_event["kind"] == "video":
                return self._finish(Outcome.COMPLETED, None, started, choice=answered,
                                    video_url=resolve_video_url(page_event["src"], self.page.url))
            if page_event["kind"] == "choice":
                answered = self.choice
                url = self._answer_choice(made, deadline)
                if url is not None:
                    return self._finish(Outcome.COMPLETED, None, started, video_url=url,
                                        choice=answered)
            elif page_event["kind"] == "settled":
                break
            page_event = self.watch.wait(mode="settle", since_generation=since, old_srcs=old,
                                         timeout_ms=deadline.ms(), grace_ms=self.element_ms)
        if not made:
            return self._fail(Outcome.GENERATION_ERROR, started, "no video appeared")
        logger.debug("{}: the page did not show the video; keeping the stream's URL",
                     self.worker_id)
        self._needs_reload = True
        return self._finish(Outcome.COMPLETED, None, started, video_url=made[0],
                            choice=answered)

    def _answer_choice(self, made: list[str], deadline: _Deadline) -> str | None:
        """Answer "which video do you prefer?"; the kept video's URL (None: see the page)."""
        src, closed = self.post.answer_choice(self.choice, min(self.element_ms, deadline.ms()))
        if not closed:
            self._needs_reload = True
        if src:
            return resolve_video_url(src, self.page.url)
        return None if not self._needs_reload else (made[0] if made else None)

    def _playwright_failure(self, exc: PlaywrightError, started: float) -> GenerationResult:
        message = str(exc).lower()
        if self.crashed or self.page.is_closed() or "closed" in message or "crash" in message:
            return self._finish(Outcome.BROWSER_CRASHED, "the browser closed", started)
        if self._clicked and time.monotonic() - started >= self.timeout_s:
            if not self._stream_seen():
                if self._stream_known and not self._progressed:
                    # This worker's earlier videos streamed; this click set off nothing.
                    self._clicked = False
                    return self._fail(Outcome.GENERATION_ERROR, started,
                                      f"the click on the generate control ({self._control}) "
                                      f"started nothing within {self.timeout_s:.0f} s: no "
                                      "stream, no progress (run `grokbatch doctor`)")
                self._say_if_stream_unread({"unseen": True}, self._label)
            return self._fail(Outcome.TIMEOUT, started, f"no video within {self.timeout_s:.0f} s")
        if "net::err_" in message:  # the browser's own word: the site could not be reached
            return self._fail(Outcome.NETWORK_ERROR, started,
                              f"the site could not be reached: {first_line(str(exc))}")
        return self._fail(Outcome.GENERATION_ERROR, started,
                          f"page did not respond: {first_line(str(exc))}")

    def _fail(self, outcome: Outcome, started: float, detail: str | None = None, *,
              made_none: bool = False) -> GenerationResult:
        message = detail or _MESSAGES.get(outcome, outcome.value.lower())
        self._needs_reload = True
        self.save_debug(outcome.value)
        return self._finish(outcome, message, started, made_none=made_none)

    def _finish(self, outcome: Outcome, error: str | None, started: float, *,
                video_url: str | None = None, choice: str | None = None,
                made_none: bool = False) -> GenerationResult:
        return GenerationResult(
            outcome=outcome,
            error=redact(error) if error else None,
            video_url=video_url,
            elapsed_s=time.monotonic() - started,
            choice=choice,
            clicked=self._clicked,
            made_none=made_none,
        )

    # ----------------------------------------------------------------- debug
    def save_debug(self, kind: str) -> str | None:
        """Save a screenshot and an HTML snapshot with the editor emptied; their stem."""
        if self.page.is_closed():
            return None
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")[:-3]
        stem = f"{self.worker_id}_{kind}_{stamp}"
        # The snapshot empties the editor and changes every text of the page that holds
        # the prompt, attributes too: a prompt that is one of the page's own words ("video")
        # changes the labels the selectors find. The page is loaded again before its next
        # video (a snapshot after a saved video's failed download left it as it was).
        self._needs_reload = True
        self.post.save_snapshot(self.debug_dir, stem)
        return str(self.debug_dir / stem)


_COVERED = re.compile(r"(<[^\n]{0,120}?>)[^\n]*? intercepts pointer events")


def _not_clickable(log: str) -> str:
    """Why the generate control could not be clicked, from Playwright's call log."""
    covered = _COVERED.search(log)
    if covered:
        return (f"the generate control is covered by {redact(covered.group(1))}: an overlay "
                "or dialog grokbatch does not know (the selectors banner, banner_dismiss, "
                "choice_dialog; run `grokbatch doctor`)")
    return "the generate control could not be clicked (run `grokbatch doctor`)"


class _AttemptFailed(Exception):
    """Ends an attempt early with an outcome and a reason."""

    def __init__(self, outcome: Outcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


_MESSAGES = {
    Outcome.RATE_LIMIT: "rate limit reached",
    Outcome.AUTH_REQUIRED: "not signed in",
    Outcome.CONTENT_MODERATED: "content moderated",
    Outcome.NETWORK_ERROR: "network error",
    Outcome.GENERATION_ERROR: "generation error",
}
