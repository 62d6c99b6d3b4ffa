"""The console script's first code: a signal is answered before the command line loads.

Loading the command line (Typer, Rich, loguru) takes a moment. Python answers a Ctrl-C in
it with a traceback, and SIGTERM or a hang-up (SIGHUP: the terminal closed) with death by
signal (exit 143 or 129, nothing said). Here all three end the command as they do later:
one line (and with --json one JSON document, see `app.main`) and exit 130. In a command,
all three raise KeyboardInterrupt; a command that has something to finish (a run, a
sign-in) answers them with handlers of its own while it does.
"""

from __future__ import annotations

import json
import signal
import sys
from types import FrameType

from grokbatch.errors import ExitCode

_signalled = False


def _interrupt(signum: int, frame: FrameType | None) -> None:
    global _signalled
    _signalled = True
    raise KeyboardInterrupt


def interrupted() -> bool:
    """Whether one of these handlers has answered a signal (no command's own did)."""
    return _signalled


def main() -> None:
    """Console-script entry point."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        from grokbatch.cli.app import main as command_line
    except KeyboardInterrupt:
        sys.stderr.write("grokbatch: interrupted\n")
        if "--json" in sys.argv[1:]:  # as `app._fail` says it, once the command line loaded
            sys.stdout.write(json.dumps({"error": "interrupted",
                                         "exitCode": int(ExitCode.INTERRUPTED)}) + "\n")
        sys.exit(ExitCode.INTERRUPTED)
    command_line()
