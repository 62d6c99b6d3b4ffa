"""scripts/bench.py: its command line and the pure helpers of its package
scripts/benchkit (never its timings)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from scripts.benchkit import numbers, profile_copy, report, runs, targets, timeline

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"


def test_help_works() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    assert "--quick" in result.stdout
    assert "--baseline-videos" in result.stdout


def test_percentile_interpolates() -> None:
    assert numbers.percentile([], 50) is None
    assert numbers.percentile([7.0], 99) == 7.0
    assert numbers.percentile([1, 2, 3, 4], 50) == 2.5
    assert numbers.percentile([3, 1, 2], 0) == 1
    assert numbers.percentile([3, 1, 2], 100) == 3
    assert numbers.percentile(list(range(101)), 90) == pytest.approx(90)
    assert numbers.median([5, 1, 3]) == 3


def test_render_table_is_markdown() -> None:
    table = report.render_table(["a", "bee"], [[1, 2.345], [None, "x"]])
    lines = table.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("| a") and lines[0].endswith("|")
    assert set(lines[1]) <= {"|", "-"}
    assert "2.35" in lines[2]
    assert "n/a" in lines[3]
    assert len({len(line) for line in lines}) == 1


def test_synthetic_profile_tiny(tmp_path: Path) -> None:
    root = tmp_path / "profile"
    sizes = profile_copy.build_synthetic_profile(root, state_mb=0.5, cache_mb=0.5,
                                                 file_size=64 * 1024)
    assert sizes["totalBytes"] == sum(
        p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()
    )
    assert sizes["cacheBytes"] >= 0.4 * 1024 * 1024
    for rel in ("Local State", "Default/Preferences", "Default/Cookies",
                "Default/Cache/Cache_Data", "Default/Code Cache/js", "GrShaderCache",
                "Default/Local Storage/leveldb", "Default/IndexedDB"):
        assert (root / rel).exists(), rel
    with sqlite3.connect(root / "Default" / "Cookies") as db:
        assert db.execute("SELECT count(*) FROM cookies").fetchone()[0] > 0


def test_item_timings() -> None:
    spawn = datetime(2024, 1, 1, tzinfo=timezone.utc)

    def iso(seconds: float) -> str:
        return (spawn + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")

    doc = {"items": [
        {"status": "COMPLETED", "startedAt": iso(2), "completedAt": iso(7.5),
         "generationSeconds": 5.4, "workerId": "worker-0"},
        {"status": "COMPLETED", "startedAt": iso(8), "completedAt": iso(13.1),
         "generationSeconds": 5.0, "workerId": "worker-0"},
        {"status": "PENDING", "startedAt": None, "completedAt": None},
    ]}
    out = runs.item_timings(doc, 5.0, spawn)
    assert out["completedItems"] == 2
    assert out["startToFirstClaimS"] == pytest.approx(2.0)
    assert out["medianOverheadS"] == pytest.approx(0.3)
    assert out["workersSeen"] == 1


# ------------------------------------------------------------------ start-up and long run
def test_interpolate_a_cumulative_series() -> None:
    points = [(10.0, 1.0), (12.0, 3.0), (14.0, 3.5)]
    assert timeline.interpolate([], 11.0) == 0.0
    assert timeline.interpolate(points, 9.0) == 0.0
    assert timeline.interpolate(points, 10.0) == 1.0
    assert timeline.interpolate(points, 11.0) == pytest.approx(2.0)
    assert timeline.interpolate(points, 13.0) == pytest.approx(3.25)
    assert timeline.interpolate(points, 99.0) == 3.5


def test_phase_table_takes_python_cpu_from_marks_and_the_rest_from_samples() -> None:
    t0 = 1000.0
    run_timeline = {"phases": ["spawned", "entry", "driver", "browser", "first_claim"],
                "workers": {
                    "worker-0": {"pid": 11, "marks": {
                        "spawned": {"wall": 1001.0, "cpu": None},
                        "entry": {"wall": 1001.5, "cpu": 0.1},
                        "driver": {"wall": 1002.0, "cpu": 0.3},
                        "browser": {"wall": 1003.0, "cpu": 0.35},
                        "first_claim": {"wall": 1004.0, "cpu": 0.4}}},
                    "worker-1": {"pid": 12, "marks": {
                        "spawned": {"wall": 1001.0, "cpu": None},
                        "entry": {"wall": 1002.0, "cpu": 0.1},
                        "first_claim": {"wall": 1006.0, "cpu": 0.6}}}}}
    cpu = {"11": {"driver": [(1001.5, 0.0), (1002.0, 0.2), (1004.0, 0.3)],
                  "browser": [(1002.0, 0.0), (1003.0, 0.5), (1004.0, 0.9)]}}
    rows = {r["phase"]: r for r in timeline.phase_table(run_timeline, cpu, t0)}
    assert list(rows) == ["spawned", "entry", "driver", "browser", "first_claim"]
    assert rows["spawned"]["workers"] == 2 and rows["spawned"]["phaseMedianS"] is None
    assert rows["entry"]["tMedianS"] == pytest.approx(1.75)
    assert rows["entry"]["tMaxS"] == pytest.approx(2.0)
    assert rows["driver"]["cpuPythonS"] == pytest.approx(0.2)
    assert rows["driver"]["cpuDriverS"] == pytest.approx(0.2)
    assert rows["browser"]["cpuBrowserS"] == pytest.approx(0.5)
    assert rows["browser"]["cpuS"] == pytest.approx(0.05 + 0.05 + 0.5)
    # worker-1 went from entry straight to its claim: that phase is one span for it.
    assert rows["first_claim"]["tMedianS"] == pytest.approx(5.0)
    assert rows["first_claim"]["tMaxS"] == pytest.approx(6.0)
    assert timeline.first_claims(run_timeline, t0) == [pytest.approx(4.0), pytest.approx(6.0)]


def test_memory_at_videos_takes_the_samples_around_the_kth_video() -> None:
    done = {"worker-0": [10.0 + i for i in range(10)], "worker-1": [10.0, 11.0]}
    pss = [{"wall": 10.0 + i + 0.5, "workers": {7: (100 + i) * 1024, 8: 50 * 1024}}
           for i in range(10)]
    at = timeline.memory_at_videos(pss, done, {"worker-0": 7, "worker-1": 8}, k=5, window=1)
    assert set(at) == {"worker-0"}  # worker-1 never reached its 5th video
    assert at["worker-0"] == pytest.approx(103.5)  # samples between videos 4 and 6


def test_memory_at_videos_can_count_only_samples_taken_while_every_browser_was_up() -> None:
    # worker-0 makes a video a second; worker-1's browser closes after 13 s, and worker-0's
    # PSS jumps (it now holds the shared pages alone).
    done = {"worker-0": [10.0 + i for i in range(10)], "worker-1": [10.0, 11.0, 12.0]}
    pss = [{"wall": 10.0 + i + 0.5, "browsers": 2 if i < 3 else 1,
            "workers": {7: (100 if i < 3 else 150) * 1024, 8: 50 * 1024}} for i in range(10)]
    pids = {"worker-0": 7, "worker-1": 8}
    assert timeline.memory_at_videos(pss, done, pids, k=2, window=1,
                                     browsers=2) == {"worker-0": 100.0, "worker-1": 50.0}
    # Around its 8th video only one browser was up: left out, not taken from the nearest
    # sample with two, 5 s away.
    assert timeline.memory_at_videos(pss, done, pids, k=8, window=1, browsers=2) == {}
    assert timeline.memory_at_videos(pss, done, pids, k=8, window=1) == {"worker-0": 150.0}
    at = {"2": timeline.memory_at_videos(pss, done, pids, k=2, window=1, browsers=2),
          "3": timeline.memory_at_videos(pss, done, pids, k=3, window=1, browsers=2)}
    assert timeline.memory_growth(at, [2, 3]) == [1.0, 1.0]


def test_memory_by_kind_takes_the_same_samples_and_says_what_grew() -> None:
    # worker-0's renderer grows by 1 MB a video, its Python stays put; worker-1 reaches
    # only its 2nd video and is not counted.
    done = {"worker-0": [10.0 + i for i in range(6)], "worker-1": [10.0, 11.0]}
    pss = [{"wall": 10.0 + i + 0.1, "browsers": 2,
            "workers": {7: (140 + i) * 1024, 8: 90 * 1024},
            "kinds": {7: {"chromium renderer": (100 + i) * 1024, "worker (python)": 40 * 1024},
                      8: {"chromium renderer": 50 * 1024, "worker (python)": 40 * 1024}}}
           for i in range(6)]
    pids = {"worker-0": 7, "worker-1": 8}
    assert timeline.memory_at_videos(pss, done, pids, k=2, window=0,
                                     kind="chromium renderer") == {"worker-0": 101.0,
                                                                   "worker-1": 50.0}
    assert timeline.memory_at_videos(pss, done, pids, k=2, window=0,
                                     kind="chromium gpu-process") == {"worker-0": 0.0,
                                                                      "worker-1": 0.0}
    # As the long run counts: samples within 2 videos of the k-th.
    at = {str(k): timeline.memory_at_videos(pss, done, pids, k, browsers=2) for k in (2, 6)}
    assert at == {"2": {"worker-0": 141.0, "worker-1": 90.0}, "6": {"worker-0": 143.5}}
    grew = timeline.growth_by_kind(pss, done, pids, [2, 6], at, browsers=2)
    assert grew == {"chromium renderer": pytest.approx(2.5), "worker (python)": 0.0}


def test_issue_figures_and_the_report_read_the_startup_and_longrun_rows() -> None:
    def row(n, b, t, **extra):
        return {"workers": n, "videos": b, "T": t, "idealS": -(-b // n) * t, **extra}

    results = {
        "config": {"videos": 4, "generationSeconds": 1.0, "workers": [1]},
        "startedAt": "2026-01-01T00:00:00+00:00",
        "startup": {"scenarios": {
            "n1": [row(1, 5, 3.0, treePeakMB=390.0)],
            "n5": [row(5, 20, 3.0, peakPerWorkerMB=230.0, efficiency=0.7, wallS=17.1,
                       lastFirstClaimS=5.5),
                   row(5, 20, 3.0, peakPerWorkerMB=210.0, efficiency=0.6, wallS=20.0,
                       lastFirstClaimS=6.5)],
            "n10": [row(10, 100, 5.0, peakPerWorkerMB=180.0, efficiency=0.9, wallS=55.0,
                        firstClaimS=2.5, lastFirstClaimS=7.5)]}},
        "longrun": [{"workers": 10, "T": 1.0, "early": 10, "late": 100,
                     "memoryGrowthMax": 1.04,
                     "memoryGrowthByKindMB": {"chromium renderer": 7.5, "worker (python)": 0.5,
                                              "chromium gpu-process": 0.04},
                     "memoryAtVideo": {"10": {"worker-0": 200.0}, "100": {"worker-0": 208.0}}}],
    }
    figures = targets.issue_figures(results)
    by_label = {f["figure"]: f for f in figures}
    assert by_label["memory, N=1 (whole tree)"]["ok"] is True
    n5 = by_label["memory per worker (peak PSS / N), N=5"]
    assert n5["value"] == pytest.approx(220.0) and n5["ok"] is True
    assert "210" in n5["measured"] and "230" in n5["measured"]
    assert by_label["last of 5 workers' first claim"]["value"] == pytest.approx(6.0)
    assert by_label["first video started, N=10"]["ok"] is True
    assert all(isinstance(f["value"], float) for f in figures)
    assert len(figures) == 8
    long_run = next(f for f in figures if f["figure"].startswith("10 workers x 100 videos"))
    # What grew, largest first; a kind that grew by less than 0.1 MB is left out.
    assert long_run["measured"].endswith(
        "what grew, MB by process kind: chromium renderer +7.5, worker (python) +0.5)")
    results["targets"] = targets.evaluate_targets(results)
    text = report.render_report(results)
    assert "## The issue's figures" in text
