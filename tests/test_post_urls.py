"""site/post_urls.py: one post however its link is written, and each video's own post."""

from __future__ import annotations

import pytest

from grokbatch.site.post_urls import same_post, video_post_url


@pytest.mark.parametrize(
    "page_url",
    ["https://grok.com/imagine/post/img-1", "https://grok.com/imagine/post/img-1/",
     "https://www.grok.com/imagine/post/img-1?source=share",
     "https://GROK.com/imagine/post/img-1#top"],
)
def test_the_page_of_a_permalink_written_another_way_is_the_same_post(page_url: str) -> None:
    # The generator loads the permalink again only when its page shows another post: a
    # link pasted with ?source=share must not cost a page load before every video.
    assert same_post(page_url) == same_post("https://grok.com/imagine/post/img-1?source=share")


@pytest.mark.parametrize(
    "other",
    ["https://grok.com/imagine/post/img-2", "https://grok.com/imagine/post/img-1/extra",
     "https://grok.com/imagine", "http://127.0.0.1:8123/imagine/post/img-1"],
)
def test_another_post_or_page_is_not_the_same_post(other: str) -> None:
    assert same_post(other) != same_post("https://grok.com/imagine/post/img-1")


@pytest.mark.parametrize(
    ("permalink", "expected"),
    [("https://grok.com/imagine/post/img-1", "https://grok.com/imagine/post/vid-2"),
     ("https://www.grok.com/imagine/post/img-1/?source=share",
      "https://www.grok.com/imagine/post/vid-2"),
     ("http://127.0.0.1:8123/imagine/post/img-1", "http://127.0.0.1:8123/imagine/post/vid-2")],
)
def test_a_video_post_is_on_the_permalinks_site(permalink: str, expected: str) -> None:
    assert video_post_url(permalink, "vid-2") == expected


def test_a_post_id_cannot_leave_the_posts_path() -> None:
    assert video_post_url("https://grok.com/imagine/post/a", "../x?y") == (
        "https://grok.com/imagine/post/..%2Fx%3Fy")
