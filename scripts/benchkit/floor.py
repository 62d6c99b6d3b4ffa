"""The memory floor at N=1: what any Python Playwright script needs to hold the page a
worker holds, in the same browser with the same flags and driver settings: its own Python,
the driver (node) and Chromium, as whole-tree PSS like the start-up runs' peak. A run with
one worker needs this plus grokbatch's own processes (the runner, the fork server) and what
making videos leaves in the page."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .proctree import cmdline, pss_kb, tree_pids
from .spawn import PY, Spawned, bench_site, grokbatch_env

PROBE = Path(__file__).resolve().parents[1] / "floor_probe.py"
# The same simulator as the start-up scenario n1 (its T does not matter: nothing is made).
_SIM_GENERATION_S = 3.0
# A browser start and a page load; then the page settles before the samples.
_READY_TIMEOUT_S = 90.0
_READY_POLL_S = 0.1
_SETTLE_S = 2.0
_SAMPLES = 5
_SAMPLE_EVERY_S = 0.5
_STOP_GRACE_S = 5.0


def wants_headless_shell(run_env: dict[str, str]) -> bool:
    """Whether the runs get the headless shell (the words for yes of grokbatch's command
    line, which reads the variable)."""
    value = run_env.get("GROKBATCH_HEADLESS_SHELL", "").strip().lower()
    return value in {"1", "true", "t", "yes", "y", "on"}


def bench_floor(run_env: dict[str, str]) -> dict[str, Any]:
    """One probe on a fresh simulator: the most its tree held over a few samples, split
    into its Python, the driver and Chromium (MB)."""
    with bench_site("bench-floor-", _SIM_GENERATION_S) as (tmp, home, sim):
        probe = None
        try:
            args = [PY, str(PROBE), sim.post_url("bench1"), str(tmp / "profile")]
            if wants_headless_shell(run_env):
                args.append("--headless-shell")
            probe = Spawned(args, env={**grokbatch_env(home), **run_env}, workdir=tmp,
                            name="floor-probe")
            _wait_ready(probe)
            time.sleep(_SETTLE_S)
            samples = []
            for _ in range(_SAMPLES):
                samples.append(_sample(probe.pid))
                time.sleep(_SAMPLE_EVERY_S)
            return max(samples, key=lambda s: s["treeMB"])
        finally:
            if probe is not None:
                probe.close(grace_s=_STOP_GRACE_S)


def _wait_ready(probe: Spawned) -> None:
    """Until the probe says its page is up; an error if it ends or takes too long."""
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while "ready" not in probe.text("stdout"):
        if probe.proc.poll() is not None:
            raise RuntimeError(f"the floor's probe exited {probe.proc.returncode}: "
                               f"{probe.text()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the floor's probe had no page within {_READY_TIMEOUT_S:.0f} s")
        time.sleep(_READY_POLL_S)


def _sample(probe_pid: int) -> dict[str, Any]:
    """The probe's tree now: PSS in MB of its Python, its driver and its Chromium."""
    parts = {"pythonMB": 0.0, "driverMB": 0.0, "chromiumMB": 0.0}
    for pid in tree_pids(probe_pid):
        cmd = cmdline(pid)
        part = ("pythonMB" if pid == probe_pid
                else "driverMB" if "node" in cmd.split(" ", 1)[0] else "chromiumMB")
        parts[part] += pss_kb(pid) / 1024
    return {**parts, "treeMB": sum(parts.values())}
