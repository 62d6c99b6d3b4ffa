"""HTTP server of the Grok Imagine simulator: routing, sessions, assets and control endpoints.

Standard library only (``ThreadingHTTPServer``): one daemon thread per connection, so a
hundred browsers each holding a streaming generation open do not slow each other down.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
from functools import cache
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from grokbatch.simulator import pages
from grokbatch.simulator.scenario import Scenario, SimulatorOptions, normalize_video_length
from grokbatch.simulator.state import (
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    SimulatorState,
    is_well_formed_session,
    new_session_id,
)
from grokbatch.simulator.streams import ChunkedWriter, ClientGone, stream_generation, stream_upscale

# Idle keep-alive connections are closed after this long.
_IDLE_TIMEOUT_S = 120
_POST_RE = re.compile(r"^/imagine/post/([A-Za-z0-9-]{1,64})$")
_IMAGE_RE = re.compile(r"^/assets/post/([A-Za-z0-9-]{1,64})/image\.png$")
_VIDEO_RE = re.compile(
    r"^/assets/users/(s-[0-9a-f]{32})/generated/([0-9a-f-]{36})/"
    r"(generated_video(?:_hd)?\.mp4)$"
)
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
_RATE_LIMIT_MESSAGE = "You've reached your limit of video generations. Upgrade or try again later."


@cache
def _asset(name: str) -> bytes:
    """Bytes of a file shipped in ``grokbatch/simulator/assets``."""
    return (resources.files("grokbatch.simulator") / "assets" / name).read_bytes()


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
        """Bind to ``options.host:options.port`` (port 0 picks a free one)."""
        self.options = options
        self.scenario = Scenario(options)
        self.state = SimulatorState(self.scenario)
        self.stop_event = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((options.host, options.port), SimulatorHandler)

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


class SimulatorHandler(BaseHTTPRequestHandler):
    """Routes one request; see the module docstring of ``pages`` for the DOM contract."""

    server: SimulatorServer
    protocol_version = "HTTP/1.1"
    timeout = _IDLE_TIMEOUT_S
    server_version = "GrokImagineSimulator/1.0"

    # --- plumbing ------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        """Access log only with ``--verbose``."""
        if self.server.options.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        head_only: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def _send_html(self, body: str, status: int = 200, cookie: str | None = None) -> None:
        headers = {"Cache-Control": "no-store"}
        if cookie:
            headers["Set-Cookie"] = cookie
        self._send(status, body.encode(), "text/html; charset=utf-8", headers)

    def _send_json(self, obj: Any, status: int = 200) -> None:
        body = json.dumps(obj).encode()
        self._send(status, body, "application/json", {"Cache-Control": "no-store"})

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_json(self) -> dict[str, Any]:
        try:
            obj = json.loads(self._read_body() or b"{}")
        except ValueError:
            return {}
        return obj if isinstance(obj, dict) else {}

    def _cookie_session(self) -> str | None:
        """The session from a valid ``sso`` cookie, or None."""
        if self.server.options.expire_sessions:
            return None
        try:
            jar = SimpleCookie(self.headers.get("Cookie") or "")
        except CookieError:
            return None
        morsel = jar.get(SESSION_COOKIE)
        value = morsel.value if morsel else None
        if not is_well_formed_session(value):
            return None
        assert value is not None
        self.server.state.touch_session(value)
        return value

    def _sign_in(self) -> tuple[str, str]:
        """Issue a new session; returns (session id, Set-Cookie value)."""
        session_id = new_session_id()
        self.server.state.record_sign_in(session_id)
        cookie = (
            f"{SESSION_COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Lax; "
            f"Max-Age={SESSION_MAX_AGE_S}"
        )
        return session_id, cookie

    def _page_session(self) -> tuple[str | None, str | None]:
        """Session for a page view: the cookie's, or a fresh one with ``--auto-login``."""
        session_id = self._cookie_session()
        if session_id is None and self.server.options.auto_login:
            if self.server.options.expire_sessions:
                return None, None
            return self._sign_in()
        return session_id, None

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
        if path == "/__sim/stats":
            self._send_json(self.server.state.stats())
        elif path == "/sign-in":
            next_path = _safe_next(parse_qs(url.query).get("next", [None])[0])
            self._send_html(pages.render_sign_in(next_path))
        elif (match := _VIDEO_RE.match(path)) is not None:
            owner, video_id, name = match.groups()
            self._serve_video(owner, video_id, name, head_only=head_only)
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
            self._send_html(pages.render_not_found(), 404)

    def _serve_page(self, path: str, full_path: str) -> None:
        session_id, cookie = self._page_session()
        if session_id is None:
            self._send_html(pages.render_signed_out(full_path))
            return
        post_match = _POST_RE.match(path)
        if post_match is not None:
            post_id = post_match.group(1)
            view = None
            video = self.server.state.last_video(session_id, post_id)
            if video is not None:
                hd = pages.video_url(session_id, video.video_id, hd=True)
                view = pages.VideoView(
                    video.video_id,
                    pages.video_url(session_id, video.video_id),
                    hd if video.upscaled else None,
                )
            opts = self.server.options
            body = pages.render_post(post_id, opts.editor, opts.banner, view)
        elif path == "/imagine":
            body = pages.render_gallery()
        elif path == "/profile":
            body = pages.render_profile()
        else:
            body = pages.render_home()
        self._send_html(body, cookie=cookie)

    def _serve_video(self, owner: str, video_id: str, name: str, head_only: bool) -> None:
        session_id = self._cookie_session()
        if session_id is None or session_id != owner:
            self._send_json({"error": {"message": "Forbidden"}}, 403)
            return
        video = self.server.state.video(video_id)
        hd = name.endswith("_hd.mp4")
        if video is None or video.session_id != owner or (hd and not video.upscaled):
            self._send_json({"error": {"message": "Not found"}}, 404)
            return
        range_header = self.headers.get("Range")
        if not head_only and self.server.state.count_video_request(
            f"{video_id}/{name}", ranged=range_header is not None
        ):
            self._send_json({"error": {"message": "Internal error"}}, 500)
            return
        data = _asset(name)
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
        self._send(206, data[start : end + 1], "video/mp4", headers, head_only)

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
        """Sign-in, generation, upscale, delete and reset."""
        path = urlsplit(self.path).path
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
        else:
            self._read_body()
            self._send_json({"error": {"message": "Not found"}}, 404)

    def _start_stream(self) -> ChunkedWriter:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        return ChunkedWriter(self.wfile, self.connection, self.server.stop_event)

    def _generate(self, request: dict[str, Any]) -> None:
        session_id = self._cookie_session()
        post_id = str(request.get("postId") or "")
        if session_id is None:
            self._send_json({"error": {"code": 16, "message": "Unauthenticated"}}, 401)
            return
        if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", post_id):
            self._send_json({"error": {"code": 3, "message": "Invalid postId"}}, 400)
            return
        length = normalize_video_length(request.get("videoLength"))
        state = self.server.state
        ticket = state.begin_generation(session_id, post_id, length)
        if ticket is None:
            self._send_json({"error": {"code": 8, "message": _RATE_LIMIT_MESSAGE}}, 429)
            return
        try:
            writer = self._start_stream()
            url = pages.video_url(session_id, ticket.video_id)
            stream_generation(writer, state, ticket, url, self.server.scenario.step_interval_s())
        except ClientGone:
            pass
        finally:
            state.end_generation()

    def _upscale(self, request: dict[str, Any]) -> None:
        session_id = self._cookie_session()
        video_id = str(request.get("videoId") or "")
        if session_id is None:
            self._send_json({"error": {"code": 16, "message": "Unauthenticated"}}, 401)
            return
        video = self.server.state.video(video_id)
        if video is None or video.session_id != session_id:
            self._send_json({"error": {"code": 5, "message": "Video not found"}}, 404)
            return
        hd_url = pages.video_url(session_id, video_id, hd=True)
        with contextlib.suppress(ClientGone):
            stream_upscale(
                self._start_stream(),
                self.server.scenario.upscale_step_interval_s(),
                hd_url,
                lambda: self.server.state.mark_upscaled(video_id),
            )

    def _delete(self, request: dict[str, Any]) -> None:
        session_id = self._cookie_session()
        if session_id is None:
            self._send_json({"error": {"code": 16, "message": "Unauthenticated"}}, 401)
            return
        if not self.server.state.delete_video(session_id, str(request.get("videoId") or "")):
            self._send_json({"error": {"code": 5, "message": "Video not found"}}, 404)
            return
        self._send_json({})
