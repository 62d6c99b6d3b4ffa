"""Is this page signed in? One check shared by `accounts add`, the preflight and workers."""

from __future__ import annotations

import re

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page

from grokbatch.site.selectors import Selectors


def sign_in_control(page: Page, selectors: Selectors) -> Locator:
    """A "Sign in"/"Log in" link or button, in any language grokbatch has words for."""
    name = re.compile(selectors.sign_in_pattern(), re.IGNORECASE)
    return page.get_by_role("button", name=name).or_(page.get_by_role("link", name=name))


def detect_signed_in(page: Page, selectors: Selectors, timeout_s: float) -> bool | None:
    """True if the page shows the app (its shell or the prompt editor) and no sign-in
    control, False if it shows a sign-in control without the app, None if neither
    appeared within `timeout_s`."""
    app = page.locator(selectors.app_shell).or_(page.locator(selectors.prompt_editor))
    sign_in = sign_in_control(page, selectors)
    try:
        app.or_(sign_in).first.wait_for(state="visible", timeout=timeout_s * 1000)
    except PlaywrightError:
        return None
    try:
        app_shown = app.first.is_visible()
        editor_shown = page.locator(selectors.prompt_editor).first.is_visible()
        if sign_in.first.is_visible() and not editor_shown:
            return False
    except PlaywrightError:
        return None
    return app_shown
