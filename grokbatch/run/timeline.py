"""The start-up timeline of a run: when each worker reached each phase, and its CPU so far.

Workers send a mark over their event pipe as they pass a phase (`mark_event`); the runner
collects them with its own (start, the pre-run check) and writes `<run dir>/timeline.json`
at the end of the run. `scripts/bench.py` reads it to show where start-up time and CPU go.
Times are wall-clock epoch seconds (comparable across processes); `cpu` is the process's
own CPU-seconds (`time.process_time`), not its driver's or browser's.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

# Phases in the order a worker passes them (a worker may skip some).
#   spawned    the runner started the process            (runner's clock)
#   entry      the worker's code runs                     (forked by the fork server, unpickling)
#   gate       it holds a launch slot
#   imports    Playwright and the worker modules are imported (the fork server did it before)
#   profile    its profile copy is made
#   driver     the Playwright driver (node) answers
#   browser    Chromium is up (the launch slot is given back here)
#   page       the post page is loaded and its language known
#   signed_in  the worker saw the page signed in (only when no worker looks for the run)
#   look       the worker looked at the page for the whole run (the first one only)
#   go         the runner said go (it may have said so long before)
#   first_claim  it holds its first item (the generation starts now)
#   first_video  its first item is done
PHASES = ("spawned", "entry", "gate", "imports", "profile", "driver", "browser", "page",
          "signed_in", "look", "go", "first_claim", "first_video")


def mark_event(name: str) -> dict[str, Any]:
    """The event a worker sends when it reaches phase `name`."""
    return {"type": "mark", "mark": name, "wall": time.time(), "cpu": time.process_time(),
            "pid": os.getpid()}


class Timeline:
    """The runner's record of the marks (its own and its workers')."""

    def __init__(self) -> None:
        self.started = time.time()
        self.runner: dict[str, float] = {}
        self.workers: dict[str, dict[str, Any]] = {}

    def runner_mark(self, name: str, wall: float | None = None) -> None:
        """A moment of the run as a whole (pre-run check start and end, say)."""
        self.runner[name] = time.time() if wall is None else wall

    def worker_mark(self, worker: str, name: str, wall: float | None = None,
                    cpu: float | None = None, pid: int | None = None) -> None:
        """Worker `worker` reached phase `name` (only its first time counts)."""
        row = self.workers.setdefault(worker, {"pid": None, "marks": {}})
        if pid is not None:
            row["pid"] = pid
        if name not in row["marks"]:
            row["marks"][name] = {"wall": time.time() if wall is None else wall, "cpu": cpu}

    def on_event(self, event: dict[str, Any]) -> None:
        """Record a worker's `mark` event."""
        self.worker_mark(str(event.get("worker", "?")), str(event.get("mark")),
                         _number(event.get("wall")), _number(event.get("cpu")),
                         event.get("pid") if isinstance(event.get("pid"), int) else None)

    def to_json(self) -> dict[str, Any]:
        """The timeline as written: epoch seconds, and seconds since the run started."""
        def rel(wall: float) -> float:
            return round(wall - self.started, 3)

        return {
            "startedAt": self.started,
            "phases": list(PHASES),
            "runner": {name: {"wall": wall, "t": rel(wall)} for name, wall in self.runner.items()},
            "workers": {
                worker: {"pid": row["pid"],
                         "marks": {name: {**mark, "t": rel(mark["wall"])}
                                   for name, mark in row["marks"].items()}}
                for worker, row in self.workers.items()
            },
        }

    def write(self, run_dir: Path) -> None:
        """Write `<run dir>/timeline.json` (0600); a failure to write costs only the file."""
        from grokbatch.paths import RunFiles, write_private_file

        try:
            write_private_file(RunFiles(run_dir).timeline,
                               json.dumps(self.to_json(), indent=1).encode())
        except Exception:  # a benchmark aid: never what ends a run
            return


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None
