"""How many workers to start: those the machine's memory holds and the quota keeps busy.

`--parallel` is "at most": a worker is a Python process and a Chromium (and a share of a
Playwright driver, or one of its own), so `--parallel 100` on a machine without memory for
100 browsers would push it into swap or the OOM killer. The runner starts only the workers
that fit in the memory available now (Linux: MemAvailable of /proc/meminfo; elsewhere no
cap), and a replacement only if one more still fits.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from grokbatch.manifest import started_on_site

if TYPE_CHECKING:  # light: the runner imports this module
    from grokbatch.manifest import ManifestDocument

# Peak PSS of one worker (its Python and its Chromium, and its share of the runner, the
# fork server and the shared Playwright driver), as `make bench` measured it (startup part:
# peak PSS of the whole run / N, N=5 and N=10: 199 and 160 MB; with Chromium's headless
# shell 143 and 112 MB), rounded up with room for a heavier page than the simulator's and
# for a worker's growth over a long run.
WORKER_MEMORY_MB = 270
HEADLESS_SHELL_WORKER_MEMORY_MB = 200
# What a worker needs on top with a Playwright driver of its own (--own-drivers): its
# driver, less its share of a shared one (bench startup, N=5 and N=10: +52 and +58 MB).
OWN_DRIVER_MEMORY_MB = 50
# For tests: the memory (MB) to take as available instead of reading /proc/meminfo.
MEMORY_AVAILABLE_ENV = "GROKBATCH_MEMORY_AVAILABLE_MB"
_MEMINFO = Path("/proc/meminfo")


def worker_memory_mb(headless_shell: bool, own_driver: bool = False) -> int:
    """The memory one worker needs, by the browser it runs and whether it starts a
    Playwright driver of its own."""
    browser = HEADLESS_SHELL_WORKER_MEMORY_MB if headless_shell else WORKER_MEMORY_MB
    return browser + (OWN_DRIVER_MEMORY_MB if own_driver else 0)


def available_memory_mb() -> int | None:
    """Memory available for new processes now, in MB; None when unknown (no cap)."""
    injected = os.environ.get(MEMORY_AVAILABLE_ENV)
    if injected:
        try:
            return max(0, int(injected))
        except ValueError:
            return None
    try:
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def workers_that_fit(wanted: int, available_mb: int | None,
                     per_worker_mb: int = WORKER_MEMORY_MB) -> int:
    """How many of `wanted` workers fit in `available_mb` (at least one: the run goes on)."""
    if available_mb is None:
        return wanted
    return max(1, min(wanted, available_mb // per_worker_mb))


def room_for_another(live_workers: int, available_mb: int | None,
                     per_worker_mb: int = WORKER_MEMORY_MB) -> bool:
    """Whether one more worker fits next to `live_workers` running ones (which the
    available memory already accounts for). With none running, one always may start."""
    if available_mb is None or live_workers == 0:
        return True
    return available_mb >= per_worker_mb


def workers_within_budget(workers: int, doc: ManifestDocument) -> int:
    """How many of `workers` the job's generation budget keeps busy (no idle browsers):
    one per video the quota still allows, plus one per video the site made or started
    (only fetched, or looked for)."""
    budget = doc.get("generationBudget")
    if not isinstance(budget, int):
        return workers
    no_generation = sum(1 for i in doc["items"]
                        if i["status"] == "PENDING" and started_on_site(i))
    return max(1, min(workers, budget + no_generation))
