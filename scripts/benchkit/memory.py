"""The part `memory`: PSS of each worker's process tree (worker, its Playwright driver if
it has its own, Chromium) in steady state, by kind of process; the shared drivers, the fork
server and the runner on their own."""

from __future__ import annotations

import json
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from .numbers import median
from .proctree import (
    fork_servers,
    proc_table,
    pss_by_kind,
    pss_kb,
    shared_drivers,
    worker_trees,
)

# How often the sampler looks at the manifest while it waits for the steady state.
_MANIFEST_POLL_S = 0.2
# Time between two samples of the trees.
_SAMPLE_EVERY_S = 1.0


class MemorySampler(threading.Thread):
    """Samples per-worker PSS once the run's manifest shows `after` completed items."""

    def __init__(self, runner_pid: int, manifest_path: Path, after: int, samples: int = 3):
        super().__init__(name="memory-sampler", daemon=True)
        self.runner_pid = runner_pid
        self.manifest_path = manifest_path
        self.after = after
        self.samples_wanted = samples
        self.finished = threading.Event()
        self.samples: list[dict[str, Any]] = []
        self.error: str | None = None

    def _completed(self) -> int:
        try:
            doc = json.loads(self.manifest_path.read_bytes())
        except (OSError, ValueError):
            return 0
        return sum(1 for i in doc.get("items", []) if i.get("status") == "COMPLETED")

    def run(self) -> None:
        """Wait for the steady state, then take `samples` samples."""
        try:
            while not self.finished.wait(_MANIFEST_POLL_S):
                if self._completed() >= self.after:
                    break
            while not self.finished.is_set() and len(self.samples) < self.samples_wanted:
                table = proc_table()
                trees = worker_trees(self.runner_pid, table)
                if trees:
                    workers = {}
                    for pid, tree in trees.items():
                        kinds = pss_by_kind(tree, worker=pid)
                        workers[str(pid)] = {"pssKb": sum(kinds.values()),
                                             "processes": len(tree), "byKindKb": kinds}
                    servers = fork_servers(self.runner_pid, table)
                    drivers = shared_drivers(self.runner_pid, table)
                    self.samples.append({"t": time.monotonic(),
                                         "runnerPssKb": pss_kb(self.runner_pid),
                                         "forkServerPssKb": sum(pss_kb(p) for p in servers),
                                         "sharedDriverPssKb": sum(pss_kb(p) for p in drivers),
                                         "sharedDrivers": len(drivers),
                                         "workers": workers})
                self.finished.wait(_SAMPLE_EVERY_S)
        except Exception as exc:  # report, never take the bench down
            self.error = f"{type(exc).__name__}: {exc}"

    def summary(self) -> dict[str, Any]:
        """The part's figures (bench.json `memory`), with the raw samples."""
        per_worker: dict[str, list[int]] = {}
        procs: list[int] = []
        for sample in self.samples:
            for pid, row in sample["workers"].items():
                per_worker.setdefault(pid, []).append(row["pssKb"])
                procs.append(row["processes"])
        mb = [statistics.median(v) / 1024 for v in per_worker.values()]
        kinds: dict[str, list[int]] = {}
        for sample in self.samples:
            for row in sample["workers"].values():
                for kind, kb in row["byKindKb"].items():
                    kinds.setdefault(kind, []).append(kb)
        return {
            "samples": len(self.samples),
            "workers": len(per_worker),
            "processesPerWorker": median(procs),
            "perWorkerMedianMB": median(mb),
            "perWorkerMaxMB": max(mb) if mb else None,
            "totalWorkersMB": sum(mb) if mb else None,
            "runnerMB": (median([s["runnerPssKb"] for s in self.samples]) or 0) / 1024
            if self.samples else None,
            "forkServerMB": (median([s.get("forkServerPssKb", 0) for s in self.samples]) or 0)
            / 1024 if self.samples else None,
            "sharedDriverMB": (median([s.get("sharedDriverPssKb", 0) for s in self.samples])
                               or 0) / 1024 if self.samples else None,
            "sharedDrivers": median([s.get("sharedDrivers", 0) for s in self.samples]),
            "byKindMedianMB": {k: (median(v) or 0) / 1024 for k, v in sorted(kinds.items())},
            "error": self.error,
            "raw": self.samples,
        }
