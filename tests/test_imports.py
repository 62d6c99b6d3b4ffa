"""What each process loads: the runner of `run start` (and the commands that only read
files) never imports Playwright; only workers, `doctor` and `accounts add` drive a browser."""

from __future__ import annotations

import subprocess
import sys

_RUNNER_MODULES = ("grokbatch.cli", "grokbatch.run.jobs", "grokbatch.run.runner",
                   "grokbatch.run.status", "grokbatch.run.worker_entry",
                   "grokbatch.site.page_check", "grokbatch.accounts", "grokbatch.config")


def _loads_playwright(*modules: str) -> bool:
    code = (f"import sys\nimport {', '.join(modules)}\n"
            "print('playwright' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    return out.stdout.strip() == "True"


def test_the_runner_and_the_reading_commands_load_without_playwright() -> None:
    assert not _loads_playwright(*_RUNNER_MODULES)


def test_a_worker_loads_playwright_so_the_check_above_can_fail() -> None:
    assert _loads_playwright("grokbatch.run.worker")
