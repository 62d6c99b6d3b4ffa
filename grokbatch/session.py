"""Is this page signed in? One check shared by `accounts add` and every worker."""

from __future__ import annotations

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from grokbatch.selectors import Selectors


def detect_signed_in(page: Page, selectors: Selectors, timeout_s: float) -> bool | None:
    """True if the page shows the app shell and no sign-in control, False if it shows a
    sign-in control, None if neither appeared within `timeout_s`."""
    shell = page.locator(selectors.app_shell)
    sign_in = page.locator(selectors.sign_in)
    try:
        shell.or_(sign_in).first.wait_for(state="visible", timeout=timeout_s * 1000)
    except PlaywrightError:
        return None
    if sign_in.first.is_visible():
        return False
    return shell.first.is_visible()
