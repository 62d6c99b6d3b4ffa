"""The part `baseline`: scripts/naive_baseline.py (one browser, click, sleep 1 s, poll every
2 s) on the same simulator, and grokbatch's speed-up over it."""

from __future__ import annotations

import json
import statistics
from typing import Any

from .numbers import median, percentile
from .spawn import PY, ROOT, Spawned, add_account, bench_site, grokbatch_env, log
from .targets import run_row

# The baseline's budget: each video with this much slack, plus a start.
_VIDEO_SLACK_S = 15.0
_START_SLACK_S = 120.0


def bench_baseline(videos: int, gen_s: float) -> dict[str, Any]:
    """The naive baseline's `videos` videos of `gen_s` seconds on a fresh simulator."""
    with bench_site("bench-baseline-", gen_s) as (tmp, home, sim):
        spawned = None
        try:
            add_account(home, sim.url, tmp)
            spawned = Spawned(
                [PY, str(ROOT / "scripts" / "naive_baseline.py"), "--permalink",
                 sim.post_url("bench1"), "--profile",
                 str(home / "accounts" / "bench" / "profile"), "--count", str(videos),
                 "--prompt", "benchmark prompt"],
                env=grokbatch_env(home), workdir=tmp, name="baseline",
            )
            code = spawned.wait(videos * (gen_s + _VIDEO_SLACK_S) + _START_SLACK_S)
            out = spawned.text("stdout", tail=1_000_000)
            if code not in (0, 1) or not out.strip():
                raise RuntimeError(f"baseline exited {code}: {spawned.text()}")
            result: dict[str, Any] = json.loads(out)
            result["simGenerationsCompleted"] = sim.stats().get("generationsCompleted")
        finally:
            if spawned is not None:
                spawned.close()
    per = result["perVideoSeconds"]
    result["meanPerVideoS"] = statistics.fmean(per) if per else None
    result["medianPerVideoS"] = median(per)
    result["medianOverheadS"] = (median(per) or 0) - gen_s if per else None
    result["p90OverheadS"] = (percentile(per, 90) or 0) - gen_s if per else None
    return result


def bench_baseline_part(results: dict[str, Any], videos: int, baseline_videos: int,
                        gen_s: float) -> dict[str, Any]:
    """The baseline, its wall time projected to B=`videos`, and grokbatch's speed-up over
    it (at N=1 and for its best run) from the runs already in `results`."""
    log(f"naive baseline: {baseline_videos} videos, T={gen_s}")
    try:
        base = bench_baseline(baseline_videos, gen_s)
        base["wallS_measured"] = base["wallSeconds"]
        if base.get("meanPerVideoS") is not None:
            base["projectedWallS"] = base["startupSeconds"] + videos * base["meanPerVideoS"]
            n1 = run_row(results, 1)
            if n1 and n1.get("wallS"):
                base["speedupN1"] = base["projectedWallS"] / n1["wallS"]
            done = [r for r in results.get("runs", []) if r.get("ok")]
            if done:
                best = min(done, key=lambda r: r["wallS"])
                base["bestN"] = best["workers"]
                base["speedupBest"] = base["projectedWallS"] / best["wallS"]
    except Exception as exc:
        log(f"baseline failed: {exc!r}")
        base = {"error": repr(exc), "videos": baseline_videos}
    return base
