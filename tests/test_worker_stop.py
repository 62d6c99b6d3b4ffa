"""worker.py: an outcome that stops the run (signed out, a rate limit) stops it before the
item goes back to the queue, so no other worker of the run claims that item and meets
the same wall again.

The worker runs its real code against a real manifest; the browser is stood in for.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from pathlib import Path

import pytest

from grokbatch.outcomes import Outcome
from grokbatch.run.worker_protocol import StopFlag
from tests.test_worker_saving import WORKER, FakeGenerator, make_worker, process_next


def test_signed_out_stops_the_run_before_the_item_goes_back_and_no_one_claims_it(
    tmp_path: Path,
) -> None:
    worker, manifest = make_worker(tmp_path, FakeGenerator(outcome=Outcome.AUTH_REQUIRED),
                                   count=2)
    stop_when_released: list[bool] = []
    release = manifest.release_item

    def spy(index: int, worker_id: str, reason: str | None = None) -> None:
        stop_when_released.append(worker.stop.is_set())
        release(index, worker_id, reason)

    manifest.release_item = spy  # type: ignore[method-assign]
    process_next(worker)
    assert stop_when_released == [True]
    doc = manifest.snapshot()
    # Signed out: no video was made, so no attempt is spent.
    assert [(i["status"], i["attempts"]) for i in doc["items"]] == [("PENDING", 0),
                                                                     ("PENDING", 0)]
    # Another worker of the run, asking as the worker loop does, gets nothing.
    assert manifest.claim_next_item("worker-1", stopping=worker.stop.is_set) is None
    assert manifest.snapshot() == doc
    assert WORKER not in {i["workerId"] for i in doc["items"]}


def test_a_worker_the_disk_refuses_stops_the_run_naming_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every other worker, and each replacement, would die of the same full disk.
    from grokbatch.errors import DiskError
    from grokbatch.run import worker as worker_module

    worker, _ = make_worker(tmp_path, FakeGenerator())

    def disk_full(self: object) -> None:
        raise DiskError(f"cannot write {tmp_path / 'manifest.json'}: No space left on device")

    monkeypatch.setattr(worker_module.Worker, "run", disk_full)
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    stop = StopFlag(ctx)
    child = ctx.Process(target=worker_module.worker_main, args=(worker.spec, stop, sender))
    child.start()
    sender.close()
    events = []
    with contextlib.suppress(EOFError):
        while receiver.poll(30):
            events.append(receiver.recv())
    child.join(30)
    assert child.exitcode == worker_module.WorkerExit.CRASHED
    assert stop.is_set()
    stops = [e for e in events if e["type"] == "stop"]
    assert stops == [{"type": "stop", "reason": "DISK", "worker": worker.spec.worker_id,
                      "message": f"cannot write {tmp_path / 'manifest.json'}: No space left "
                                 "on device"}]


def test_a_video_not_asked_for_because_the_run_was_stopping_goes_back_unspent(
    tmp_path: Path,
) -> None:
    from grokbatch.site.generator import GenerationResult

    class Stopping(FakeGenerator):
        def generate(self, prompt: str | None, label: str) -> GenerationResult:
            self.generations += 1
            return GenerationResult(Outcome.GENERATION_ERROR, "the run is stopping",
                                    stopped=True)

    worker, manifest = make_worker(tmp_path, Stopping(), count=1)
    process_next(worker)
    [item] = manifest.snapshot()["items"]
    assert (item["status"], item["attempts"], item["workerId"]) == ("PENDING", 0, None)
    assert not item.get("history")  # no failed attempt recorded: none was made
