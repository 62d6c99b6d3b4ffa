"""Paths of the simulator's assets, as the pages and the streams name them.

The real site serves generated files from an assets host and names them in the stream
relative to it (``users/<uid>/generated/<videoId>/generated_video.mp4``); this simulator
serves that host's files under ``/assets/`` of its own origin.
"""

from __future__ import annotations

ASSETS_PREFIX = "/assets/"
VIDEO_NAME = "generated_video.mp4"
HD_VIDEO_NAME = "generated_video_hd.mp4"
THUMBNAIL_NAME = "preview_image.jpg"
# The simulator's own endpoint for the answer to "Which video do you prefer?".
CHOICE_PATH = "/rest/media/video/side-by-side/preference"


def relative_asset(session_id: str, video_id: str, name: str = VIDEO_NAME) -> str:
    """A generated file's path relative to the assets root, as the captured stream gives it."""
    return f"users/{session_id}/generated/{video_id}/{name}"


def video_url(session_id: str, video_id: str, hd: bool = False) -> str:
    """Absolute path of a generated video (the HD variant after an upscale)."""
    return ASSETS_PREFIX + relative_asset(session_id, video_id, HD_VIDEO_NAME if hd else VIDEO_NAME)


def thumbnail_url(session_id: str, video_id: str) -> str:
    """Absolute path of a generated video's preview image."""
    return ASSETS_PREFIX + relative_asset(session_id, video_id, THUMBNAIL_NAME)


def image_url(post_id: str) -> str:
    """Absolute path of an image post's picture."""
    return f"{ASSETS_PREFIX}post/{post_id}/image.png"
