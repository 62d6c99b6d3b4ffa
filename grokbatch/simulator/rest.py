"""The ``/rest`` API of the simulator: generation, upscale, delete, quota and the choice.

Every endpoint needs the session cookie (401 JSON without it), like the real site's.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from grokbatch.simulator.captured import captured_events
from grokbatch.simulator.genrequest import POST_ID_RE, parse_generation_request
from grokbatch.simulator.handler import HandlerBase
from grokbatch.simulator.scenario import QuotaInfo, StreamFormat
from grokbatch.simulator.streams import (
    ChunkedWriter,
    ClientGone,
    play,
    renamed,
    simple_events,
    stream_upscale,
)
from grokbatch.simulator.urls import image_url, video_url

# How long `--quota-info hang` holds a quota request unanswered, at most.
QUOTA_HANG_S = 300.0

RATE_LIMIT_MESSAGE = "You've reached your limit of video generations. Upgrade or try again later."


class RestHandler(HandlerBase):
    """Answers the JSON and streaming endpoints under ``/rest``."""

    def _generate(self, body: dict[str, Any]) -> None:
        session_id = self._cookie_session()
        if session_id is None:
            self._unauthenticated()
            return
        request = parse_generation_request(body)
        if not POST_ID_RE.match(request.post_id):
            self._send_json({"error": {"code": 3, "message": "Invalid postId"}}, 400)
            return
        state = self.server.state
        ticket = state.begin_generation(
            session_id,
            request.post_id,
            request.length_s,
            request.resolution,
            request.prompt,
            request.mode,
        )
        if ticket is None:
            self._send_json({"error": {"code": 8, "message": RATE_LIMIT_MESSAGE}}, 429)
            return
        scenario = self.server.scenario
        stream_format = self.server.options.stream_format
        if stream_format is StreamFormat.SIMPLE:
            events = simple_events(ticket, scenario.step_interval_s())
        else:
            host = self.headers.get("Host") or "localhost"
            reference = f"http://{host}{image_url(ticket.image_post_id)}"
            events = captured_events(ticket, scenario.captured_interval_s(), reference, time.time())
            if stream_format is StreamFormat.RENAMED:
                events = renamed(events)
        try:
            play(self._start_stream(sse=stream_format is StreamFormat.SSE), events,
                 lambda: state.record_outcome(ticket))
        except ClientGone:
            pass
        finally:
            state.end_generation()

    def _upscale(self, body: dict[str, Any]) -> None:
        session_id = self._cookie_session()
        video_id = str(body.get("videoId") or "")
        if session_id is None:
            self._unauthenticated()
            return
        video = self.server.state.video(video_id)
        if video is None or video.session_id != session_id:
            self._send_json({"error": {"code": 5, "message": "Video not found"}}, 404)
            return
        if video.resolution != "480p":
            self._send_json({"error": {"code": 9, "message": "Only 480p videos upscale"}}, 400)
            return
        hd_url = video_url(session_id, video_id, hd=True)
        self.server.state.start_upscale()
        with contextlib.suppress(ClientGone):
            stream_upscale(
                self._start_stream(),
                self.server.scenario.upscale_step_interval_s(),
                hd_url,
                lambda: self.server.state.mark_upscaled(video_id),
            )

    def _delete(self, body: dict[str, Any]) -> None:
        session_id = self._cookie_session()
        if session_id is None:
            self._unauthenticated()
            return
        if not self.server.state.delete_video(session_id, str(body.get("videoId") or "")):
            self._send_json({"error": {"code": 5, "message": "Video not found"}}, 404)
            return
        self._send_json({})

    def _quota_info(self) -> None:
        session_id = self._cookie_session()
        if session_id is None:
            self._unauthenticated()
            return
        body = self.server.state.quota_info(session_id)  # counted, however it is answered
        how = self.server.options.quota_info
        if how is QuotaInfo.MISSING:
            self._send_json({"error": {"message": "Not found"}}, 404)
        elif how is QuotaInfo.ERROR:
            self._send_json({"error": {"code": 13, "message": "Internal error"}}, 500)
        elif how is QuotaInfo.UNKNOWN:  # the same facts under names grokbatch never saw
            self._send_json({"quotas": [{"kind": kind, **entry} for kind, entry in body.items()]})
        elif how is QuotaInfo.HANG:
            self.close_connection = True
            ChunkedWriter(self.wfile, self.connection, self.server.stop_event).hold(QUOTA_HANG_S)
        else:
            self._send_json(body)

    def _choice(self, body: dict[str, Any]) -> None:
        """``{"videoIds": [first, second], "preferredVideoId": id | null}`` (null: Skip)."""
        session_id = self._cookie_session()
        if session_id is None:
            self._unauthenticated()
            return
        ids = body.get("videoIds")
        video_ids = [str(v) for v in ids] if isinstance(ids, list) else []
        preferred = body.get("preferredVideoId")
        chosen = str(preferred) if preferred else None
        if not self.server.state.answer_choice(session_id, video_ids, chosen):
            self._send_json({"error": {"code": 5, "message": "No such choice"}}, 404)
            return
        self._send_json({})
