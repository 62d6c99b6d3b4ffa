"""`grokbatch doctor`: would a run work? One look at the page, nothing generated.

Shows the browser and its version, whether GROKBATCH_HOME is writable, whether the account
is signed in (or the site answers with a browser check), the page's UI language and
whether grokbatch has words for it, the video quota, and which of the selectors a ready
post page should answer are found. Saves a screenshot and the page's HTML (prompt editor
emptied) under `<home>/doctor/`. The first thing to run when the site changed.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from grokbatch import accounts, paths
from grokbatch.browser import find_browser
from grokbatch.drivers import WORKERS_PER_DRIVER, check_shared_driver
from grokbatch.errors import ExitCode
from grokbatch.profiles import remove_profile
from grokbatch.site.page_check import PageCheck, unreadable_selectors_message
from grokbatch.site.preflight import look_at_page
from grokbatch.site.selectors import Selectors

# `chromium --version` answers in well under a second; this only bounds a broken binary.
_VERSION_TIMEOUT_S = 10.0


@dataclass
class DoctorReport:
    """Everything doctor found, and what it means for a run."""

    check: PageCheck
    browser_version: str
    home: Path
    home_writable: bool
    saved: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Why workers could not share a Playwright driver (None: they can); never a problem:
    # each worker then starts its own.
    shared_driver_error: str | None = None

    @property
    def exit_code(self) -> int:
        """0 when a run would work, 3 when not signed in, 1 otherwise."""
        if self.check.challenge or self.check.signed_in is False:
            return ExitCode.AUTH_REQUIRED
        return ExitCode.FAILED_ITEMS if self.problems else ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        """As `doctor --json` prints it."""
        check = self.check
        return {
            "ok": not self.problems,
            "exitCode": self.exit_code,
            "problems": self.problems,
            "browser": {"path": check.browser, "version": self.browser_version},
            "home": {"path": str(self.home), "writable": self.home_writable},
            "sharedDriver": {"ok": self.shared_driver_error is None,
                             "error": self.shared_driver_error},
            "page": {"url": check.url, "httpStatus": check.http_status, "error": check.error},
            "challenge": check.challenge,
            "signedIn": check.signed_in,
            "language": check.language,
            "wordsLanguage": check.words_language,
            "quota": check.quota.quota.to_json() if check.quota and check.quota.quota else None,
            "quotaUnknown": (check.quota.why_unknown() or None) if check.quota else None,
            "selectors": check.selectors,
            "generateControl": check.generate_control,
            "generateControlLabel": check.generate_label or None,
            "generateControlCoveredBy": check.generate_covered_by,
            "saved": self.saved,
        }


def _browser_version(path: str) -> str:
    if not path or path.startswith("channel "):
        return ""
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True,
                             timeout=_VERSION_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip()


def _home_writable(home: Path) -> bool:
    try:
        paths.make_private_dir(home / "doctor")
        with tempfile.NamedTemporaryFile(dir=home / "doctor", prefix=".probe-"):
            return True
    except OSError:
        return False


def _problems(report: DoctorReport, permalink_given: bool) -> list[str]:
    check, found = report.check, []
    if not report.home_writable:
        found.append(f"{report.home} is not writable")
    if check.error:
        found.append(f"the page did not load: {check.error}")
    if check.challenge:
        found.append("the site answers with a browser check: open it with "
                     "`grokbatch accounts add ALIAS` (headed) and pass the check there")
    elif check.signed_in is False:
        found.append("not signed in: run `grokbatch accounts add ALIAS` again")
    elif check.signed_in is None and not check.error:
        found.append("neither the app nor a sign-in control showed")
    if check.signed_in and check.words_language is None:
        found.append(f"no words for the page's language {check.language!r}: add them with "
                     "--selectors (a \"words\" entry)")
    if check.unreadable_selectors:
        found.append(unreadable_selectors_message(check.unreadable_selectors))
    quota = check.quota.quota if check.quota else None
    if quota is not None and not quota.available:
        found.append("the video quota is used up for now")
    if permalink_given and check.signed_in and check.words_language:
        found += [f"selector {name} not found" for name, ok in check.selectors.items() if not ok]
        if check.generate_control is None:
            found.append("no generate control found")
        elif check.generate_covered_by:
            found.append(f"the generate control is covered by {check.generate_covered_by}: an "
                         "overlay grokbatch does not close (the selectors banner, "
                         "banner_dismiss; see the screenshot)")
    return found


def run_doctor(alias: str, permalink: str | None, *, selectors_file: Path | None,
               browser_path: str | None, page_load_timeout_s: float,
               headless_shell: bool = False) -> DoctorReport:
    """Look at the page as a run would; generate nothing."""
    selectors = Selectors.load(selectors_file)
    account = accounts.get_account(alias)
    home = paths.home()
    writable = _home_writable(home)
    url = permalink or account.site_url
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    workdir = Path(tempfile.mkdtemp(prefix="doctor-", dir=home / "doctor")) if writable else (
        Path(tempfile.mkdtemp(prefix="grokbatch-doctor-")))
    os.chmod(workdir, paths.PRIVATE_DIR_MODE)
    try:
        check = look_at_page(account.profile_dir, url, selectors, workdir=workdir,
                             browser_path=browser_path, headless_shell=headless_shell,
                             page_load_timeout_s=page_load_timeout_s,
                             inspect=permalink is not None,
                             save_stem=home / "doctor" / f"doctor-{stamp}" if writable else None)
    finally:
        remove_profile(workdir)
    if not check.browser:
        with sync_playwright() as playwright:
            check.browser = find_browser(playwright, browser_path,
                                         headless_shell=headless_shell).describe()
    report = DoctorReport(check, _browser_version(check.browser), home, writable,
                          shared_driver_error=check_shared_driver())
    report.saved = [str(p) for p in sorted((home / "doctor").glob(f"doctor-{stamp}.*"))]
    report.problems = _problems(report, permalink is not None)
    return report


def format_report(report: DoctorReport) -> str:
    """The report as lines for a person."""
    check = report.check
    quota = check.quota.quota if check.quota else None
    lines = [
        f"browser     {check.browser} {report.browser_version}".rstrip(),
        f"home        {report.home} ({'writable' if report.home_writable else 'NOT writable'})",
        "driver      " + (f"shared, one for every {WORKERS_PER_DRIVER} workers (at most "
                          "one per core)"
                          if report.shared_driver_error is None
                          else f"one per worker (a shared one: {report.shared_driver_error})"),
        f"page        {check.url} (HTTP {check.http_status or '-'})",
        "signed in   " + ("browser check" if check.challenge else
                          {True: "yes", False: "no", None: "unknown"}[check.signed_in]),
        f"language    {check.language or '(none)'} "
        f"({'words: ' + check.words_language if check.words_language else 'no words'})",
    ]
    if quota is None:
        why = f" ({check.quota.why_unknown()}: a run stops on the site's own limit)" if (
            check.quota is not None and check.signed_in) else ""
        lines.append(f"quota       unknown{why}")
    else:
        left = ("used up" if not quota.available else "available" if quota.remaining is None
                else f"{quota.remaining} left")
        next_at = quota.next_available_at
        until = f", next at {next_at.isoformat()}" if next_at else ""
        lines.append(f"quota       {left}{until}")
    for name, ok in check.selectors.items():
        lines.append(f"selector    {name:<22} {'found' if ok else 'MISSING'}")
    if check.selectors:
        how = check.generate_control
        label = f", {check.generate_label!r}" if check.generate_label else ""
        if how == "beside the editor":  # neither its selector nor its words found it
            label += "; a guess by its place: is that the control that makes a video?"
        lines.append(f"selector    {'generate control':<22} "
                     f"{'found (' + how + label + ')' if how else 'MISSING'}")
    for path in report.saved:
        lines.append(f"saved       {path}")
    lines += [f"problem     {p}" for p in report.problems]
    lines.append("verdict     " + ("a run would work" if not report.problems
                                   else "a run would not work (see the problems above)"))
    return "\n".join(lines)
