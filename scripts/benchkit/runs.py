"""The parts `runs` and `memory`: `grokbatch run start` against a fresh simulator
subprocess per worker count N, its wall time against the floor ceil(B/N) * T, and the
per-video overhead from its manifest."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from grokbatch.clock import parse_iso
from grokbatch.profiles import tree_size

from .memory import MemorySampler
from .numbers import fmt, median, percentile
from .sampler import RunSampler
from .spawn import PY, Spawned, add_account, bench_site, grokbatch_env, log
from .timeline import tree_figures

# A run's budget: every worker's share of videos, each with this much slack, plus a start.
_VIDEO_SLACK_S = 30.0
_RUN_START_SLACK_S = 180.0
# How long the samplers get to finish once the run has ended.
_SAMPLER_JOIN_S = 10.0
# How long a stopping run gets to end itself before its tree is killed.
_RUN_STOP_GRACE_S = 10.0
# The memory part samples once every worker has completed about this many videos.
_MEMORY_AFTER_VIDEOS_PER_WORKER = 3


def item_timings(doc: dict[str, Any], gen_s: float, spawn_utc: datetime) -> dict[str, Any]:
    """Per-video overhead and start-to-first-claim from a finished run's manifest."""
    durations = []
    gen = []
    starts = []
    workers = set()
    for item in doc.get("items", []):
        started = parse_iso(item.get("startedAt"))
        if started is not None:
            starts.append(started)
        if item.get("status") != "COMPLETED":
            continue
        done = parse_iso(item.get("completedAt"))
        if started is not None and done is not None:
            durations.append((done - started).total_seconds())
        if item.get("generationSeconds") is not None:
            gen.append(float(item["generationSeconds"]))
        workers.add(item.get("workerId"))
    overheads = [d - gen_s for d in durations]
    first_claim = (min(starts) - spawn_utc).total_seconds() if starts else None
    return {
        "completedItems": len(durations),
        "workersSeen": len(workers),
        "medianItemSeconds": median(durations),
        "medianOverheadS": median(overheads),
        "p90OverheadS": percentile(overheads, 90),
        "maxOverheadS": max(overheads) if overheads else None,
        "medianGenerationSeconds": median(gen),
        "startToFirstClaimS": first_claim,
    }


def bench_run(n: int, videos: int, gen_s: float, *, download: bool, sample_memory: bool,
              run_env: dict[str, str], sample_tree: dict[str, float] | None = None,
              memory_at: Sequence[int] = (), sim_args: tuple[str, ...] = (),
              quota: int | None = None) -> dict[str, Any]:
    """One `grokbatch run start` with N workers against a fresh simulator and home, with
    `run_env` added to its environment.

    With a `quota`, the account may make that many videos: the run makes them and exits
    75 (or 0 if they are all it was asked for).

    `sample_tree` (RunSampler options) also samples the whole process tree: the row gets
    the peak PSS, the start-up timeline and, for each k in `memory_at`, each worker's
    memory around its k-th video.
    """
    row: dict[str, Any] = {"workers": n, "videos": videos, "T": gen_s, "download": download,
                           "quota": quota, "load1Before": os.getloadavg()[0]}
    made = videos if quota is None else min(videos, quota)  # what a good run makes
    if quota is not None:
        sim_args = (*sim_args, "--quota", str(quota))
    with bench_site(f"bench-run-n{n}-", gen_s, sim_args) as (tmp, home, sim):
        run = None
        sampler = None
        tree: RunSampler | None = None
        try:
            add_account(home, sim.url, tmp)
            row["accountProfileBytes"] = tree_size(home / "accounts" / "bench" / "profile")
            args = [PY, "-m", "grokbatch", "run", "start", "--account", "bench",
                    "--permalink", sim.post_url("bench1"),
                    "--prompt", "benchmark prompt", "--count", str(videos),
                    "--parallel", str(n), "--job-name", "bench",
                    "--download" if download else "--no-download", "--timeout", "120"]
            budget = math.ceil(videos / n) * (gen_s + _VIDEO_SLACK_S) + _RUN_START_SLACK_S
            run = Spawned(args, env={**grokbatch_env(home), **run_env}, workdir=tmp,
                          name="run")
            if sample_tree is not None:
                tree = RunSampler(run.pid, **sample_tree)
                tree.start()
            manifest_path = home / "runs" / "bench" / "manifest.json"
            if sample_memory:
                after = _MEMORY_AFTER_VIDEOS_PER_WORKER
                sampler = MemorySampler(run.pid, manifest_path,
                                        after=after if videos >= after * n else 1)
                sampler.start()
            code = run.wait(budget)
            wall = (run.end_mono or time.monotonic()) - run.spawn_mono
            if sampler is not None:
                sampler.finished.set()
                sampler.join(_SAMPLER_JOIN_S)
            if tree is not None:
                tree.finished.set()
                tree.join(_SAMPLER_JOIN_S)
            stats = sim.stats()
            doc = json.loads(manifest_path.read_bytes()) if manifest_path.exists() else {}
            ideal = math.ceil(made / n) * gen_s
            row.update({
                "exitCode": code,
                "wallS": wall,
                "idealS": ideal,
                "efficiency": ideal / wall if wall > 0 else None,
                "simGenerationsCompleted": stats.get("generationsCompleted"),
                "simGenerationsStarted": stats.get("generationsStarted"),
                "simMaxConcurrent": stats.get("maxConcurrent"),
                "ok": (code == (0 if made == videos else 75)
                       and stats.get("generationsCompleted") == made),
                **item_timings(doc, gen_s, run.spawn_utc),
            })
            if sampler is not None:
                row["memory"] = sampler.summary()
            if tree is not None:
                row.update(tree_figures(tree, home / "runs" / "bench" / "timeline.json", doc,
                                        run.spawn_utc.timestamp(), n, memory_at))
            if code != 0:
                row["stderrTail"] = run.text(tail=3000)
            row["load1After"] = os.getloadavg()[0]
        finally:
            if sampler is not None:
                sampler.finished.set()
            if tree is not None:
                tree.finished.set()
            if run is not None:
                run.close(grace_s=_RUN_STOP_GRACE_S)
    return row


def memory_n(worker_counts: list[int]) -> int | None:
    """The N whose run the memory part samples: 5, else the largest N up to 10."""
    if 5 in worker_counts:
        return 5
    small = [n for n in worker_counts if n <= 10]
    return max(small) if small else None


def bench_runs_part(results: dict[str, Any], parts: set[str], worker_counts: list[int],
                    videos: int, gen_s: float, with_download: bool, run_env: dict[str, str],
                    save: Callable[[], None], quota: int | None = None,
                    peak_memory: bool = False) -> None:
    """The parts `runs` (every N) and `memory` (sampled in one of them), into `results`."""
    mem_n = memory_n(worker_counts) if "memory" in parts else None
    counts = worker_counts if "runs" in parts else [mem_n] if mem_n else []
    results["runs"] = []
    plan = [(n, False) for n in counts]
    if with_download and "runs" in parts:
        dl = 10 if 10 in counts else memory_n(counts)
        if dl:
            plan.append((dl, True))
    for n, download in plan:
        log(f"grokbatch run: N={n}, B={videos}, T={gen_s}"
            + (" with downloads" if download else ""))
        sample = n == mem_n and not download
        try:
            row = bench_run(n, videos, gen_s, download=download, sample_memory=sample,
                            run_env=run_env, quota=quota,
                            sample_tree={} if peak_memory else None)
        except Exception as exc:
            log(f"N={n} failed: {exc!r}")
            row = {"workers": n, "videos": videos, "T": gen_s, "download": download,
                   "error": repr(exc)}
        results["runs"].append(row)
        save()
        if sample and "memory" in row:
            results["memory"] = {**row["memory"], "workersN": n}
        log(f"  -> wall {fmt(row.get('wallS'))} s, efficiency "
            f"{fmt(row.get('efficiency'))}, exit {row.get('exitCode')}")
