"""The part `startup`: the issue's scenarios, each run with its whole process tree sampled
(peak PSS / N, efficiency, first claims and the start-up timeline), and with N=1 the
memory floor beside it (`floor`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .floor import bench_floor
from .numbers import fmt
from .runs import bench_run
from .spawn import log

# The start-up scenarios: name -> (workers N, videos B, seconds per video T), and
# the toy sizes --quick uses instead (same names, so the report reads the same).
STARTUP_SCENARIOS = {"n1": (1, 5, 3.0), "n5": (5, 20, 3.0), "n10": (10, 100, 5.0)}
QUICK_STARTUP_SCENARIOS = {"n1": (1, 2, 0.5), "n5": (2, 4, 0.5), "n10": (3, 6, 0.5)}
# CPU often during start-up only, PSS once a second.
_STARTUP_SAMPLING = {"cpu_every_s": 0.25, "cpu_for_s": 45.0, "pss_every_s": 1.0}


def bench_startup_part(scenarios: dict[str, tuple[int, int, float]], repeat: int,
                       run_env: dict[str, str], save: Callable[[], None]) -> dict[str, Any]:
    """Each start-up scenario `repeat` times, whole tree sampled; rows by scenario name,
    and with n1 the memory floor as often (rows under "floor")."""
    out: dict[str, Any] = {"scenarios": {name: [] for name in scenarios}}
    if "n1" in scenarios:
        out["floor"] = []
    for rep in range(repeat):
        for name, (n, videos, gen_s) in scenarios.items():
            log(f"startup {name} ({rep + 1}/{repeat}): N={n}, B={videos}, T={gen_s}")
            try:
                row = bench_run(n, videos, gen_s, download=False, sample_memory=False,
                                run_env=run_env, sample_tree=_STARTUP_SAMPLING)
            except Exception as exc:
                log(f"startup {name} failed: {exc!r}")
                row = {"workers": n, "videos": videos, "T": gen_s, "error": repr(exc)}
            out["scenarios"][name].append(row)
            save()
            log(f"  -> wall {fmt(row.get('wallS'))} s, efficiency {fmt(row.get('efficiency'))},"
                f" first claims {fmt(row.get('firstClaimS'))}..{fmt(row.get('lastFirstClaimS'))}"
                f" s, peak {fmt(row.get('treePeakMB'), 0)} MB")
        if "n1" in scenarios:
            log(f"memory floor ({rep + 1}/{repeat}): a plain Playwright script on the page")
            try:
                floor = bench_floor(run_env)
            except Exception as exc:
                log(f"memory floor failed: {exc!r}")
                floor = {"error": repr(exc)}
            out["floor"].append(floor)
            save()
            log(f"  -> {fmt(floor.get('treeMB'), 0)} MB")
    return out
