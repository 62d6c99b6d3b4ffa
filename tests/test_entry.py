"""The console script's entry: a signal while the command line loads ends the command with
one line and exit 130, as it does later (not a traceback, nor death by the signal)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# The child sends itself the signal just as the command line starts to load: a finder asked
# for that module first sends it, and Python's handler runs inside the import.
_CHILD = """
import os, signal, sys
from grokbatch.cli import entry

class SignalOnLoad:
    def find_spec(self, name, path=None, target=None):
        if name == "grokbatch.cli.app":
            os.kill(os.getpid(), signal.{sig})
        return None

sys.meta_path.insert(0, SignalOnLoad())
sys.argv = ["grokbatch", "run", "list"]
entry.main()
"""


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_while_the_command_line_loads_exits_130_with_one_line(sig: str) -> None:
    child = subprocess.run([sys.executable, "-c", _CHILD.format(sig=sig)],
                           capture_output=True, text=True, timeout=60, check=False)
    assert child.returncode == 130, child.stderr
    assert child.stderr == "grokbatch: interrupted\n"
    assert child.stdout == ""

