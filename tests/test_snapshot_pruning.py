"""Which debug snapshots a directory keeps: the newest, by their files' times."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grokbatch.site.snapshot import prune_snapshots


def _snapshot(directory: Path, stem: str, mtime: int, *suffixes: str) -> None:
    for suffix in suffixes or (".html", ".png"):
        path = directory / f"{stem}{suffix}"
        path.write_bytes(b"x")
        os.utime(path, (mtime, mtime))


@pytest.fixture
def debug(tmp_path: Path) -> Path:
    path = tmp_path / "debug"
    path.mkdir()
    return path


def test_the_oldest_snapshots_go_both_files_at_once(debug: Path) -> None:
    _snapshot(debug, "worker-1_TIMEOUT_a", 100)
    _snapshot(debug, "worker-0_TIMEOUT_b", 300)
    _snapshot(debug, "worker-2_STOPPED_c", 200, ".html")  # its screenshot failed
    _snapshot(debug, "worker-3_TIMEOUT_d", 50, ".png")
    assert prune_snapshots(debug, keep=2) == 2
    assert sorted(p.name for p in debug.iterdir()) == [
        "worker-0_TIMEOUT_b.html", "worker-0_TIMEOUT_b.png", "worker-2_STOPPED_c.html"]


def test_what_is_not_a_snapshot_stays(debug: Path) -> None:
    (debug / "doctor-x1y2").mkdir()  # a doctor's profile copy, while it looks
    (debug / "notes.txt").write_text("mine")
    target = debug / "elsewhere.html"
    target.write_text("not in a snapshot directory")
    (debug / "linked.html").symlink_to(target)
    os.utime(target, (1, 1))
    _snapshot(debug, "doctor-20261202T200000", 100)
    assert prune_snapshots(debug, keep=1) == 1  # elsewhere.html, older, goes
    assert sorted(p.name for p in debug.iterdir()) == [
        "doctor-20261202T200000.html", "doctor-20261202T200000.png", "doctor-x1y2",
        "linked.html", "notes.txt"]


def test_fewer_than_kept_or_no_directory_removes_nothing(debug: Path) -> None:
    _snapshot(debug, "worker-0_TIMEOUT_a", 100)
    assert prune_snapshots(debug, keep=100) == 0
    assert prune_snapshots(debug / "missing", keep=1) == 0
    assert len(list(debug.iterdir())) == 2
