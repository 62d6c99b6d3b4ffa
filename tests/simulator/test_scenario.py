"""The simulator's scenario logic: which generation gets which outcome (no browser)."""

from __future__ import annotations

import pytest

from grokbatch.simulator.scenario import (
    FAILURE_PERCENT_MAX,
    FAILURE_PERCENT_MIN,
    Outcome,
    Scenario,
    SimulatorOptions,
    normalize_video_length,
)
from grokbatch.simulator.state import SimulatorState


def test_every_generation_completes_by_default() -> None:
    scenario = Scenario(SimulatorOptions())
    assert {scenario.outcome_for(i) for i in range(1, 50)} == {Outcome.COMPLETED}
    assert scenario.plan(1).progress_steps() == list(range(0, 101, 5))


def test_every_kth_generation_gets_the_outcome() -> None:
    scenario = Scenario(SimulatorOptions(moderate_every=3))
    outcomes = [scenario.outcome_for(i) for i in range(1, 7)]
    assert [o is Outcome.MODERATED for o in outcomes] == [False, False, True] * 2


def test_precedence_is_moderate_network_generation_error_stall() -> None:
    scenario = Scenario(
        SimulatorOptions(
            moderate_every=8, network_error_every=4, generation_error_every=2, stall_every=1
        )
    )
    assert [scenario.outcome_for(i) for i in (8, 4, 2, 1)] == [
        Outcome.MODERATED,
        Outcome.NETWORK_ERROR,
        Outcome.GENERATION_ERROR,
        Outcome.STALL,
    ]


def test_failure_percent_is_seeded_and_in_band() -> None:
    a = Scenario(SimulatorOptions(stall_every=1, seed=7))
    b = Scenario(SimulatorOptions(stall_every=1, seed=7))
    c = Scenario(SimulatorOptions(stall_every=1, seed=8))
    plans_a = [a.plan(i).stop_percent for i in range(1, 30)]
    assert plans_a == [b.plan(i).stop_percent for i in range(1, 30)]
    assert plans_a != [c.plan(i).stop_percent for i in range(1, 30)]
    assert all(FAILURE_PERCENT_MIN <= p <= FAILURE_PERCENT_MAX for p in plans_a)
    steps = a.plan(1).progress_steps()
    assert steps[-1] == a.plan(1).stop_percent and steps == sorted(steps)


def test_rate_limit_refuses_the_n_plus_first_attempt_per_session() -> None:
    state = SimulatorState(Scenario(SimulatorOptions(rate_limit_after=2)))
    assert state.begin_generation("s-a", "p", 6) is not None
    assert state.begin_generation("s-a", "p", 6) is not None
    assert state.begin_generation("s-a", "p", 6) is None
    assert state.begin_generation("s-b", "p", 6) is not None
    stats = state.stats()
    assert (stats["rateLimited"], stats["generationsStarted"], stats["inFlight"]) == (1, 3, 3)
    state.reset()
    assert state.begin_generation("s-a", "p", 6) is not None


def test_only_full_gets_can_fail_and_ranged_playback_is_counted_once_per_asset() -> None:
    state = SimulatorState(Scenario(SimulatorOptions(download_error_every=2)))
    assert state.count_video_request("v1", ranged=True) is False  # playback: counted, never fails
    assert state.count_video_request("v1", ranged=True) is False  # same asset: not counted
    assert state.count_video_request("v1", ranged=False) is False  # 1st download
    assert state.count_video_request("v1", ranged=False) is True  # 2nd download fails
    assert state.count_video_request("v2", ranged=True) is False  # playback never fails
    assert state.stats()["videoRequests"] == 4
    assert state.stats()["downloadErrors"] == 1


def test_completed_generation_becomes_the_sessions_last_video() -> None:
    state = SimulatorState(Scenario(SimulatorOptions()))
    ticket = state.begin_generation("s-a", "post", 10)
    assert ticket is not None
    state.record_outcome(ticket)
    state.end_generation()
    assert state.last_video("s-a", "post") == state.video(ticket.video_id)
    assert state.stats()["generationsByLength"] == {"10": 1}
    assert state.delete_video("s-b", ticket.video_id) is False
    assert state.delete_video("s-a", ticket.video_id) is True
    assert state.last_video("s-a", "post") is None


@pytest.mark.parametrize(("sent", "length"), [(10, 10), ("6", 6), (7, 6), (None, 6), ("x", 6)])
def test_video_length_is_normalized(sent: object, length: int) -> None:
    assert normalize_video_length(sent) == length


def test_invalid_options_are_rejected() -> None:
    with pytest.raises(ValueError):
        SimulatorOptions(moderate_every=0)
    with pytest.raises(ValueError):
        SimulatorOptions(generation_seconds=-1)
