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


def machine_info() -> dict[str, Any]:
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
            "import playwright\n"
            "with sync_playwright() as p:\n"
            "    c = find_browser(p)\n"
            "    print(c.executable_path or c.channel)\n")
    with contextlib.suppress(Exception):
        exe = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=60,
                             check=True).stdout.strip()
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
