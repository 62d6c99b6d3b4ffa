"""Account profiles: a signed-in Chromium user-data directory per alias, plus metadata.

`<home>/accounts/<alias>/profile/` is the profile (0700: it holds session cookies);
`<home>/accounts/<alias>/account.json` records when it was created and last used, and
the site it signs in to.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from grokbatch import paths
from grokbatch.browser import no_display
from grokbatch.clock import now_iso
from grokbatch.config import check_seconds, split_http_url
from grokbatch.errors import (
    AuthRequiredError,
    DiskError,
    InterruptedBySignalError,
    JobLockedError,
    UnknownAccountError,
    UsageError,
)
from grokbatch.files import write_atomically
from grokbatch.locks import job_is_running
from grokbatch.processes import pid_alive
from grokbatch.profiles import copy_profile, remove_profile, remove_tree
from grokbatch.site.selectors import Selectors

DEFAULT_SITE_URL = "https://grok.com/imagine"
# Cookie names that carry a grok.com session (the simulator uses the same).
SESSION_COOKIE_NAMES = ("sso", "sso-rw")
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


def jobs_running_on(alias: str) -> list[str]:
    """The jobs with a live run on account `alias` (their runs copy its profile when each
    worker starts)."""
    running = []
    for manifest_path in sorted(paths.runs_dir().glob("*/manifest.json")):
        try:
            owner = json.loads(manifest_path.read_text(encoding="utf-8")).get("accountAlias")
        except (OSError, ValueError, AttributeError):
            continue
        job = manifest_path.parent.name
        if owner == alias and job_is_running(job):
            running.append(job)
    return running


def remove_account(alias: str) -> None:
    """Delete an account's directory (profile and metadata); DiskError (exit 1) naming the
    path and the cause if any of it could not be removed. Refused (JobLockedError, exit 4)
    while a run uses the account: each of its workers copies the profile as it starts."""
    require_account(alias)
    running = jobs_running_on(alias)
    if running:
        raise JobLockedError(f"account {alias} is in use by a live run of job "
                             f"{', '.join(running)}: wait for it or stop it first")
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
    if not headless and (reason := no_display()):
        raise UsageError(f"{reason}: sign in from a desktop session (or `ssh -X`), or copy a "
                         "signed-in Chrome profile with `grokbatch accounts import`")
    from grokbatch.sign_in import SignInBrowser  # Playwright: only to add an account

    # The browser is found before anything is written.
    with SignInBrowser(browser_path) as browser, _new_account_dir(alias) as profile:
        signed_in = browser.sign_in(profile, url, headless=headless, timeout_s=timeout_s,
                                    page_load_timeout_s=page_load_timeout_s,
                                    selectors=selectors or Selectors())
        if browser.interrupted:
            raise InterruptedBySignalError(f"interrupted before account {alias} signed in")
        if not signed_in and not profile_has_session(profile, url):
            raise AuthRequiredError(
                f"no signed-in session seen at {url} within {timeout_s:.0f} s; "
                f"run `grokbatch accounts add {alias}` again and sign in"
            )
        _record_account(alias, url)
    return get_account(alias)


def _browser_using(user_data: Path) -> str | None:
    """The browser that holds `user_data`, as its `SingletonLock` names it ("host-PID"),
    if it is alive on this machine (or on another: then it cannot be told); else None."""
    try:
        target = os.readlink(user_data / "SingletonLock")
    except OSError:
        return None
    host, _, pid = target.rpartition("-")
    if host != socket.gethostname():
        return f"on {host}" if host else target
    return f"PID {pid}" if pid.isdigit() and pid_alive(int(pid)) else None


def import_account(alias: str, chrome_profile: str | Path, *,
                   url: str = DEFAULT_SITE_URL) -> Account:
    """Copy an existing signed-in Chrome/Chromium user-data directory as `alias`."""
    paths.validate_name(alias, "account alias")
    if not str(chrome_profile).strip():  # Path("") is the current directory
        raise UsageError("--from-chrome-profile is empty: give Chrome's user-data directory")
    source = Path(chrome_profile).expanduser()
    if not source.is_dir():
        raise UsageError(f"{source} does not exist or is not a directory: give Chrome's "
                         "user-data directory (chrome://version shows it as Profile Path, "
                         "without the last part)")
    if not (source / "Local State").is_file() and not (source / "Default").is_dir():
        raise UsageError(
            f"{source} is not a Chrome user-data directory (no 'Local State' or 'Default')"
        )
    browser = _browser_using(source)
    if browser is not None:
        raise UsageError(f"{source} is in use by a running browser ({browser}): close it "
                         "first, or its copy may be caught half written (no browser runs "
                         f"there? remove {source / 'SingletonLock'})")
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
