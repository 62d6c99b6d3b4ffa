"""Start-up and long-run figures for scripts/bench.py: a sampler of the run's process tree,
the start-up timeline (where each worker's time and CPU go), and memory over a long run.

Used by bench.py (parts `startup` and `longrun`); kept apart so that bench.py stays the
driver and this file the arithmetic. Linux only (/proc); elsewhere the sampler finds
nothing and the figures are n/a.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import statistics
import threading
import time
from collections.abc import Sequence
from typing import Any

_TICK_S = 1.0 / (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)
# CPU kinds of a worker's tree (its own Python, the Playwright driver, Chromium).
KINDS = ("python", "driver", "browser")


# =================================================================== /proc
def proc_snapshot() -> dict[int, tuple[int, int, float, float]]:
    """pid -> (ppid, session id, own CPU seconds, reaped children's CPU seconds)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                raw = fh.read().decode(errors="replace")
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2:].split()
        with contextlib.suppress(ValueError, IndexError):
            own = (int(fields[11]) + int(fields[12])) * _TICK_S
            reaped = (int(fields[13]) + int(fields[14])) * _TICK_S
            table[int(entry)] = (int(fields[1]), int(fields[3]), own, reaped)
    return table


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def cpu_kind(cmd: str) -> str | None:
    """driver, browser or None (something else), from a command line."""
    exe = cmd.split(" ", 1)[0]
    if "node" in os.path.basename(exe) or ("playwright" in cmd and "run-driver" in cmd):
        return "driver"
    if "chrom" in os.path.basename(exe) or "--type=" in cmd:
        return "browser"
    return None


class RunSampler(threading.Thread):
    """Samples the process tree of one `run start`: CPU by worker and kind (cheap, every
    `cpu_every_s` for the first `cpu_for_s`), and PSS of the whole tree and of each
    worker's tree (dearer, every `pss_every_s`).

    A worker is a child of the runner started by multiprocessing (spawn_main); its tree is
    its descendants, plus the sessions they opened (Chromium runs in its own). What is not
    in a worker's tree (the runner, the pre-run check's driver and browser) is `runner`.
    """

    def __init__(self, run_pid: int, *, cpu_every_s: float = 0.25, cpu_for_s: float = 60.0,
                 pss_every_s: float = 1.0) -> None:
        super().__init__(name="run-sampler", daemon=True)
        self.run_pid = run_pid
        self.cpu_every_s = cpu_every_s
        self.cpu_for_s = cpu_for_s
        self.pss_every_s = pss_every_s
        self.finished = threading.Event()
        self.cpu: list[dict[str, Any]] = []  # {"wall", "trees": {root: {kind: s}}}
        self.pss: list[dict[str, Any]] = []  # {"wall", "totalKb", "workers": {pid: kb}}
        self.error: str | None = None
        self._kinds: dict[int, str | None] = {}
        self._workers: dict[int, bool] = {}

    def _kind(self, pid: int) -> str | None:
        if pid not in self._kinds:
            cmd = _cmdline(pid)
            kind = cpu_kind(cmd)
            if kind is None and "python" in cmd:
                return None  # may still exec into the driver: look again next time
            self._kinds[pid] = kind
        return self._kinds[pid]

    def _is_worker(self, pid: int) -> bool:
        if pid not in self._workers:
            cmd = _cmdline(pid)
            if not cmd:
                return False
            self._workers[pid] = "spawn_main" in cmd or "--multiprocessing-fork" in cmd
        return self._workers[pid]

    def _trees(self, table: dict[int, tuple[int, int, float, float]]
               ) -> dict[int, set[int]]:
        """root pid (the runner, or a worker) -> the processes it is responsible for."""
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _, _) in table.items():
            children.setdefault(ppid, []).append(pid)

        def below(root: int, skip: set[int]) -> set[int]:
            found: set[int] = set()
            todo = [root]
            while todo:
                for child in children.get(todo.pop(), []):
                    if child not in found and child not in skip:
                        found.add(child)
                        todo.append(child)
            return found

        workers = [c for c in children.get(self.run_pid, []) if self._is_worker(c)]
        trees: dict[int, set[int]] = {}
        runner_sid = table[self.run_pid][1] if self.run_pid in table else -1
        for root in [*workers, self.run_pid]:
            tree = below(root, set(workers)) | {root}
            sessions = {table[p][1] for p in tree if p in table and p != root}
            sessions.discard(runner_sid)
            tree |= {p for p, (_, sid, _, _) in table.items() if sid in sessions}
            trees[root] = tree
        taken = set().union(*(trees[w] for w in workers)) if workers else set()
        trees[self.run_pid] -= taken
        return trees

    def _sample_cpu(self, wall: float, table: dict[int, tuple[int, int, float, float]],
                    trees: dict[int, set[int]]) -> None:
        out: dict[int, dict[str, float]] = {}
        for root, tree in trees.items():
            row = dict.fromkeys(KINDS, 0.0)
            for pid in tree:
                if pid not in table:
                    continue
                _, _, own, reaped = table[pid]
                if pid == root:
                    row["python"] += own  # its reaped children were counted while alive
                    continue
                kind = self._kind(pid)
                if kind is not None:
                    row[kind] += own + reaped  # a zygote reaps renderers that ended
            out[root] = row
        self.cpu.append({"wall": wall, "trees": out})

    def _sample_pss(self, wall: float, trees: dict[int, set[int]]) -> None:
        per = {root: sum(_pss_kb(p) for p in tree) for root, tree in trees.items()}
        self.pss.append({"wall": wall, "totalKb": sum(per.values()),
                         "workers": {r: kb for r, kb in per.items() if r != self.run_pid}})

    def run(self) -> None:
        with contextlib.suppress(OSError):  # never slow down what it measures
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 5)
        began = time.monotonic()
        next_pss = began
        try:
            while not self.finished.is_set():
                now = time.monotonic()
                want_cpu = now - began <= self.cpu_for_s
                want_pss = now >= next_pss
                if want_cpu or want_pss:
                    table = proc_snapshot()
                    if self.run_pid not in table:
                        break
                    trees = self._trees(table)
                    wall = time.time()
                    if want_cpu:
                        self._sample_cpu(wall, table, trees)
                    if want_pss:
                        self._sample_pss(wall, trees)
                        next_pss = now + self.pss_every_s
                wait = self.cpu_every_s if want_cpu else max(0.05, next_pss - time.monotonic())
                self.finished.wait(wait)
        except Exception as exc:  # report, never take the bench down
            self.error = f"{type(exc).__name__}: {exc}"

    def peak_total_mb(self) -> float | None:
        """The largest PSS of the whole tree seen, in MB."""
        return max(s["totalKb"] for s in self.pss) / 1024 if self.pss else None

    def cpu_series(self, root: int) -> dict[str, list[tuple[float, float]]]:
        """kind -> [(wall, cumulative CPU seconds, never decreasing)] for one tree."""
        series: dict[str, list[tuple[float, float]]] = {k: [] for k in KINDS}
        for sample in self.cpu:
            row = sample["trees"].get(root)
            if row is None:
                continue
            for kind in KINDS:
                points = series[kind]
                value = max(row[kind], points[-1][1] if points else 0.0)
                points.append((sample["wall"], value))
        return series


# =================================================================== arithmetic
def interpolate(points: Sequence[tuple[float, float]], t: float) -> float:
    """The value of a sampled cumulative series at time `t` (0 before it began)."""
    if not points or t <= points[0][0]:
        return 0.0 if not points or t < points[0][0] else points[0][1]
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1]


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


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
        cpu_parts = [_median(row[k]) for k in KINDS]
        out.append({
            "phase": name, "workers": len(row["t"]),
            "tMedianS": _median(row["t"]), "tMaxS": max(row["t"]),
            "phaseMedianS": _median(row["phase"]),
            **{f"cpu{k.capitalize()}S": v for k, v in zip(KINDS, cpu_parts, strict=True)},
            "cpuS": sum(v for v in cpu_parts if v is not None) if row["phase"] else None,
        })
    return out


def runner_phases(timeline: dict[str, Any], series: dict[str, list[tuple[float, float]]],
                  t0: float) -> dict[str, Any]:
    """When a pre-run check in a browser of its own ran and the CPU it took (its driver and
    browser, the runner); or, when a worker looked instead, when the runner had its word."""
    runner = timeline.get("runner", {})
    start, end = runner.get("preflight_start"), runner.get("preflight_end")
    if not start or not end:  # the first worker looked at the page for the run
        look = runner.get("look")
        return {"verdictS": look["wall"] - t0} if look else {}
    cpu = {k: interpolate(series.get(k, []), end["wall"])
           - interpolate(series.get(k, []), start["wall"]) for k in KINDS}
    return {"preflightStartS": start["wall"] - t0, "preflightEndS": end["wall"] - t0,
            "preflightS": end["wall"] - start["wall"],
            **{f"preflightCpu{k.capitalize()}S": v for k, v in cpu.items()},
            "preflightCpuS": sum(cpu.values()),
            "workersStartS": (runner["runner_start"]["wall"] - t0
                              if runner.get("runner_start") else None)}


def first_claims(timeline: dict[str, Any], t0: float) -> list[float]:
    """Seconds from the command's start to each worker's first claim, sorted."""
    return sorted(w["marks"]["first_claim"]["wall"] - t0
                  for w in timeline.get("workers", {}).values()
                  if "first_claim" in w.get("marks", {}))


def memory_at_videos(pss: Sequence[dict[str, Any]], completions: dict[str, list[float]],
                     pids: dict[str, int], k: int, window: int = 2) -> dict[str, float]:
    """Each worker's tree PSS (MB) around its k-th completed video: the median of the
    samples taken between its (k-window)-th and (k+window)-th completion (at least the
    one nearest the k-th). Workers with fewer than k videos are left out."""
    out: dict[str, float] = {}
    for worker, done in completions.items():
        pid = pids.get(worker)
        if pid is None or len(done) < k:
            continue
        done = sorted(done)
        lo = done[max(0, k - 1 - window)]
        hi = done[min(len(done) - 1, k - 1 + window)]
        mine = [(s["wall"], s["workers"][pid]) for s in pss if pid in s["workers"]
                and s["workers"][pid] > 0]
        inside = [kb for wall, kb in mine if lo <= wall <= hi]
        if not inside and mine:
            inside = [min(mine, key=lambda s: abs(s[0] - done[k - 1]))[1]]
        if inside:
            out[worker] = statistics.median(inside) / 1024
    return out
