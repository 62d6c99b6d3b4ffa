"""scripts/bench.py at toy size, end to end: its start-up timeline and long-run figures
exist and are numbers (their values are the benchmark's business, never a test's)."""

from __future__ import annotations

import json
import subprocess
import sys
from numbers import Number
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bench.py"
# Four toy runs, each with its own simulator and account: minutes only if something hangs.
BENCH_TIMEOUT_S = 600


def _number(value: object) -> bool:
    return isinstance(value, Number) and not isinstance(value, bool)


def test_bench_at_toy_size_reports_the_startup_timeline_and_long_run_figures(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--only", "startup,longrun",
         "--long-run-video-mb", "0.5", "--out", str(out)],
        capture_output=True, text=True, timeout=BENCH_TIMEOUT_S, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    doc = json.loads(out.read_text())
    scenarios = doc["startup"]["scenarios"]
    assert set(scenarios) == {"n1", "n5", "n10"}
    for name, runs in scenarios.items():
        row = runs[0]
        assert row.get("ok") is True, (name, row.get("error"), row.get("stderrTail"))
        for key in ("wallS", "efficiency", "treePeakMB", "peakPerWorkerMB", "firstClaimS",
                    "lastFirstClaimS", "verdictS"):  # the first worker's look, no pre-run check
            assert _number(row.get(key)), (name, key, row.get(key))
        phases = {r["phase"]: r for r in row["timeline"]}
        for phase in ("spawned", "entry", "imports", "driver", "browser", "page",
                      "first_claim", "first_video"):
            assert phase in phases, (name, phase)
            assert _number(phases[phase]["tMedianS"]) and _number(phases[phase]["tMaxS"])
        for phase in ("imports", "driver", "browser", "page", "first_claim"):
            for key in ("phaseMedianS", "cpuPythonS", "cpuDriverS", "cpuBrowserS", "cpuS"):
                assert _number(phases[phase][key]), (name, phase, key)
        assert 1 <= phases["first_claim"]["workers"] <= row["workers"]  # a toy queue empties
        # Each worker's browser is found, under the shared driver, by its profile copy. (Its
        # CPU is sampled: one phase as short as the browser's launch may fall between two
        # samples, so the phases from the launch to the first claim are counted together.)
        assert sum(phases[p]["cpuBrowserS"] for p in ("browser", "page", "first_claim")) > 0, name
        assert _number(row.get("sharedDriverCpuS")) and row["sharedDriverCpuS"] > 0, name
    # Beside N=1, the memory floor: a plain Playwright script on the same page, in parts.
    floor = doc["startup"]["floor"][0]
    for key in ("treeMB", "chromiumMB", "driverMB", "pythonMB"):
        assert _number(floor.get(key)) and floor[key] > 0, (key, floor)
    parts = floor["chromiumMB"] + floor["driverMB"] + floor["pythonMB"]
    assert abs(floor["treeMB"] - parts) < 0.01
    assert "floor: " in result.stdout
    long_run = doc["longrun"][0]
    assert long_run.get("ok") is True, long_run.get("error")
    assert long_run["videoMb"] == 0.5  # the page played videos of half a MB
    assert _number(long_run["memoryGrowthMax"]) and _number(long_run["memoryGrowthMedian"])
    # Counted only while both browsers were up; the growth from every sample is there too.
    assert 1 <= long_run["memoryGrowthWorkers"] <= long_run["workers"]
    assert _number(long_run["memoryGrowthMaxAnyBrowsers"])
    # What grew, by process kind: the worker's Python and its page's renderer among them.
    by_kind = long_run["memoryGrowthByKindMB"]
    assert {"worker (python)", "chromium renderer"} <= set(by_kind)
    assert all(_number(mb) for mb in by_kind.values())
    at = long_run["memoryAtVideo"]
    assert set(at) == {str(long_run["early"]), str(long_run["late"])}
    assert all(_number(mb) and mb > 0 for per_worker in at.values() for mb in per_worker.values())
    figures = [t for t in doc["targets"] if t["key"] == "issue"]
    assert len(figures) == 8 and all(t["verdict"] in ("PASS", "MISS") for t in figures)
    assert "## The issue's figures" in result.stdout
    assert "Start-up timeline" in result.stdout


def test_bench_runs_with_a_quota_make_what_it_allows_and_say_so_with_the_peak(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--only", "runs", "--workers", "3", "--videos", "4",
         "--generation-seconds", "1", "--quota", "1", "--peak-memory", "--skip-baseline",
         "--out", str(out)],
        capture_output=True, text=True, timeout=BENCH_TIMEOUT_S, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    (row,) = json.loads(out.read_text())["runs"]
    assert (row["quota"], row["exitCode"], row["simGenerationsCompleted"]) == (1, 75, 1)
    assert row["ok"] is True, row.get("stderrTail")
    assert _number(row["wallS"]) and row["idealS"] == 1.0
    assert "| 1 of 4 " in result.stdout
    assert _number(row["treePeakMB"]) and row["treePeakMB"] > 0
    assert "peak PSS of the run's process tree: N=3:" in result.stdout
