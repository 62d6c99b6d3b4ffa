"""Account profiles: a signed-in Chromium user-data directory per alias, plus metadata.

`<home>/accounts/<alias>/profile/` is the profile (0700: it holds session cookies);
`<home>/accounts/<alias>/account.json` records when it was created and last used, and
the site it signs in to.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Playwright, sync_playwright

from grokbatch import paths
from grokbatch.browser import BrowserChoice, find_browser, launch_persistent
from grokbatch.clock import now_iso
from grokbatch.config import check_seconds, split_http_url
from grokbatch.errors import (
    AuthRequiredError,
    DiskError,
    InterruptedBySignalError,
    NoBrowserError,
    SiteUnreachableError,
    UnknownAccountError,
    UsageError,
)
from grokbatch.files import write_atomically
from grokbatch.profiles import copy_profile, remove_profile, remove_tree
from grokbatch.site.selectors import Selectors
from grokbatch.site.session import detect_signed_in, sign_in_control

DEFAULT_SITE_URL = "https://grok.com/imagine"
# Cookie names that carry a grok.com session (the simulator uses the same).
SESSION_COOKIE_NAMES = ("sso", "sso-rw")
# Each look at the page waits at most this long, so a closed window is noticed quickly.
_SIGN_IN_POLL_S = 1.0
# Longest a person may take to sign in (a password and a 2FA code take minutes, not hours).
MAX_SIGN_IN_S = 3600.0
# Chromium stores times as microseconds since 1601-01-01.
_CHROMIUM_EPOCH_OFFSET_S = 11644473600


@dataclass
class Account:
    """One stored account."""

    alias: str
    site_url: str
    created_at: str
    last_used_at: str | None
    profile_dir: Path
    looks_signed_in: bool = False

    def to_json(self) -> dict[str, Any]:
        """The account as `accounts list --json` prints it."""
        row = asdict(self)
        row["profile_dir"] = str(self.profile_dir)
        return {
            "alias": row["alias"],
            "siteUrl": row["site_url"],
            "createdAt": row["created_at"],
            "lastUsedAt": row["last_used_at"],
            "looksSignedIn": row["looks_signed_in"],
        }


def _read_meta(alias: str) -> dict[str, Any]:
    path = paths.account_meta_file(alias)
    try:
        meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return meta
    except (OSError, ValueError, RecursionError):  # ValueError: bad JSON or not UTF-8
        return {}


def _write_meta(alias: str, meta: dict[str, Any]) -> None:
    write_atomically(paths.account_meta_file(alias), json.dumps(meta, indent=2).encode())


def require_account(alias: str) -> Path:
    """The profile directory of `alias`, or UnknownAccountError (exit 2)."""
    profile = paths.account_profile_dir(alias)
    if not profile.is_dir():
        raise UnknownAccountError(
            f"unknown account {alias!r}: add it with `grokbatch accounts add {alias}` "
            "(see `grokbatch accounts list`)"
        )
    return profile


def get_account(alias: str) -> Account:
    """The stored account `alias`."""
    profile = require_account(alias)
    meta = _read_meta(alias)
    site_url = meta.get("siteUrl", DEFAULT_SITE_URL)
    return Account(
        alias=alias,
        site_url=site_url,
        created_at=meta.get("createdAt", ""),
        last_used_at=meta.get("lastUsedAt"),
        profile_dir=profile,
        looks_signed_in=profile_has_session(profile, site_url),
    )


def list_accounts() -> list[Account]:
    """Every stored account, by alias."""
    root = paths.accounts_dir()
    if not root.is_dir():
        return []
    return [
        get_account(entry.name)
        for entry in sorted(root.iterdir())
        if paths.is_valid_name(entry.name) and (entry / "profile").is_dir()
    ]


def touch_last_used(alias: str) -> None:
    """Record that a run used the account now."""
    meta = _read_meta(alias)
    meta["lastUsedAt"] = now_iso()
    _write_meta(alias, meta)


def remove_account(alias: str) -> None:
    """Delete an account's directory (profile and metadata); DiskError (exit 1) naming the
    path and the cause if any of it could not be removed."""
    require_account(alias)
    try:
        remove_tree(paths.account_dir(alias))
    except DiskError as exc:
        raise DiskError(f"account {alias} was not removed: {exc}") from None


def profile_has_session(profile: Path, site_url: str) -> bool:
    """Whether the profile holds an unexpired session cookie for the site (no browser)."""
    try:
        host = (urlsplit(site_url).hostname or "").lower()
    except ValueError:  # account.json edited into a URL that does not parse
        return False
    now = time.time()
    for db in (profile / "Default" / "Network" / "Cookies", profile / "Default" / "Cookies"):
        if not db.is_file():
            continue
        try:
            with sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True) as conn:
                rows = conn.execute("SELECT host_key, name, expires_utc FROM cookies").fetchall()
        except sqlite3.Error:
            continue
        for host_key, name, expires_utc in rows:
            domain = str(host_key).lstrip(".").lower()
            if name not in SESSION_COOKIE_NAMES:
                continue
            if not (host == domain or host.endswith("." + domain)):
                continue
            expires = expires_utc / 1_000_000 - _CHROMIUM_EPOCH_OFFSET_S if expires_utc else 0
            if expires == 0 or expires > now:
                return True
    return False


def _record_account(alias: str, site_url: str) -> None:
    """Write the metadata of an account whose profile is complete."""
    meta = _read_meta(alias)
    meta.setdefault("alias", alias)
    meta.setdefault("createdAt", now_iso())
    meta["siteUrl"] = site_url
    _write_meta(alias, meta)


@contextlib.contextmanager
def _new_account_dir(alias: str) -> Iterator[Path]:
    """The account's profile directory (0700), made if new; if the block fails, a new
    account is removed again, so a failed add never leaves an account `run start` takes."""
    account_dir = paths.account_dir(alias)
    existed = (account_dir / "profile").is_dir()
    try:
        paths.make_private_dir(account_dir)
        yield paths.make_private_dir(account_dir / "profile")
    except BaseException:
        if not existed:
            remove_profile(account_dir)
        raise


@contextlib.contextmanager
def _stop_on_signal() -> Iterator[threading.Event]:
    """An Event set by SIGINT or SIGTERM while the block runs (main thread only).

    Without it, Ctrl-C while waiting for a sign-in was swallowed by Playwright's event
    loop, and the command waited out its whole timeout.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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


def add_account(
    alias: str,
    *,
    url: str,
    headless: bool,
    timeout_s: float,
    page_load_timeout_s: float,
    browser_path: str | None = None,
    selectors: Selectors | None = None,
) -> Account:
    """Open a browser at `url` on the account's profile and wait for a signed-in page.

    Returns once the page shows a signed-in session, or the person closed the window after
    signing in. Raises AuthRequiredError if no sign-in was seen within `timeout_s`,
    NoBrowserError for a browser that cannot start, SiteUnreachableError if `url` cannot
    be loaded, InterruptedBySignalError on SIGINT/SIGTERM; a new account is then removed.
    """
    paths.validate_name(alias, "account alias")
    split_http_url(url, "--url")
    check_seconds("--timeout", timeout_s, MAX_SIGN_IN_S, zero_ok=False)
    selectors = selectors or Selectors()
    with _stop_on_signal() as stop, sync_playwright() as playwright:
        choice = find_browser(playwright, browser_path)  # before anything is written
        with _new_account_dir(alias) as profile:
            signed_in = _sign_in(playwright, choice, profile, url, headless=headless,
                                 timeout_s=timeout_s, page_load_timeout_s=page_load_timeout_s,
                                 selectors=selectors, stop=stop)
            if stop.is_set():
                raise InterruptedBySignalError(f"interrupted before account {alias} signed in")
            if not signed_in and not profile_has_session(profile, url):
                raise AuthRequiredError(
                    f"no signed-in session seen at {url} within {timeout_s:.0f} s; "
                    f"run `grokbatch accounts add {alias}` again and sign in"
                )
            _record_account(alias, url)
    return get_account(alias)


def _sign_in(playwright: Playwright, choice: BrowserChoice, profile: Path, url: str, *,
             headless: bool, timeout_s: float, page_load_timeout_s: float,
             selectors: Selectors, stop: threading.Event) -> bool:
    """Launch the browser on `profile`, open `url` and wait for a sign-in; always close."""
    try:
        context = launch_persistent(
            playwright, profile, choice, headless=headless, timeout_s=page_load_timeout_s
        )
    except PlaywrightError as exc:
        raise NoBrowserError(
            f"browser {choice.describe()} did not start: {_first_line(exc)}"
        ) from None
    try:
        page = context.pages[0] if context.pages else context.new_page()
        try:
            page.goto(url, timeout=page_load_timeout_s * 1000, wait_until="domcontentloaded")
        except PlaywrightError as exc:
            if stop.is_set():
                return False
            raise SiteUnreachableError(f"cannot open {url}: {_first_line(exc)}") from None
        if not headless:
            logger.info("sign in in the browser window; it closes by itself once signed in")
        return _wait_for_sign_in(page, selectors, timeout_s, stop)
    finally:
        with contextlib.suppress(PlaywrightError):
            context.close()  # flushes cookies to disk


def import_account(alias: str, chrome_profile: Path, *, url: str = DEFAULT_SITE_URL) -> Account:
    """Copy an existing signed-in Chrome/Chromium user-data directory as `alias`."""
    paths.validate_name(alias, "account alias")
    source = Path(chrome_profile).expanduser()
    if not (source / "Local State").is_file() and not (source / "Default").is_dir():
        raise UsageError(
            f"{source} is not a Chrome user-data directory (no 'Local State' or 'Default')"
        )
    if paths.account_profile_dir(alias).is_dir():
        raise UsageError(f"account {alias!r} already exists; remove it first")
    split_http_url(url, "--url")
    with _new_account_dir(alias) as profile:
        try:
            copy_profile(source, profile)
        except OSError as exc:
            raise DiskError.from_os_error("copy the profile to", profile, exc) from None
        _record_account(alias, url)
    return get_account(alias)
