"""Signing an account in: a browser on the account's new profile, open at the site until
the page shows a signed-in session (`accounts add`).

The only part of account handling that needs Playwright; `accounts.py` imports it when an
account is added, so the runner and every other command stay without it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType, TracebackType

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

from grokbatch import scratch
from grokbatch.browser import find_browser, launch_persistent
from grokbatch.errors import NoBrowserError, SiteChallengeError, SiteUnreachableError
from grokbatch.logs import first_line
from grokbatch.site.generator import challenge_response
from grokbatch.site.selectors import Selectors
from grokbatch.site.session import detect_signed_in, sign_in_control

# Each look at the page waits at most this long, so a closed window is noticed quickly.
_SIGN_IN_POLL_S = 1.0


class SignInBrowser:
    """Playwright started and the browser to sign in with found, with SIGINT and SIGTERM
    caught while it is open (`interrupted` tells whether one came)."""

    def __init__(self, browser_path: str | None) -> None:
        self.browser_path = browser_path
        self._stack = contextlib.ExitStack()
        self._stop = threading.Event()

    def __enter__(self) -> SignInBrowser:
        with self._stack as stack:
            self._stop = stack.enter_context(_stop_on_signal())
            stack.enter_context(scratch.for_command())  # closed after the driver below
            self.playwright = stack.enter_context(sync_playwright())
            self.choice = find_browser(self.playwright, self.browser_path)
            self._stack = stack.pop_all()  # all went well: keep them open until __exit__
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stack.close()

    @property
    def interrupted(self) -> bool:
        """Whether SIGINT or SIGTERM came while the browser was open."""
        return self._stop.is_set()

    def sign_in(self, profile: Path, url: str, *, headless: bool, timeout_s: float,
                page_load_timeout_s: float, selectors: Selectors) -> bool:
        """Launch the browser on `profile`, open `url` and wait for a sign-in; always close.

        True once the page showed a signed-in session; False when `timeout_s` ran out, a
        signal came, or the person closed the window first.
        """
        try:
            context = launch_persistent(self.playwright, profile, self.choice,
                                        headless=headless, timeout_s=page_load_timeout_s)
        except PlaywrightError as exc:
            raise NoBrowserError(
                f"browser {self.choice.describe()} did not start: {first_line(str(exc))}"
            ) from None
        try:
            page = context.pages[0] if context.pages else context.new_page()
            try:
                response = page.goto(url, timeout=page_load_timeout_s * 1000,
                                     wait_until="domcontentloaded")
            except PlaywrightError as exc:
                if self.interrupted:
                    return False
                raise SiteUnreachableError(f"cannot open {url}: {first_line(str(exc))}") from None
            if challenge_response(response):
                if headless:  # nobody can pass it: say so now, not after the whole wait
                    raise SiteChallengeError(
                        f"{url} answered with a browser check instead of the page: add the "
                        "account without --headless and pass the check in its window")
                logger.info("the site shows a browser check: pass it in the window, then "
                            "sign in")
            if not headless:
                logger.info("sign in in the browser window; it closes by itself once signed in")
            return _wait_for_sign_in(page, selectors, timeout_s, self._stop)
        finally:
            with contextlib.suppress(PlaywrightError):
                context.close()  # flushes cookies to disk


@contextlib.contextmanager
def _stop_on_signal() -> Iterator[threading.Event]:
    """An Event set by SIGINT, SIGTERM or SIGHUP while the block runs (main thread only).

    Without it, Ctrl-C while waiting for a sign-in was swallowed by Playwright's event
    loop, and the command waited out its whole timeout.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal)
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait_for_sign_in(page: Page, selectors: Selectors, timeout_s: float,
                      stop: threading.Event) -> bool:
    """Whether the page showed a signed-in session before `timeout_s`, a signal, or the
    person closing the window."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not page.is_closed() and not stop.is_set():
        try:
            state = detect_signed_in(page, selectors, _SIGN_IN_POLL_S)
            if state:
                return True
            if state is False:  # wait for the person to get past the sign-in
                sign_in_control(page, selectors).first.wait_for(
                    state="hidden", timeout=_SIGN_IN_POLL_S * 1000
                )
        except PlaywrightError:  # navigating, a wait ran out, or the window closed
            continue
    return False
