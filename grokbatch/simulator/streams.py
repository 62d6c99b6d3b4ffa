"""The streamed (newline-delimited JSON) responses of generation and upscale.

The real site streams generation progress as NDJSON over one long POST response. We send it
with chunked transfer encoding so that a deliberately dropped connection (the network-error
scenario) is a detectable failure in the browser, not a clean end of the body.

A generation's stream is first built as a list of events (lines, pauses, the moment the
outcome is recorded, how it ends) by a pure function per format, then played over the
socket: the formats are unit-tested without a network.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from io import BufferedIOBase
from typing import Any, BinaryIO, Literal

from grokbatch.simulator.scenario import ScriptedOutcome
from grokbatch.simulator.state import GenerationTicket, VideoSlot
from grokbatch.simulator.urls import video_url

# A stalled generation keeps its connection open this long at most (or until server stop).
STALL_HOLD_S = 600.0
# How often a stalled stream checks whether the client went away or the server is stopping.
STALL_POLL_S = 0.5
# The progressReport category by which the simulator tells the page that 720p was used up
# and this video is made in 480p (the page then shows an informational toast).
RESOLUTION_LIMIT_CATEGORY = "PROGRESS_REPORT_CATEGORY_RESOLUTION_LIMIT"
GENERATION_ERROR_LINE: dict[str, Any] = {"error": {"message": "Something went wrong"}}


class ClientGone(Exception):
    """The browser closed the connection while we were streaming."""


@dataclass(frozen=True)
class Line:
    """Send one JSON object."""

    obj: dict[str, Any]


@dataclass(frozen=True)
class Pause:
    """Wait before the next event."""

    seconds: float


@dataclass(frozen=True)
class Record:
    """Record the outcome now: a completed video is downloadable before its URL is sent."""


@dataclass(frozen=True)
class Finish:
    """End the body cleanly, drop the connection, or hold it open (a stall) then drop."""

    how: Literal["end", "drop", "hold"]


StreamEvent = Line | Pause | Record | Finish


class ChunkedWriter:
    """Writes NDJSON lines as HTTP/1.1 chunks, flushing each one."""

    def __init__(
        self, wfile: BufferedIOBase | BinaryIO, conn: socket.socket, stop: threading.Event,
        sse: bool = False,
    ) -> None:
        """Wrap the handler's output file and socket; ``stop`` is set on server shutdown.
        With ``sse`` each object is framed as a server-sent event (``data: {...}``)."""
        self._wfile = wfile
        self._conn = conn
        self._stop = stop
        self._sse = sse

    def line(self, obj: dict[str, Any]) -> None:
        """Send one JSON object followed by a newline, as one chunk."""
        data = json.dumps(obj, separators=(",", ":")).encode() + b"\n"
        if self._sse:
            data = b"event: message\ndata: " + data + b"\n"
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


# `--stream-format renamed`: the fields grokbatch reads, as a change of the site might call
# them. The page shows the same videos; only the stream says it in words grokbatch lacks.
RENAMED_KEYS = {"streamingVideoGenerationResponse": "videoGenerationUpdate",
                "videoUrl": "mediaUrl", "moderated": "isModerated"}


def _renamed(value: Any) -> Any:
    if isinstance(value, dict):
        return {RENAMED_KEYS.get(k, k): _renamed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v) for v in value]
    return value


def renamed(events: list[StreamEvent]) -> list[StreamEvent]:
    """The same stream with `RENAMED_KEYS` renamed everywhere."""
    return [Line(_renamed(e.obj)) if isinstance(e, Line) else e for e in events]


def play(writer: ChunkedWriter, events: list[StreamEvent], record: Callable[[], object]) -> None:
    """Send ``events`` over ``writer``; ``record`` is called at the Record event.

    A browser that goes away (closed, killed) does not stop the generation: the site
    makes the video all the same, on its own post, and only the rest of the stream is
    lost. (grokbatch must assume the real site does so: a video started by a try that
    died is looked for on its post before another is made.) ClientGone only when the
    server stops.
    """
    gone = False
    for event in events:
        if isinstance(event, Pause):
            writer.pause(event.seconds)
        elif isinstance(event, Record):
            record()
        elif gone:
            continue
        elif isinstance(event, Line):
            try:
                writer.line(event.obj)
            except ClientGone:
                gone = True
        elif event.how == "end":
            with contextlib.suppress(ClientGone):
                writer.end()
        elif event.how == "drop":
            writer.drop()
        else:
            writer.hold(STALL_HOLD_S)
            writer.drop()


def resolution_notice() -> dict[str, Any]:
    """The object that makes the page say "You've reached your 720p limit"."""
    report = {
        "category": RESOLUTION_LIMIT_CATEGORY,
        "state": "PROGRESS_REPORT_STATUS_DOWNGRADED",
        "message": "720p limit reached, this video is made in 480p",
    }
    return {"result": {"response": {"progressReport": report}}}


def _simple_line(
    ticket: GenerationTicket, slot: VideoSlot, progress: int, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "videoId": slot.video_id,
        "progress": progress,
        "moderated": False,
        "videoPostId": slot.video_post_id,
        "videoUrl": None,
    }
    if len(ticket.slots) > 1:
        body["sideBySideIndex"] = slot.side_by_side_index
    body.update(extra)
    return {"result": {"response": {"streamingVideoGenerationResponse": body}}}


def simple_events(ticket: GenerationTicket, interval_s: float) -> list[StreamEvent]:
    """Today's format: progress 0..100 in 5% steps, ``videoUrl`` an absolute path at 100."""
    plan = ticket.plan
    steps = plan.progress_steps()
    events: list[StreamEvent] = [Line(resolution_notice())] if plan.info_toast else []

    def each(progress: int, **extra: Any) -> list[StreamEvent]:
        return [Line(_simple_line(ticket, s, progress, **extra)) for s in ticket.slots]

    for i, progress in enumerate(steps):
        if i:
            events.append(Pause(interval_s))
        if plan.outcome is ScriptedOutcome.COMPLETED and progress == 100:
            events.append(Record())
            for slot in ticket.slots:
                url = video_url(ticket.session_id, slot.video_id)
                events.append(Line(_simple_line(ticket, slot, 100, videoUrl=url)))
            return [*events, Finish("end")]
        if i == len(steps) - 1:
            break
        events += each(progress)
    last = steps[-1]
    events.append(Record())
    if plan.outcome is ScriptedOutcome.MODERATED:
        return [*events, *each(last, moderated=True), Finish("end")]
    events += each(last)
    if plan.outcome is ScriptedOutcome.GENERATION_ERROR:
        return [*events, Line(GENERATION_ERROR_LINE), Finish("end")]
    if plan.outcome is ScriptedOutcome.NETWORK_ERROR:
        return [*events, Pause(interval_s), Finish("drop")]
    return [*events, Finish("hold")]


def stream_upscale(
    writer: ChunkedWriter,
    interval_s: float,
    hd_url: str,
    on_done: Callable[[], object],
) -> None:
    """Stream upscale progress 0..100, calling ``on_done`` before the final line.

    As with a generation (`play`), a browser that goes away does not stop the upscale: the
    video has its HD copy all the same. ClientGone only when the server stops.
    """
    gone = False
    for progress in range(0, 101, 5):
        if progress:
            writer.pause(interval_s)
        if progress == 100:
            on_done()
        if gone:
            continue
        try:
            writer.line({"progress": progress, "hdMediaUrl": hd_url if progress == 100 else None})
        except ClientGone:
            gone = True
    if not gone:
        writer.end()
