"""A sampler of one `run start`'s process tree: CPU by worker and kind, PSS of the whole
tree and of each worker's tree, while the run goes on."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

from .proctree import (
    ProcStat,
    cmdline,
    cpu_kind,
    descendants,
    proc_table,
    pss_by_kind,
    shared_drivers,
    worker_trees,
)

# CPU kinds of a worker's tree (its own Python, the Playwright driver, Chromium).
KINDS = ("python", "driver", "browser")
# The sampler's own niceness: it never slows down what it measures.
_SAMPLER_NICENESS = 5
# Shortest wait between two looks at the clock when only PSS is due.
_MIN_WAIT_S = 0.05


class RunSampler(threading.Thread):
    """Samples the process tree of one `run start`: CPU by worker and kind (cheap, every
    `cpu_every_s` for the first `cpu_for_s`), and PSS of the whole tree and of each
    worker's tree (dearer, every `pss_every_s`).

    A worker is a child of the runner's fork server; its tree is its descendants, plus the
    sessions they opened (Chromium runs in its own) and its browser under a shared driver
    (`proctree.worker_trees`). A shared driver is a root of its own (its CPU is of kind
    driver). What is in no other tree (the runner, its fork server and its resource
    tracker) is `runner`.
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
        # {"wall", "totalKb", "browsers", "workers": {pid: kb}, "kinds": {pid: {kind: kb}}}
        self.pss: list[dict[str, Any]] = []
        self.error: str | None = None
        self._kinds: dict[int, str | None] = {}
        self.shared_drivers: set[int] = set()  # roots that are shared drivers

    def _kind(self, pid: int) -> str | None:
        if pid not in self._kinds:
            cmd = cmdline(pid)
            kind = cpu_kind(cmd)
            if kind is None and "python" in cmd:
                return None  # may still exec into the driver: look again next time
            self._kinds[pid] = kind
        return self._kinds[pid]

    def _trees(self, table: dict[int, ProcStat]) -> dict[int, set[int]]:
        """root pid (the runner, a worker or a shared driver) -> the processes it is
        responsible for."""
        trees = worker_trees(self.run_pid, table)
        for driver in shared_drivers(self.run_pid, table):
            trees[driver] = {driver}
            self.shared_drivers.add(driver)
        taken = set().union(*trees.values()) if trees else set()
        trees[self.run_pid] = (descendants(self.run_pid, table) | {self.run_pid}) - taken
        return trees

    def _sample_cpu(self, wall: float, table: dict[int, ProcStat],
                    trees: dict[int, set[int]]) -> None:
        out: dict[int, dict[str, float]] = {}
        for root, tree in trees.items():
            row = dict.fromkeys(KINDS, 0.0)
            for pid in tree:
                if pid not in table:
                    continue
                stat = table[pid]
                kind = self._kind(pid)
                if pid == root and kind is None:  # a worker's or the runner's Python
                    row["python"] += stat.cpu_s  # its reaped children were counted alive
                    continue
                if kind is not None:
                    row[kind] += stat.cpu_s + stat.reaped_cpu_s  # a zygote reaps renderers
            out[root] = row
        self.cpu.append({"wall": wall, "trees": out})

    def _sample_pss(self, wall: float, trees: dict[int, set[int]]) -> None:
        kinds = {root: pss_by_kind(tree, worker=None if root in self.shared_drivers else root)
                 for root, tree in trees.items()}
        per = {root: sum(row.values()) for root, row in kinds.items()}
        # Workers whose browser is up: a browser's PSS counts its share of the pages it
        # shares with the others, which grows as they close theirs.
        browsers = sum(1 for root, tree in trees.items()
                       if root != self.run_pid and root not in self.shared_drivers
                       and any(self._kind(pid) == "browser" for pid in tree))
        self.pss.append({"wall": wall, "totalKb": sum(per.values()), "browsers": browsers,
                         "workers": {r: kb for r, kb in per.items() if r != self.run_pid},
                         "kinds": {r: row for r, row in kinds.items() if r != self.run_pid}})

    def run(self) -> None:
        """Sample until `finished` is set or the run's process is gone."""
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _SAMPLER_NICENESS)
        began = time.monotonic()
        next_pss = began
        try:
            while not self.finished.is_set():
                now = time.monotonic()
                want_cpu = now - began <= self.cpu_for_s
                want_pss = now >= next_pss
                if want_cpu or want_pss:
                    table = proc_table()
                    if self.run_pid not in table:
                        break
                    trees = self._trees(table)
                    wall = time.time()
                    if want_cpu:
                        self._sample_cpu(wall, table, trees)
                    if want_pss:
                        self._sample_pss(wall, trees)
                        next_pss = now + self.pss_every_s
                wait = (self.cpu_every_s if want_cpu
                        else max(_MIN_WAIT_S, next_pss - time.monotonic()))
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
