"""post_page: which options items are video lengths. "max" picks the longest of these, so
the mode (Normal, Fun, Spicy) beside them, a resolution or an aspect ratio never counts."""

from __future__ import annotations

import pytest

from grokbatch.site.post_page import _LENGTH_TEXT


@pytest.mark.parametrize(("text", "seconds"), [
    ("6s", 6), ("10s", 10), (" 10 s ", 10), ("10秒", 10), ("10 seg", 10), ("10 сек", 10),
    ("10 Sek.", 10), ("15 seconds", 15),
])
def test_a_length_in_any_ui_language_is_read_as_its_seconds(text: str, seconds: int) -> None:
    match = _LENGTH_TEXT.match(text)
    assert match is not None and int(match[1]) == seconds


@pytest.mark.parametrize("text", ["Spicy", "Normal", "480p", "720p", "16:9", "10", "Max"])
def test_what_is_not_a_length_is_never_picked_as_one(text: str) -> None:
    assert _LENGTH_TEXT.match(text) is None
