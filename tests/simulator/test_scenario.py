"""The simulator's scenario logic: which generation gets which outcome (no browser)."""

from __future__ import annotations

import pytest

from grokbatch.simulator.scenario import (
    FAILURE_PERCENT_MAX,
    FAILURE_PERCENT_MIN,
    Layout,
    OptionsUi,
    Scenario,
    ScriptedOutcome,
    SimulatorOptions,
    normalize_resolution,
    normalize_video_length,
)
from grokbatch.simulator.state import SimulatorState


def test_every_generation_completes_by_default() -> None:
    scenario = Scenario(SimulatorOptions())
    assert {scenario.outcome_for(i) for i in range(1, 50)} == {ScriptedOutcome.COMPLETED}
    assert scenario.plan(1).progress_steps() == list(range(0, 101, 5))


def test_every_kth_generation_gets_the_outcome() -> None:
    scenario = Scenario(SimulatorOptions(moderate_every=3))
    outcomes = [scenario.outcome_for(i) for i in range(1, 7)]
    assert [o is ScriptedOutcome.MODERATED for o in outcomes] == [False, False, True] * 2


def test_precedence_is_moderate_network_generation_error_stall() -> None:
    scenario = Scenario(
        SimulatorOptions(
            moderate_every=8, network_error_every=4, generation_error_every=2, stall_every=1
        )
    )
    assert [scenario.outcome_for(i) for i in (8, 4, 2, 1)] == [
        ScriptedOutcome.MODERATED,
        ScriptedOutcome.NETWORK_ERROR,
        ScriptedOutcome.GENERATION_ERROR,
        ScriptedOutcome.STALL,
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


# --- 2026 options ---------------------------------------------------------------------------
def _y2026(**kwargs: object) -> SimulatorOptions:
    return SimulatorOptions(layout=Layout.Y2026, **kwargs)  # type: ignore[arg-type]


def test_every_kth_good_generation_makes_two_videos() -> None:
    state = SimulatorState(Scenario(_y2026(choice_every=2, moderate_every=3)))
    plans = []
    for _ in range(6):
        ticket = state.begin_generation("s-a", "p", 6)
        assert ticket is not None
        plans.append(ticket.plan)
    # Generations 3 and 6 are moderated; of the good ones (1, 2, 4, 5) every second pairs.
    assert [p.outcome is ScriptedOutcome.MODERATED for p in plans] == [False, False, True] * 2
    assert [p.side_by_side for p in plans] == [False, True, False, False, True, False]


def test_a_side_by_side_generation_counts_once_and_its_choice_is_answered_once() -> None:
    state = SimulatorState(Scenario(_y2026(choice_every=1)))
    ticket = state.begin_generation("s-a", "post", 6)
    assert ticket is not None and len(ticket.slots) == 2
    state.record_outcome(ticket)
    state.end_generation()
    first, second = (s.video_id for s in ticket.slots)
    assert state.last_video("s-a", "post") == state.video(first)
    assert state.answer_choice("s-b", [first, second], second) is False  # not that session's
    assert state.answer_choice("s-a", [first, second], "other") is False  # not one of the two
    assert state.answer_choice("s-a", [first, second], second) is True
    assert state.answer_choice("s-a", [first, second], None) is False  # already answered
    assert state.last_video("s-a", "post") == state.video(second)
    assert [v.video_id for v in state.history("s-a", "post")] == [second]
    stats = state.stats()
    assert (stats["generationsStarted"], stats["generationsCompleted"]) == (1, 1)
    assert (stats["choicesShown"], stats["choicesAnswered"], stats["choicesSkipped"]) == (1, 1, 0)


def test_skipping_the_choice_keeps_the_first_video() -> None:
    state = SimulatorState(Scenario(_y2026(choice_every=1)))
    ticket = state.begin_generation("s-a", "post", 6)
    assert ticket is not None
    state.record_outcome(ticket)
    ids = [s.video_id for s in ticket.slots]
    assert state.answer_choice("s-a", ids, None) is True
    assert state.last_video("s-a", "post") == state.video(ids[0])
    assert state.video(ids[1]) is not None  # the other file stays servable
    assert state.stats()["choicesSkipped"] == 1


def test_every_kth_generation_gets_the_info_toast_and_is_made_in_480p() -> None:
    state = SimulatorState(Scenario(_y2026(info_toast_every=2)))
    tickets = [state.begin_generation("s-a", "p", 6, "720p") for _ in range(4)]
    assert [t.plan.info_toast for t in tickets if t] == [False, True, False, True]
    assert [t.resolution for t in tickets if t] == ["720p", "480p", "720p", "480p"]
    assert all(t.plan.outcome is ScriptedOutcome.COMPLETED for t in tickets if t)
    stats = state.stats()
    assert stats["infoToastsShown"] == 2
    assert stats["generationsByResolution"] == {"480p": 2, "720p": 2}


def test_a_video_post_is_the_parent_of_the_next_generation() -> None:
    state = SimulatorState(Scenario(SimulatorOptions()))
    ticket = state.begin_generation("s-a", "image-post", 6)
    assert ticket is not None
    state.record_outcome(ticket)
    video_post = ticket.slots[0].video_post_id
    assert video_post not in ("image-post", ticket.video_id)
    assert state.video_post("s-a", video_post) == state.video(ticket.video_id)
    assert state.last_video("s-a", video_post) == state.video(ticket.video_id)
    child = state.begin_generation("s-a", video_post, 6)
    assert child is not None and child.image_post_id == "image-post"
    assert state.stats()["generationsByParentPost"] == {"image-post": 1, video_post: 1}


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"choice_every": 2}, "choice_every needs layout 2026"),
        ({"options_ui": OptionsUi.RADIOGROUP}, "options_ui radiogroup needs layout 2026"),
        ({"lang": "de"}, "needs layout 2026"),
        ({"lang": "xx", "layout": Layout.Y2026}, "supported: en, es, fr, de, pt, ja, zh-CN"),
        ({"html_lang": "not a tag"}, "not a language tag"),
        ({"port": 65536}, "port must be between 0 and 65535"),
        ({"port": -1}, "port must be between 0 and 65535"),
        ({"quota": -1}, "quota must be >= 0"),
        ({"quota_window_s": 0}, "quota_window_s must be >= 1"),
    ],
)
def test_2026_options_are_validated(kwargs: dict[str, object], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        SimulatorOptions(**kwargs)  # type: ignore[arg-type]


def test_html_lang_overrides_only_the_page_language() -> None:
    assert SimulatorOptions().page_lang == "en"
    assert _y2026(lang="ja").page_lang == "ja"
    assert _y2026(lang="ja", html_lang="tlh").page_lang == "tlh"
    assert SimulatorOptions(html_lang="x-klingon-2").page_lang == "x-klingon-2"


@pytest.mark.parametrize(("sent", "name"), [("720p", "720p"), ("720P", "720p"), (None, "480p")])
def test_resolution_is_normalized(sent: object, name: str) -> None:
    assert normalize_resolution(sent) == name


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), -1.0, 1e9])
def test_a_generation_time_that_could_never_end_is_refused(seconds):
    with pytest.raises(ValueError, match="generation_seconds"):
        SimulatorOptions(generation_seconds=seconds)
