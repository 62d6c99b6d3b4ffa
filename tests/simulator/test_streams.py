"""The generation stream formats, built as event lists (no network), and request bodies."""

from __future__ import annotations

from typing import Any

import pytest

from grokbatch.simulator.captured import captured_events
from grokbatch.simulator.genrequest import parse_generation_request
from grokbatch.simulator.scenario import (
    CAPTURED_PROGRESS,
    Layout,
    Scenario,
    SimulatorOptions,
)
from grokbatch.simulator.state import GenerationTicket, SimulatorState
from grokbatch.simulator.streams import (
    RESOLUTION_LIMIT_CATEGORY,
    Finish,
    Line,
    Pause,
    Record,
    StreamEvent,
    simple_events,
)

IMAGE = "http://127.0.0.1/assets/post/p1/image.png"
SESSION = "s-" + "a" * 32
_RESPONSE_KINDS = (
    "userResponse",
    "progressReport",
    "queryAction",
    "imageAttachmentInfo",
    "streamingVideoGenerationResponse",
    "token",
    "modelResponse",
)


def _ticket(resolution: str = "480p", **options: Any) -> GenerationTicket:
    state = SimulatorState(Scenario(SimulatorOptions(**options)))
    ticket = state.begin_generation(SESSION, "p1", 6, resolution, "a cat", "custom")
    assert ticket is not None
    return ticket


def _lines(events: list[StreamEvent]) -> list[dict[str, Any]]:
    return [e.obj for e in events if isinstance(e, Line)]


def _kind(obj: dict[str, Any]) -> str:
    if "error" in obj:
        return "error"
    result = obj["result"]
    if "conversation" in result or "title" in result:
        return "conversation" if "conversation" in result else "title"
    return next(k for k in _RESPONSE_KINDS if k in result["response"])


def _videos(events: list[StreamEvent]) -> list[dict[str, Any]]:
    return [
        o["result"]["response"]["streamingVideoGenerationResponse"]
        for o in _lines(events)
        if _kind(o) == "streamingVideoGenerationResponse"
    ]


def test_captured_stream_has_the_real_objects_in_the_real_order() -> None:
    ticket = _ticket()
    events = captured_events(ticket, 0.1, IMAGE, 1_775_000_000.0)
    kinds = [_kind(o) for o in _lines(events)]
    assert kinds == [
        "conversation",
        "userResponse",
        "progressReport",
        "progressReport",
        "queryAction",
        "imageAttachmentInfo",
        *["streamingVideoGenerationResponse"] * len(CAPTURED_PROGRESS),
        "token",
        "modelResponse",
        "title",
    ]
    assert len(kinds) == 20
    assert isinstance(events[-1], Finish) and events[-1].how == "end"
    videos = _videos(events)
    assert [v["progress"] for v in videos] == [1, 5, 15, 24, 33, 44, 54, 63, 72, 95, 100]
    for video in videos:
        assert {
            "videoId",
            "videoPostId",
            "parentPostId",
            "progress",
            "moderated",
            "mode",
            "modelName",
            "width",
            "height",
            "resolutionName",
            "audioUrls",
            "videoPrompt",
            "imageReference",
        } <= set(video)
        assert video["parentPostId"] == "p1" and video["videoPostId"] != "p1"
        assert (video["videoPrompt"], video["imageReference"]) == ("a cat", IMAGE)
        assert "videoUrl" not in video or video["progress"] == 100
    last = videos[-1]
    assert last["videoUrl"] == f"users/{SESSION}/generated/{ticket.video_id}/generated_video.mp4"
    assert last["thumbnailImageUrl"].endswith(f"/{ticket.video_id}/preview_image.jpg")
    assert (last["assetId"], last["rRated"], last["moderated"]) == (ticket.video_id, False, False)


def test_captured_progress_is_spread_over_the_generation_time() -> None:
    scenario = Scenario(SimulatorOptions(generation_seconds=5))
    events = captured_events(_ticket(), scenario.captured_interval_s(), IMAGE, 0.0)
    pauses = [e.seconds for e in events if isinstance(e, Pause)]
    assert len(pauses) == 10 and sum(pauses) == pytest.approx(5)
    # The outcome is recorded before the object that names the video file.
    record = next(i for i, e in enumerate(events) if isinstance(e, Record))
    named = next(
        i for i, e in enumerate(events) if isinstance(e, Line) and "videoUrl" in str(e.obj)
    )
    assert record < named


def test_a_moderated_video_reaches_100_without_a_video_url() -> None:
    events = captured_events(_ticket(moderate_every=1), 0.1, IMAGE, 0.0)
    videos = _videos(events)
    assert videos[-1]["progress"] == 100 and videos[-1]["moderated"] is True
    assert not any("videoUrl" in v for v in videos)
    assert not any(v["moderated"] for v in videos[:-1])
    assert [_kind(o) for o in _lines(events)][-3:] == ["token", "modelResponse", "title"]


@pytest.mark.parametrize(
    ("option", "ending"),
    [("network_error_every", "drop"), ("stall_every", "hold"), ("generation_error_every", "end")],
)
def test_failing_captured_streams_stop_partway(option: str, ending: str) -> None:
    ticket = _ticket(**{option: 1})
    events = captured_events(ticket, 0.1, IMAGE, 0.0)
    progress = [v["progress"] for v in _videos(events)]
    assert progress and progress[-1] <= ticket.plan.stop_percent < 100
    assert isinstance(events[-1], Finish) and events[-1].how == ending
    has_error = any(_kind(o) == "error" for o in _lines(events))
    assert has_error is (option == "generation_error_every")


@pytest.mark.parametrize("fmt", ["captured", "simple"])
def test_a_side_by_side_generation_streams_two_series(fmt: str) -> None:
    ticket = _ticket(layout=Layout.Y2026, choice_every=1)
    if fmt == "captured":
        events = captured_events(ticket, 0.1, IMAGE, 0.0)
    else:
        events = simple_events(ticket, 0.1)
    videos = _videos(events)
    by_index = {i: [v for v in videos if v["sideBySideIndex"] == i] for i in (0, 1)}
    assert len(by_index[0]) == len(by_index[1]) == len(videos) // 2
    ids = {i: {v["videoId"] for v in series} for i, series in by_index.items()}
    assert len(ids[0]) == len(ids[1]) == 1 and ids[0] != ids[1]
    for series in by_index.values():
        assert series[-1]["progress"] == 100 and series[-1]["videoUrl"]
    assert {by_index[i][-1]["videoPostId"] for i in (0, 1)} == {
        s.video_post_id for s in ticket.slots
    }


def test_simple_stream_is_todays_format() -> None:
    ticket = _ticket()
    events = simple_events(ticket, 0.1)
    videos = _videos(events)
    assert [v["progress"] for v in videos] == list(range(0, 101, 5))
    assert set(videos[0]) == {"videoId", "progress", "moderated", "videoPostId", "videoUrl"}
    assert videos[-1]["videoUrl"] == f"/assets/users/{SESSION}/generated/{ticket.video_id}/" + (
        "generated_video.mp4"
    )


@pytest.mark.parametrize("fmt", ["captured", "simple"])
def test_the_info_toast_generation_announces_480p_and_completes(fmt: str) -> None:
    ticket = _ticket("720p", info_toast_every=1)
    events = (
        captured_events(ticket, 0.1, IMAGE, 0.0) if fmt == "captured" else simple_events(ticket, 0)
    )
    reports = [
        o["result"]["response"]["progressReport"]
        for o in _lines(events)
        if _kind(o) == "progressReport"
    ]
    assert RESOLUTION_LIMIT_CATEGORY in [r["category"] for r in reports]
    videos = _videos(events)
    assert videos[-1]["progress"] == 100 and videos[-1]["videoUrl"]
    if fmt == "captured":
        assert {v["resolutionName"] for v in videos} == {"480p"}


def test_the_2026_request_body_and_the_flat_one_read_the_same() -> None:
    nested = {
        "temporary": True,
        "modelName": "imagine-video-gen",
        "message": "a cat surfing --mode=normal",
        "enableSideBySide": True,
        "responseMetadata": {
            "experiments": [],
            "modelConfigOverride": {
                "modelMap": {
                    "videoGenModelConfig": {
                        "parentPostId": "p1",
                        "aspectRatio": "1:1",
                        "videoLength": 10,
                        "resolutionName": "720p",
                    }
                }
            },
        },
    }
    flat = {"postId": "p1", "prompt": "a cat surfing", "videoLength": 10, "resolutionName": "720p"}
    assert parse_generation_request(nested) == parse_generation_request(flat)
    request = parse_generation_request(nested)
    assert (request.post_id, request.prompt, request.length_s) == ("p1", "a cat surfing", 10)
    assert (request.resolution, request.mode) == ("720p", "custom")
    empty = parse_generation_request({"message": "--mode=fun", "postId": "p2"})
    assert (empty.prompt, empty.mode, empty.resolution, empty.length_s) == ("", "fun", "480p", 6)
