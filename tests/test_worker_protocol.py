"""grokbatch.run.worker_protocol: the run's stop flag and the runner's word to a worker,
shared objects that a worker killed at any moment must not leave unusable."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from grokbatch.run.worker_protocol import StartSignal, StopFlag, Word, worker_id, worker_number

CTX = multiprocessing.get_context("spawn")
# Test processes only: forking is quicker than spawning, and the objects are the same.
FORK = multiprocessing.get_context("fork")
# Bound on a wait that only a hang would reach.
_HANG_S = 10.0


def test_a_worker_has_no_word_until_the_runner_gives_one() -> None:
    waiting, looking, going, leaving = (StartSignal(CTX) for _ in range(4))
    looking.say(Word.LOOK)
    going.say(Word.GO)
    leaving.say(Word.LEAVE)
    every = {Word.LOOK, Word.GO, Word.LEAVE}
    assert waiting.wait_for(every, 0) is None
    assert looking.wait_for(every, 0) is Word.LOOK
    assert looking.wait_for({Word.GO, Word.LEAVE}, 0) is None  # looked: waits for go
    assert going.wait_for(every, 0) is Word.GO
    assert leaving.wait_for(every, 0) is Word.LEAVE
    looking.say(Word.GO)  # the runner judged the look
    assert looking.wait_for({Word.GO, Word.LEAVE}, 0) is Word.GO


def test_the_latest_word_stands_and_a_closed_runner_end_means_leave() -> None:
    signal_ = StartSignal(CTX)
    signal_.say(Word.LOOK)
    signal_.say(Word.GO)
    assert signal_.wait_for({Word.LOOK}, 0) is None  # LOOK was replaced before it was heard
    assert signal_.wait_for({Word.GO}, 0) is Word.GO
    signal_.keep_hearing_end()  # here, the runner's end goes: no word will come
    assert signal_.wait_for({Word.LEAVE}, _HANG_S) is Word.LEAVE  # at once (EOF)


def _wait_for_go_and_report(start: StartSignal, conn: Connection) -> None:
    start.keep_hearing_end()
    conn.send(start.wait_for({Word.GO}, _HANG_S))


def test_a_worker_waiting_in_another_process_hears_go() -> None:
    start = StartSignal(FORK)
    receiver, sender = FORK.Pipe(duplex=False)
    child = FORK.Process(target=_wait_for_go_and_report, args=(start, sender))
    child.start()
    start.keep_saying_end()
    start.say(Word.GO)
    assert receiver.poll(_HANG_S) and receiver.recv() is Word.GO
    child.join(_HANG_S)


def _set_and_report(stop: StopFlag, conn: Connection) -> None:
    stop.set()
    conn.send(stop.is_set())


def test_the_stop_flag_set_in_one_process_is_seen_in_another() -> None:
    stop = StopFlag(FORK)
    assert not stop.is_set()
    receiver, sender = FORK.Pipe(duplex=False)
    child = FORK.Process(target=_set_and_report, args=(stop, sender))
    child.start()
    assert receiver.poll(_HANG_S) and receiver.recv() is True
    child.join(_HANG_S)
    assert stop.is_set()


def _spin(use: Callable[[], Any], conn: Connection, first: Callable[[], Any] | None) -> None:
    if first is not None:
        first()
    conn.send("spinning")
    while True:
        use()


def _killed_while_using(use: Callable[[], Any], then: Callable[[], Any],
                        bound_s: float = _HANG_S, first: Callable[[], Any] | None = None
                        ) -> bool:
    """Start a process that calls `first` once, then `use` over and over; kill it (SIGKILL)
    in the middle, then call `then` here; True if `then` came back within `bound_s`."""
    receiver, sender = FORK.Pipe(duplex=False)
    child = FORK.Process(target=_spin, args=(use, sender, first), daemon=True)
    child.start()
    assert receiver.poll(_HANG_S) and receiver.recv() == "spinning"
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(_HANG_S)
    caller = threading.Thread(target=then, daemon=True)  # a hang stays in this thread
    caller.start()
    caller.join(bound_s)
    return not caller.is_alive()


def test_a_worker_killed_while_it_looks_at_the_flag_and_its_word_leaves_both_usable() -> None:
    stop, start = StopFlag(FORK), StartSignal(FORK)

    def look() -> None:
        stop.is_set()
        start.wait_for({Word.GO}, 0)

    def runner_stops() -> None:
        start.say(Word.GO)
        stop.set()
        assert stop.is_set()

    assert all(_killed_while_using(look, runner_stops) for _ in range(20))


def test_a_multiprocessing_event_killed_inside_stays_held_for_good() -> None:
    """Why the flag is not a multiprocessing.Event: a worker killed while inside one of its
    calls (a kill at any moment lands there now and then) leaves its lock held, and every
    later `set` of the runner's hangs: here the child holds the lock (as `is_set` and `set`
    do for an instant) when it is killed."""
    event = FORK.Event()
    came_back = _killed_while_using(threading.Event().wait, event.set, 2.0,
                                    first=event._cond.acquire)
    assert not came_back  # held for good: no bound would be long enough


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
    events.item_done(4, "TIMEOUT", "PENDING")
    got = [receiver.recv() for _ in range(3)]
    assert got == [
        {"type": "state", "state": "generating", "item": 4, "progress": 50, "worker": "worker-3"},
        {"type": "stop", "reason": "RATE_LIMIT", "worker": "worker-3"},
        {"type": "item", "index": 4, "outcome": "TIMEOUT", "status": "PENDING",
         "worker": "worker-3"},
    ]
    assert all(type(value) is str for event in got for key, value in event.items()
               if key in ("type", "state", "reason"))
    assert StopReason(got[1]["reason"]) is StopReason.RATE_LIMIT
    assert got[0]["type"] == EventKind.STATE
