"""A run's temporary directory (grokbatch/scratch.py): made private and locked, removed with
the run, and removed by the next run when its run was killed, never while its run lives."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grokbatch import locks, scratch
from grokbatch.scratch import ScratchDir

_CHILD = """
import sys, time
from pathlib import Path
from grokbatch.scratch import ScratchDir
made = ScratchDir.create(Path(sys.argv[1]))
print(made.path, flush=True)
time.sleep(60)
"""


@pytest.fixture
def base() -> Iterator[Path]:
    """A short, empty directory to make scratch directories in."""
    path = Path(tempfile.mkdtemp(prefix="gb-scr-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _lock_is_held(directory: Path) -> bool:
    lock = locks.try_lock(directory / ".run.lock")
    if lock is None:
        return True
    lock.close()
    return False


def test_a_new_directory_is_private_locked_and_removed_whole(base: Path) -> None:
    made = ScratchDir.create(base)
    assert made is not None
    assert made.path.parent == base
    assert made.path.name.startswith(scratch.PREFIX)
    assert made.path.stat().st_mode & 0o777 == 0o700
    assert _lock_is_held(made.path)
    (made.path / "org.chromium.Chromium.abc123").mkdir()
    (made.path / "org.chromium.Chromium.abc123" / "SingletonCookie").write_text("x")
    made.remove()
    assert list(base.iterdir()) == []


def test_a_live_runs_directory_is_kept_and_a_dead_runs_removed(base: Path) -> None:
    live = ScratchDir.create(base)
    dead = ScratchDir.create(base)
    assert live is not None and dead is not None
    (dead.path / "playwright-artifacts-x").mkdir()
    dead._lock.close()  # its run is gone: nothing holds its lock any more
    assert scratch.remove_stale(base) == 1
    assert list(base.iterdir()) == [live.path]
    assert _lock_is_held(live.path)
    live.remove()


def test_the_directory_of_a_killed_process_goes_with_the_next_run(base: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(base)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        killed = Path(child.stdout.readline().strip())
        assert killed.is_dir() and _lock_is_held(killed)
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    assert not _lock_is_held(killed)  # the kernel let its lock go with it
    made = ScratchDir.create(base)
    assert made is not None
    assert list(base.iterdir()) == [made.path]
    made.remove()


def test_only_old_unnamed_directories_and_ours_are_removed(base: Path) -> None:
    young = base / ".grokbatch-new-young"  # another run, naming its own this moment
    old = base / ".grokbatch-new-old"  # a run killed in that moment
    other = base / "grokbatch-driver-x"  # not a run's directory: not ours to remove
    for path in (young, old, other):
        path.mkdir()
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    (base / "grokbatch-run-link").symlink_to(other)
    assert scratch.remove_stale(base) == 1
    assert sorted(p.name for p in base.iterdir()) == sorted(
        [young.name, other.name, "grokbatch-run-link"])


def test_no_directory_when_chromium_s_socket_would_not_fit(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60)
    deep.mkdir()
    assert ScratchDir.create(deep) is None
    assert list(deep.iterdir()) == []


def test_a_temporary_directory_too_deep_for_chromium_gives_way_to_tmp(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deep = tmp_path / ("d" * 70)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    made = ScratchDir.create()
    assert made is not None
    try:
        assert made.path.parent == Path("/tmp")
    finally:
        made.remove()
    assert list(deep.iterdir()) == []


def test_use_makes_it_this_process_s_and_its_children_s(
        base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", "/tmp")
    monkeypatch.setattr(tempfile, "tempdir", None)
    scratch.use(base)
    assert tempfile.gettempdir() == str(base)
    child = subprocess.run([sys.executable, "-c", "import tempfile; print(tempfile.gettempdir())"],
                           capture_output=True, text=True, check=True)
    assert child.stdout.strip() == str(base)
    scratch.use(None)  # no directory: nothing changes
    assert os.environ["TMPDIR"] == str(base)
