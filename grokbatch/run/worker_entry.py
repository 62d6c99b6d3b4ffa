"""How a worker process starts: the runner's side (`start_worker`) and the first code the
worker runs (`worker_process`), light on purpose.

Spawned workers all start at once. Importing Playwright and starting a browser costs a
couple of CPU-seconds each, so on a small machine ten workers doing it together are all
ready late. A worker therefore waits for a launch slot (one per core, at least two)
before it imports anything heavy, and gives the slot back once its page has loaded:
the first workers generate within seconds while the rest start up behind them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import types
from collections.abc import Iterator
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext, SpawnProcess
from multiprocessing.synchronize import Event, Semaphore

from grokbatch.run.timeline import mark_event
from grokbatch.run.worker_protocol import LaunchGate, ScoutRole, StartSignal, WorkerExit, WorkerSpec


@contextlib.contextmanager
def _bare_main_module() -> Iterator[None]:
    """Start a spawned worker without making it re-import `__main__` (the whole CLI).

    The spawn start method imports the parent's main module in every child; a worker needs
    nothing from it, and the import costs each worker a few hundred milliseconds of CPU
    at start-up, when every core is busy launching browsers.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def start_worker(ctx: SpawnContext, spec: WorkerSpec, stop: Event, slots: Semaphore,
                 start: StartSignal, scout: ScoutRole) -> tuple[SpawnProcess, Connection]:
    """Spawn worker `spec`; return its process and the read end of its event pipe."""
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=worker_process,
                          args=(spec, stop, sender, slots, start, scout),
                          name=spec.worker_id, daemon=False)
    with _bare_main_module():
        process.start()
    sender.close()  # the worker holds the only write end: EOF means it is gone
    return process, receiver


def _send_mark(conn: Connection, worker_id: str, name: str) -> None:
    """Tell the runner this worker reached start-up phase `name` (see timeline.py)."""
    with contextlib.suppress(OSError, ValueError):
        conn.send({**mark_event(name), "worker": worker_id})


def worker_process(spec: WorkerSpec, stop: Event, conn: Connection, slots: Semaphore,
                   start: StartSignal, scout: ScoutRole) -> None:
    """Entry point of a worker process (multiprocessing, spawn)."""
    os.setpgrp()  # a terminal Ctrl-C goes to the runner only; the runner decides
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _send_mark(conn, spec.worker_id, "entry")
    gate = LaunchGate(slots)
    if not gate.enter(stop, spec.parent_pid):
        with contextlib.suppress(OSError):
            conn.close()
        os._exit(WorkerExit.OK if os.getppid() == spec.parent_pid else WorkerExit.ORPHANED)
    _send_mark(conn, spec.worker_id, "gate")
    from grokbatch.run.worker import worker_main  # the heavy imports, once it is our turn

    worker_main(spec, stop, conn, gate, start, scout)
