"""A small local HTTP server that serves videos the way tests of saving need.

Standard library only, on 127.0.0.1 in a thread. Each path is one behaviour; the server
counts requests and body bytes served per path, and remembers the headers it was sent.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grokbatch.simulator

VIDEO = (Path(grokbatch.simulator.__file__).parent / "assets" / "generated_video.mp4").read_bytes()
COOKIE = "sso=s-0123456789abcdef"
# What a streamed body starts with: enough of an mp4 header to pass the sniff check.
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42"
# Writes of big bodies: small, so the bytes counted as served are close to those read.
_WRITE_BYTES = 64 * 1024


@dataclass
class ServerLog:
    """What the server saw and sent."""

    requests: Counter[str] = field(default_factory=Counter)
    served: Counter[str] = field(default_factory=Counter)  # body bytes written, per path
    headers: list[dict[str, str]] = field(default_factory=list)
    failures_left: Counter[str] = field(default_factory=Counter)  # /flaky: 500s to send first
    big_bytes: int = 50 * 1024 * 1024
    drip_interval_s: float = 0.1  # /drip: one byte each
    on_request: Any = None  # called with the path on every request, before answering


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        log = self.server.log
        path = self.path.split("?")[0]
        log.requests[path] += 1
        log.headers.append(dict(self.headers.items()))
        if log.on_request is not None:
            log.on_request(path)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer(path)

    def _answer(self, path: str) -> None:
        log = self.server.log
        if path in ("/video.mp4", "/video_hd.mp4"):
            if COOKIE not in (self.headers.get("Cookie") or ""):
                self._send(403, b"forbidden")
            else:
                self._send(200, VIDEO)
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/video.mp4")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/gone":
            self._send(404, b"not found")
        elif path == "/error":
            self._send(500, b"internal error")
        elif path == "/flaky":
            if log.failures_left[path] > 0:
                log.failures_left[path] -= 1
                self._send(500, b"internal error")
            else:
                self._send(200, VIDEO)
        elif path == "/page.html":
            self._send(200, b"<!doctype html><title>Sign in</title>" + b" " * 100)
        elif path == "/broken":
            self.send_response(200)
            self.send_header("Content-Length", str(len(VIDEO)))
            self.end_headers()
            self.wfile.write(VIDEO[: len(VIDEO) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif path == "/cut-unannounced":  # no length said, the connection closed mid-file
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(VIDEO[:-1000])
            self.close_connection = True
        elif path == "/header-only":  # an mp4's first bytes, and nothing else
            self._send(200, VIDEO[:12])
        elif path == "/drip":
            self._drip()
        elif path in ("/big-stream", "/big-announced"):
            self._send_big(path, announce=path == "/big-announced")
        else:
            self._send(404, b"no such path")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.log.served[self.path.split("?")[0]] += len(body)

    def _drip(self) -> None:
        """The video announced whole, then sent a byte every `drip_interval_s` (until the
        reader hangs up, or a minute has passed)."""
        log = self.server.log
        self.send_response(200)
        self.send_header("Content-Length", str(len(VIDEO)))
        self.end_headers()
        for byte in VIDEO[: int(60 / log.drip_interval_s)]:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            log.served["/drip"] += 1
            time.sleep(log.drip_interval_s)
        self.close_connection = True

    def _send_big(self, path: str, *, announce: bool) -> None:
        """An mp4-looking body of `big_bytes`, close-delimited unless announced."""
        log = self.server.log
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _WRITE_BYTES)
        self.send_response(200)
        if announce:
            self.send_header("Content-Length", str(log.big_bytes))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        block = (MP4_HEAD + b"\x00" * _WRITE_BYTES)[:_WRITE_BYTES]
        left = log.big_bytes
        while left > 0:
            piece = block[: min(left, _WRITE_BYTES)]
            self.wfile.write(piece)
            log.served[path] += len(piece)
            left -= len(piece)
            block = b"\x00" * _WRITE_BYTES


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    log: ServerLog


@contextlib.contextmanager
def video_server() -> Iterator[tuple[str, ServerLog]]:
    """Serve on a free loopback port; yields (base URL, log)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.log = ServerLog()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.log
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
