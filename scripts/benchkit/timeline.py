"""The start-up timeline and memory by video, from a finished run: where each worker's
time and CPU went before its first claim (from the run's timeline.json and the sampled CPU
series), when the workers first claimed, and each worker's memory around its k-th video."""

from __future__ import annotations

import itertools
import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grokbatch.clock import parse_iso

from .numbers import median
from .sampler import KINDS, RunSampler


def tree_figures(tree: RunSampler, timeline_path: Path, doc: dict[str, Any],
                 t0: float, n: int, memory_at: Sequence[int]) -> dict[str, Any]:
    """Peak memory, first claims, the start-up timeline and memory by video count, from a
    finished run's sampler, timeline.json and manifest."""
    out: dict[str, Any] = {"treePeakMB": tree.peak_total_mb(), "samplerError": tree.error,
                           "pssSamples": len(tree.pss), "cpuSamples": len(tree.cpu)}
    out["peakPerWorkerMB"] = out["treePeakMB"] / n if out["treePeakMB"] else None
    try:
        timeline = json.loads(timeline_path.read_bytes())
    except (OSError, ValueError):
        out["timelineError"] = f"no readable {timeline_path.name}"
        return out
    workers = timeline.get("workers", {})
    pids = {w: row["pid"] for w, row in workers.items() if row.get("pid")}
    series = {str(pid): tree.cpu_series(pid) for pid in pids.values()}
    out["timeline"] = phase_table(timeline, series, t0)
    out.update(runner_phases(timeline, t0))
    claims = first_claims(timeline, t0)
    out["firstClaimS"] = claims[0] if claims else None
    out["lastFirstClaimS"] = claims[-1] if claims else None
    out["workersClaimed"] = len(claims)
    if tree.shared_drivers and claims:  # what the drivers the workers share cost by then
        out["sharedDrivers"] = len(tree.shared_drivers)
        out["sharedDriverCpuS"] = sum(interpolate(tree.cpu_series(pid)["driver"], t0 + claims[-1])
                                      for pid in tree.shared_drivers)
    if memory_at:
        done: dict[str, list[float]] = {}
        for item in doc.get("items", []):
            at = parse_iso(item.get("completedAt"))
            if item.get("status") == "COMPLETED" and at is not None:
                done.setdefault(str(item.get("workerId")), []).append(at.timestamp())
        # Only while every worker's browser is up (as many as were ever up together: the
        # memory cap may start fewer than N): as workers run out of items and close theirs,
        # the pages the browsers share are counted among fewer, and a worker's PSS rises by
        # that alone. Workers that reach their video after that are left out.
        up = max((s.get("browsers", 0) for s in tree.pss), default=0)
        out["memoryAtVideo"] = {str(k): memory_at_videos(tree.pss, done, pids, k, browsers=up)
                                for k in memory_at}
        growth = memory_growth(out["memoryAtVideo"], memory_at)
        out["memoryGrowthMax"] = max(growth) if growth else None
        out["memoryGrowthMedian"] = median(growth)
        out["memoryGrowthWorkers"] = len(growth)
        out["memoryGrowthByKindMB"] = growth_by_kind(tree.pss, done, pids, memory_at,
                                                     out["memoryAtVideo"], up)
        # The same from every sample, whoever else was up.
        anyone = {str(k): memory_at_videos(tree.pss, done, pids, k) for k in memory_at}
        growth = memory_growth(anyone, memory_at)
        out["memoryGrowthMaxAnyBrowsers"] = max(growth) if growth else None
    return out


def growth_by_kind(pss: Sequence[dict[str, Any]], done: dict[str, list[float]],
                   pids: dict[str, int], memory_at: Sequence[int],
                   at: dict[str, dict[str, float]], browsers: int) -> dict[str, float]:
    """What grew in the workers' trees, by process kind: the median over the workers that
    `memory_growth` counts of each kind's PSS (MB) at the last of `memory_at` minus at the
    first, from the same samples."""
    first, last = memory_at[0], memory_at[-1]
    counted = [w for w in at[str(last)] if w in at[str(first)]]
    kinds = sorted({kind for s in pss for row in s.get("kinds", {}).values() for kind in row})
    out: dict[str, float] = {}
    for kind in kinds:
        early, late = (memory_at_videos(pss, done, pids, k, browsers=browsers, kind=kind)
                       for k in (first, last))
        deltas = [late[w] - early[w] for w in counted if w in early and w in late]
        if deltas:
            out[kind] = statistics.median(deltas)
    return out


def memory_growth(at: dict[str, dict[str, float]], memory_at: Sequence[int]) -> list[float]:
    """Each worker's memory at the last of `memory_at` over that at the first."""
    first, last = (at[str(k)] for k in (memory_at[0], memory_at[-1]))
    return [last[w] / first[w] for w in last if w in first and first[w] > 0]


def interpolate(points: Sequence[tuple[float, float]], t: float) -> float:
    """The value of a sampled cumulative series at time `t` (0 before it began)."""
    if not points or t <= points[0][0]:
        return 0.0 if not points or t < points[0][0] else points[0][1]
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1]


def phase_table(timeline: dict[str, Any], cpu: dict[str, dict[str, list[tuple[float, float]]]],
                t0: float) -> list[dict[str, Any]]:
    """One row per start-up phase, over the workers that reached it.

    `timeline` is a run's timeline.json, `cpu` maps a worker's pid (as a string) to its
    cpu_series(), `t0` is when the command started (epoch). A phase runs from the previous
    mark the worker passed to this one; its Python CPU is exact (the worker's own clock),
    its driver and browser CPU come from the sampled series.
    """
    phases = timeline.get("phases", [])
    rows: dict[str, dict[str, list[float]]] = {}
    for worker in timeline.get("workers", {}).values():
        marks = worker.get("marks", {})
        series = cpu.get(str(worker.get("pid")), {})
        passed = [(name, marks[name]) for name in phases if name in marks]
        previous: dict[str, Any] | None = None
        for name, mark in passed:
            row = rows.setdefault(name, {k: [] for k in ("t", "phase", *KINDS)})
            row["t"].append(mark["wall"] - t0)
            if previous is not None:
                row["phase"].append(mark["wall"] - previous["wall"])
                if mark.get("cpu") is not None:
                    row["python"].append(mark["cpu"] - (previous.get("cpu") or 0.0))
                for kind in ("driver", "browser"):
                    points = series.get(kind, [])
                    if points:
                        row[kind].append(interpolate(points, mark["wall"])
                                         - interpolate(points, previous["wall"]))
            previous = mark
    out = []
    for name in phases:
        if name not in rows:
            continue
        row = rows[name]
        cpu_parts = [median(row[k]) for k in KINDS]
        out.append({
            "phase": name, "workers": len(row["t"]),
            "tMedianS": median(row["t"]), "tMaxS": max(row["t"]),
            "phaseMedianS": median(row["phase"]),
            **{f"cpu{k.capitalize()}S": v for k, v in zip(KINDS, cpu_parts, strict=True)},
            "cpuS": sum(v for v in cpu_parts if v is not None) if row["phase"] else None,
        })
    return out


def runner_phases(timeline: dict[str, Any], t0: float) -> dict[str, Any]:
    """When the runner had the first worker's look at the page (no worker claims before)."""
    look = timeline.get("runner", {}).get("look")
    return {"verdictS": look["wall"] - t0} if look else {}


def first_claims(timeline: dict[str, Any], t0: float) -> list[float]:
    """Seconds from the command's start to each worker's first claim, sorted."""
    return sorted(w["marks"]["first_claim"]["wall"] - t0
                  for w in timeline.get("workers", {}).values()
                  if "first_claim" in w.get("marks", {}))


def memory_at_videos(pss: Sequence[dict[str, Any]], completions: dict[str, list[float]],
                     pids: dict[str, int], k: int, window: int = 2,
                     browsers: int | None = None, kind: str | None = None) -> dict[str, float]:
    """Each worker's tree PSS (MB) around its k-th completed video: the median of the
    samples taken between its (k-window)-th and (k+window)-th completion (at least the
    one nearest the k-th). Workers with fewer than k videos are left out. With `browsers`,
    only samples taken while at least that many workers' browsers were up count, and
    a worker with none of them near its k-th video is left out. With `kind` (a
    `proctree.process_kind`, or "worker (python)"), only the processes of that kind in the
    worker's tree count; the samples are the same."""
    # How far from the k-th video the nearest sample may be when none is in the window.
    reach = float("inf")
    if browsers is not None:
        walls = [s["wall"] for s in pss]
        reach = median([b - a for a, b in itertools.pairwise(walls)]) or 0.0
        pss = [s for s in pss if s.get("browsers", 0) >= browsers]
    out: dict[str, float] = {}
    for worker, done in completions.items():
        pid = pids.get(worker)
        if pid is None or len(done) < k:
            continue
        done = sorted(done)
        lo = done[max(0, k - 1 - window)]
        hi = done[min(len(done) - 1, k - 1 + window)]
        mine = [(s["wall"], s["workers"][pid] if kind is None
                 else s.get("kinds", {}).get(pid, {}).get(kind, 0))
                for s in pss if pid in s["workers"] and s["workers"][pid] > 0]
        inside = [kb for wall, kb in mine if lo <= wall <= hi]
        if not inside and mine:
            wall, kb = min(mine, key=lambda s: abs(s[0] - done[k - 1]))
            inside = [kb] if abs(wall - done[k - 1]) <= reach else []
        if inside:
            out[worker] = statistics.median(inside) / 1024
    return out
