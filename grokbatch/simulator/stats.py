"""The simulator's counters and their JSON form, ``GET /__sim/stats``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grokbatch.simulator.scenario import RESOLUTIONS


def _by_resolution() -> dict[str, int]:
    return dict.fromkeys(RESOLUTIONS, 0)


@dataclass
class Counters:
    """Every count the stats endpoint reports (guarded by the state's lock)."""

    generations_started: int = 0
    generations_completed: int = 0
    rate_limited: int = 0
    rate_limited_attempts: int = 0
    moderated: int = 0
    network_errors: int = 0
    generation_errors: int = 0
    stalled: int = 0
    in_flight: int = 0
    max_concurrent: int = 0
    video_requests: int = 0
    download_errors: int = 0
    upscales_started: int = 0
    upscales: int = 0
    deletes: int = 0
    sign_ins: int = 0
    choices_shown: int = 0
    choices_answered: int = 0
    choices_skipped: int = 0
    quota_calls: int = 0
    quota_next_available_at: str | None = None
    info_toasts_shown: int = 0
    challenges_served: int = 0
    by_length: dict[str, int] = field(default_factory=dict)
    by_resolution: dict[str, int] = field(default_factory=_by_resolution)
    by_mode: dict[str, int] = field(default_factory=dict)
    by_parent_post: dict[str, int] = field(default_factory=dict)
    # The prompt each generation was asked with, as the page sent it (the site's own record).
    by_prompt: dict[str, int] = field(default_factory=dict)

    def to_json(self, sessions: int, completed_by_session: dict[str, int]) -> dict[str, Any]:
        """camelCase JSON; the session figures come from the state's session table."""
        return {
            "generationsStarted": self.generations_started,
            "generationsCompleted": self.generations_completed,
            "rateLimited": self.rate_limited,
            "rateLimitedAttempts": self.rate_limited_attempts,
            "moderated": self.moderated,
            "networkErrors": self.network_errors,
            "generationErrors": self.generation_errors,
            "stalled": self.stalled,
            "inFlight": self.in_flight,
            "maxConcurrent": self.max_concurrent,
            "sessions": sessions,
            "videoRequests": self.video_requests,
            "downloadErrors": self.download_errors,
            "upscalesStarted": self.upscales_started,
            "upscales": self.upscales,
            "deletes": self.deletes,
            "signIns": self.sign_ins,
            "generationsBySession": completed_by_session,
            "generationsByLength": dict(self.by_length),
            "generationsByResolution": dict(self.by_resolution),
            "generationsByMode": dict(self.by_mode),
            "generationsByParentPost": dict(self.by_parent_post),
            "generationsByPrompt": dict(self.by_prompt),
            "choicesShown": self.choices_shown,
            "choicesAnswered": self.choices_answered,
            "choicesSkipped": self.choices_skipped,
            "quotaCalls": self.quota_calls,
            "quotaNextAvailableAt": self.quota_next_available_at,
            "infoToastsShown": self.info_toasts_shown,
            "challengesServed": self.challenges_served,
        }


def bump(counts: dict[str, int], key: str) -> None:
    """Add one to ``counts[key]``."""
    counts[key] = counts.get(key, 0) + 1
