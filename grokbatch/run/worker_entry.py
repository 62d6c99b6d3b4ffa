"""How a worker process starts: the runner's side (`worker_context`, `start_worker`,
`stop_fork_server`) and the first code the worker runs (`worker_process`).

Workers are forked from a fork server (multiprocessing's own; it starts with the run's
first worker and ends with the run) that has already imported everything a worker needs
(`fork_server.py`): a worker starts without importing anything, and the workers share
those modules' memory.

Starting a Playwright driver and a browser costs about a CPU-second per worker, so on a
small machine ten workers doing it together are all ready late. A worker therefore waits
for a launch slot (one per core, at least two) before it starts them, and gives the slot
back once its page has loaded: the first workers generate within seconds while the rest
start up behind them.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import types
from collections.abc import Iterator
from multiprocessing import forkserver, resource_tracker
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, ForkServerProcess
from multiprocessing.synchronize import Semaphore
from pathlib import Path
from typing import Any

from grokbatch import scratch
from grokbatch.processes import kill_now
from grokbatch.run.timeline import mark_event
from grokbatch.run.worker_protocol import (
    LaunchGate,
    StartSignal,
    StopFlag,
    WorkerExit,
    WorkerSpec,
    runner_gone,
)

# prctl's option that sets the calling thread's name (linux/prctl.h).
_PR_SET_NAME = 15
# The module the fork server imports before it forks any worker.
FORK_SERVER_PRELOAD = "grokbatch.run.fork_server"
# How long the fork server has to end when told, before it is killed.
FORK_SERVER_STOP_S = 5.0


@contextlib.contextmanager
def _bare_main_module() -> Iterator[None]:
    """Start the fork server, or a worker, without making it import `__main__` (the whole
    CLI): multiprocessing imports the parent's main module in each, and a worker needs
    nothing from it."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def worker_context() -> ForkServerContext:
    """The multiprocessing context workers start in: forked from the fork server."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([FORK_SERVER_PRELOAD])
    _start_resource_tracker()
    return context


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker (a process in the runner's group) with
    SIGHUP ignored, which it keeps across its exec. It ignores SIGINT and SIGTERM itself,
    not SIGHUP: a hang-up sent to the group (the terminal closed) killed it, and it left a
    traceback and a "leaked semaphore" warning on the console."""
    with _ignoring((signal.SIGHUP,)):
        resource_tracker.ensure_running()


# What the fork server ignores from its first instruction: a signal to the run's group
# (Ctrl-C, a kill of the group, a hang-up) while it imports what a worker needs printed
# its traceback on the run's console. The runner answers them; workers set their own.
_FORK_SERVER_IGNORES = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def start_fork_server(temp_dir: Path | None = None) -> None:
    """Start the fork server now (it takes about 0.2 s to import what a worker needs), not
    with the first worker: the run can do other work meanwhile. Its socket goes in
    `temp_dir` if given (see `_socket_dir`). It is started with `_FORK_SERVER_IGNORES`
    ignored, which it keeps across its exec (the runner ignores them for the instant of
    the spawn only)."""
    with _bare_main_module(), _socket_dir(temp_dir), _ignoring(_FORK_SERVER_IGNORES):
        forkserver.ensure_running()


@contextlib.contextmanager
def _ignoring(signums: tuple[signal.Signals, ...]) -> Iterator[None]:
    """Ignore `signums` while inside (in the main thread; elsewhere signals are not ours
    to set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def _socket_dir(path: Path | None) -> Iterator[None]:
    """Have multiprocessing make the fork server's socket in `path`, the run's directory
    (`scratch.py`), which goes with the run however it ends.

    Left to itself, multiprocessing makes it in a directory of its own in the temporary
    directory (pymp-*), which it removes at exit: a killed runner left it for good. And in a
    temporary directory with a long path, the socket's path is past a Unix socket's limit:
    the run could not start. The run's directory always has room for Chromium's socket,
    which is deeper.
    """
    if path is None:
        yield
        return
    # Private, as is the fork server's pid below; multiprocessing.util.get_temp_dir() reads
    # it. A Python that no longer does makes its pymp-* directory as before.
    config = multiprocessing.current_process()._config  # type: ignore[attr-defined]
    before = config.get("tempdir")
    config["tempdir"] = str(path)
    try:
        yield
    finally:
        if before is None:
            config.pop("tempdir", None)
        else:
            config["tempdir"] = before


def stop_fork_server() -> None:
    """End the fork server, if every worker has exited.

    It would end by itself once the runner's process and every worker have exited; ending
    it with the run means no process of the run outlives the run, and a next run in the
    same process gets a server with that run's environment. (multiprocessing's own tests
    stop their server this way.) With a worker still alive it is left to end by itself.

    multiprocessing tells the server to end and then waits for it without a bound; a
    server that has not ended `FORK_SERVER_STOP_S` later is killed, which ends that wait.
    """
    if multiprocessing.active_children():
        return
    server: Any = forkserver._forkserver
    pid = server._forkserver_pid
    if pid is None:
        return
    killer = threading.Timer(FORK_SERVER_STOP_S, kill_now, (pid,))
    killer.start()
    try:
        # FileNotFoundError: its socket was removed under it (a tmp cleaner emptied the
        # run's temporary directory); it has ended all the same.
        with contextlib.suppress(ChildProcessError, FileNotFoundError):
            # Private, but in every Python since 3.8: closes the pipe the server watches,
            # then waits for it.
            server._stop()
    finally:
        killer.cancel()


def start_worker(ctx: ForkServerContext, spec: WorkerSpec, stop: StopFlag, slots: Semaphore,
                 start: StartSignal) -> tuple[ForkServerProcess, Connection]:
    """Start worker `spec`; return its process and the read end of its event pipe."""
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=worker_process,
                          args=(spec, stop, sender, slots, start),
                          name=spec.worker_id, daemon=False)
    with _bare_main_module(), _socket_dir(spec.temp_dir):  # a fork server gone restarts
        process.start()
    sender.close()  # the worker holds the only write end: EOF means it is gone
    start.keep_saying_end()
    return process, receiver


def _send_mark(conn: Connection, worker_id: str, name: str) -> None:
    """Tell the runner this worker reached start-up phase `name` (see timeline.py)."""
    with contextlib.suppress(OSError, ValueError):
        conn.send({**mark_event(name), "worker": worker_id})


def name_process(name: str) -> None:
    """Give this process `name` (up to 15 bytes) where `ps`, `top` and /proc/<pid>/comm
    show a process's name: a worker shows as its id, not as one more `python`."""
    with contextlib.suppress(Exception):  # Linux only; a name is never worth failing for
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


def worker_process(spec: WorkerSpec, stop: StopFlag, conn: Connection, slots: Semaphore,
                   start: StartSignal) -> None:
    """Entry point of a worker process (forked by the fork server)."""
    name_process(spec.worker_id)
    scratch.use(spec.temp_dir)  # for its driver and browser: the run removes it
    os.setpgrp()  # a terminal Ctrl-C goes to the runner only; the runner decides
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in (signal.SIGTERM, signal.SIGHUP):  # the fork server ignores them
        signal.signal(signum, signal.SIG_DFL)
    start.keep_hearing_end()
    _send_mark(conn, spec.worker_id, "entry")
    gate = LaunchGate(slots)
    if not gate.enter(stop):
        with contextlib.suppress(OSError):
            conn.close()
        os._exit(WorkerExit.ORPHANED if runner_gone() else WorkerExit.OK)
    _send_mark(conn, spec.worker_id, "gate")
    from grokbatch.run.worker import worker_main  # imported already, by the fork server

    worker_main(spec, stop, conn, gate, start)
