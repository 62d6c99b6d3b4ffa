"""The controls of the image post page that surround a generation.

Everything grokbatch clicks on the post page besides the generate control: the
announcement banner, the options that pick a video's length and resolution (in a menu or
a settings popover, whichever holds them), the prompt editor, the "more options" menu
(upscale, delete) and the "which video do you prefer?" dialog, plus a debug snapshot of
the page with the prompt taken out. What any of it means for the attempt is the
generator's business: these methods click, and say whether it worked.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from urllib.parse import urlsplit

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from grokbatch.errors import OptionNotOfferedError
from grokbatch.logs import first_line
from grokbatch.site.pagewatch import PageWatch, wait_for_value
from grokbatch.site.selectors import Selectors
from grokbatch.site.snapshot import save_snapshot

# What page.js marks in the choice dialog as the control to click for the kept video.
_CHOICE = '[data-grokbatch-target="choice"]'
# The path of each video's file on the page (a <video src>, or its <source>).
_VIDEO_PATHS = """() => [...document.querySelectorAll('video')].map((v) => {
  const src = v.currentSrc || v.getAttribute('src') || v.querySelector('source')?.src || '';
  return src ? new URL(src, document.baseURI).pathname : '';
})"""
# An options item that names a video length, its whole text: "6s", "10 s", and the
# seconds of other UI languages ("10秒", "10 seg", "10 сек"); matched by the number.
_LENGTH_TEXT = re.compile(
    r"^\s*(\d{1,3})\s*(?:s|sec|secs|seconds?|seg|segs|segundos?|sek|sekunden|сек|秒|초)\.?\s*$",
    re.IGNORECASE)
# An options item that names a resolution, its whole text: "480p", "720p".
_RESOLUTION_TEXT = re.compile(r"^\s*\d{3,4}p\s*$", re.IGNORECASE)
# Any item of the video options, whatever it picks.
_OPTION_ITEMS = '[role="menuitemradio"], [role="radio"], [role="option"]'
# Opening an options menu shows its items within this long, or it is the wrong menu.
_MENU_OPEN_MS = 2_000
# Options triggers tried, at most, to find a resolution or length item.
_MAX_TRIGGERS = 3


# Playwright's call log says this once it has clicked (a timeout after it is a wait for
# what the click set off, not a click that never happened).
_CLICK_DONE = "click action done"


def clicked(exc: PlaywrightError) -> bool:
    """Whether a click that raised `exc` may have clicked all the same: all but a timeout
    whose call log shows no click done."""
    return not (isinstance(exc, PlaywrightTimeoutError) and _CLICK_DONE not in str(exc))


class PostPage:
    """The post page's controls, found with the selectors of the page's language."""

    def __init__(self, page: Page, watch: PageWatch, *, element_timeout_s: float,
                 worker_id: str) -> None:
        self.page = page
        self.watch = watch
        self.element_ms = element_timeout_s * 1000
        self.worker_id = worker_id
        self.upscale_asked = False  # whether the last `upscale` may have asked the site
        self._item_click_tried = False  # `_open_more_options` came to its item's click

    @property
    def loc(self) -> Selectors:
        """The selectors in the page's language."""
        return self.watch.localized

    def dismiss_banner(self) -> None:
        """Close an announcement overlay, if one covers the page."""
        banner = self.page.locator(self.loc.banner).first
        try:
            shown = banner.is_visible()
        except PlaywrightError:
            return
        if shown:
            logger.debug("{}: dismissing an announcement overlay", self.worker_id)
            close = self.page.locator(self.loc.banner_dismiss).first
            if close.is_visible():
                close.click(timeout=self.element_ms)
            else:
                self.page.keyboard.press("Escape")
            banner.wait_for(state="hidden", timeout=self.element_ms)

    def choose_options(self, video_duration: str | None, resolution: str | None) -> None:
        """Pick the video length ("max": the longest) and resolution; None keeps the site's.
        Raises OptionNotOfferedError when the options hold none like the one asked for."""
        if video_duration:
            self._pick_length(video_duration)
        if resolution:
            item = self.page.locator(self.loc.resolution_item.format(resolution=resolution))
            if not self._open_options(item.first):
                raise OptionNotOfferedError(_not_offered("resolution", resolution,
                                                         self._offered_resolutions(),
                                                         "--resolution"))
            self._click_option(item.first)

    def _offered_resolutions(self) -> list[str]:
        """The resolutions the options show ("480p", ...), to say what they do offer."""
        items = self.page.locator(_OPTION_ITEMS).filter(has_text=_RESOLUTION_TEXT)
        if not self._open_options(items.first):
            return []
        offered = [text.strip() for text in items.all_inner_texts()]
        self.page.keyboard.press("Escape")
        return offered

    def _pick_length(self, wanted: str) -> None:
        """Click the length item that `wanted` names, or the longest for "max", telling the
        lengths ("6s", "10 s") from the other items of the same options by their text: the
        mode (Normal, Fun, Spicy) sits beside them and is never clicked."""
        lengths = self.page.locator(self.loc.video_duration_item.format(duration="")).filter(
            has_text=_LENGTH_TEXT)
        offered: list[tuple[int, int, str]] = []  # (seconds, index, text) of each shown
        if self._open_options(lengths.first):
            for index, text in enumerate(lengths.all_inner_texts()):
                match = _LENGTH_TEXT.match(text)
                if match and lengths.nth(index).is_visible():
                    offered.append((int(match[1]), index, text.strip()))
        seconds = None if wanted == "max" else int(wanted.rstrip("s"))
        picked = [o for o in offered if seconds is None or o[0] == seconds]
        if not picked:
            if offered:
                self.page.keyboard.press("Escape")
            raise OptionNotOfferedError(_not_offered("video length", wanted,
                                                     [o[2] for o in offered],
                                                     "--video-duration"))
        self._click_option(lengths.nth(max(picked)[1]))

    def _open_options(self, item: Locator) -> bool:
        """Show `item`, opening whichever options UI holds it; whether it is shown."""
        if item.is_visible():
            return True
        triggers = self.page.locator(self.loc.video_options_button)
        for n in range(min(triggers.count(), _MAX_TRIGGERS)):
            trigger = triggers.nth(n)
            if not trigger.is_visible():
                continue
            trigger.click(timeout=self.element_ms)
            try:
                item.wait_for(state="visible", timeout=_MENU_OPEN_MS)
                return True
            except PlaywrightError:
                self.page.keyboard.press("Escape")
        return False

    def _click_option(self, item: Locator) -> None:
        item.click(timeout=self.element_ms)
        if item.is_visible():  # a settings popover stays open after a pick: close it
            self.page.keyboard.press("Escape")

    def fill_prompt(self, prompt: str) -> bool:
        """Type `prompt` into the prompt editor; False if the page shows none in time."""
        editor = self.page.locator(self.loc.prompt_editor).first
        try:
            editor.wait_for(state="visible", timeout=self.element_ms)
        except PlaywrightTimeoutError:
            return False
        editor.fill(prompt, timeout=self.element_ms)
        return True

    def _open_more_options(self, item_selector: str) -> None:
        # A video's own post (where a video found again, or one a rerun saves, is upscaled
        # or deleted) shows the site's overlay too: only a generation's page dismissed it.
        self.dismiss_banner()
        self._item_click_tried = False
        self.page.locator(self.loc.more_options_button).first.click(timeout=self.element_ms)
        self._item_click_tried = True
        self.page.locator(item_selector).first.click(timeout=self.element_ms)

    def upscale(self, timeout_s: float) -> str | None:
        """Ask for the HD version of the shown video; its absolute URL, or None if it failed
        (`upscale_asked` then says whether the site may have been asked all the same).
        A video that has one already (an earlier try asked for it) shows it: it is taken,
        not asked for again."""
        self.upscale_asked = True
        try:
            hd = self.page.locator(self.loc.hd_video)
            if not hd.count():
                self.upscale_asked = False
                self._open_more_options(self.loc.upscale_item)
                self.upscale_asked = True
            hd.first.wait_for(state="attached", timeout=timeout_s * 1000)
            return self.shown_hd()
        except PlaywrightError as exc:
            if not self.upscale_asked:  # failed on the way to the site's upscale item
                self.upscale_asked = self._item_click_tried and clicked(exc)
            logger.warning("{}: upscale failed{}: {}", self.worker_id,
                           "" if self.upscale_asked else " (the site was not asked)",
                           first_line(str(exc)))
            return None

    def shown_hd(self, timeout_ms: float = 0) -> str | None:
        """The absolute URL of the HD copy of the video the page shows, once it shows one
        (waiting up to `timeout_ms` for it); None if it does not."""
        hd = self.page.locator(self.loc.hd_video)
        if timeout_ms > 0:
            with contextlib.suppress(PlaywrightTimeoutError):
                hd.first.wait_for(state="attached", timeout=timeout_ms)
        if not hd.count():
            return None
        src = hd.first.get_attribute("src") or ""
        url: str = self.page.evaluate("s => new URL(s, document.baseURI).href", src)
        return url

    def shows_video(self, url: str) -> bool:
        """Whether one of the page's videos plays the file at `url` (by its path: the
        host and the query may differ)."""
        paths: list[str] = self.page.evaluate(_VIDEO_PATHS)
        return urlsplit(url).path in paths

    def delete_video(self) -> bool:
        """Delete the shown video from the site; True once it is gone from the page."""
        try:
            video = self.page.locator(self.loc.video)
            count_before = video.count()
            self._open_more_options(self.loc.delete_item)
            self.page.locator(self.loc.delete_confirm).first.click(timeout=self.element_ms)
            wait_for_value(self.page,
                           "([sel, n]) => document.querySelectorAll(sel).length < n",
                           arg=["video[src]", count_before], timeout_ms=self.element_ms)
            return True
        except PlaywrightError as exc:
            logger.warning("{}: delete failed: {}", self.worker_id, first_line(str(exc)))
            return False

    def answer_choice(self, choice: str, timeout_ms: float) -> tuple[str | None, bool]:
        """Answer "which video do you prefer?" with `choice` ("skip": close the dialog).

        Returns the kept video's src as the dialog gave it (None when it gave none), and
        whether the dialog closed within `timeout_ms`.
        """
        marked = self.watch.mark_choice(choice) or {}
        logger.debug("{}: the site asks which video to keep; answering {}", self.worker_id,
                     choice)
        if marked.get("marked"):
            self.page.locator(_CHOICE).first.click(timeout=self.element_ms)
        else:
            self.page.keyboard.press("Escape")
        closed = True
        try:
            wait_for_value(self.page, "arg => !window.__grokbatchPage.choiceShown(arg)",
                           arg={"choiceDialog": self.loc.choice_dialog}, timeout_ms=timeout_ms)
        except PlaywrightError:
            logger.warning("{}: the choice dialog did not close", self.worker_id)
            closed = False
        return marked.get("src") or None, closed

    def save_snapshot(self, debug_dir: Path, stem: str) -> None:
        """Save `<stem>.png` and `<stem>.html` in `debug_dir`, with no prompt in them
        (`snapshot`)."""
        save_snapshot(self.page, debug_dir / stem, self.loc.prompt_editor,
                      source=self.worker_id)


def _not_offered(what: str, wanted: str, offered: list[str], flag: str) -> str:
    """What to say when the site's options hold no `what` like `wanted`."""
    if not offered:
        return (f"the site's video options offer no {what} to choose from: leave out "
                f"{flag} to keep the site's")
    return (f"the site's video options offer no {what} {wanted} (they offer "
            f"{', '.join(offered)}): choose another with {flag}, or leave it out to keep "
            "the site's")
