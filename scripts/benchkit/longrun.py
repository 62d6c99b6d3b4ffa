"""The part `longrun`: N workers with about a hundred videos each, and each worker's memory
at an early video against its last."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grokbatch.config import COUNT_RANGE

from .numbers import fmt
from .runs import bench_run
from .spawn import log

# Long run: (workers, videos per worker, the early video compared with the last, T).
LONG_RUN = (10, 100, 10, 1.0)
QUICK_LONG_RUN = (2, 4, 2, 0.3)
# Extra videos in the long run, so that every worker reaches its last counted video, within
# the most one job may hold (10 x 100 is that most: the workers that do not reach their
# 100th video are left out of the figure).
_LONG_RUN_SLACK_PER_WORKER = 5
# The long run's simulator shows grok.com's 2026 page, whose history strip shows every video
# of the post (made by any worker), so the page itself grows with the run; the classic page
# keeps one video, so what grows there is grokbatch's own.
_LONG_RUN_SIM_ARGS = {"2026": ("--layout", "2026", "--stream-format", "captured"),
                      "classic": ()}
# CPU once a second, PSS every 2 s; a toy run (fewer videos) ends before that sees much.
_LONG_RUN_SAMPLING = {"cpu_every_s": 1.0, "cpu_for_s": 0.0, "pss_every_s": 2.0}
_TOY_RUN_VIDEOS = 100
_TOY_RUN_PSS_EVERY_S = 0.5


def bench_long_run(workers: int, per_worker: int, early: int, gen_s: float, repeat: int,
                   run_env: dict[str, str], save: Callable[[], None], page: str = "2026",
                   video_mb: float = 0.0) -> list[dict[str, Any]]:
    """N workers with about `per_worker` videos each: memory at the early and last video;
    `video_mb` pads each video the page plays to about that many MB."""
    rows = []
    sim_args = _LONG_RUN_SIM_ARGS[page] + (("--video-mb", str(video_mb)) if video_mb else ())
    videos = min(workers * (per_worker + _LONG_RUN_SLACK_PER_WORKER), COUNT_RANGE[1])
    for rep in range(repeat):
        log(f"long run ({rep + 1}/{repeat}): N={workers}, B={videos}, T={gen_s}")
        try:
            sampling = dict(_LONG_RUN_SAMPLING)
            if videos < _TOY_RUN_VIDEOS:
                sampling["pss_every_s"] = _TOY_RUN_PSS_EVERY_S
            row = bench_run(workers, videos, gen_s, download=False, sample_memory=False,
                            run_env=run_env, sample_tree=sampling,
                            memory_at=(early, per_worker), sim_args=sim_args)
        except Exception as exc:
            log(f"long run failed: {exc!r}")
            row = {"workers": workers, "videos": videos, "T": gen_s, "error": repr(exc)}
        row.update(early=early, late=per_worker, page=page, videoMb=video_mb)
        rows.append(row)
        save()
        log(f"  -> wall {fmt(row.get('wallS'))} s, memory growth max "
            f"{fmt(row.get('memoryGrowthMax'), 3)}")
    return rows
