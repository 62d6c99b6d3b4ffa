"""The machine the benchmark ran on: CPUs, memory, the browser grokbatch drives, versions."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

from .spawn import PY


def machine_info(run_env: dict[str, str]) -> dict[str, Any]:
    """The machine, and the browser the grokbatch runs (with `run_env`) drive."""
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    with contextlib.suppress(OSError, ValueError):
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        info["memTotalMB"] = int(meminfo[0].split()[1]) // 1024
    code = ("from playwright.sync_api import sync_playwright\n"
            "from grokbatch.browser import find_browser\n"
            "with sync_playwright() as p:\n"
            f"    c = find_browser(p, headless_shell={_headless_shell(run_env)!r})\n"
            "    print(c.describe())\n")
    with contextlib.suppress(Exception):
        exe = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=60,
                             env={**os.environ, **run_env}, check=True).stdout.strip()
        info["browser"] = exe
        if exe and os.path.isfile(exe):
            info["browserVersion"] = subprocess.run(
                [exe, "--version"], capture_output=True, text=True, timeout=30
            ).stdout.strip() or None
    if os.path.isfile("/usr/bin/chromium"):
        with contextlib.suppress(Exception):
            info["systemChromium"] = subprocess.run(
                ["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=30
            ).stdout.strip()
    with contextlib.suppress(Exception):
        info["playwright"] = version("playwright")
    return info


def _headless_shell(run_env: dict[str, str]) -> bool:
    """Whether the runs use `--headless-shell` (its environment variable, as Typer reads it)."""
    return run_env.get("GROKBATCH_HEADLESS_SHELL", "").strip().lower() in ("1", "true", "yes",
                                                                           "y", "on", "t")
