"""The console script's first code: a signal is answered before the command line loads.

Loading the command line (Typer, Rich, loguru) takes a moment. Python answers a Ctrl-C in
it with a traceback, and SIGTERM or a hang-up (SIGHUP: the terminal closed) with death by
signal (exit 143 or 129, nothing said). Here all three end the command as they do later:
one line and exit 130. In a command, all three raise KeyboardInterrupt, which the command
line turns into exit 130 once whatever the command holds is let go; a run replaces these
handlers with its own while its workers are up.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

from grokbatch.errors import ExitCode


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Console-script entry point."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        from grokbatch.cli.app import main as command_line
    except KeyboardInterrupt:
        sys.stderr.write("grokbatch: interrupted\n")
        sys.exit(ExitCode.INTERRUPTED)
    command_line()
