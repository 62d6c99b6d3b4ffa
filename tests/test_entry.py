"""The console script's entry: a signal while the command line loads ends the command with
one line and exit 130, as it does later (not a traceback, nor death by the signal)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
sys.argv = ["grokbatch", "run", "list", *{extra}]
entry.main()
"""


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("extra", [[], ["--json"]], ids=["text", "json"])
def test_a_signal_while_the_command_line_loads_exits_130_with_one_line(
        sig: str, extra: list[str]) -> None:
    child = subprocess.run([sys.executable, "-c", _CHILD.format(sig=sig, extra=extra)],
                           capture_output=True, text=True, timeout=60, check=False)
    assert child.returncode == 130, child.stderr
    assert child.stderr == "grokbatch: interrupted\n"
    if extra:  # before, --json got no document when the signal came this early
        assert json.loads(child.stdout) == {"error": "interrupted", "exitCode": 130}
    else:
        assert child.stdout == ""



# The same, once the command line has loaded: the signal comes in the middle of a command.
_IN_A_COMMAND = """
import os, signal, sys
from grokbatch.cli import entry, run

def list_jobs():
    os.kill(os.getpid(), signal.{sig})
    return []

run.list_jobs = list_jobs
sys.argv = ["grokbatch", "run", "list", *{extra}]
entry.main()
"""


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("extra", [[], ["--json"]], ids=["text", "json"])
def test_a_signal_in_a_command_exits_130_with_one_line_and_its_json(
        sig: str, extra: list[str], tmp_path: Path) -> None:
    # Before, Typer ended it with exit 130 and not a word, not even the --json document.
    child = subprocess.run([sys.executable, "-c", _IN_A_COMMAND.format(sig=sig, extra=extra)],
                           capture_output=True, text=True, timeout=60, check=False,
                           env={**os.environ, "GROKBATCH_HOME": str(tmp_path)})
    assert child.returncode == 130, child.stderr
    assert child.stderr == "grokbatch: interrupted\n"
    if extra:
        assert json.loads(child.stdout) == {"error": "interrupted", "exitCode": 130}
    else:
        assert child.stdout == ""
