"""Fixtures for end-to-end tests: real Chromium, and accounts on the simulator (whose
``simulator`` fixture is in tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from grokbatch.browser import browser_env, find_browser, launch_args
from grokbatch.simulator.lifecycle import start_simulator
from grokbatch.simulator.scenario import SimulatorOptions
from tests.e2e.clihelpers import ALIAS, install_account, run_cli


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium binary: ``$GROKBATCH_BROWSER``, else /usr/bin/chromium or PATH."""
    candidates = [os.environ.get("GROKBATCH_BROWSER"), "/usr/bin/chromium"]
    candidates += [shutil.which(n) for n in ("chromium", "chromium-browser")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail(
        "No Chromium found: set GROKBATCH_BROWSER to a Chromium binary "
        "or install one (apt-get install chromium)."
    )


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    """One Playwright driver for the whole test session."""
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def headless_shell(playwright_instance: Playwright) -> str:
    """Chromium's headless shell, as `--headless-shell` finds it."""
    return find_browser(playwright_instance, headless_shell=True).describe()


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright, chromium_path: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One headless Chromium for the whole test session (tests use fresh contexts), with
    the flags and environment of a worker's browser; its crash dumps go to a temp home."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GROKBATCH_HOME", str(tmp_path_factory.mktemp("browser-home")))
        args, browser_environment = launch_args(headless=True), browser_env()
    browser = playwright_instance.chromium.launch(
        executable_path=chromium_path, headless=True, args=args, env=browser_environment
    )
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def temp_dir() -> Iterator[Path]:
    """An empty temporary directory of the test's own, for a run's or a driver's TMPDIR
    (`clihelpers.temp_env`): what they leave there is theirs alone, whatever tests run
    beside this one. Short, under /tmp: Chromium keeps a Unix socket a few levels down."""
    path = Path(tempfile.mkdtemp(prefix="gb-tmp-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[Page]:
    """A fresh page in a fresh context (no cookies)."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


# --- a signed-in account for the tests of `run start` -------------------------------------
@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GROKBATCH_HOME with one account signed in to a simulator (made once per session).

    Sessions are validated statelessly and cookies are not port-scoped, so a copy of this
    account is signed in on every simulator a test starts.
    """
    home = tmp_path_factory.mktemp("template-home")
    sim = start_simulator(SimulatorOptions(auto_login=True))
    try:
        result = run_cli(
            home,
            "accounts",
            "add",
            ALIAS,
            "--url",
            f"{sim.url}/imagine",
            "--headless",
            "--timeout",
            "60",
        )
    finally:
        sim.stop()
    assert result.code == 0, result.stderr
    return home


@pytest.fixture
def home(grokbatch_home: Path, template_home: Path) -> Path:
    """This test's GROKBATCH_HOME, holding a copy of the signed-in account."""
    install_account(template_home, grokbatch_home)
    return grokbatch_home
