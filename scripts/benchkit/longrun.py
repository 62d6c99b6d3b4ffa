"""The part `longrun`: N workers with about a hundred videos each, and each worker's memory
at an early video against its last."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .numbers import fmt
from .runs import bench_run
from .spawn import log

# Long run: (workers, videos per worker, the early video compared with the last, T).
LONG_RUN = (10, 100, 10, 1.0)
QUICK_LONG_RUN = (2, 4, 2, 0.3)
# Extra videos in the long run, so that every worker reaches its last counted video.
_LONG_RUN_SLACK_PER_WORKER = 5
# The long run's simulator shows grok.com's 2026 page, whose history strip grows with every
# video (the classic page keeps one video): what a long run's page really does.
_LONG_RUN_SIM_ARGS = ("--layout", "2026", "--stream-format", "captured")
# CPU once a second, PSS every 2 s; a toy run (fewer videos) ends before that sees much.
_LONG_RUN_SAMPLING = {"cpu_every_s": 1.0, "cpu_for_s": 0.0, "pss_every_s": 2.0}
_TOY_RUN_VIDEOS = 100
_TOY_RUN_PSS_EVERY_S = 0.5


def bench_long_run(workers: int, per_worker: int, early: int, gen_s: float, repeat: int,
                   run_env: dict[str, str], save: Callable[[], None]) -> list[dict[str, Any]]:
    """N workers with about `per_worker` videos each: memory at the early and last video."""
    rows = []
    videos = workers * (per_worker + _LONG_RUN_SLACK_PER_WORKER)
    for rep in range(repeat):
        log(f"long run ({rep + 1}/{repeat}): N={workers}, B={videos}, T={gen_s}")
        try:
            sampling = dict(_LONG_RUN_SAMPLING)
            if videos < _TOY_RUN_VIDEOS:
                sampling["pss_every_s"] = _TOY_RUN_PSS_EVERY_S
            row = bench_run(workers, videos, gen_s, download=False, sample_memory=False,
                            run_env=run_env, sample_tree=sampling,
                            memory_at=(early, per_worker), sim_args=_LONG_RUN_SIM_ARGS)
        except Exception as exc:
            log(f"long run failed: {exc!r}")
            row = {"workers": workers, "videos": videos, "T": gen_s, "error": repr(exc)}
        row.update(early=early, late=per_worker)
        rows.append(row)
        save()
        log(f"  -> wall {fmt(row.get('wallS'))} s, memory growth max "
            f"{fmt(row.get('memoryGrowthMax'), 3)}")
    return rows
