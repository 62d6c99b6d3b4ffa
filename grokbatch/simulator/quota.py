"""The per-session video quota of ``--quota N``, and the body of ``quota_info``.

The real site answers ``POST /rest/media/imagine/quota_info`` with one entry per kind of
media: ``{available, remainingQueries?, windowSizeSeconds, nextAvailableAt?}``. Here only
video generations consume the quota; once a session has started N of them it is refused
(HTTP 429) until the window has passed since the moment it ran out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

# The kinds of media quota_info reports, in the order the real site sends them.
MEDIA_KINDS = ("image", "imagePro", "imageEdit", "video", "video720p")
# The kinds a video generation consumes.
VIDEO_KINDS = frozenset({"video", "video720p"})


def rfc3339(timestamp: float) -> str:
    """A UTC timestamp as RFC 3339 with milliseconds, e.g. ``2026-04-06T12:48:35.231Z``."""
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class QuotaAccount:
    """One session's use of its quota in the current window."""

    first_seen: float
    used: int = 0
    exhausted_at: float | None = None


class QuotaPolicy:
    """``--quota N`` per session in windows of ``window_s`` seconds (None: no quota)."""

    def __init__(self, limit: int | None, window_s: int) -> None:
        """``limit`` None means quota_info reports everything available, without counts."""
        self.limit = limit
        self.window_s = window_s

    def _refresh(self, account: QuotaAccount, now: float) -> None:
        """Note when the account ran out, and start a new window once that one has passed."""
        if self.limit is None:
            return
        if account.used >= self.limit and account.exhausted_at is None:
            account.exhausted_at = account.first_seen  # only a quota of 0 gets here
        if account.exhausted_at is not None and now >= account.exhausted_at + self.window_s:
            account.used = 0
            account.exhausted_at = now if self.limit == 0 else None

    def allows(self, account: QuotaAccount, now: float) -> bool:
        """True when the session may start another generation now."""
        self._refresh(account, now)
        return self.limit is None or account.used < self.limit

    def consume(self, account: QuotaAccount, now: float) -> None:
        """Count one started generation; the one that uses the last unit sets the clock."""
        if self.limit is None:
            return
        account.used += 1
        if account.used >= self.limit and account.exhausted_at is None:
            account.exhausted_at = now

    def next_available_at(self, account: QuotaAccount, now: float) -> str | None:
        """RFC 3339 moment the session gets its quota back, or None while it has some."""
        self._refresh(account, now)
        if self.limit is None or account.exhausted_at is None:
            return None
        return rfc3339(account.exhausted_at + self.window_s)

    def info(self, account: QuotaAccount, now: float) -> dict[str, Any]:
        """The JSON body of ``quota_info`` for this session."""
        next_at = self.next_available_at(account, now)
        body: dict[str, Any] = {}
        for kind in MEDIA_KINDS:
            entry: dict[str, Any] = {"available": True}
            if self.limit is not None:
                remaining = self.limit
                if kind in VIDEO_KINDS:
                    remaining = max(0, self.limit - account.used)
                    entry["available"] = remaining > 0
                entry["remainingQueries"] = remaining
            entry["windowSizeSeconds"] = self.window_s
            if not entry["available"] and next_at is not None:
                entry["nextAvailableAt"] = next_at
            body[kind] = entry
        return body
