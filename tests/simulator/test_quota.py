"""--quota: per-session counting, the quota_info body and a stable nextAvailableAt."""

from __future__ import annotations

from datetime import datetime

import pytest

from grokbatch.simulator.quota import MEDIA_KINDS, QuotaAccount, QuotaPolicy, rfc3339
from grokbatch.simulator.scenario import Scenario, SimulatorOptions
from grokbatch.simulator.state import SimulatorState
from grokbatch.site.quota import parse_quota

T0 = 1_775_000_000.0  # a fixed wall-clock second


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def _state(clock: Clock, **kwargs: int) -> SimulatorState:
    return SimulatorState(Scenario(SimulatorOptions(**kwargs)), clock=clock)  # type: ignore[arg-type]


def test_without_quota_everything_is_available_and_counts_are_omitted() -> None:
    body = QuotaPolicy(None, 64800).info(QuotaAccount(T0), T0)
    assert list(body) == list(MEDIA_KINDS)
    assert all(entry == {"available": True, "windowSizeSeconds": 64800} for entry in body.values())


def test_quota_counts_down_per_session_then_refuses_with_a_stable_next_available_at() -> None:
    clock = Clock()
    state = _state(clock, quota=2, quota_window_s=3600)
    assert state.quota_info("s-a")["video"] == {
        "available": True,
        "remainingQueries": 2,
        "windowSizeSeconds": 3600,
    }
    assert state.begin_generation("s-a", "p", 6) is not None
    clock.now += 10
    assert state.begin_generation("s-a", "p", 6) is not None  # the last unit: the clock starts
    ran_out = clock.now
    clock.now += 5
    assert state.begin_generation("s-a", "p", 6) is None
    assert state.begin_generation("s-b", "p", 6) is not None  # another session is unaffected
    info = state.quota_info("s-a")
    for kind in ("video", "video720p"):
        assert info[kind] == {
            "available": False,
            "remainingQueries": 0,
            "windowSizeSeconds": 3600,
            "nextAvailableAt": rfc3339(ran_out + 3600),
        }
    assert info["image"] == {"available": True, "remainingQueries": 2, "windowSizeSeconds": 3600}
    clock.now += 100
    assert state.quota_info("s-a") == info  # stable across calls
    stats = state.stats()
    assert stats["quotaCalls"] == 3
    assert stats["quotaNextAvailableAt"] == rfc3339(ran_out + 3600)
    assert (stats["rateLimited"], stats["rateLimitedAttempts"]) == (1, 1)
    assert stats["generationsStarted"] == 3


def test_quota_zero_runs_out_when_the_session_is_first_seen() -> None:
    clock = Clock()
    state = _state(clock, quota=0)
    state.touch_session("s-a")
    clock.now += 30
    assert state.begin_generation("s-a", "p", 6) is None
    video = state.quota_info("s-a")["video"]
    assert video["nextAvailableAt"] == rfc3339(T0 + 64800)
    assert (video["available"], video["remainingQueries"]) == (False, 0)


def test_the_quota_comes_back_after_the_window() -> None:
    clock = Clock()
    state = _state(clock, quota=1, quota_window_s=60)
    assert state.begin_generation("s-a", "p", 6) is not None
    clock.now += 59
    assert state.begin_generation("s-a", "p", 6) is None
    clock.now += 1
    assert state.quota_info("s-a")["video"] == {
        "available": True,
        "remainingQueries": 1,
        "windowSizeSeconds": 60,
    }
    assert state.begin_generation("s-a", "p", 6) is not None


def test_reset_forgets_quotas_and_the_last_next_available_at() -> None:
    clock = Clock()
    state = _state(clock, quota=1)
    state.begin_generation("s-a", "p", 6)
    state.quota_info("s-a")
    state.reset()
    stats = state.stats()
    assert (stats["quotaCalls"], stats["quotaNextAvailableAt"]) == (0, None)
    assert state.begin_generation("s-a", "p", 6) is not None


def test_rfc3339_is_utc_with_milliseconds() -> None:
    text = rfc3339(T0 + 0.25)
    assert text.endswith(".250Z")
    assert datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() == T0 + 0.25


@pytest.mark.parametrize(
    ("answer", "status"), [("ok", 200), ("missing", 404), ("error", 500), ("unknown", 200)])
def test_quota_info_answers_as_told_and_counts_every_call(simulator, answer, status) -> None:
    sim = simulator("--quota", "2", "--quota-info", answer)
    got, body = sim.quota_info(sim.new_session())
    assert got == status
    assert (parse_quota(body) is not None) == (answer == "ok")
    if answer == "unknown":  # the same facts, under names grokbatch does not know
        assert {entry["kind"] for entry in body["quotas"]} == set(MEDIA_KINDS)
    assert sim.stats()["quotaCalls"] == 1


def test_a_hanging_quota_info_answers_nothing_and_holds_up_no_other_request(simulator) -> None:
    sim = simulator("--quota-info", "hang")
    with pytest.raises(TimeoutError):
        sim.quota_info(sim.new_session(), timeout_s=1)
    assert sim.stats()["quotaCalls"] == 1  # the server answers others meanwhile
    sim.stop()
    assert sim.process.returncode == 0  # stopped by its SIGTERM, not killed
