"""`grokbatch doctor`: look at the page as a run would, generate nothing, say what is wrong."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from grokbatch.config import DEFAULT_PAGE_LOAD_TIMEOUT_S, validate_permalink
from grokbatch.paths import validate_name


def doctor(
    account: str = typer.Option(..., "--account", help="Account alias (see `accounts list`)."),
    permalink: str | None = typer.Option(
        None, help="An image post URL, to check the post page's controls too."
    ),
    selectors: Path | None = typer.Option(
        None, "--selectors", help="JSON file overriding UI selectors and words."
    ),
    browser_path: str | None = typer.Option(
        None, "--browser-path", envvar="GROKBATCH_BROWSER", help="Chromium/Chrome executable."
    ),
    headless_shell: bool = typer.Option(
        False, "--headless-shell",
        help="Look with Chromium's headless shell, as `run start --headless-shell` would.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Check that a run would work: signed in, UI language, selectors, quota, browser, home.

    Opens the page once, headless, and generates nothing. Saves a screenshot and the page's
    HTML under GROKBATCH_HOME/doctor/. Exit 0 when a run would work, 3 when not signed in,
    1 otherwise. The site changed? Run this first.
    """
    from grokbatch.browser import check_browser_path
    from grokbatch.doctor import format_report, run_doctor  # Playwright: only when used

    validate_name(account, "account alias")
    if permalink is not None:
        permalink = validate_permalink(permalink)
    if browser_path is not None:
        check_browser_path(browser_path)  # exit 2 before anything is written
    report = run_doctor(account, permalink, selectors_file=selectors,
                        browser_path=browser_path, headless_shell=headless_shell,
                        page_load_timeout_s=DEFAULT_PAGE_LOAD_TIMEOUT_S)
    text = json.dumps(report.to_json(), indent=2) if as_json else format_report(report)
    typer.echo(text.replace("ALIAS", account))
    sys.exit(report.exit_code)
