"""How workers start: forked from a fork server that has imported what they need, aware of
their runner through multiprocessing rather than their parent's pid, and leaving no
server behind.

These start real processes (no browser): the fork server, workers forked from it, and a
stand-in runner that exits under its worker.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from grokbatch.run import worker_entry
from grokbatch.run.worker_entry import stop_fork_server, worker_context
from grokbatch.run.worker_protocol import runner_gone

# Bound on waiting for a process to do what the test waits for; only catches hangs.
_WAIT_S = 60.0


def _fork_server_children() -> list[int]:
    """Fork servers this test process started and that are still running."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, ValueError, IndexError):
            continue
        if parent == me and state != "Z" and b"multiprocessing.forkserver" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def _no_server_left() -> Iterator[None]:
    yield
    stop_fork_server()


def _what_was_imported(conn: Connection) -> None:
    conn.send({
        "playwright": "playwright.sync_api" in sys.modules,
        "worker": "grokbatch.run.worker" in sys.modules,
        "parent": os.getppid(),
        "runner_gone": runner_gone(),
    })
    conn.close()


def test_a_worker_starts_with_playwright_and_its_own_code_already_imported() -> None:
    ctx = worker_context()
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_what_was_imported, args=(sender,))
    process.start()
    sender.close()
    assert receiver.poll(_WAIT_S)
    seen = receiver.recv()
    process.join(_WAIT_S)
    assert process.exitcode == 0
    # This test module imports neither Playwright nor the worker: the fork server did.
    assert seen["playwright"] and seen["worker"]
    assert seen["parent"] != os.getpid()  # forked by the server, not by this process
    assert seen["runner_gone"] is False


def test_outside_a_worker_process_the_runner_is_never_gone() -> None:
    assert runner_gone() is False


def _worker_that_waits_for_its_runner(marker: str) -> None:
    deadline = time.monotonic() + _WAIT_S
    Path(marker + ".started").write_text(str(runner_gone()))
    while time.monotonic() < deadline:
        if runner_gone():
            Path(marker).write_text("runner gone")
            return
        time.sleep(0.05)


def _runner_that_dies_first(marker: str) -> None:
    ctx = worker_context()
    ctx.Process(target=_worker_that_waits_for_its_runner, args=(marker,)).start()
    deadline = time.monotonic() + _WAIT_S
    while not Path(marker + ".started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os._exit(0)  # like a SIGKILLed runner: no clean-up, its worker left running


def test_a_worker_sees_its_runner_gone_although_its_parent_the_fork_server_lives(
    tmp_path: Path,
) -> None:
    marker = str(tmp_path / "gone")
    runner = multiprocessing.get_context("spawn").Process(
        target=_runner_that_dies_first, args=(marker,))
    runner.start()
    runner.join(_WAIT_S)
    assert runner.exitcode == 0
    deadline = time.monotonic() + _WAIT_S
    while not Path(marker).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Path(marker + ".started").read_text() == "False"  # while its runner lived
    assert Path(marker).read_text() == "runner gone"


def _exit_at_once() -> None:
    pass


def _exit_when_told(conn: Connection) -> None:
    conn.poll(_WAIT_S)


def test_stopping_the_fork_server_leaves_it_to_a_live_worker_and_ends_it_after() -> None:
    ctx = worker_context()
    receiver, sender = ctx.Pipe(duplex=False)
    busy = ctx.Process(target=_exit_when_told, args=(receiver,))
    quick = ctx.Process(target=_exit_at_once)
    busy.start()
    quick.start()
    quick.join(_WAIT_S)
    assert quick.exitcode == 0
    assert len(_fork_server_children()) == 1
    stop_fork_server()  # `busy` is still running: the server is left alone
    assert busy.is_alive()
    assert len(_fork_server_children()) == 1
    sender.send("exit")
    busy.join(_WAIT_S)
    assert busy.exitcode == 0
    stop_fork_server()
    assert _fork_server_children() == []


def test_a_fork_server_that_does_not_end_when_told_is_killed_and_the_stop_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker_entry, "FORK_SERVER_STOP_S", 0.5)
    quick = worker_context().Process(target=_exit_at_once)
    quick.start()
    quick.join(_WAIT_S)
    [server] = _fork_server_children()
    os.kill(server, signal.SIGSTOP)  # it can no longer end by itself
    stop_fork_server()  # without the bound, multiprocessing would wait for it for ever
    assert _fork_server_children() == []
    again = worker_context().Process(target=_exit_at_once)  # the next run gets a server
    again.start()
    again.join(_WAIT_S)
    assert again.exitcode == 0


def test_the_fork_server_listens_in_the_run_s_directory_and_leaves_no_trace_elsewhere(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = multiprocessing.current_process()._config  # type: ignore[attr-defined]
    before = config.get("tempdir")
    worker_entry.start_fork_server(run_dir)
    assert [p.name[:9] for p in run_dir.iterdir()] == ["listener-"]
    assert config.get("tempdir") == before  # this process's other sockets: as they were
    quick = worker_context().Process(target=_exit_at_once)
    quick.start()
    quick.join(_WAIT_S)
    assert quick.exitcode == 0
    # A fork server killed during the run: the next worker's start makes another, whose
    # socket goes in the run's directory too.
    [server] = _fork_server_children()
    os.kill(server, signal.SIGKILL)
    _wait_until_gone(server)
    again = worker_context().Process(target=_exit_at_once)
    with worker_entry._socket_dir(run_dir):
        again.start()
    again.join(_WAIT_S)
    assert again.exitcode == 0
    assert [p.name[:9] for p in run_dir.iterdir()] == ["listener-"] * 2
    assert config.get("tempdir") == before
    stop_fork_server()
    assert _fork_server_children() == []


def _wait_until_gone(pid: int) -> None:
    deadline = time.monotonic() + _WAIT_S
    while pid in _fork_server_children():
        assert time.monotonic() < deadline, "the killed fork server is still there"
        time.sleep(0.05)


def test_a_worker_names_its_process_after_its_id() -> None:
    code = ("from grokbatch.run.worker_entry import name_process\n"
            "name_process('worker-12')\n"
            "print(open('/proc/self/comm').read().strip())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=_WAIT_S, check=True)
    assert out.stdout.strip() == "worker-12"  # what ps, top and the bench show


def test_a_coroutine_never_awaited_is_no_warning_on_a_workers_console() -> None:
    # What Playwright leaves behind when a worker's shared driver dies under it.
    code = ("import grokbatch.run.fork_server\n"
            "async def call():\n    pass\n"
            "call()\n")
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=120, check=False)
    assert child.returncode == 0, child.stderr
    assert child.stderr == ""


def _ignored_signals(pid: int) -> set[int]:
    """The signals process `pid` ignores (its SigIgn mask)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            mask = int(line.split()[1], 16)
            return {n for n in range(1, 65) if mask & (1 << (n - 1))}
    raise AssertionError("no SigIgn line")


def test_the_fork_server_ignores_the_groups_signals_from_its_first_instruction(
    tmp_path: Path,
) -> None:
    # A Ctrl-C while it imported what a worker needs printed its traceback on the run's
    # console: Python answered it before the server's own code ignored it.
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    worker_entry.start_fork_server(tmp_path)
    [server] = _fork_server_children()
    assert {signal.SIGINT, signal.SIGTERM, signal.SIGHUP} <= _ignored_signals(server)
    assert {s: signal.getsignal(s) for s in before} == before  # the runner's, as they were


def test_a_fork_server_whose_socket_was_removed_under_it_stops_without_an_error(
    tmp_path: Path,
) -> None:
    # A tmp cleaner (or a person) emptied the run's temporary directory during the run:
    # every video was made, then the fork server's stop could not unlink its socket, and
    # the run ended "grokbatch: error: …/listener-…: No such file or directory", exit 1.
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    worker_entry.start_fork_server(run_dir)
    quick = worker_context().Process(target=_exit_at_once)
    quick.start()
    quick.join(_WAIT_S)
    [listener] = list(run_dir.iterdir())
    listener.unlink()
    stop_fork_server()
    assert _fork_server_children() == []
