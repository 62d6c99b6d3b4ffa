"""Starting and stopping a simulator: in-process (tests) or in the foreground (the CLI)."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from types import FrameType
from typing import TextIO

from grokbatch.simulator.scenario import SimulatorOptions
from grokbatch.simulator.server import SimulatorServer
from grokbatch.simulator.state import SimulatorState

# How long stop() waits for the serving thread to finish.
_JOIN_TIMEOUT_S = 5.0


class BindError(Exception):
    """The simulator could not listen on the address it was given."""


@dataclass
class RunningSimulator:
    """A simulator serving in a background thread."""

    server: SimulatorServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234``."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def state(self) -> SimulatorState:
        """Live state, for in-process inspection."""
        return self.server.state

    def stop(self) -> None:
        """Stop serving, abort held-open streams and release the port."""
        self.server.stop_event.set()
        self.server.shutdown()
        self.server.close_all_connections()
        self.server.server_close()
        self.thread.join(timeout=_JOIN_TIMEOUT_S)


def start_simulator(options: SimulatorOptions | None = None) -> RunningSimulator:
    """Bind and start serving in a daemon thread; returns once the port is bound.

    Raises BindError (one line: which address, and why) when the address cannot be used.
    """
    options = options or SimulatorOptions()
    try:
        server = SimulatorServer(options)
    except (OSError, OverflowError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise BindError(f"cannot listen on {options.host}:{options.port}: {reason}") from None
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="simulator", daemon=True
    )
    thread.start()
    return RunningSimulator(server, thread)


def serve_until_signalled(options: SimulatorOptions, out: TextIO) -> int:
    """Serve in the foreground until SIGINT/SIGTERM; prints the ``listening on`` line.

    Returns the process exit code (0 on a clean stop); raises BindError before serving
    when the address cannot be used.
    """
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()  # nothing else: no logging or locking inside a signal handler

    running = start_simulator(options)
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        out.write(f"listening on {running.url}\n")
        out.flush()
        while not stop.wait(0.5):
            pass
    finally:
        running.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
