"""Helpers for the end-to-end tests of `run start`: a signed-in account, and the real CLI.

Signing an account in takes a browser start, so it is done once per test session against
an in-process simulator, and each test gets a copy. The simulator validates sessions
statelessly and cookies are not port-scoped, so the copy is signed in on every simulator
a test starts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A run of a dozen short videos takes well under a minute; this bound only catches hangs.
RUN_TIMEOUT_S = 300
# Bound on waiting for a run to reach a state a test wants to interrupt it in.
STATE_TIMEOUT_S = 120.0
SECRET_PROMPT = "zebra-quokka-7731 dancing under violet rain"
ALIAS = "acct"


@dataclass
class CliResult:
    """A finished `grokbatch` subprocess."""

    code: int
    stdout: str
    stderr: str


def run_cli(
    home: Path, *args: str, timeout: float = RUN_TIMEOUT_S, env_extra: dict[str, str] | None = None
) -> CliResult:
    """Run `python -m grokbatch ARGS` with GROKBATCH_HOME=home and wait for it."""
    env = {**os.environ, "GROKBATCH_HOME": str(home), **(env_extra or {})}
    env.pop("GROKBATCH_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "grokbatch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def popen_cli(home: Path, *args: str, own_group: bool = False,
              env_extra: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `python -m grokbatch ARGS` with GROKBATCH_HOME=home, without waiting for it
    (in a session of its own with `own_group`)."""
    env = {**os.environ, "GROKBATCH_HOME": str(home), **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "grokbatch", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=own_group)


def wait_for_run(condition: Callable[[], bool], what: str, proc: subprocess.Popen[str]) -> None:
    """Wait until `condition()` holds (a file not there yet or half written counts as not),
    bounded; AssertionError if the run `proc` ends first or the bound passes."""
    deadline = time.monotonic() + STATE_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            pass
        if proc.poll() is not None:
            raise AssertionError(f"run ended before {what}: {proc.communicate()[1]}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def processes_of_home(home: Path) -> list[int]:
    """Live processes started with GROKBATCH_HOME=home: those of a run (runner, fork
    server, resource tracker, workers, drivers, browsers), not this test process or its
    own children (the simulator)."""
    me = os.getpid()
    wanted = f"GROKBATCH_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if wanted in environ and fields[0] != "Z" and int(fields[1]) != me:
            found.append(int(entry.name))
    return found


def processes_left_by_run(home: Path, bound_s: float = 10.0) -> list[int]:
    """The processes of `home`'s runs still alive `bound_s` after the run's exit, or none
    as soon as they are all gone (multiprocessing's resource tracker ends a moment after
    the runner)."""
    deadline = time.monotonic() + bound_s
    while (left := processes_of_home(home)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def install_account(template_home: Path, home: Path, alias: str = ALIAS) -> None:
    """Copy the session's signed-in template account into `home`."""
    target = home / "accounts" / alias
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template_home / "accounts" / ALIAS, target, symlinks=True)


def temp_env(temp_dir: Path) -> dict[str, str]:
    """The environment that gives a run `temp_dir` as its temporary directory. With
    XDG_RUNTIME_DIR unset, the shared driver's socket directory goes there too, so that
    everything the run makes in a temporary directory is in this one."""
    return {"TMPDIR": str(temp_dir), "XDG_RUNTIME_DIR": ""}


def start_args(
    permalink: str, *extra: str, count: int = 4, parallel: int = 2, job: str = "job"
) -> list[str]:
    """`run start` arguments for a test run with the secret prompt."""
    return [
        "run",
        "start",
        "--account",
        ALIAS,
        "--permalink",
        permalink,
        "--prompt",
        SECRET_PROMPT,
        "--count",
        str(count),
        "--parallel",
        str(parallel),
        "--job-name",
        job,
        "--timeout",
        "20",
        *extra,
    ]


def manifest(home: Path, job: str = "job") -> dict[str, Any]:
    """The job's manifest, parsed."""
    doc: dict[str, Any] = json.loads((home / "runs" / job / "manifest.json").read_text())
    return doc


def in_progress(home: Path, job: str = "job") -> list[dict[str, Any]]:
    """The job's items a worker is making now."""
    return [i for i in manifest(home, job)["items"] if i["status"] == "IN_PROGRESS"]


def statuses(doc: dict[str, Any]) -> list[str]:
    """The status of every item."""
    return [item["status"] for item in doc["items"]]


def assert_prompt_absent(home: Path, result: CliResult, job: str = "job") -> None:
    """The secret prompt is nowhere in the output, run.log or debug files."""
    assert SECRET_PROMPT not in result.stdout
    assert SECRET_PROMPT not in result.stderr
    run_dir = home / "runs" / job
    for path in [run_dir / "run.log", *sorted((run_dir / "debug").glob("*"))]:
        if path.is_file():
            assert SECRET_PROMPT.encode() not in path.read_bytes(), path
