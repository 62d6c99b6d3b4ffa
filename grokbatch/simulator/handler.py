"""Plumbing shared by the simulator's request handlers: responses, bodies, sessions.

``server.SimulatorHandler`` routes; ``rest.RestHandler`` answers the ``/rest`` API; both
build on ``HandlerBase``.
"""

from __future__ import annotations

import json
import sys
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from grokbatch.simulator import pages
from grokbatch.simulator.state import (
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    is_well_formed_session,
    new_session_id,
)
from grokbatch.simulator.streams import ChunkedWriter

if TYPE_CHECKING:
    from grokbatch.simulator.server import SimulatorServer

# Idle keep-alive connections are closed after this long.
_IDLE_TIMEOUT_S = 120


class HandlerBase(BaseHTTPRequestHandler):
    """Responses, request bodies and the session cookie."""

    server: SimulatorServer
    protocol_version = "HTTP/1.1"
    timeout = _IDLE_TIMEOUT_S
    server_version = "GrokImagineSimulator/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Access log only with ``--verbose``."""
        if self.server.options.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _send(
        self,
        status: int,
        body: bytes | memoryview,
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

    def _send_challenge(self, head_only: bool = False) -> None:
        """403 with a browser-check page, as Cloudflare answers a challenged request."""
        self.server.state.record_challenge()
        headers = {"Cache-Control": "private, no-store", "cf-mitigated": "challenge"}
        body = pages.render_challenge(self.server.options.page_lang).encode()
        self._send(403, body, "text/html; charset=UTF-8", headers, head_only)

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

    def _start_stream(self, sse: bool = False) -> ChunkedWriter:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if sse else "application/x-ndjson")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        return ChunkedWriter(self.wfile, self.connection, self.server.stop_event, sse=sse)

    def _unauthenticated(self) -> None:
        self._send_json({"error": {"code": 16, "message": "Unauthenticated"}}, 401)
