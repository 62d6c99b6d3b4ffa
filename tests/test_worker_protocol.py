"""grokbatch.run.worker_protocol: the runner's word to a worker, and the role of the worker that
looks at the page for the whole run (shared objects of the spawn context, used in-process)."""

from __future__ import annotations

import multiprocessing

from grokbatch.run.worker_protocol import ScoutRole, StartSignal, worker_id, worker_number

CTX = multiprocessing.get_context("spawn")


def test_a_worker_has_no_word_until_the_runner_says_go_or_leave() -> None:
    waiting, going, leaving = StartSignal(CTX), StartSignal(CTX), StartSignal(CTX)
    assert waiting.poll(0) is None
    going.go()
    leaving.leave()
    assert going.poll(0) is True
    assert leaving.poll(0) is False


def test_one_worker_looks_for_the_run_and_another_takes_over_if_it_dies_first() -> None:
    role = ScoutRole(CTX)
    assert role.take(0)
    assert not role.take(1)  # worker-0 is looking
    role.release(1)  # not its role: nothing changes
    assert not role.take(2)
    role.release(0)  # worker-0 died before it told
    assert role.take(2)
    role.close()  # the runner has its look
    role.release(2)
    assert not role.take(3)


def test_worker_number_is_the_number_in_its_id() -> None:
    assert worker_number("worker-0") == 0
    assert worker_number("worker-12") == 12


def test_worker_id_and_number_are_inverse() -> None:
    assert worker_number(worker_id(7)) == 7


def test_events_cross_the_pipe_as_plain_values_the_runner_turns_back_into_enums() -> None:
    from grokbatch.run.worker_protocol import EventKind, Events, StopReason, WorkerState

    receiver, sender = CTX.Pipe(duplex=False)
    events = Events(sender, "worker-3")
    events.state(WorkerState.GENERATING, item=4, progress=50)
    events.stop_run(StopReason.RATE_LIMIT)
    events.item_done(4, "COMPLETED")
    got = [receiver.recv() for _ in range(3)]
    assert got == [
        {"type": "state", "state": "generating", "item": 4, "progress": 50, "worker": "worker-3"},
        {"type": "stop", "reason": "RATE_LIMIT", "worker": "worker-3"},
        {"type": "item", "index": 4, "outcome": "COMPLETED", "worker": "worker-3"},
    ]
    assert all(type(value) is str for event in got for key, value in event.items()
               if key in ("type", "state", "reason"))
    assert StopReason(got[1]["reason"]) is StopReason.RATE_LIMIT
    assert got[0]["type"] == EventKind.STATE
