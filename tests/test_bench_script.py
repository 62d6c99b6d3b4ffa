"""scripts/bench.py: its command line and its pure helpers (never its timings)."""

from __future__ import annotations

import importlib.util
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("grokbatch_bench_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_help_works() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    assert "--quick" in result.stdout
    assert "--baseline-videos" in result.stdout


def test_percentile_interpolates(bench) -> None:
    assert bench.percentile([], 50) is None
    assert bench.percentile([7.0], 99) == 7.0
    assert bench.percentile([1, 2, 3, 4], 50) == 2.5
    assert bench.percentile([3, 1, 2], 0) == 1
    assert bench.percentile([3, 1, 2], 100) == 3
    assert bench.percentile(list(range(101)), 90) == pytest.approx(90)
    assert bench.median([5, 1, 3]) == 3


def test_render_table_is_markdown(bench) -> None:
    table = bench.render_table(["a", "bee"], [[1, 2.345], [None, "x"]])
    lines = table.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("| a") and lines[0].endswith("|")
    assert set(lines[1]) <= {"|", "-"}
    assert "2.35" in lines[2]
    assert "n/a" in lines[3]
    assert len({len(line) for line in lines}) == 1


def test_synthetic_profile_tiny(bench, tmp_path: Path) -> None:
    root = tmp_path / "profile"
    sizes = bench.build_synthetic_profile(root, state_mb=0.5, cache_mb=0.5, file_size=64 * 1024)
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


def test_item_timings(bench) -> None:
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
    out = bench.item_timings(doc, 5.0, spawn)
    assert out["completedItems"] == 2
    assert out["startToFirstClaimS"] == pytest.approx(2.0)
    assert out["medianOverheadS"] == pytest.approx(0.3)
    assert out["workersSeen"] == 1
