"""Fixtures for end-to-end tests: the simulator as a real subprocess, and real Chromium.

``simulator("--rate-limit-after", "2")`` starts ``grokbatch simulator serve --port 0 ...``,
waits for its ``listening on`` line and stops it at teardown.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from grokbatch.browser import browser_env, launch_args
from grokbatch.simulator.lifecycle import start_simulator
from grokbatch.simulator.scenario import SimulatorOptions
from tests.e2e.clihelpers import ALIAS, install_account, run_cli

# Bound on how long the simulator may take to print its listening line.
_STARTUP_TIMEOUT_S = 20.0
# Bound on how long the simulator may take to exit after SIGTERM before we kill it.
_STOP_TIMEOUT_S = 10.0


class SimulatorProcess:
    """A running simulator subprocess and helpers to talk to it over HTTP."""

    def __init__(self, args: tuple[str, ...]) -> None:
        """Start the subprocess and wait (bounded) for its ``listening on`` line."""
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grokbatch", "simulator", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(lines,), daemon=True).start()
        try:
            first = lines.get(timeout=_STARTUP_TIMEOUT_S)
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"simulator did not start: {self._stderr_text()}") from None
        if not first.startswith("listening on http://"):
            self.stop()
            raise RuntimeError(f"unexpected first line {first!r}: {self._stderr_text()}")
        self.url = first.split()[-1]

    def _pump(self, lines: queue.Queue[str]) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            lines.put(line.strip())

    def _stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-2000:]

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=_STOP_TIMEOUT_S)
        self._stderr.close()

    def post_url(self, post_id: str = "abc123") -> str:
        """URL of an image post page."""
        return f"{self.url}/imagine/post/{post_id}"

    def stats(self) -> dict[str, Any]:
        """``GET /__sim/stats``."""
        with urllib.request.urlopen(f"{self.url}/__sim/stats", timeout=10) as resp:
            return dict(json.load(resp))

    def reset(self) -> dict[str, Any]:
        """``POST /__sim/reset``; returns the fresh stats."""
        req = urllib.request.Request(f"{self.url}/__sim/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return dict(json.load(resp))

    @staticmethod
    def new_session() -> str:
        """A well-formed session cookie value (sessions are validated statelessly)."""
        return "s-" + secrets.token_hex(16)

    def generation_request(
        self, session: str, post_id: str = "abc123", video_length: int = 6
    ) -> urllib.request.Request:
        """The POST that starts a generation, as the page's JS sends it."""
        body = json.dumps({"postId": post_id, "prompt": "test", "videoLength": video_length})
        return urllib.request.Request(
            f"{self.url}/rest/app-chat/conversations/new",
            data=body.encode(),
            headers={"Content-Type": "application/json", "Cookie": f"sso={session}"},
            method="POST",
        )

    def generate(self, session: str, post_id: str = "abc123") -> dict[str, Any]:
        """Run one generation over HTTP and return its last streamed line."""
        with urllib.request.urlopen(self.generation_request(session, post_id), timeout=60) as r:
            lines = [json.loads(line) for line in r if line.strip()]
        return dict(lines[-1])


@pytest.fixture
def simulator() -> Iterator[Callable[..., SimulatorProcess]]:
    """Factory: ``simulator("--auto-login", ...)`` -> a started SimulatorProcess."""
    started: list[SimulatorProcess] = []

    def start(*args: str) -> SimulatorProcess:
        sim = SimulatorProcess(args)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


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
