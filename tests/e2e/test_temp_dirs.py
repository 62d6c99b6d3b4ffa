"""A run's drivers and browsers keep their temporary files in a directory of the run's own,
which goes with the run, however it ends (grokbatch/scratch.py); so do the commands that
start a browser of their own.

Each test gives the run an empty temporary directory of its own (TMPDIR) and looks at what
is in it after the run. Chromium leaves its singleton directory (`org.chromium.Chromium.*`)
and Playwright's driver its artifacts directory (`playwright-artifacts-*`) there when they
are killed; before the run had a directory of its own, each of these runs left some.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.clihelpers import (
    ALIAS,
    RUN_TIMEOUT_S,
    in_progress,
    manifest,
    popen_cli,
    processes_left_by_run,
    processes_of_home,
    run_cli,
    start_args,
    statuses,
    temp_env,
    wait_for_run,
)

pytestmark = pytest.mark.e2e


def _left_in(temp_dir: Path) -> list[str]:
    return sorted(p.name for p in temp_dir.iterdir())


@pytest.mark.parametrize("drivers", [(), ("--own-drivers",)], ids=["shared", "own"])
def test_a_hard_stop_leaves_nothing_in_the_temporary_directory(
        home, simulator, temp_dir, drivers):
    # No quota left: the runner stops both workers at once and kills their browsers (and,
    # with --own-drivers, the drivers in the workers' process groups).
    sim = simulator("--layout", "2026", "--stream-format", "captured", "--quota", "0")
    result = run_cli(home, *start_args(sim.post_url(), *drivers, count=3, parallel=2),
                     env_extra=temp_env(temp_dir))
    assert result.code == 75, result.stderr
    assert sim.stats()["generationsStarted"] == 0
    assert _left_in(temp_dir) == []


def test_a_temporary_directory_too_deep_for_chromium_s_socket_still_runs(
        home, simulator, temp_dir):
    # Chromium keeps a Unix socket two levels down in its temporary directory: in this one
    # its path would pass the limit (107 bytes), and no browser could start; nor could the
    # fork server, whose socket multiprocessing would keep one level down. The run's
    # directory goes in /tmp instead, and the fork server's socket in it.
    deep = temp_dir / ("d" * 50) / ("e" * 40)
    deep.mkdir(parents=True)
    assert len(str(deep)) > 100
    sim = simulator("--generation-seconds", "0.5")
    result = run_cli(home, *start_args(sim.post_url(), count=2, parallel=1),
                     env_extra=temp_env(deep))
    assert result.code == 0, result.stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 2
    assert _left_in(deep) == []


def test_a_killed_shared_driver_leaves_nothing_in_the_temporary_directory(
        home, simulator, temp_dir):
    sim = simulator("--generation-seconds", "1.5")
    proc = popen_cli(home, *start_args(sim.post_url(), count=4, parallel=2),
                     env_extra=temp_env(temp_dir))
    try:
        wait_for_run(lambda: len(in_progress(home)) == 2, "two items in progress", proc)
        drivers = [pid for pid in processes_of_home(home) if b"shared_driver.js" in _cmdline(pid)]
        assert len(drivers) == 1
        os.kill(drivers[0], signal.SIGKILL)  # its browsers go with it, unclosed
        _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        _kill_if_alive(proc)
    assert proc.returncode == 0, stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 4
    assert _left_in(temp_dir) == []


def test_a_killed_runs_directory_is_removed_by_the_next_run(home, simulator, temp_dir):
    sim = simulator("--generation-seconds", "3")
    args = start_args(sim.post_url(), count=2, parallel=1)
    proc = popen_cli(home, *args, env_extra=temp_env(temp_dir))
    try:
        wait_for_run(lambda: len(in_progress(home)) == 1, "an item in progress", proc)
        _kill_with_all_it_started(proc, home)
    finally:
        _kill_if_alive(proc)
    assert processes_left_by_run(home) == []
    _assert_browser_files_in_the_killed_directory(temp_dir)

    rerun = run_cli(home, *args, env_extra=temp_env(temp_dir))
    assert rerun.code == 0, rerun.stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 2
    # Nor did multiprocessing keep the fork server's socket in a directory of its own
    # (pymp-*), which the runner removes at its exit, and a SIGKILL skips.
    assert _left_in(temp_dir) == []


def test_a_run_that_stops_before_any_worker_still_removes_a_killed_runs_directory(
        home, simulator, temp_dir):
    sim = simulator("--generation-seconds", "3")
    finished = start_args(sim.post_url(), count=1, parallel=1, job="finished")
    assert run_cli(home, *finished).code == 0
    proc = popen_cli(home, *start_args(sim.post_url(), count=2, parallel=1),
                     env_extra=temp_env(temp_dir))
    try:
        wait_for_run(lambda: len(in_progress(home)) == 1, "an item in progress", proc)
        _kill_with_all_it_started(proc, home)
    finally:
        _kill_if_alive(proc)
    _assert_browser_files_in_the_killed_directory(temp_dir)
    nothing = run_cli(home, *finished, env_extra=temp_env(temp_dir))
    assert nothing.code == 0, nothing.stderr
    assert "nothing left to do" in nothing.stderr
    assert _left_in(temp_dir) == []


def test_a_command_s_own_browser_keeps_its_files_in_a_directory_the_next_command_removes(
        home, simulator, temp_dir):
    # `accounts add` waits for a sign-in in a browser of its own; killed there, with its
    # driver and browser, it leaves that browser's files in a directory of its own.
    sim = simulator()  # no --auto-login: the page asks to sign in, and add waits
    profile = home / "accounts" / "waiting" / "profile"
    proc = popen_cli(home, "accounts", "add", "waiting", "--url", f"{sim.url}/imagine",
                     "--headless", "--timeout", "600", env_extra=temp_env(temp_dir))
    try:
        wait_for_run(lambda: (profile / "Default").is_dir()
                     and bool(list(temp_dir.glob("grokbatch-run-*/org.chromium.Chromium.*"))),
                     "the browser to start", proc)
        _kill_with_all_it_started(proc, home)
    finally:
        _kill_if_alive(proc)
    assert processes_left_by_run(home) == []
    _assert_browser_files_in_the_killed_directory(temp_dir)

    # `doctor` looks at the page in a browser of its own, in a directory of its own, which
    # goes with it; and it removes the one the killed command left.
    sim_signed_in = simulator("--auto-login")
    result = run_cli(home, "doctor", "--account", ALIAS, "--permalink",
                     sim_signed_in.post_url(), env_extra=temp_env(temp_dir))
    assert "signed in   yes" in result.stdout, result.stdout + result.stderr
    assert _left_in(temp_dir) == []


def _kill_with_all_it_started(proc: subprocess.Popen[str], home: Path) -> None:
    """SIGKILL the command `proc` and all it started (drivers, browsers) at once
    (`processes_of_home` leaves out our own children: the command itself)."""
    for pid in [proc.pid, *processes_of_home(home)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def _assert_browser_files_in_the_killed_directory(temp_dir: Path) -> None:
    """The killed command's directory is left, with its browser's files in it, not beside."""
    (killed,) = temp_dir.glob("grokbatch-run-*")
    assert list(killed.glob("org.chromium.Chromium.*"))
    assert not list(temp_dir.glob("org.chromium.Chromium.*"))


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _kill_if_alive(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.communicate(timeout=30)
