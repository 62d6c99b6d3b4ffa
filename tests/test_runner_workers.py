"""runner.py: the runner, not the workers, decides which worker looks at the page for the
whole run: the first whose page loads, another if that one dies before it tells, nobody
once the run is stopping. A worker killed while it launches its browser leaves its launch
slot to the others. A worker that stops renewing its hold on a video is stopped.

The runner is real, with a real manifest; its workers are stood in for by handles whose
events the test hands to it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from grokbatch import paths
from grokbatch.config import RunConfig
from grokbatch.manifest import Manifest, RunStatus
from grokbatch.run.runner import ParallelRunner, _WorkerHandle
from grokbatch.run.summary import Halt
from grokbatch.run.worker_protocol import StartSignal, StopReason, Word, worker_id
from grokbatch.site.page_check import PageCheck

URL = "http://127.0.0.1:1/imagine/post/abc123"
EVERY_WORD = {Word.LOOK, Word.GO, Word.LEAVE}


class DeadProcess:
    """A worker process that has died (as a SIGKILL leaves it, unless told otherwise)."""

    pid = None
    sentinel = -1

    def __init__(self, exitcode: int = -9) -> None:
        self.exitcode = exitcode

    def join(self, timeout: float | None = None) -> None:
        return None

    def is_alive(self) -> bool:
        return False


def make_runner(tmp_path: Path, workers: int, halt: Halt | None = None) -> ParallelRunner:
    job = "look-test"
    manifest = Manifest.create(paths.manifest_file(job), job_name=job, account_alias="main",
                               permalink=URL, count=workers)
    config = RunConfig(account="main", permalink=URL, count=workers, parallel=workers)
    runner = ParallelRunner(config, job, manifest, tmp_path / "profile", (None,),
                            judge=lambda check: halt, show_progress=False)
    runner.replacements = workers  # no replacement is started for a dead stand-in
    for n in range(workers):
        receiver, _ = runner.ctx.Pipe(duplex=False)
        runner.workers[worker_id(n)] = _WorkerHandle(worker_id(n), DeadProcess(),  # type: ignore[arg-type]
                                                     receiver, StartSignal(runner.ctx))
    runner.next_worker = workers
    return runner


def words(runner: ParallelRunner) -> dict[str, Word | None]:
    return {w: h.start.wait_for(EVERY_WORD, 0) for w, h in runner.workers.items()}


def mark(runner: ParallelRunner, worker: str, name: str) -> None:
    runner._handle_event({"type": "mark", "mark": name, "worker": worker, "wall": 0.0,
                          "cpu": 0.0, "pid": 0})


def page_loaded(runner: ParallelRunner, worker: str) -> None:
    mark(runner, worker, "page")


def test_the_first_worker_whose_page_loads_is_asked_to_look_and_only_it(tmp_path: Path) -> None:
    runner = make_runner(tmp_path, 3)
    page_loaded(runner, "worker-1")
    page_loaded(runner, "worker-2")
    assert words(runner) == {"worker-0": None, "worker-1": Word.LOOK, "worker-2": None}


def test_a_passing_look_lets_every_worker_go_and_a_later_page_load_asks_nothing(
        tmp_path: Path) -> None:
    runner = make_runner(tmp_path, 2)
    page_loaded(runner, "worker-1")
    runner._handle_event({"type": "look", "worker": "worker-1", "check": PageCheck(url=URL)})
    assert words(runner) == {"worker-0": Word.GO, "worker-1": Word.GO}
    page_loaded(runner, "worker-0")  # a browser relaunched in the middle of the run
    assert words(runner) == {"worker-0": Word.GO, "worker-1": Word.GO}


def test_when_the_worker_asked_to_look_dies_before_it_tells_the_next_loaded_one_is_asked(
        tmp_path: Path) -> None:
    runner = make_runner(tmp_path, 3)
    page_loaded(runner, "worker-0")
    page_loaded(runner, "worker-2")
    runner._reap(runner.workers["worker-0"])
    assert words(runner) == {"worker-1": None, "worker-2": Word.LOOK}
    runner._reap(runner.workers["worker-2"])
    assert words(runner) == {"worker-1": None}  # its page is not loaded yet
    page_loaded(runner, "worker-1")
    assert words(runner) == {"worker-1": Word.LOOK}


def test_nobody_is_asked_to_look_once_the_run_is_stopping(tmp_path: Path) -> None:
    runner = make_runner(tmp_path, 2)
    runner._request_stop()
    page_loaded(runner, "worker-0")
    assert words(runner) == {"worker-0": None, "worker-1": None}


@pytest.mark.parametrize("reason", ["AUTH_REQUIRED", "USAGE"])
def test_a_hard_stop_before_the_look_asks_nobody_else_when_the_one_asked_dies(
        tmp_path: Path, reason: str) -> None:
    runner = make_runner(tmp_path, 2)
    page_loaded(runner, "worker-0")
    page_loaded(runner, "worker-1")
    runner._handle_event({"type": "stop", "worker": "worker-0", "reason": reason})
    assert runner.stop.is_set() and runner.stop_reason == StopReason(reason)
    runner._reap(runner.workers["worker-0"])
    assert words(runner) == {"worker-1": None}


def test_a_quota_for_fewer_workers_lets_those_furthest_along_go(tmp_path: Path) -> None:
    runner = make_runner(tmp_path, 4)
    mark(runner, "worker-3", "gate")  # its browser is starting
    mark(runner, "worker-2", "gate")
    mark(runner, "worker-2", "browser")
    page_loaded(runner, "worker-2")
    runner.manifest.update_fields(generationBudget=2)  # as the judge sets it from the quota
    runner._handle_event({"type": "look", "worker": "worker-2", "check": PageCheck(url=URL)})
    assert words(runner) == {"worker-0": Word.LEAVE, "worker-1": Word.LEAVE,
                             "worker-2": Word.GO, "worker-3": Word.GO}


def test_a_halting_look_lets_no_worker_go(tmp_path: Path) -> None:
    halt = Halt(RunStatus.STOPPED_AUTH, 3, "sign in again")
    runner = make_runner(tmp_path, 2, halt)
    page_loaded(runner, "worker-0")
    runner._handle_event({"type": "look", "worker": "worker-0", "check": PageCheck(url=URL)})
    assert runner.halted == halt
    assert runner.stop.is_set()
    assert words(runner) == {"worker-0": Word.LOOK, "worker-1": None}


def free_slots(runner: ParallelRunner) -> int:
    return runner.launch_gate.get_value()  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize(("marks", "exitcode", "gave_it_back"), [
    (["gate"], -9, False),  # killed while it launched
    (["gate", "browser"], -9, True),  # browser up: it gave the slot back, then was killed
    (["gate"], 1, True),  # it crashed in Python: its own code gave the slot back
    ([], -9, False),  # killed before it had a slot
])
def test_once_a_dead_worker_is_reaped_every_launch_slot_is_free_again_and_no_more(
        tmp_path: Path, marks: list[str], exitcode: int, gave_it_back: bool) -> None:
    runner = make_runner(tmp_path, 2)
    slots = free_slots(runner)
    handle = runner.workers["worker-0"]
    handle.process = DeadProcess(exitcode)  # type: ignore[assignment]
    if "gate" in marks:
        assert runner.launch_gate.acquire(timeout=0)  # what the worker does before "gate"
    for name in marks:
        mark(runner, "worker-0", name)
    if gave_it_back:
        runner.launch_gate.release()  # before its "browser" mark, or on its way out
    runner._reap(handle)
    assert free_slots(runner) == slots


class SleepingProcess:
    """A live worker process (a `sleep` leading its own process group)."""

    def __init__(self) -> None:
        self.popen = subprocess.Popen(["sleep", "60"], start_new_session=True)
        self.pid = self.popen.pid
        self.sentinel = -1
        self.exitcode = None

    def alive_after(self, seconds: float) -> bool:
        try:
            self.popen.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return True
        return False


def test_a_worker_that_stopped_renewing_its_hold_on_a_video_is_stopped_and_no_other(
        tmp_path: Path) -> None:
    runner = make_runner(tmp_path, 2)
    frozen, working = SleepingProcess(), SleepingProcess()
    try:
        runner.workers["worker-0"].process = frozen  # type: ignore[assignment]
        runner.workers["worker-1"].process = working  # type: ignore[assignment]
        assert runner.manifest.claim_next_item("worker-0") is not None
        runner._stop_lapsed()
        assert frozen.alive_after(0.5)  # its lease still runs
        later = runner.manifest.clock() + runner.manifest.lease * 2
        runner.manifest.clock = lambda: later  # worker-0 renewed nothing meanwhile
        assert runner.manifest.claim_next_item("worker-1") is not None  # leased from now on
        assert runner.manifest.lapsed_holders() == {"worker-0"}
        runner._stop_lapsed()
        assert not frozen.alive_after(5.0)
        assert working.alive_after(0.5)
    finally:
        for process in (frozen, working):
            process.popen.kill()
            process.popen.wait()


def test_a_manifest_the_runner_cannot_write_on_its_way_out_leaves_no_scratch_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The disk filled as the run ended: the runner's requeue of what its workers held
    # raised, and the rest of its clean-up (browsers, drivers, fork server, the run's
    # temporary directory, the profile copies) was skipped: the directory stayed in TMPDIR.
    import dataclasses

    from grokbatch.errors import DiskError
    from grokbatch.manifest import store

    scratch = Path(tempfile.mkdtemp(prefix="gb-scr-", dir="/tmp"))  # short: Chromium's socket
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr("tempfile.tempdir", None)
    runner = make_runner(tmp_path, 0)  # nothing to make: no worker, no browser
    runner.config = dataclasses.replace(runner.config, shared_driver=False)
    monkeypatch.setattr(runner, "_spawn", lambda: None)  # the worker leaves at once
    monkeypatch.setattr("grokbatch.run.runner.start_fork_server", lambda temp_dir: None)
    copies = runner.files.worker_profiles

    def disk_full(self: Manifest, dead_workers: frozenset[str] = frozenset()) -> list[int]:
        raise DiskError(f"cannot write {self.path}: No space left on device")

    monkeypatch.setattr(store.Manifest, "requeue_abandoned", disk_full)
    try:
        with pytest.raises(DiskError, match="No space left on device"):
            runner.run()
        assert list(scratch.iterdir()) == []
        assert not copies.exists()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_a_replacement_that_cannot_start_leaves_the_other_workers_at_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_lines: list[str]) -> None:
    # The run's temporary directory emptied under it (the fork server's socket gone), then
    # a worker killed: its replacement's start raised, and the run ended at once, "grokbatch:
    # error: No such file or directory", its other workers killed in the middle of videos.
    from grokbatch.run import runner as runner_module

    runner = make_runner(tmp_path, 2)
    runner.replacements = 0
    live = SleepingProcess()
    try:
        runner.workers["worker-1"].process = live  # type: ignore[assignment]

        def gone(*args: object, **kwargs: object) -> None:
            raise FileNotFoundError(2, "No such file or directory")

        monkeypatch.setattr(runner_module, "start_worker", gone)
        runner._reap(runner.workers["worker-0"])
        assert list(runner.workers) == ["worker-1"]
        assert live.alive_after(0.2)
        assert any("a replacement worker could not start" in line for line in log_lines)
    finally:
        live.popen.kill()
        live.popen.wait()
