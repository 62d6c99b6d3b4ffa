"""The video quota as the site reports it, and what grokbatch makes of each shape."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from grokbatch.site.generator import challenge_response, resolve_video_url
from grokbatch.site.quota import QuotaAnswer, parse_quota


def _payload(**video):
    return {"image": {"available": True, "windowSizeSeconds": 64800}, "video": video}


def test_available_without_a_count_allows_any_number():
    quota = parse_quota(_payload(available=True, windowSizeSeconds=64800))
    assert quota is not None
    assert quota.available and quota.remaining is None and quota.allows() is None
    assert quota.window_s == 64800


def test_a_count_limits_how_many_may_start():
    quota = parse_quota(_payload(available=True, remainingQueries=3, windowSizeSeconds=60))
    assert quota is not None and quota.allows() == 3


def test_used_up_says_until_when():
    quota = parse_quota(_payload(available=False, remainingQueries=0, windowSizeSeconds=64800,
                                 nextAvailableAt="2026-11-30T07:00:00Z"))
    assert quota is not None
    assert not quota.available and quota.allows() == 0
    assert quota.next_available_at == datetime(2026, 11, 30, 7, tzinfo=timezone.utc)
    assert quota.to_json()["nextAvailableAt"] == "2026-11-30T07:00:00+00:00"


def test_zero_remaining_is_used_up_even_if_marked_available():
    quota = parse_quota(_payload(available=True, remainingQueries=0))
    assert quota is not None and quota.allows() == 0


@pytest.mark.parametrize(
    "payload",
    [None, [], {}, {"video": None}, {"video": {"remainingQueries": 3}},
     {"video": {"available": "yes"}}, "text"],
)
def test_a_shape_we_do_not_know_is_unknown(payload):
    assert parse_quota(payload) is None


def test_odd_fields_are_ignored_not_trusted():
    quota = parse_quota(_payload(available=True, remainingQueries=True, windowSizeSeconds=-5,
                                 nextAvailableAt="tomorrow"))
    assert quota is not None
    assert quota.remaining is None and quota.window_s is None and quota.next_available_at is None


@pytest.mark.parametrize(
    ("status", "why"),
    [(0, "no answer within 10 s"), (200, "an answer in a shape grokbatch does not know"),
     (404, "HTTP 404"), (500, "HTTP 500")],
)
def test_an_unknown_quota_says_why(status, why):
    assert QuotaAnswer(status, None).why_unknown() == why
    quota = parse_quota(_payload(available=True))
    assert QuotaAnswer(200, quota).why_unknown() == ""


def test_a_json_refusal_is_signed_out_and_a_browser_check_is_not():
    assert QuotaAnswer(401, None).signed_out
    assert QuotaAnswer(403, None).signed_out
    assert not QuotaAnswer(403, None, challenge=True).signed_out
    assert not QuotaAnswer(200, None).signed_out


@pytest.mark.parametrize(
    ("raw", "page", "expected"),
    [("users/u/generated/v/generated_video.mp4", "https://grok.com/imagine/post/x",
      "https://assets.grok.com/users/u/generated/v/generated_video.mp4"),
     ("users/u/generated/v/generated_video.mp4", "http://127.0.0.1:5000/imagine/post/x",
      "http://127.0.0.1:5000/assets/users/u/generated/v/generated_video.mp4"),
     ("/assets/users/u/v.mp4", "http://127.0.0.1:5000/imagine/post/x",
      "http://127.0.0.1:5000/assets/users/u/v.mp4"),
     ("https://cdn.example/v.mp4", "https://grok.com/imagine/post/x", "https://cdn.example/v.mp4")],
)
def test_stream_video_urls_become_absolute(raw, page, expected):
    assert resolve_video_url(raw, page) == expected


class _Response:
    def __init__(self, status: int, headers: dict[str, str]) -> None:
        self.status = status
        self.headers = headers


@pytest.mark.parametrize(
    ("status", "headers", "challenge"),
    [(403, {"cf-mitigated": "challenge", "content-type": "text/html"}, True),
     (403, {"content-type": "text/html; charset=utf-8"}, True),
     (503, {"cf-mitigated": "challenge"}, True),
     (403, {"content-type": "application/json"}, False),
     (200, {"content-type": "text/html"}, False),
     (404, {"content-type": "text/html"}, False)],
)
def test_a_browser_check_page_is_told_from_the_app(status, headers, challenge):
    assert challenge_response(_Response(status, headers)) is challenge  # type: ignore[arg-type]
    assert challenge_response(None) is False
