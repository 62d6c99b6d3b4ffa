"""The addresses of posts: an image post's permalink however it is written, and the page
of each video, which is a post of its own on the same site."""

from __future__ import annotations

from urllib.parse import quote, urlsplit


def same_post(permalink: str) -> str:
    """`permalink` written one way for every way of writing the same post: no query or
    fragment (`?source=share`), no trailing slash, the host in lower case without `www.`."""
    parts = urlsplit(permalink.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


def video_post_url(permalink: str, post_id: str) -> str:
    """The page of the post `post_id` on the permalink's site (each video is a post)."""
    parts = urlsplit(permalink)
    return f"{parts.scheme}://{parts.netloc}/imagine/post/{quote(post_id, safe='')}"
