"""In-memory, thread-safe state of a simulator: sessions, videos and statistics.

Sessions are validated statelessly (any well-formed cookie is valid); this module only keeps
per-session counters, created lazily the first time a session is seen. Every video is a post
of its own (``video_post_id``), made from a parent post (an image or another video post).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from grokbatch.simulator.quota import QuotaAccount, QuotaPolicy
from grokbatch.simulator.scenario import RESOLUTIONS, GenerationPlan, Scenario, ScriptedOutcome
from grokbatch.simulator.stats import Counters, bump

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
    post_id: str  # the parent post it was made from
    length_s: int
    upscaled: bool = False
    video_post_id: str = ""
    image_post_id: str = ""  # the image at the root of the chain of posts
    resolution: str = RESOLUTIONS[0]


@dataclass
class SessionRecord:
    """Per-session counters, the last video shown per post and the videos made per post."""

    quota: QuotaAccount
    started: int = 0
    completed: int = 0
    last_video_by_post: dict[str, str] = field(default_factory=dict)
    history_by_post: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class VideoSlot:
    """One of the (one or two) videos a generation makes."""

    video_id: str
    video_post_id: str
    side_by_side_index: int


@dataclass
class GenerationTicket:
    """Handed to the streaming handler for one started generation."""

    session_id: str
    post_id: str
    length_s: int
    plan: GenerationPlan
    slots: list[VideoSlot]
    resolution: str = RESOLUTIONS[0]
    prompt: str = ""
    mode: str = "normal"
    image_post_id: str = ""

    @property
    def video_id(self) -> str:
        """The first (or only) video's id."""
        return self.slots[0].video_id


_OUTCOME_COUNTER = {
    ScriptedOutcome.MODERATED: "moderated",
    ScriptedOutcome.NETWORK_ERROR: "network_errors",
    ScriptedOutcome.GENERATION_ERROR: "generation_errors",
    ScriptedOutcome.STALL: "stalled",
}


def _slot(index: int) -> VideoSlot:
    return VideoSlot(str(uuid.uuid4()), str(uuid.uuid4()), index)


class SimulatorState:
    """All mutable simulator state behind one lock."""

    def __init__(self, scenario: Scenario, clock: Callable[[], float] = time.time) -> None:
        """Start empty; ``scenario`` decides outcomes, ``clock`` gives wall-clock seconds."""
        self.scenario = scenario
        self.quota = QuotaPolicy(scenario.options.quota, scenario.options.quota_window_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._counters = Counters()
        self._sessions: dict[str, SessionRecord] = {}
        self._videos: dict[str, VideoRecord] = {}
        self._video_posts: dict[str, str] = {}  # video post id -> video id
        self._pending_choices: dict[str, tuple[str, ...]] = {}  # first video id -> both ids
        self._ranged_videos: set[str] = set()
        self._downloads = 0  # full GETs only: the requests --download-error-every can fail
        self._good_started = 0  # generations planned to complete: --choice-every counts these

    def _session(self, session_id: str) -> SessionRecord:
        session = self._sessions.get(session_id)
        if session is None:
            session = self._sessions[session_id] = SessionRecord(QuotaAccount(self._clock()))
        return session

    def touch_session(self, session_id: str) -> None:
        """Create the session's counters if this is its first request."""
        with self._lock:
            self._session(session_id)

    def record_sign_in(self, session_id: str) -> None:
        """Count a sign-in (explicit or automatic)."""
        with self._lock:
            self._counters.sign_ins += 1
            self._session(session_id)

    def record_challenge(self) -> None:
        """Count a browser-check page served instead of a page or an API answer."""
        with self._lock:
            self._counters.challenges_served += 1

    def begin_generation(
        self,
        session_id: str,
        post_id: str,
        length_s: int,
        resolution: str = RESOLUTIONS[0],
        prompt: str = "",
        mode: str = "normal",
    ) -> GenerationTicket | None:
        """Start a generation, or return None when the session is rate-limited (HTTP 429)."""
        with self._lock:
            session = self._session(session_id)
            now = self._clock()
            if self.scenario.is_rate_limited(session.started) or not self.quota.allows(
                session.quota, now
            ):
                self._counters.rate_limited += 1
                self._counters.rate_limited_attempts += 1
                return None
            session.started += 1
            self.quota.consume(session.quota, now)
            counters = self._counters
            counters.generations_started += 1
            counters.in_flight += 1
            counters.max_concurrent = max(counters.max_concurrent, counters.in_flight)
            index = counters.generations_started
            if self.scenario.outcome_for(index) is ScriptedOutcome.COMPLETED:
                self._good_started += 1
            plan = self.scenario.plan(index, self._good_started)
            if plan.info_toast:
                resolution = RESOLUTIONS[0]
                counters.info_toasts_shown += 1
            bump(counters.by_length, str(length_s))
            bump(counters.by_resolution, resolution)
            bump(counters.by_mode, mode)
            bump(counters.by_parent_post, post_id)
            bump(counters.by_prompt, prompt)
            parent_video = self._videos.get(self._video_posts.get(post_id, ""))
            image_post_id = parent_video.image_post_id if parent_video else post_id
        slots = [_slot(i) for i in range(2 if plan.side_by_side else 1)]
        return GenerationTicket(
            session_id, post_id, length_s, plan, slots, resolution, prompt, mode, image_post_id
        )

    def record_outcome(self, ticket: GenerationTicket) -> None:
        """Count the ticket's outcome; a completed one becomes downloadable video(s)."""
        with self._lock:
            outcome = ticket.plan.outcome
            if outcome is not ScriptedOutcome.COMPLETED:
                name = _OUTCOME_COUNTER[outcome]
                setattr(self._counters, name, getattr(self._counters, name) + 1)
                return
            self._counters.generations_completed += 1
            session = self._session(ticket.session_id)
            session.completed += 1
            for slot in ticket.slots:
                self._videos[slot.video_id] = VideoRecord(
                    slot.video_id,
                    ticket.session_id,
                    ticket.post_id,
                    ticket.length_s,
                    video_post_id=slot.video_post_id,
                    image_post_id=ticket.image_post_id,
                    resolution=ticket.resolution,
                )
                self._video_posts[slot.video_post_id] = slot.video_id
            first = ticket.slots[0].video_id
            session.last_video_by_post[ticket.post_id] = first
            session.history_by_post.setdefault(ticket.post_id, []).append(first)
            if len(ticket.slots) > 1:
                self._counters.choices_shown += 1
                self._pending_choices[first] = tuple(s.video_id for s in ticket.slots)

    def end_generation(self) -> None:
        """The generation's stream is closed (whatever the outcome)."""
        with self._lock:
            self._counters.in_flight -= 1

    def answer_choice(self, session_id: str, video_ids: list[str], chosen: str | None) -> bool:
        """Record the answer to "Which video do you prefer?" (``chosen`` None: Skip).

        The chosen video (the first one on Skip) becomes the one the post shows. False when
        the pair is not an open question of this session or ``chosen`` is not one of them.
        """
        with self._lock:
            pair = self._pending_choices.get(video_ids[0]) if video_ids else None
            first = self._videos.get(video_ids[0]) if video_ids else None
            if pair is None or first is None or first.session_id != session_id:
                return False
            if chosen is not None and chosen not in pair:
                return False
            del self._pending_choices[pair[0]]
            kept = chosen or pair[0]
            session = self._session(session_id)
            if session.last_video_by_post.get(first.post_id) == pair[0]:
                session.last_video_by_post[first.post_id] = kept
            history = session.history_by_post.get(first.post_id, [])
            session.history_by_post[first.post_id] = [kept if v == pair[0] else v for v in history]
            self._counters.choices_answered += 1
            if chosen is None:
                self._counters.choices_skipped += 1
            return True

    def last_video(self, session_id: str, post_id: str) -> VideoRecord | None:
        """The video this session last saw on this post; on a video post, else its own video."""
        with self._lock:
            video_id = self._session(session_id).last_video_by_post.get(post_id)
            video = self._videos.get(video_id) if video_id else None
            return video or self._own_video(session_id, post_id)

    def video_post(self, session_id: str, post_id: str) -> VideoRecord | None:
        """The session's video whose own post ``post_id`` is, if any."""
        with self._lock:
            return self._own_video(session_id, post_id)

    def _own_video(self, session_id: str, post_id: str) -> VideoRecord | None:
        video = self._videos.get(self._video_posts.get(post_id, ""))
        return video if video is not None and video.session_id == session_id else None

    def history(self, session_id: str, post_id: str) -> list[VideoRecord]:
        """The videos of this post, oldest first: its own (a video post) and those made from it."""
        with self._lock:
            own = self._own_video(session_id, post_id)
            made = self._session(session_id).history_by_post.get(post_id, [])
            videos = [own] if own is not None else []
            videos += [self._videos[v] for v in made if v in self._videos]
            return videos

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

    def start_upscale(self) -> None:
        """Count an upscale asked for (`upscales` counts those finished)."""
        with self._lock:
            self._counters.upscales_started += 1

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
            self._video_posts.pop(video.video_post_id, None)
            session = self._session(session_id)
            if session.last_video_by_post.get(video.post_id) == video_id:
                del session.last_video_by_post[video.post_id]
            self._counters.deletes += 1
            return True

    def videos_json(self) -> dict[str, Any]:
        """Every video the site has now (deleted ones are gone), for tests: which post
        each is on, and which post it was made from."""
        with self._lock:
            return {"videos": [
                {"videoId": v.video_id, "videoPostId": v.video_post_id,
                 "parentPostId": v.post_id, "upscaled": v.upscaled, "resolution": v.resolution}
                for v in self._videos.values()]}

    def quota_info(self, session_id: str) -> dict[str, Any]:
        """The ``quota_info`` body for a session; counts the call."""
        with self._lock:
            session = self._session(session_id)
            now = self._clock()
            self._counters.quota_calls += 1
            next_at = self.quota.next_available_at(session.quota, now)
            if next_at is not None:
                self._counters.quota_next_available_at = next_at
            return self.quota.info(session.quota, now)

    def reset(self) -> None:
        """Zero all counters and forget sessions' counts, quotas and remembered videos."""
        with self._lock:
            in_flight = self._counters.in_flight
            self._counters = Counters(in_flight=in_flight)
            self._sessions.clear()
            self._pending_choices.clear()
            self._ranged_videos.clear()
            self._downloads = 0
            self._good_started = 0

    def stats(self) -> dict[str, Any]:
        """A JSON-ready snapshot of all counters (camelCase keys)."""
        with self._lock:
            completed = {sid: rec.completed for sid, rec in self._sessions.items()}
            return self._counters.to_json(len(self._sessions), completed)
