"""The run's shared Playwright driver (grokbatch/drivers.py, grokbatch/shared_driver.js).

Workers are stood in for by small client processes: each opens Playwright the way a
worker does (`open_playwright`), launches Chromium on a profile of its own and loads the
simulator's page. The tests count processes: which node drivers exist, and whose child
each browser is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grokbatch import drivers
from grokbatch.drivers import SharedDriver, SharedDrivers

pytestmark = pytest.mark.e2e

# Bound on waiting for a process to do what the test waits for; only catches hangs.
_WAIT_S = 60.0

_CLIENT = textwrap.dedent("""
    import sys
    from grokbatch.browser import launch_args, tune_driver
    from grokbatch.drivers import open_playwright

    socket, chromium, profile, url = sys.argv[1:5]
    tune_driver()
    with open_playwright(None if socket == "-" else socket, "client") as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=launch_args(True),
            timeout=60_000)
        page = context.pages[0]
        page.goto(url, timeout=60_000)
        page.locator('[data-testid="app-shell"]').wait_for(timeout=60_000)
        print("ready", flush=True)
        for line in sys.stdin:  # each line: show that the page still answers
            print(page.evaluate("1 + 1"), flush=True)
        context.close()
""")


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of `pid`, None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _live_pids() -> list[int]:
    return [int(e.name) for e in Path("/proc").iterdir()
            if e.name.isdigit() and (_stat(int(e.name)) or ("Z", 0))[0] != "Z"]


def _descendants(root: int) -> set[int]:
    parents = {pid: (_stat(pid) or ("Z", 0))[1] for pid in _live_pids()}
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _browsers_on(profile: Path) -> list[int]:
    """Browser processes (any Chromium process) of the profile `profile`."""
    return [pid for pid in _live_pids() if f"--user-data-dir={profile}" in _cmdline(pid)]


def _wait_until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + _WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class _Client:
    """A stand-in worker: a process with a browser on the simulator's page."""

    def __init__(self, socket: str | None, chromium: str, profile: Path, url: str) -> None:
        self.profile = profile
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CLIENT, socket or "-", chromium, str(profile), url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_ready(self) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # bounded by the client's own timeouts
        assert line.strip() == "ready", self.process.stderr.read() if self.process.stderr else ""

    def page_answers(self) -> bool:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("?\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip() == "2"

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=_WAIT_S)


@pytest.fixture
def clients() -> Iterator[list[_Client]]:
    started: list[_Client] = []
    yield started
    for client in started:
        client.close()


def _node_children(pid: int) -> list[int]:
    return [p for p in _descendants(pid) if "node" in _cmdline(p).split(" ")[0]]


def test_two_workers_share_one_driver_and_a_gone_worker_takes_only_its_browser(
        grokbatch_home, simulator, chromium_path, clients, tmp_path, temp_dir):
    sim = simulator("--auto-login")
    shared = SharedDrivers.start(2, temp_dir)
    try:
        shared.wait_ready()
        assert len(shared.drivers) == 1  # one driver serves up to WORKERS_PER_DRIVER
        driver = shared.drivers[0]
        socket = shared.socket_for(0)
        assert socket is not None and socket == shared.socket_for(1)
        assert oct(driver.directory.stat().st_mode & 0o777) == oct(0o700)
        first, second = (_Client(socket, chromium_path, tmp_path / name, sim.post_url())
                         for name in ("p0", "p1"))
        clients += [first, second]
        first.wait_ready()
        second.wait_ready()

        # Neither client started a driver; both browsers are the shared driver's children.
        assert _node_children(first.process.pid) == []
        assert _node_children(second.process.pid) == []
        under_driver = _descendants(driver.process.pid)
        for client in (first, second):
            browsers = _browsers_on(client.profile)
            assert browsers and set(browsers) <= under_driver
        assert first.page_answers() and second.page_answers()

        # A worker killed outright: the driver closes its browser, the other goes on.
        first.process.kill()
        first.process.wait(_WAIT_S)
        _wait_until(lambda: not _browsers_on(first.profile), "the killed client's browser")
        assert second.page_answers()
        assert _browsers_on(second.profile)
        assert drivers.driver_listens(socket)
    finally:
        shared.stop()
    # Stopping the driver ends the browsers it launched, its process and its socket.
    assert driver.process.poll() is not None
    _wait_until(lambda: not _browsers_on(second.profile), "the browsers of a stopped driver")
    assert not driver.directory.exists()
    assert not drivers.driver_listens(socket)


def test_a_worker_whose_shared_driver_does_not_answer_starts_its_own(
        grokbatch_home, simulator, chromium_path, clients, tmp_path):
    sim = simulator("--auto-login")
    client = _Client(str(tmp_path / "nobody-listens.sock"), chromium_path, tmp_path / "p",
                     sim.post_url())
    clients.append(client)
    client.wait_ready()
    assert len(_node_children(client.process.pid)) == 1  # a driver of its own
    assert client.page_answers()
    _, stderr = client.process.communicate(timeout=_WAIT_S)  # ends its input: it exits
    assert client.process.returncode == 0
    assert "client: the shared Playwright driver does not answer" in stderr


def test_a_shared_driver_that_does_not_start_is_dropped_and_leaves_nothing(
        grokbatch_home, tmp_path, monkeypatch):
    node, _ = drivers._node_and_core()
    monkeypatch.setattr(drivers, "_node_and_core", lambda: (node, tmp_path / "no-playwright"))
    shared = SharedDrivers.start(15, cores=4)
    assert len(shared.drivers) == 2  # 15 workers: two drivers, one for every 10
    started = list(shared.drivers)
    shared.wait_ready()
    assert shared.drivers == []
    assert shared.socket_for(0) is None  # every worker starts its own driver
    for driver in started:
        assert driver.process.poll() is not None
        assert not driver.directory.exists()


def test_the_driver_exits_with_its_stdin_so_a_killed_runner_leaves_no_driver(
        grokbatch_home):
    driver = SharedDriver()
    try:
        assert driver.wait_ready(time.monotonic() + _WAIT_S)
        assert driver.process.stdin is not None
        os.close(driver.process.stdin.fileno())  # as when the runner's process is gone
        driver.process.wait(_WAIT_S)
    finally:
        driver.stop()
    assert driver.process.returncode == 0
    with pytest.raises(ProcessLookupError):
        os.kill(driver.process.pid, 0)


def _check_in_a_thread() -> str | None:
    """doctor's check, in a thread of its own: this test session's own Playwright (a
    session fixture) may be running in the main thread, and the sync API allows one a
    thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(drivers.check_shared_driver).result(timeout=_WAIT_S)


def test_doctor_s_check_of_the_shared_driver_says_whether_workers_can_share_one(
        grokbatch_home, tmp_path, monkeypatch):
    assert _check_in_a_thread() is None
    node, _ = drivers._node_and_core()
    monkeypatch.setattr(drivers, "_node_and_core", lambda: (node, tmp_path / "no-playwright"))
    said = _check_in_a_thread()
    assert said is not None and said.startswith("it did not start")


def test_a_worker_gone_while_its_browser_starts_leaves_no_browser(
        grokbatch_home, simulator, chromium_path, clients, tmp_path, temp_dir):
    sim = simulator("--auto-login")
    started, execs = tmp_path / "launch-started", tmp_path / "chromium-exec"
    slow = tmp_path / "slow-chromium"  # a browser that takes its time to start
    slow.write_text(f'#!/bin/sh\ntouch "{started}"\nsleep 1\ntouch "{execs}"\n'
                    f'exec "{chromium_path}" "$@"\n')
    slow.chmod(0o755)
    shared = SharedDrivers.start(1, temp_dir)
    try:
        shared.wait_ready()
        client = _Client(shared.socket_for(0), str(slow), tmp_path / "p", sim.post_url())
        clients.append(client)
        _wait_until(started.exists, "the launch")
        client.process.kill()  # the worker is gone; its browser is still starting
        _wait_until(execs.exists, "Chromium's start")
        _wait_until(lambda: not _browsers_on(client.profile), "the late browser's end")
        assert shared.drivers[0].alive()  # ended by the driver, which goes on
    finally:
        shared.stop()


def test_a_killed_driver_s_socket_directory_is_removed_by_the_next_run_not_a_live_one(
        grokbatch_home, monkeypatch):
    base = Path(tempfile.mkdtemp(prefix="gb-"))  # short: a socket path has a length limit
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(base))
    old = time.time() - 3600
    stale, fresh, other = (base / name for name in (
        "grokbatch-driver-killed", "grokbatch-driver-starting", "not-ours"))
    for directory in (stale, fresh, other):
        directory.mkdir()
        (directory / "driver.sock").touch()  # no driver answers there
    for directory in (stale, other):
        os.utime(directory, (old, old))
    live = SharedDriver()
    try:
        assert live.wait_ready(time.monotonic() + _WAIT_S)
        os.utime(live.directory, (old, old))
        os.utime(fresh)  # young at the sweep, however long the live driver took to start
        SharedDrivers.start(0)  # a run's start sweeps, even one that starts no driver
        assert not stale.exists()
        assert fresh.exists() and other.exists() and live.directory.exists()
    finally:
        live.stop()
        shutil.rmtree(base)
