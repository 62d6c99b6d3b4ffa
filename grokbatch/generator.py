"""VideoGenerator: make one video on one Page, and say how it ended.

The state machine of one attempt (the original design, made event-driven):

    ready page -> dismiss banner -> fill prompt -> click "Make video"/"Redo"
      -> wait for progress, an error or a new video
      -> wait for a new, playable video or an error      (bounded by the video timeout)
      -> Outcome

Every wait is a Playwright wait on the page's own signals, bounded by what is left of
the video timeout; nothing sleeps for a fixed time. A video counts only if its `src` is
not one that was on the page before the click, so an older video is never mistaken for
the new one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page

from grokbatch.logs import REDACTED, redact
from grokbatch.outcomes import Outcome
from grokbatch.pagewatch import PageWatch
from grokbatch.selectors import Selectors

_PERCENT = re.compile(r"(\d{1,3})\s*%")
_VISIBLE_OUTSIDE_EDITOR_JS = (
    "els => els.some(e => (e.offsetWidth || e.offsetHeight || e.getClientRects().length)"
    " && !e.closest('[contenteditable=\"true\"], textarea'))"
)


@dataclass(frozen=True)
class GenerationResult:
    """How one attempt ended, and what it produced."""

    outcome: Outcome
    error: str | None = None
    video_url: str | None = None
    progress_seen: bool = False
    elapsed_s: float = 0.0
    debug_path: str | None = None


class _Deadline:
    """What is left of one attempt's time budget."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def ms(self) -> float:
        return max(1.0, (self.end - time.monotonic()) * 1000)


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
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.page = page
        self.permalink = permalink
        self.sel = selectors
        self.timeout_s = timeout_s
        self.element_timeout_s = element_timeout_s
        self.page_load_timeout_s = page_load_timeout_s
        self.debug_dir = debug_dir
        self.worker_id = worker_id
        self.video_duration = video_duration
        self._needs_reload = False
        self._duration_chosen = False
        self.watch = PageWatch(page, selectors, on_progress)

    # ----------------------------------------------------------------- page state
    def open_post(self) -> None:
        """Navigate to the permalink (once per worker, and after a failed attempt)."""
        self.page.goto(
            self.permalink, timeout=self.page_load_timeout_s * 1000, wait_until="domcontentloaded"
        )
        self._needs_reload = False
        self._duration_chosen = False

    def _choose_duration(self) -> None:
        """Pick the video length in the "Video Options" menu (once per page load)."""
        if not self.video_duration or self._duration_chosen:
            return
        ms = self.element_timeout_s * 1000
        self.page.locator(self.sel.video_options_button).first.click(timeout=ms)
        if self.video_duration == "max":
            item = self.page.locator(self.sel.video_duration_item.format(duration="")).last
        else:
            item = self.page.locator(
                self.sel.video_duration_item.format(duration=self.video_duration)
            ).first
        item.click(timeout=ms)
        self._duration_chosen = True

    def _open_more_options(self, item_selector: str) -> None:
        ms = self.element_timeout_s * 1000
        self.page.locator(self.sel.more_options_button).first.click(timeout=ms)
        self.page.locator(item_selector).first.click(timeout=ms)

    def upscale(self) -> str | None:
        """Ask for the HD version of the shown video; its absolute URL, or None if it failed."""
        try:
            hd = self.page.locator(self.sel.hd_video)
            self._open_more_options(self.sel.upscale_item)
            hd.first.wait_for(state="attached", timeout=self.timeout_s * 1000)
            src = hd.first.get_attribute("src") or ""
            url: str = self.page.evaluate("s => new URL(s, document.baseURI).href", src)
            return url
        except PlaywrightError as exc:
            logger.warning("{}: upscale failed: {}", self.worker_id, _first_line(str(exc)))
            self._needs_reload = True
            return None

    def delete_video(self) -> bool:
        """Delete the shown video from the site; True once it is gone from the page."""
        try:
            video = self.page.locator(self.sel.video)
            count_before = video.count()
            self._open_more_options(self.sel.delete_item)
            self.page.locator(self.sel.delete_confirm).first.click(
                timeout=self.element_timeout_s * 1000
            )
            self.page.wait_for_function(
                "([sel, n]) => document.querySelectorAll(sel).length < n",
                arg=["video[src]", count_before],
                timeout=self.element_timeout_s * 1000,
            )
            return True
        except PlaywrightError as exc:
            logger.warning("{}: delete failed: {}", self.worker_id, _first_line(str(exc)))
            self._needs_reload = True
            return False

    def _visible(self, selector: str) -> bool:
        try:
            return self.page.locator(selector).first.is_visible()
        except PlaywrightError:
            return False

    def _dismiss_banner(self) -> None:
        if self._visible(self.sel.banner):
            logger.debug("{}: dismissing an announcement overlay", self.worker_id)
            self.page.locator(self.sel.banner_dismiss).first.click(
                timeout=self.element_timeout_s * 1000
            )
            self.page.locator(self.sel.banner).first.wait_for(
                state="hidden", timeout=self.element_timeout_s * 1000
            )

    def _fill_prompt(self, prompt: str) -> None:
        editor = self.page.locator(self.sel.prompt_editor).first
        editor.wait_for(state="visible", timeout=self.element_timeout_s * 1000)
        editor.fill(prompt, timeout=self.element_timeout_s * 1000)

    def _click_generate(self) -> None:
        button = self.page.locator(self.sel.make_video_button).or_(
            self.page.locator(self.sel.redo_button)
        )
        try:
            button.first.click(timeout=self.element_timeout_s * 1000)
        except PlaywrightError:
            logger.debug("{}: no Make video/Redo button; trying the editor's submit",
                         self.worker_id)
            self.page.locator(self.sel.editor_submit_button).first.click(
                timeout=self.element_timeout_s * 1000
            )

    # ----------------------------------------------------------------- outcome
    def _failure_locators(self) -> list[tuple[Outcome, Locator]]:
        return [(outcome, self.page.locator(sel)) for outcome, sel in self.sel.failure_signs()]

    def _visible_failure(self) -> Outcome | None:
        """The failure message on the page, if any (text typed in the editor never counts)."""
        for outcome, locator in self._failure_locators():
            try:
                if locator.evaluate_all(_VISIBLE_OUTSIDE_EDITOR_JS):
                    return outcome
            except PlaywrightError:
                continue
        return None

    def generate(self, prompt: str | None, label: str) -> GenerationResult:
        """Make one video with `prompt` (None: the site's default); `label` names it in logs."""
        started = time.monotonic()
        progress_seen = False
        try:
            if self._needs_reload or not self.page.url.startswith(self.permalink):
                self.open_post()
            self._dismiss_banner()
            self._choose_duration()
            before = self.watch.snapshot()
            if before["failure"] in (Outcome.AUTH_REQUIRED.value, Outcome.RATE_LIMIT.value):
                outcome = Outcome(before["failure"])
                return self._finish(outcome, "seen before generating", started, False)
            old_srcs: list[str] = before["srcs"]
            since: int | None = before["generation"]
            if prompt:
                self._fill_prompt(prompt)
            deadline = _Deadline(self.timeout_s)
            self._click_generate()
            logger.debug("{}: {} started", self.worker_id, label)
            # Progress (or the video itself) must show before a video counts, and only a
            # src not on the page before the click counts: an older video is never taken
            # for the new one.
            seen = self.watch.wait(old_srcs=old_srcs, want_progress=True,
                                   since_generation=since, timeout_ms=deadline.ms())
            if seen["kind"] == "failure":
                return self._fail(Outcome(seen["outcome"]), started, progress_seen)
            progress_seen = True
            if seen["kind"] != "video":
                seen = self.watch.wait(old_srcs=old_srcs, want_progress=False,
                                       since_generation=since, timeout_ms=deadline.ms())
                if seen["kind"] == "failure":
                    return self._fail(Outcome(seen["outcome"]), started, progress_seen)
            return self._finish(Outcome.COMPLETED, None, started, progress_seen,
                                video_url=seen["src"])
        except PlaywrightError as exc:
            failure = self._safe_visible_failure()
            if failure is not None:
                return self._fail(failure, started, progress_seen)
            if self.page.is_closed() or "closed" in str(exc).lower():
                return self._finish(Outcome.BROWSER_CRASHED, "the browser closed", started,
                                    progress_seen)
            if progress_seen or time.monotonic() - started >= self.timeout_s:
                detail = f"no video within {self.timeout_s:.0f} s"
                if progress_seen:
                    detail += f" (progress stuck at {self._progress_text() or '?'})"
                return self._fail(Outcome.TIMEOUT, started, progress_seen, detail)
            return self._fail(Outcome.GENERATION_ERROR, started, progress_seen,
                              f"page did not respond: {_first_line(str(exc))}")

    def _safe_visible_failure(self) -> Outcome | None:
        try:
            return None if self.page.is_closed() else self._visible_failure()
        except PlaywrightError:
            return None

    def _progress_text(self) -> str | None:
        try:
            text = self.page.locator(self.sel.progress).first.inner_text(timeout=500)
        except PlaywrightError:
            return None
        match = _PERCENT.search(text)
        return f"{match.group(1)}%" if match else None

    def _fail(
        self, outcome: Outcome, started: float, progress_seen: bool, detail: str | None = None
    ) -> GenerationResult:
        message = detail or _MESSAGES.get(outcome, outcome.value.lower())
        self._needs_reload = True
        debug_path = self.save_debug(outcome.value)
        return self._finish(outcome, message, started, progress_seen, debug_path=debug_path)

    def _finish(
        self,
        outcome: Outcome,
        error: str | None,
        started: float,
        progress_seen: bool,
        *,
        video_url: str | None = None,
        debug_path: str | None = None,
    ) -> GenerationResult:
        return GenerationResult(
            outcome=outcome,
            error=redact(error) if error else None,
            video_url=video_url,
            progress_seen=progress_seen,
            elapsed_s=time.monotonic() - started,
            debug_path=debug_path,
        )

    # ----------------------------------------------------------------- debug
    def save_debug(self, kind: str) -> str | None:
        """Save a screenshot and a redacted HTML snapshot; return their common path stem."""
        if self.page.is_closed():
            return None
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")[:-3]
        stem = self.debug_dir / f"{self.worker_id}_{kind}_{stamp}"
        try:
            self.debug_dir.mkdir(parents=True, exist_ok=True)
            html = self.page.content()
            stem.with_suffix(".html").write_text(redact(html), encoding="utf-8")
            # The editor's text is part of the pixels too: blank it before the screenshot.
            self.page.locator(self.sel.prompt_editor).evaluate_all(
                "(els, mask) => els.forEach(e => { if ('value' in e && e.tagName === 'TEXTAREA')"
                " e.value = mask; else e.textContent = mask; })",
                REDACTED,
            )
            self.page.screenshot(path=str(stem.with_suffix(".png")), timeout=5000)
        except PlaywrightError as exc:
            logger.debug("{}: debug snapshot incomplete: {}", self.worker_id, _first_line(str(exc)))
        return str(stem)


_MESSAGES = {
    Outcome.RATE_LIMIT: "rate limit reached",
    Outcome.AUTH_REQUIRED: "not signed in",
    Outcome.CONTENT_MODERATED: "content moderated",
    Outcome.NETWORK_ERROR: "network error",
    Outcome.GENERATION_ERROR: "generation error",
}


def _first_line(text: str) -> str:
    return redact(text.strip().splitlines()[0] if text.strip() else text)[:200]
