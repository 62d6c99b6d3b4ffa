"""Shared fixtures for the unit and CLI tests.

Every test gets its own empty GROKBATCH_HOME, so nothing a test writes can leak into the
user's data directory or into another test. ``simulator("--rate-limit-after", "2")``
starts ``grokbatch simulator serve --port 0 ...`` (grokbatch.simulator.process.
SimulatorProcess), waits for its ``listening on`` line and stops it at teardown.
``server`` serves videos on loopback for the tests of saving (tests/video_server.py), and
``run_dir`` is a job's empty run directory. Browser fixtures live in tests/e2e/conftest.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from loguru import logger

from grokbatch.simulator.process import SimulatorProcess
from tests.video_server import ServerLog, video_server

# A CLI call that needs no browser finishes in a second or two; 60 s means it hung.
CLI_TIMEOUT_S = 60


@pytest.fixture(autouse=True)
def grokbatch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty GROKBATCH_HOME for this test; no browser override from the outside."""
    home = tmp_path / "grokbatch-home"
    home.mkdir()
    monkeypatch.setenv("GROKBATCH_HOME", str(home))
    monkeypatch.delenv("GROKBATCH_BROWSER", raising=False)
    monkeypatch.delenv("GROKBATCH_DEBUG", raising=False)
    monkeypatch.delenv("GROKBATCH_PROMPT", raising=False)
    return home


@pytest.fixture
def cli(grokbatch_home: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real console script (`python -m grokbatch ARGS…`) and return the result."""

    def run(*args: str, cwd: Path | None = None, stdin: str | None = None,
            env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env["GROKBATCH_HOME"] = str(grokbatch_home)
        for name in ("GROKBATCH_BROWSER", "GROKBATCH_DEBUG", "GROKBATCH_PROMPT"):
            env.pop(name, None)
        env.update(env_extra or {})
        return subprocess.run(
            [sys.executable, "-m", "grokbatch", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            cwd=cwd,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )

    return run


@pytest.fixture
def fake_account(grokbatch_home: Path) -> Callable[..., Path]:
    """Create a stored account without a browser: `fake_account("acct")` -> its profile dir."""

    def make(alias: str = "acct") -> Path:
        account_dir = grokbatch_home / "accounts" / alias
        profile = account_dir / "profile"
        profile.mkdir(parents=True)
        os.chmod(account_dir, 0o700)
        os.chmod(profile, 0o700)
        meta = {
            "alias": alias,
            "createdAt": "2024-01-01T00:00:00.000+00:00",
            "siteUrl": "https://grok.com/imagine",
        }
        (account_dir / "account.json").write_text(json.dumps(meta), encoding="utf-8")
        os.chmod(account_dir / "account.json", 0o600)
        return profile

    return make


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """What grokbatch logs during the test, at every level, a record an entry."""
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="DEBUG")
    yield lines
    logger.remove(sink)


@pytest.fixture
def simulator() -> Iterator[Callable[..., SimulatorProcess]]:
    """Factory: ``simulator("--auto-login", ...)`` -> a started SimulatorProcess."""
    started: list[SimulatorProcess] = []

    def start(*args: str) -> SimulatorProcess:
        sim = SimulatorProcess(*args)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def server() -> Iterator[tuple[str, ServerLog]]:
    with video_server() as served:
        yield served


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    path = tmp_path / "runs" / "job"
    path.mkdir(parents=True)
    return path
