"""The streamed (newline-delimited JSON) responses of generation and upscale.

The real site streams generation progress as NDJSON over one long POST response. We send it
with chunked transfer encoding so that a deliberately dropped connection (the network-error
scenario) is a detectable failure in the browser, not a clean end of the body.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
from collections.abc import Callable
from io import BufferedIOBase
from typing import Any, BinaryIO

from grokbatch.simulator.scenario import Outcome
from grokbatch.simulator.state import GenerationTicket, SimulatorState

# A stalled generation keeps its connection open this long at most (or until server stop).
STALL_HOLD_S = 600.0
# How often a stalled stream checks whether the client went away or the server is stopping.
STALL_POLL_S = 0.5


class ClientGone(Exception):
    """The browser closed the connection while we were streaming."""


class ChunkedWriter:
    """Writes NDJSON lines as HTTP/1.1 chunks, flushing each one."""

    def __init__(
        self, wfile: BufferedIOBase | BinaryIO, conn: socket.socket, stop: threading.Event
    ) -> None:
        """Wrap the handler's output file and socket; ``stop`` is set on server shutdown."""
        self._wfile = wfile
        self._conn = conn
        self._stop = stop

    def line(self, obj: dict[str, Any]) -> None:
        """Send one JSON object followed by a newline, as one chunk."""
        data = json.dumps(obj, separators=(",", ":")).encode() + b"\n"
        try:
            self._wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self._wfile.flush()
        except OSError as exc:
            raise ClientGone from exc

    def end(self) -> None:
        """Terminate the body properly (zero-length chunk)."""
        try:
            self._wfile.write(b"0\r\n\r\n")
            self._wfile.flush()
        except OSError as exc:
            raise ClientGone from exc

    def drop(self) -> None:
        """Abort the connection mid-body, so the browser sees a network error."""
        with contextlib.suppress(OSError):
            self._conn.shutdown(socket.SHUT_RDWR)

    def pause(self, seconds: float) -> None:
        """Sleep between lines; raise ClientGone early when the server is stopping."""
        if self._stop.wait(seconds):
            raise ClientGone

    def hold(self, seconds: float) -> None:
        """Keep the connection open without sending, until timeout, stop or client close."""
        remaining = seconds
        while remaining > 0 and not self._stop.is_set():
            readable, _, _ = select.select([self._conn], [], [], STALL_POLL_S)
            remaining -= STALL_POLL_S
            if readable and self._peer_closed():
                return

    def _peer_closed(self) -> bool:
        try:
            return self._conn.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True


def _generation_line(ticket: GenerationTicket, progress: int, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "videoId": ticket.video_id,
        "progress": progress,
        "moderated": False,
        "videoPostId": ticket.post_id,
        "videoUrl": None,
    }
    body.update(extra)
    return {"result": {"response": {"streamingVideoGenerationResponse": body}}}


def stream_generation(
    writer: ChunkedWriter,
    state: SimulatorState,
    ticket: GenerationTicket,
    video_url: str,
    interval_s: float,
) -> None:
    """Play one generation's plan over ``writer`` and record its outcome."""
    plan = ticket.plan
    steps = plan.progress_steps()
    outcome = plan.outcome
    for i, progress in enumerate(steps):
        if i:
            writer.pause(interval_s)
        if outcome is Outcome.COMPLETED and progress == 100:
            state.record_outcome(ticket)  # the video is downloadable before its URL is sent
            writer.line(_generation_line(ticket, 100, videoUrl=video_url))
            writer.end()
            return
        if i == len(steps) - 1:
            break
        writer.line(_generation_line(ticket, progress))
    last = steps[-1]
    state.record_outcome(ticket)
    if outcome is Outcome.MODERATED:
        writer.line(_generation_line(ticket, last, moderated=True))
        writer.end()
    elif outcome is Outcome.GENERATION_ERROR:
        writer.line(_generation_line(ticket, last))
        writer.line({"error": {"message": "Something went wrong"}})
        writer.end()
    elif outcome is Outcome.NETWORK_ERROR:
        writer.line(_generation_line(ticket, last))
        writer.pause(interval_s)
        writer.drop()
    else:  # stall
        writer.line(_generation_line(ticket, last))
        writer.hold(STALL_HOLD_S)
        writer.drop()


def stream_upscale(
    writer: ChunkedWriter,
    interval_s: float,
    hd_url: str,
    on_done: Callable[[], object],
) -> None:
    """Stream upscale progress 0..100, calling ``on_done`` before the final line."""
    for progress in range(0, 101, 5):
        if progress:
            writer.pause(interval_s)
        if progress == 100:
            on_done()
            writer.line({"progress": 100, "hdMediaUrl": hd_url})
        else:
            writer.line({"progress": progress, "hdMediaUrl": None})
    writer.end()
