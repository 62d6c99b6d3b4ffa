"""One look at the post page before anything is spent: signed in, browser check, language,
quota, and (for `doctor`) which selectors the page answers.

A run makes this look once, on its first worker's page as soon as that page has loaded
(`look_at_loaded_page`), and no worker claims an item before the runner has read it: a
run that cannot work (signed out, a browser-check page, a UI language without words, no
video quota left) ends before a single generation, and the quota says how many may start.
`grokbatch doctor` makes the same look in a headless browser of its own (`look_at_page`)
and shows it in full.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

from grokbatch import scratch
from grokbatch.browser import find_browser, launch_persistent
from grokbatch.logs import first_line
from grokbatch.paths import make_private_dir
from grokbatch.profiles import copy_profile, remove_profile
from grokbatch.site.generator import challenge_response
from grokbatch.site.page_check import PageCheck
from grokbatch.site.pagewatch import PageWatch
from grokbatch.site.post_page import PostPage
from grokbatch.site.quota import fetch_quota
from grokbatch.site.selectors import Selectors
from grokbatch.site.session import detect_signed_in
from grokbatch.site.snapshot import save_snapshot

# Selectors a ready post page shows before any video is made; the rest (progress, the
# video, menus, dialogs, toasts) only appear during or after a generation.
READY_PAGE_SELECTORS = ("prompt_editor", "video_options_button")
# How long the look waits for an announcement to close, as a run would close it.
_DISMISS_S = 10.0


def look_at_page(
    profile: Path,
    permalink: str,
    selectors: Selectors,
    *,
    workdir: Path,
    browser_path: str | None,
    page_load_timeout_s: float,
    headless_shell: bool = False,
    inspect: bool = False,
    save_stem: Path | None = None,
) -> PageCheck:
    """Open `permalink` once, headless, on a copy of `profile`; generate nothing."""
    result = PageCheck(url=permalink)
    make_private_dir(workdir)
    copy = workdir / "preflight"
    remove_profile(copy)
    copy_profile(profile, copy)
    try:
        with scratch.for_command(), sync_playwright() as playwright:
            choice = find_browser(playwright, browser_path, headless_shell=headless_shell)
            result.browser = choice.describe()
            context = launch_persistent(playwright, copy, choice, headless=True,
                                        timeout_s=page_load_timeout_s)
            try:
                page = context.pages[0] if context.pages else context.new_page()
                _look(page, permalink, selectors, result, page_load_timeout_s, inspect)
                if save_stem is not None:
                    _save(page, selectors, save_stem)
            except PlaywrightError as exc:
                result.error = first_line(str(exc))
            finally:
                with contextlib.suppress(PlaywrightError):
                    context.close()
    finally:
        remove_profile(copy)
    return result


def _look(page: Page, permalink: str, selectors: Selectors, result: PageCheck,
          timeout_s: float, inspect: bool) -> None:
    watch = PageWatch(page, selectors)
    response = page.goto(permalink, timeout=timeout_s * 1000, wait_until="domcontentloaded")
    result.http_status = response.status if response is not None else None
    if challenge_response(response):
        result.challenge = True
        return
    _look_loaded(page, watch, selectors, result, timeout_s, inspect)


def look_at_loaded_page(page: Page, watch: PageWatch, selectors: Selectors, permalink: str,
                        timeout_s: float) -> PageCheck:
    """The look of `look_at_page`, on a page a worker has loaded already (with its watch):
    the run's check, made by its first worker instead of a browser of its own."""
    result = PageCheck(url=permalink, browser="a worker's")
    _look_loaded(page, watch, selectors, result, timeout_s, inspect=False)
    return result


def _look_loaded(page: Page, watch: PageWatch, selectors: Selectors, result: PageCheck,
                 timeout_s: float, inspect: bool) -> None:
    result.signed_in = detect_signed_in(page, selectors, timeout_s)
    result.language = watch.language()
    words = selectors.site_words(result.language)
    result.words_language = words.language if words else None
    result.unreadable_selectors = _unreadable(page, selectors.localized(words) if words
                                              else selectors)
    if result.signed_in is not False:
        result.quota = fetch_quota(page, selectors.quota_path)
        if result.quota.challenge:
            result.challenge = True
        elif result.signed_in is None and result.quota.status:
            result.signed_in = not result.quota.signed_out
    logger.debug("preflight: HTTP {}, signed in {}, language {!r}, quota {}",
                 result.http_status, result.signed_in, result.language,
                 result.quota.quota.to_json() if result.quota and result.quota.quota else None)
    if inspect and words is not None:
        watch.set_language(words)
        localized = watch.localized
        for name in READY_PAGE_SELECTORS:
            result.selectors[name] = _shown(page, getattr(localized, name))
        with contextlib.suppress(PlaywrightError):  # one that stays covers it: said below
            PostPage(page, watch, element_timeout_s=min(timeout_s, _DISMISS_S),
                     worker_id="doctor").dismiss_banner()  # as a run does, before its click
        found: dict[str, Any] | None = watch.mark_generate(covered=True)
        result.generate_control = found["how"] if found else None
        result.generate_label = (found.get("label") or "") if found else ""
        result.generate_covered_by = found.get("covered") if found else None


def _unreadable(page: Page, selectors: Selectors) -> dict[str, str]:
    """The selectors file's selectors that Playwright cannot read, with its error (asking
    the page how many elements each matches: one round trip each, none by default)."""
    unreadable = {}
    for name, selector in selectors.page_selectors().items():
        try:
            page.locator(selector).count()
        except PlaywrightError as exc:
            unreadable[name] = first_line(str(exc)).removeprefix("Locator.count: ")
    return unreadable


def _shown(page: Page, selector: str) -> bool:
    try:
        locator = page.locator(selector)
        return any(locator.nth(i).is_visible() for i in range(min(locator.count(), 10)))
    except PlaywrightError:
        return False


def _save(page: Page, selectors: Selectors, stem: Path) -> None:
    """A screenshot and the page's HTML, with no prompt in them (`snapshot`)."""
    save_snapshot(page, stem, selectors.prompt_editor, source="look at the page")
