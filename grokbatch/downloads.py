"""Saving a generated video to disk, with the browser's session but outside the browser.

The site serves videos only with the session cookie. Playwright's request client would
hold a whole response body in memory (a 300 MB video once ran its driver out of memory),
so the file is fetched with the standard library instead, sending the browser context's
cookies for that URL and the page's user agent. The body is streamed in bounded reads to
a temp file, hashed on the way, capped in size and in time (a minimum average rate),
checked to be a whole video (`media`), then renamed into place; any failure leaves no
partial file.

Every failure is a `DownloadError`: the worker records it as DOWNLOAD_ERROR and keeps
the video's URL, so only the download is retried, never the generation. The one
exception is `VideoGoneError` (HTTP 404/410): the site no longer has the video.
"""

from __future__ import annotations

import hashlib
import http.client
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from playwright.sync_api import BrowserContext, Page
from playwright.sync_api import Error as PlaywrightError

from grokbatch.errors import DownloadError, VideoGoneError, VideoTooLargeError
from grokbatch.files import AtomicFile
from grokbatch.media import why_not_whole
from grokbatch.paths import make_private_dir

# Attempts per file: a failed fetch is usually a passing server error.
DOWNLOAD_ATTEMPTS = 3
# Largest video saved (`maxVideoMb`): generated clips are a few MB; anything this big is
# not a clip, and reading it would only fill the disk.
DEFAULT_MAX_VIDEO_MB = 200
MB = 1024 * 1024
# Bytes read from the socket at a time: all of the body that is ever held in memory.
READ_CHUNK_BYTES = 1 * MB
# Redirects followed per fetch (asset hosts may redirect once to a CDN).
MAX_REDIRECTS = 5
# Slowest average a download may keep, once the time of one read has passed: a body that
# comes slower than this (a server that drips it) is given up, and retried, instead of
# holding its worker for hours. A 6 MB clip at this rate takes 3 minutes.
MIN_BYTES_PER_S = 32 * 1024
# Enough leading bytes to tell an mp4 (`ftyp` at offset 4) or a webm from anything else.
_SNIFF_BYTES = 12
_WEBM_MAGIC = b"\x1a\x45\xdf\xa3"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_GONE = frozenset({404, 410})
# Sent when the page cannot say its own user agent (it crashed): cookies still work.
_FALLBACK_USER_AGENT = "Mozilla/5.0"


class SaveRefusedError(DownloadError):
    """The disk refused the file (full, read-only, not a directory): retrying now won't
    help, and no other video can be saved there either (the worker stops the run)."""


@dataclass(frozen=True)
class VideoFile:
    """A saved video, as the manifest records it."""

    path: str
    bytes: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        """The manifest's `video` object."""
        return {"path": self.path, "bytes": self.bytes, "sha256": self.sha256}


@dataclass(frozen=True)
class BrowserIdentity:
    """What a download sends to be the browser: its user agent, and its cookies per URL."""

    user_agent: str
    cookies_for: Callable[[str], str]  # URL -> `Cookie` header value ("" for none)


def browser_identity(context: BrowserContext, page: Page) -> BrowserIdentity:
    """The identity of a worker's browser: cookies are read per URL, at each request."""
    try:
        user_agent = str(page.evaluate("navigator.userAgent"))
    except PlaywrightError:
        user_agent = _FALLBACK_USER_AGENT

    def cookies_for(url: str) -> str:
        return "; ".join(f"{c['name']}={c['value']}" for c in context.cookies(url))

    return BrowserIdentity(user_agent, cookies_for)


def sniff_extension(data: bytes) -> str | None:
    """`mp4` or `webm` if `data` starts like one, else None."""
    if len(data) >= _SNIFF_BYTES and data[4:8] == b"ftyp":
        return "mp4"
    if data.startswith(_WEBM_MAGIC):
        return "webm"
    return None


def describe_size(limit_bytes: int) -> str:
    """`200 MB` for a whole number of MB, else the bytes."""
    return f"{limit_bytes // MB} MB" if limit_bytes % MB == 0 else f"{limit_bytes} bytes"


def download_video(
    url: str,
    target_stem: Path,
    base_dir: Path,
    identity: BrowserIdentity,
    *,
    timeout_s: float,
    max_bytes: int = DEFAULT_MAX_VIDEO_MB * MB,
    attempts: int = DOWNLOAD_ATTEMPTS,
) -> VideoFile:
    """Fetch `url` to `<target_stem>.<mp4|webm>`; paths recorded relative to `base_dir`.

    Server and network failures are retried `attempts` times. A gone video, one over
    `max_bytes` and a disk that refuses the file fail at once. Raises DownloadError.
    """
    try:
        make_private_dir(target_stem.parent)  # 0700, like every directory under the run
    except OSError as exc:
        raise SaveRefusedError(f"cannot save under {target_stem.parent.name}/: "
                            f"{exc.strerror or exc}") from None
    last = "no attempt"
    for _ in range(attempts):
        try:
            return _fetch_once(url, target_stem, base_dir, identity, timeout_s, max_bytes)
        except (VideoGoneError, VideoTooLargeError, SaveRefusedError):
            raise
        except DownloadError as exc:
            last = str(exc)
    raise DownloadError(f"download failed after {attempts} attempts: {last}")


def video_gone(url: str, identity: BrowserIdentity, *, timeout_s: float) -> bool:
    """Whether the site says it no longer has the video at `url` (404/410), asking for its
    first byte only; False when it has it, or when it did not answer (nothing is known)."""
    try:
        conn, response = _open(url, identity, timeout_s, byte_range="bytes=0-0")
    except DownloadError:
        return False
    conn.close()
    return response.status in _GONE


def _fetch_once(url: str, target_stem: Path, base_dir: Path, identity: BrowserIdentity,
                timeout_s: float, max_bytes: int) -> VideoFile:
    """One GET streamed to a temp file that becomes the video, or is deleted."""
    conn, response = _open(url, identity, timeout_s)
    try:
        if response.status in _GONE:
            raise VideoGoneError(f"the site no longer has this video (HTTP {response.status})")
        if response.status != 200:
            raise DownloadError(f"HTTP {response.status}")
        length_header = response.getheader("Content-Length") or ""
        announced = int(length_header) if length_header.isdigit() else None
        if announced is not None and announced > max_bytes:
            raise VideoTooLargeError(f"{VideoTooLargeError.TOO_LARGE} {describe_size(max_bytes)} "
                                     f"({announced} bytes announced)")
        try:
            tmp = AtomicFile(target_stem.parent, target_stem.name)
        except OSError as exc:
            raise SaveRefusedError(f"cannot write in {target_stem.parent.name}/: "
                              f"{exc.strerror or exc}") from None
        with tmp:
            size, digest, ext = _stream_body(response, tmp, max_bytes, timeout_s)
            if announced is not None and size != announced:  # read() does not raise on this
                raise DownloadError(f"the video broke off after {size} of {announced} bytes")
            try:
                problem = why_not_whole(tmp.written(), ext)
            except OSError as exc:
                raise SaveRefusedError(f"cannot read back {target_stem.name}: "
                                  f"{exc.strerror or exc}") from None
            if problem is not None:
                raise DownloadError(f"not a whole video ({size} bytes): {problem}")
            target = target_stem.with_name(f"{target_stem.name}.{ext}")  # names may hold dots
            try:
                tmp.commit(target)
            except OSError as exc:
                raise SaveRefusedError(f"cannot save {target.name}: "
                                       f"{exc.strerror or exc}") from None
    finally:
        conn.close()
    return VideoFile(path=str(target.relative_to(base_dir)), bytes=size, sha256=digest)


def _stream_body(response: http.client.HTTPResponse, out: AtomicFile,
                 max_bytes: int, read_timeout_s: float) -> tuple[int, str, str]:
    """Copy the body to `out` in bounded reads; return (size, sha256, extension).

    Each read returns what one socket read brings (`read1`), so that a body that comes
    slower than `MIN_BYTES_PER_S` on average (after `read_timeout_s`, what one read may
    take) is given up, however it is dripped.
    """
    size = 0
    sha = hashlib.sha256()
    head = b""
    ext: str | None = None
    started = time.monotonic()
    while True:
        # Never ask for more than one byte past the cap: that byte is the proof it is over.
        want = min(READ_CHUNK_BYTES, max_bytes + 1 - size)
        try:
            chunk = response.read1(want)
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(f"the video broke off after {size} bytes: "
                                f"{_reason(exc)}") from None
        if not chunk:
            break
        size += len(chunk)
        elapsed = time.monotonic() - started
        if elapsed > read_timeout_s + size / MIN_BYTES_PER_S:
            raise DownloadError(f"the video came too slowly: {size} bytes in {elapsed:.0f} s "
                                f"(under {MIN_BYTES_PER_S // 1024} KB/s)")
        if size > max_bytes:
            raise VideoTooLargeError(f"{VideoTooLargeError.TOO_LARGE} {describe_size(max_bytes)}")
        if ext is None:
            head = (head + chunk)[:_SNIFF_BYTES]
            if len(head) >= _SNIFF_BYTES:
                ext = sniff_extension(head)
                if ext is None:
                    raise DownloadError("not a video (it starts with "
                                        f"{head[:8]!r})")
        sha.update(chunk)
        try:
            out.write(chunk)
        except OSError as exc:
            raise SaveRefusedError(f"cannot write the video: {exc.strerror or exc}") from None
    if ext is None:
        ext = sniff_extension(head)
        if ext is None:
            raise DownloadError(f"not a video ({size} bytes)")
    return size, sha.hexdigest(), ext


def _open(url: str, identity: BrowserIdentity, timeout_s: float, *,
          byte_range: str | None = None
          ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """GET `url` (following redirects, with the cookies for each hop; only `byte_range` of
    it if given); the open response.

    `timeout_s` bounds the connect and every single read of the socket.
    """
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DownloadError(f"not a downloadable URL: {parts.scheme}://{parts.hostname}")
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout_s,
                                               context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
        headers = {"User-Agent": identity.user_agent, "Accept": "*/*"}
        if byte_range:
            headers["Range"] = byte_range
        try:
            cookie = identity.cookies_for(url)
        except PlaywrightError as exc:
            conn.close()
            raise DownloadError(f"the browser's cookies are unavailable: {_reason(exc)}") from None
        if cookie:
            headers["Cookie"] = cookie
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("GET", target, headers=headers)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise DownloadError(f"request failed: {_reason(exc)}") from None
        location = response.getheader("Location")
        if response.status in _REDIRECTS and location:
            conn.close()
            url = urljoin(url, location)
            continue
        return conn, response
    raise DownloadError(f"more than {MAX_REDIRECTS} redirects")


def _reason(exc: BaseException) -> str:
    """A one-line reason for an exception (timeouts and resets have empty messages)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
