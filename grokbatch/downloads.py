"""Saving a generated video to disk, through the browser's own session.

The site serves videos only with the session cookie, so the file is fetched with the
browser context's request client (which shares its cookies), written to a temp file,
checked to be a real video, then renamed into place.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import APIRequestContext
from playwright.sync_api import Error as PlaywrightError

from grokbatch.files import write_atomically

# Attempts per file: a failed fetch is usually a passing server error.
DOWNLOAD_ATTEMPTS = 3
_WEBM_MAGIC = b"\x1a\x45\xdf\xa3"


class DownloadError(Exception):
    """A video could not be fetched or is not a video."""


@dataclass(frozen=True)
class VideoFile:
    """A saved video, as the manifest records it."""

    path: str
    bytes: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        """The manifest's `video` object."""
        return {"path": self.path, "bytes": self.bytes, "sha256": self.sha256}


def sniff_extension(data: bytes) -> str | None:
    """`mp4` or `webm` if `data` starts like one, else None."""
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "mp4"
    if data.startswith(_WEBM_MAGIC):
        return "webm"
    return None


def fetch_video(request: APIRequestContext, url: str, timeout_s: float) -> bytes:
    """The video's bytes, retried; DownloadError when every attempt failed."""
    last = "no attempt"
    for _ in range(DOWNLOAD_ATTEMPTS):
        try:
            response = request.get(url, timeout=timeout_s * 1000, fail_on_status_code=False)
        except PlaywrightError as exc:
            last = str(exc).splitlines()[0]
            continue
        if response.status != 200:
            last = f"HTTP {response.status}"
            continue
        body = response.body()
        if not body or sniff_extension(body) is None:
            last = f"not a video ({len(body)} bytes)"
            continue
        return body
    raise DownloadError(f"download failed after {DOWNLOAD_ATTEMPTS} attempts: {last}")


def save_video(data: bytes, target_stem: Path, base_dir: Path) -> VideoFile:
    """Write `data` to `<target_stem>.<ext>` atomically; paths recorded relative to base."""
    ext = sniff_extension(data)
    if ext is None:
        raise DownloadError("not a video")
    target = target_stem.with_name(f"{target_stem.name}.{ext}")  # job names may hold dots
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, data)
    return VideoFile(
        path=str(target.relative_to(base_dir)),
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
