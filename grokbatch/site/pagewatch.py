"""What the page tells us about a generation, watched from inside the page.

`page_scripts/page.js` is installed as an init script: it reads a copy of the generation
stream (the site streams generation state as JSON lines: `streamingVideoGenerationResponse`
with `progress`, `moderated`, `videoUrl`, one series per video) and offers the in-page
checks below. Waiting is one `page.wait_for_function` polling every `_POLL_MS`, which
notices the end of a generation within one poll, where a series of Playwright locator
waits would back off to half a second.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from grokbatch.site.selectors import Selectors
from grokbatch.site.words import SiteWords

# How often the in-page check runs while waiting: the latency floor per video.
_POLL_MS = 50


@cache
def page_script() -> str:
    """The text of page_scripts/page.js (a function of one config argument)."""
    return (resources.files("grokbatch.site") / "page_scripts" / "page.js").read_text("utf-8")


def install_page_script(page: Page, selectors: Selectors) -> None:
    """Run page.js in every document the page loads, before the site's own scripts."""
    config = {"streamPattern": selectors.stream_url_pattern}
    page.add_init_script(f"({page_script()})({json.dumps(config)});")


def wait_for_value(page: Page, expression: str, *, arg: Any, timeout_ms: float,
                   polling: float | None = None) -> Any:
    """Wait until `expression` is truthy in the page; return its value.

    `page.wait_for_function` hands back a handle to the value, which the driver and the
    page keep until it is disposed: a worker waits several times a video, so handles
    left behind grew its Python process by about 3 MB and its driver by 1 to 2 MB per
    thousand waits.
    """
    handle = page.wait_for_function(expression, arg=arg, timeout=timeout_ms, polling=polling)
    try:
        return handle.json_value()
    finally:
        with contextlib.suppress(PlaywrightError):
            handle.dispose()


class PageWatch:
    """The in-page checks of one page, in the page's language."""

    def __init__(self, page: Page, selectors: Selectors,
                 on_progress: Callable[[int], None] | None = None) -> None:
        self.page = page
        self.selectors = selectors
        self.words: SiteWords | None = None
        self.localized = selectors
        self._base: dict[str, Any] = {}
        if on_progress is not None:
            page.expose_function("__grokbatchProgress", lambda p: on_progress(int(p)))
        install_page_script(page, selectors)

    def set_language(self, words: SiteWords) -> None:
        """Use this language's words (and the selectors localized with them)."""
        self.words = words
        self.localized = loc = self.selectors.localized(words)
        self._base = {
            "words": words.for_page(), "signIn": self.selectors.sign_in_pattern(),
            "errorToast": loc.error_toast, "infoToast": loc.info_toast,
            "choiceDialog": loc.choice_dialog, "editor": loc.prompt_editor,
            "progress": loc.progress, "makeVideo": loc.make_video_button,
            "redo": loc.redo_button, "editorSubmit": loc.editor_submit_button,
        }

    def _call(self, name: str, **arg: Any) -> Any:
        return self.page.evaluate(f"arg => window.__grokbatchPage.{name}(arg)",
                                  {**self._base, **arg})

    def language(self) -> str:
        """The page's `<html lang>` ('' when it has none)."""
        lang: str = self.page.evaluate("() => document.documentElement.lang || ''")
        return lang

    def snapshot(self) -> dict[str, Any]:
        """In one round trip: the videos on the page, a sign-in or error toast already
        showing (marked so it is never taken for a later one), and how many generation
        streams this page load has seen (`generation`)."""
        result: dict[str, Any] = self._call("snapshot")
        return result

    def mark_generate(self, covered: bool = False) -> dict[str, Any] | None:
        """Find the generate control and mark it `[data-grokbatch-target=generate]`; with
        `covered`, also say what a click at its middle would reach instead (doctor's look)."""
        result: dict[str, Any] | None = self._call("markGenerate", covered=covered)
        return result

    def mark_choice(self, choice: str) -> dict[str, Any] | None:
        """In the choice dialog, mark what to click for `choice`; the kept video's src."""
        result: dict[str, Any] | None = self._call("markChoice", choice=choice)
        return result

    def choice_shown(self) -> bool:
        """Whether the "which video do you prefer?" dialog is showing."""
        return bool(self._call("choiceShown"))

    def shown_video(self, timeout_ms: float) -> str | None:
        """The src of the video the page shows, once it can play; None if none can
        within `timeout_ms`."""
        try:
            src: str = wait_for_value(
                self.page, "arg => window.__grokbatchPage.shownVideo(arg)",
                arg=self._base, timeout_ms=timeout_ms, polling=_POLL_MS)
        except PlaywrightTimeoutError:
            return None
        return src

    def wait(self, *, mode: str, since_generation: int, old_srcs: list[str],
             timeout_ms: float, want_progress: bool = False,
             grace_ms: float = 0) -> dict[str, Any]:
        """Wait until the page shows something decisive for `mode` (see page.js)."""
        result: dict[str, Any] = wait_for_value(
            self.page, "arg => window.__grokbatchPage.check(arg)",
            arg={**self._base, "mode": mode, "since": since_generation, "old": old_srcs,
                 "wantProgress": want_progress, "graceMs": grace_ms},
            timeout_ms=timeout_ms, polling=_POLL_MS,
        )
        return result
