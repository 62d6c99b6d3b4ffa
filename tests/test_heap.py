"""heap.py: a worker's C heap gives back the large blocks it frees (a fixed mmap threshold,
set in the fork server every worker is forked from, and in the runner), and the worker
returns its heap's free pages every few videos.

The heap checks run in processes of their own, started for the test: a heap's state is
the process's whole history.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
import textwrap
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from grokbatch import heap
from grokbatch.manifest import Manifest
from grokbatch.run.worker_entry import stop_fork_server, worker_context
from tests.test_worker_saving import FakeGenerator, make_worker

# Bound on waiting for a process; only catches hangs.
_WAIT_S = 60.0

pytestmark = pytest.mark.skipif(heap._glibc() is None, reason="glibc's malloc only")


class _MallInfo2(ctypes.Structure):
    """glibc's `struct mallinfo2` (malloc.h), in bytes."""
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def heap_growth_over_a_run(tmp: Path) -> int:
    """How much the C heap grows (KB) while a worker claims and completes 300 items of a
    1000-item manifest, each in the three transactions a worker makes."""
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = _MallInfo2
    before = libc.mallinfo2().arena
    manifest = Manifest.create(tmp / "manifest.json", job_name="job", account_alias="acct",
                               permalink="http://127.0.0.1:9/imagine/post/abc", count=1000,
                               prompt="p")
    for n in range(300):
        item = manifest.claim_next_item("worker-0")
        assert item is not None
        manifest.update_item(item["index"], "worker-0", video_url=f"http://127.0.0.1:9/{n}.mp4",
                             generation_s=1.0)
        manifest.update_item(item["index"], "worker-0", status="COMPLETED")
    return (libc.mallinfo2().arena - before) >> 10


def _in_a_fresh_python(code: str) -> str:
    script = textwrap.dedent(code)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=_WAIT_S, check=True, cwd=Path(__file__).parent.parent)
    return result.stdout.strip()


def test_a_steady_heap_stays_the_same_size_over_a_runs_manifest_transactions(
    tmp_path: Path,
) -> None:
    run = """
        from pathlib import Path
        from grokbatch import heap
        from tests.test_heap import heap_growth_over_a_run
        {setup}
        print(heap_growth_over_a_run(Path({tmp!r})))
    """
    # The control: glibc's default grows the heap by MB, and keeps them (free).
    (tmp_path / "control").mkdir()
    (tmp_path / "steady").mkdir()
    grown = _in_a_fresh_python(run.format(setup="", tmp=str(tmp_path / "control")))
    assert int(grown) > 2048
    grown = _in_a_fresh_python(run.format(setup="assert heap.steady_heap()",
                                          tmp=str(tmp_path / "steady")))
    assert int(grown) < 1024


def _heap_growth_here(conn: Connection, tmp: str) -> None:
    conn.send(heap_growth_over_a_run(Path(tmp)))
    conn.close()


def test_a_worker_forked_from_the_fork_server_starts_with_a_steady_heap(
    tmp_path: Path,
) -> None:
    try:
        ctx = worker_context()
        receiver, sender = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_heap_growth_here, args=(sender, str(tmp_path)))
        process.start()
        sender.close()
        assert receiver.poll(_WAIT_S)
        assert receiver.recv() < 1024  # KB; without it, 4 MB
        process.join(_WAIT_S)
        assert process.exitcode == 0
    finally:
        stop_fork_server()


def test_giving_back_free_memory_returns_the_free_pages_inside_the_heap() -> None:
    out = _in_a_fresh_python("""
        import os
        from grokbatch import heap
        def rss_mb():
            pages = int(open("/proc/self/statm").read().split()[1])
            return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
        blocks = [bytes(2000) for _ in range(20000)]  # 40 MB from the heap
        keep = bytes(2000)  # above them: the freed space is not at the heap's top
        del blocks
        before = rss_mb()
        gave = heap.give_back_free_memory()
        print(gave, round(before - rss_mb()))
    """)
    gave, freed_mb = out.split()
    assert gave == "True"
    assert int(freed_mb) >= 30


def test_elsewhere_than_glibc_both_do_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    heap._glibc.cache_clear()
    monkeypatch.setattr(sys, "platform", "darwin")
    try:
        assert heap.steady_heap() is False
        assert heap.give_back_free_memory() is False
    finally:
        heap._glibc.cache_clear()


def test_a_worker_gives_back_its_free_memory_every_few_videos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker, manifest = make_worker(tmp_path, FakeGenerator(), auto_download=False, count=12)
    done_when_given: list[int] = []

    def spy() -> bool:
        doc = manifest.snapshot()
        done_when_given.append(sum(i["status"] == "COMPLETED" for i in doc["items"]))
        return True

    monkeypatch.setattr("grokbatch.run.worker.give_back_free_memory", spy)
    worker._work_loop(None, None)  # type: ignore[arg-type]  # the generator is a stand-in
    assert [i["status"] for i in manifest.snapshot()["items"]] == ["COMPLETED"] * 12
    every = heap.GIVE_BACK_EVERY
    assert done_when_given == list(range(every, 13, every))
