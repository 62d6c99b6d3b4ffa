"""Benchmark grokbatch against the floor (ceil(B/N) * T) and against a naive baseline.

    .venv/bin/python scripts/bench.py                  # the full benchmark (make bench)
    .venv/bin/python scripts/bench.py --quick          # smoke run, about 2 minutes
    .venv/bin/python scripts/bench.py --only manifest,profile

Parts (each can be skipped or selected with --only):
  runs      grokbatch `run start` against a fresh simulator subprocess per worker count N
  memory    PSS of each worker's process tree (worker + Playwright driver + Chromium),
            sampled in steady state during one of the runs
  profile   copy_profile() of a synthetic ~500 MB Chromium-like profile vs shutil.copytree
  manifest  claim/update latency with 20 and 100 contending processes on 1,000 items
  baseline  scripts/naive_baseline.py: one browser, click, sleep 1 s, poll every 2 s
  startup   the issue's scenarios (N=1 B=5 T=3, N=5 B=20 T=3, N=10 B=100 T=5), each with
            the whole tree sampled: peak PSS / N, efficiency, first claims, and the
            start-up timeline (per phase: when, how long, CPU of Python/driver/browser);
            beside N=1, the memory floor: a plain Playwright script (scripts/floor_probe.py)
            holding the same page in the same browser
  longrun   N=10 workers x 100 videos each of 1 s: each worker's memory at its 10th and
            its 100th video

The parts live in scripts/benchkit/, one module each (cli.py orders them). Everything
talks to 127.0.0.1 only. Every subprocess has a timeout and is killed (with its
whole process tree) on the way out; every temp dir is removed.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's grokbatch

# The package beside this file (its directory is on the path when run as a script).
from benchkit.cli import main

if __name__ == "__main__":
    sys.exit(main())
