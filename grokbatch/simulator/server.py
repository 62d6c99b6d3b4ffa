"""HTTP server of the Grok Imagine simulator: routing, pages, assets and control endpoints.

Standard library only (``ThreadingHTTPServer``): one daemon thread per connection, so a
hundred browsers each holding a streaming generation open do not slow each other down.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import threading
from functools import cache
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from grokbatch.simulator import pages
from grokbatch.simulator.layout2026 import Pages2026
from grokbatch.simulator.rest import RestHandler
from grokbatch.simulator.scenario import Layout, Scenario, SimulatorOptions
from grokbatch.simulator.state import SimulatorState, VideoRecord
from grokbatch.simulator.urls import (
    CHOICE_PATH,
    HD_VIDEO_NAME,
    VIDEO_NAME,
    thumbnail_url,
    video_url,
)

_POST_RE = re.compile(r"^/imagine/post/([A-Za-z0-9-]{1,64})$")
_IMAGE_RE = re.compile(r"^/assets/post/([A-Za-z0-9-]{1,64})/image\.png$")
_USER_ASSET_RE = re.compile(
    r"^/assets/users/(s-[0-9a-f]{32})/generated/([0-9a-f-]{36})/"
    r"(generated_video(?:_hd)?\.mp4|preview_image\.jpg)$"
)
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
# An MP4 box header: its size in bytes (header included, 32-bit big-endian), then its type.
_BOX_HEADER = struct.Struct(">I4s")
# Paths a --challenge never blocks: the control endpoints (tests need them) and the assets
# (on the real site they live on another host).
_UNCHALLENGED_PREFIXES = ("/__sim/", "/assets/")


@cache
def _asset(name: str) -> bytes:
    """Bytes of a file shipped in ``grokbatch/simulator/assets``."""
    return (resources.files("grokbatch.simulator") / "assets" / name).read_bytes()


@cache
def _video(name: str, size: int) -> bytes:
    """A generated video as served: the shipped file, padded to about ``size`` bytes.

    The padding is one top-level ``free`` box after the file's own boxes (its 8-byte header,
    then zeros), which MP4 readers skip: the video still plays and is still an MP4. A size
    not above the shipped file's serves it unchanged. Built once per name and size.
    """
    data = _asset(name)
    if size <= len(data):
        return data
    box_size = max(size - len(data), _BOX_HEADER.size)  # a box is at least its header
    return data + _BOX_HEADER.pack(box_size, b"free") + bytes(box_size - _BOX_HEADER.size)


def _safe_next(value: str | None) -> str:
    """Only local absolute paths are allowed as post-sign-in redirects."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/imagine"
    return value


class SimulatorServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that carries the simulator's options and state."""

    daemon_threads = True
    # Listen backlog: the default of 5 resets connections when 100 browsers connect at once.
    request_queue_size = 1024

    def __init__(self, options: SimulatorOptions) -> None:
        """Bind to ``options.host:options.port`` (port 0 picks a free one); OSError if not."""
        self.options = options
        self.scenario = Scenario(options)
        self.state = SimulatorState(self.scenario)
        self.pages: pages.PageSet = (
            Pages2026(options) if options.layout is Layout.Y2026 else pages.ClassicPages(options)
        )
        self.stop_event = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((options.host, options.port), SimulatorHandler)
        for name in (VIDEO_NAME, HD_VIDEO_NAME):  # padded once now, not in a request
            _video(name, options.video_bytes)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track open connections so that stopping can close streams held open."""
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget a connection once its handler is done."""
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_all_connections(self) -> None:
        """Abort every open connection (used on stop)."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about client disconnects unless verbose."""
        if self.options.verbose:
            super().handle_error(request, client_address)


def _video_view(session_id: str, video: VideoRecord) -> pages.VideoView:
    return pages.VideoView(
        video.video_id,
        video_url(session_id, video.video_id),
        video_url(session_id, video.video_id, hd=True) if video.upscaled else None,
        thumbnail_url(session_id, video.video_id),
        video.video_post_id,
        video.resolution,
    )


class SimulatorHandler(RestHandler):
    """Routes one request; see ``pages`` and ``layout2026`` for the DOM contracts."""

    def _challenged(self, path: str, head_only: bool = False) -> bool:
        """With ``--challenge``, answer with the browser-check page instead; True if so."""
        if not self.server.options.challenge or path.startswith(_UNCHALLENGED_PREFIXES):
            return False
        self._send_challenge(head_only)
        return True

    # --- GET -----------------------------------------------------------------------------
    def do_GET(self) -> None:
        """Pages, assets and stats."""
        self._get(head_only=False)

    def do_HEAD(self) -> None:
        """Like GET without a body (assets only count on GET)."""
        self._get(head_only=True)

    def _get(self, head_only: bool) -> None:
        url = urlsplit(self.path)
        path = url.path
        if self._challenged(path, head_only):
            return
        if path == "/__sim/stats":
            self._send_json(self.server.state.stats())
        elif path == "/__sim/videos":
            self._send_json(self.server.state.videos_json())
        elif path == "/sign-in":
            next_path = _safe_next(parse_qs(url.query).get("next", [None])[0])
            self._send_html(self.server.pages.sign_in(next_path))
        elif (match := _USER_ASSET_RE.match(path)) is not None:
            owner, video_id, name = match.groups()
            self._serve_user_asset(owner, video_id, name, head_only=head_only)
        elif _IMAGE_RE.match(path):
            self._send(
                200,
                _asset("image.png"),
                "image/png",
                {"Cache-Control": "public, max-age=3600"},
                head_only,
            )
        elif path in ("/", "/imagine", "/profile") or _POST_RE.match(path):
            self._serve_page(path, self.path)
        else:
            self._send_html(self.server.pages.not_found(), 404)

    def _serve_page(self, path: str, full_path: str) -> None:
        session_id, cookie = self._page_session()
        page_set = self.server.pages
        if session_id is None:
            self._send_html(page_set.signed_out(full_path))
            return
        post_match = _POST_RE.match(path)
        if post_match is not None:
            body = page_set.post(self._post_view(session_id, post_match.group(1)))
        elif path == "/imagine":
            body = page_set.gallery()
        elif path == "/profile":
            body = page_set.profile()
        else:
            body = page_set.home()
        self._send_html(body, cookie=cookie)

    def _post_view(self, session_id: str, post_id: str) -> pages.PostView:
        state = self.server.state
        made = state.history(session_id, post_id)
        video = state.last_video(session_id, post_id) or (made[-1] if made else None)
        own = state.video_post(session_id, post_id)
        return pages.PostView(
            post_id,
            own.image_post_id if own is not None else post_id,
            _video_view(session_id, video) if video is not None else None,
            tuple(_video_view(session_id, v) for v in made),
        )

    def _serve_user_asset(self, owner: str, video_id: str, name: str, head_only: bool) -> None:
        session_id = self._cookie_session()
        if session_id is None or session_id != owner:
            self._send_json({"error": {"message": "Forbidden"}}, 403)
            return
        video = self.server.state.video(video_id)
        hd = name.endswith("_hd.mp4")
        if video is None or video.session_id != owner or (hd and not video.upscaled):
            self._send_json({"error": {"message": "Not found"}}, 404)
            return
        if name.endswith(".jpg"):
            headers = {"Cache-Control": "private, max-age=3600"}
            self._send(200, _asset(name), "image/jpeg", headers, head_only)
            return
        range_header = self.headers.get("Range")
        if not head_only and self.server.state.count_video_request(
            f"{video_id}/{name}", ranged=range_header is not None
        ):
            self._send_json({"error": {"message": "Internal error"}}, 500)
            return
        data = _video(name, self.server.options.video_bytes)
        headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
        if range_header is None:
            self._send(200, data, "video/mp4", headers, head_only)
            return
        span = self._parse_range(range_header, len(data))
        if span is None:
            headers["Content-Range"] = f"bytes */{len(data)}"
            self._send(416, b"", "video/mp4", headers, head_only)
            return
        start, end = span
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        # A view, not a copy: with --video-mb a range may be most of 64 MB.
        self._send(206, memoryview(data)[start : end + 1], "video/mp4", headers, head_only)

    @staticmethod
    def _parse_range(header: str, size: int) -> tuple[int, int] | None:
        """A single ``bytes=`` range as inclusive (start, end), or None if unsatisfiable."""
        match = _RANGE_RE.match(header.strip())
        if match is None or match.groups() == ("", ""):
            return None
        first, last = match.groups()
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        return (start, end) if start <= end and start < size else None

    # --- POST ----------------------------------------------------------------------------
    def do_POST(self) -> None:
        """Sign-in, the /rest API and reset."""
        path = urlsplit(self.path).path
        if self.server.options.challenge and not path.startswith(_UNCHALLENGED_PREFIXES):
            self._read_body()
            self._send_challenge()
            return
        if path == "/sign-in":
            form = parse_qs(self._read_body().decode("utf-8", "replace"))
            _, cookie = self._sign_in()
            self.send_response(HTTPStatus.SEE_OTHER)
            self.send_header("Location", _safe_next(form.get("next", [None])[0]))
            self.send_header("Set-Cookie", cookie)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/__sim/reset":
            self._read_body()
            self.server.state.reset()
            self._send_json(self.server.state.stats())
        elif path == "/rest/app-chat/conversations/new":
            self._generate(self._read_json())
        elif path == "/rest/media/video/upscale":
            self._upscale(self._read_json())
        elif path == "/rest/media/post/delete":
            self._delete(self._read_json())
        elif path == "/rest/media/imagine/quota_info":
            self._read_body()
            self._quota_info()
        elif path == CHOICE_PATH:
            self._choice(self._read_json())
        else:
            self._read_body()
            self._send_json({"error": {"message": "Not found"}}, 404)
