"""The account's video quota, as the site itself reports it.

`POST /rest/media/imagine/quota_info` with `{}` answers one entry per kind of media
(`image`, `video`, `video720p`, …), each `{available, remainingQueries?, windowSizeSeconds,
nextAvailableAt?}`. grokbatch reads the `video` entry from inside a signed-in page (the
request is the site's own, with its cookies) before a run starts and whenever a page sign
of a limit needs confirming. An unknown shape, or no endpoint at all, is "unknown": the
run goes on as it would without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from loguru import logger

from grokbatch.logs import first_line

if TYPE_CHECKING:  # a look at the page (PageCheck) holds a QuotaAnswer: the runner reads it
    from playwright.sync_api import Page

# One quota request may take this long before it counts as unanswered.
QUOTA_TIMEOUT_MS = 10_000

_FETCH_JS = """
async ([path, timeoutMs]) => {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const r = await fetch(path, { method: 'POST', credentials: 'include',
      headers: { 'content-type': 'application/json' }, body: '{}',
      signal: controller.signal });
    const type = r.headers.get('content-type') || '';
    const body = type.includes('json') ? await r.json().catch(() => null) : null;
    return { status: r.status, body, challenge: r.headers.get('cf-mitigated') === 'challenge'
             || (r.status === 403 && type.includes('text/html')) };
  } catch (e) {
    return { status: 0, body: null, challenge: false };
  } finally { clearTimeout(timer); }
}
"""


@dataclass(frozen=True)
class VideoQuota:
    """The `video` entry of quota_info: may a video start now, and how many more."""

    available: bool
    remaining: int | None
    window_s: int | None
    next_available_at: datetime | None
    checked_at: datetime

    def allows(self) -> int | None:
        """How many generations may start now (None: as many as wanted)."""
        if not self.available:
            return 0
        return self.remaining

    def to_json(self) -> dict[str, Any]:
        """As the manifest keeps it (`lastQuota`) and `run status` shows it."""
        return {
            "checkedAt": self.checked_at.isoformat(timespec="seconds"),
            "available": self.available,
            "remainingQueries": self.remaining,
            "windowSizeSeconds": self.window_s,
            "nextAvailableAt": (self.next_available_at.isoformat(timespec="seconds")
                                if self.next_available_at else None),
        }


@dataclass(frozen=True)
class QuotaAnswer:
    """What one quota request got: the quota, or why not."""

    status: int
    quota: VideoQuota | None
    challenge: bool = False

    @property
    def signed_out(self) -> bool:
        """The endpoint refused the session (JSON 401/403, not a browser check)."""
        return self.status in (401, 403) and not self.challenge

    def why_unknown(self) -> str:
        """Why no quota came, in a few words ("" when one did)."""
        if self.quota is not None:
            return ""
        if self.status == 0:
            return f"no answer within {QUOTA_TIMEOUT_MS // 1000} s"
        if self.status == 200:
            return "an answer in a shape grokbatch does not know"
        return f"HTTP {self.status}"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def parse_quota(payload: Any) -> VideoQuota | None:
    """The video quota from a quota_info answer, or None for a shape we do not know."""
    if not isinstance(payload, dict):
        return None
    video = payload.get("video")
    if not isinstance(video, dict) or not isinstance(video.get("available"), bool):
        return None
    remaining = _whole(video.get("remainingQueries"))
    available = video["available"] and remaining != 0
    return VideoQuota(
        available=available,
        remaining=0 if not available else remaining,
        window_s=_whole(video.get("windowSizeSeconds")),
        next_available_at=_parse_time(video.get("nextAvailableAt")),
        checked_at=datetime.now(timezone.utc),
    )


def fetch_quota(page: Page, path: str) -> QuotaAnswer:
    """Ask the site for the quota from inside `page` (its origin, its cookies)."""
    from playwright.sync_api import Error as PlaywrightError  # loaded: `page` is Playwright's

    try:
        answer: dict[str, Any] = page.evaluate(_FETCH_JS, [path, QUOTA_TIMEOUT_MS])
    except PlaywrightError as exc:
        logger.debug("quota: not asked: {}", first_line(str(exc)))
        return QuotaAnswer(0, None)
    status = int(answer.get("status") or 0)
    quota = parse_quota(answer.get("body")) if status == 200 else None
    if quota is None:
        logger.debug("quota: no answer we know (HTTP {})", status)
    return QuotaAnswer(status, quota, bool(answer.get("challenge")))
