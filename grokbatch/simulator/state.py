"""In-memory, thread-safe state of a simulator: sessions, videos and statistics.

Sessions are validated statelessly (any well-formed cookie is valid); this module only keeps
per-session counters, created lazily the first time a session is seen.
"""

from __future__ import annotations

import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from grokbatch.simulator.scenario import GenerationPlan, Outcome, Scenario

SESSION_COOKIE = "sso"
# Thirty days, like a real long-lived login cookie, so Chromium persists it in the profile.
SESSION_MAX_AGE_S = 30 * 24 * 3600
_SESSION_RE = re.compile(r"^s-[0-9a-f]{32}$")


def new_session_id() -> str:
    """A fresh, well-formed session cookie value."""
    return "s-" + secrets.token_hex(16)


def is_well_formed_session(value: str | None) -> bool:
    """True when ``value`` looks like a session cookie this simulator could have issued."""
    return value is not None and _SESSION_RE.match(value) is not None


@dataclass
class VideoRecord:
    """One generated video, owned by a session."""

    video_id: str
    session_id: str
    post_id: str
    length_s: int
    upscaled: bool = False


@dataclass
class SessionRecord:
    """Per-session counters and the last video shown per post."""

    started: int = 0
    completed: int = 0
    last_video_by_post: dict[str, str] = field(default_factory=dict)


@dataclass
class GenerationTicket:
    """Handed to the streaming handler for one started generation."""

    session_id: str
    post_id: str
    length_s: int
    video_id: str
    plan: GenerationPlan


@dataclass
class _Counters:
    generations_started: int = 0
    generations_completed: int = 0
    rate_limited: int = 0
    moderated: int = 0
    network_errors: int = 0
    generation_errors: int = 0
    stalled: int = 0
    in_flight: int = 0
    max_concurrent: int = 0
    video_requests: int = 0
    download_errors: int = 0
    upscales: int = 0
    deletes: int = 0
    sign_ins: int = 0
    by_length: dict[str, int] = field(default_factory=dict)


_OUTCOME_COUNTER = {
    Outcome.MODERATED: "moderated",
    Outcome.NETWORK_ERROR: "network_errors",
    Outcome.GENERATION_ERROR: "generation_errors",
    Outcome.STALL: "stalled",
}


class SimulatorState:
    """All mutable simulator state behind one lock."""

    def __init__(self, scenario: Scenario) -> None:
        """Start empty; ``scenario`` decides outcomes."""
        self.scenario = scenario
        self._lock = threading.Lock()
        self._counters = _Counters()
        self._sessions: dict[str, SessionRecord] = {}
        self._videos: dict[str, VideoRecord] = {}
        self._ranged_videos: set[str] = set()
        self._downloads = 0  # full GETs only: the requests --download-error-every can fail

    def _session(self, session_id: str) -> SessionRecord:
        return self._sessions.setdefault(session_id, SessionRecord())

    def touch_session(self, session_id: str) -> None:
        """Create the session's counters if this is its first request."""
        with self._lock:
            self._session(session_id)

    def record_sign_in(self, session_id: str) -> None:
        """Count a sign-in (explicit or automatic)."""
        with self._lock:
            self._counters.sign_ins += 1
            self._session(session_id)

    def begin_generation(
        self, session_id: str, post_id: str, length_s: int
    ) -> GenerationTicket | None:
        """Start a generation, or return None when the session is rate-limited."""
        with self._lock:
            session = self._session(session_id)
            if self.scenario.is_rate_limited(session.started):
                self._counters.rate_limited += 1
                return None
            session.started += 1
            counters = self._counters
            counters.generations_started += 1
            counters.in_flight += 1
            counters.max_concurrent = max(counters.max_concurrent, counters.in_flight)
            key = str(length_s)
            counters.by_length[key] = counters.by_length.get(key, 0) + 1
            plan = self.scenario.plan(counters.generations_started)
        return GenerationTicket(session_id, post_id, length_s, str(uuid.uuid4()), plan)

    def record_outcome(self, ticket: GenerationTicket) -> None:
        """Count the ticket's outcome; a completed one becomes a downloadable video."""
        with self._lock:
            outcome = ticket.plan.outcome
            if outcome is not Outcome.COMPLETED:
                name = _OUTCOME_COUNTER[outcome]
                setattr(self._counters, name, getattr(self._counters, name) + 1)
                return
            self._counters.generations_completed += 1
            session = self._session(ticket.session_id)
            session.completed += 1
            session.last_video_by_post[ticket.post_id] = ticket.video_id
            self._videos[ticket.video_id] = VideoRecord(
                ticket.video_id, ticket.session_id, ticket.post_id, ticket.length_s
            )

    def end_generation(self) -> None:
        """The generation's stream is closed (whatever the outcome)."""
        with self._lock:
            self._counters.in_flight -= 1

    def last_video(self, session_id: str, post_id: str) -> VideoRecord | None:
        """The video this session last saw on this post, if still remembered."""
        with self._lock:
            video_id = self._session(session_id).last_video_by_post.get(post_id)
            return self._videos.get(video_id) if video_id else None

    def video(self, video_id: str) -> VideoRecord | None:
        """A known (not deleted) video."""
        with self._lock:
            return self._videos.get(video_id)

    def count_video_request(self, asset_key: str, ranged: bool) -> bool:
        """Count a video request; True when the scenario says it must fail with HTTP 500.

        Full GETs always count; of ranged requests only the first per asset counts, since the
        media stack issues several ranged reads for one playback. Only full GETs (downloads)
        can be failed by `--download-error-every`: the page's own <video> keeps playing, as
        on a site whose download path is flaky.
        """
        with self._lock:
            if ranged:
                if asset_key in self._ranged_videos:
                    return False
                self._ranged_videos.add(asset_key)
            self._counters.video_requests += 1
            if ranged:
                return False
            self._downloads += 1
            failed = self.scenario.is_download_error(self._downloads)
            if failed:
                self._counters.download_errors += 1
            return failed

    def mark_upscaled(self, video_id: str) -> bool:
        """Flag a video as upscaled; False when it is unknown."""
        with self._lock:
            video = self._videos.get(video_id)
            if video is None:
                return False
            if not video.upscaled:
                video.upscaled = True
                self._counters.upscales += 1
            return True

    def delete_video(self, session_id: str, video_id: str) -> bool:
        """Forget a video owned by ``session_id``; False when there is no such video."""
        with self._lock:
            video = self._videos.get(video_id)
            if video is None or video.session_id != session_id:
                return False
            del self._videos[video_id]
            session = self._session(session_id)
            if session.last_video_by_post.get(video.post_id) == video_id:
                del session.last_video_by_post[video.post_id]
            self._counters.deletes += 1
            return True

    def reset(self) -> None:
        """Zero all counters and forget sessions' counts and remembered videos."""
        with self._lock:
            in_flight = self._counters.in_flight
            self._counters = _Counters(in_flight=in_flight)
            self._sessions.clear()
            self._ranged_videos.clear()
            self._downloads = 0

    def stats(self) -> dict[str, Any]:
        """A JSON-ready snapshot of all counters (camelCase keys)."""
        with self._lock:
            c = self._counters
            return {
                "generationsStarted": c.generations_started,
                "generationsCompleted": c.generations_completed,
                "rateLimited": c.rate_limited,
                "moderated": c.moderated,
                "networkErrors": c.network_errors,
                "generationErrors": c.generation_errors,
                "stalled": c.stalled,
                "inFlight": c.in_flight,
                "maxConcurrent": c.max_concurrent,
                "sessions": len(self._sessions),
                "videoRequests": c.video_requests,
                "downloadErrors": c.download_errors,
                "upscales": c.upscales,
                "deletes": c.deletes,
                "signIns": c.sign_ins,
                "generationsBySession": {sid: rec.completed for sid, rec in self._sessions.items()},
                "generationsByLength": dict(c.by_length),
            }
