"""What one generation attempt can end as, and what each ending means for the item.

The generator classifies what it sees on the page into an `Outcome`; the worker and the
runner decide from it what happens next: RATE_LIMIT and AUTH_REQUIRED stop every worker
(the item goes back to the queue), CONTENT_MODERATED fails the item for good, and the
RETRYABLE ones send it to the back of the queue until it has had its attempts (a rerun
tries it again). A DOWNLOAD_ERROR keeps the video's URL, so only the download is retried.
"""

from __future__ import annotations

from enum import Enum


class Outcome(str, Enum):
    """How one generation attempt ended."""

    COMPLETED = "COMPLETED"
    RATE_LIMIT = "RATE_LIMIT"
    AUTH_REQUIRED = "AUTH_REQUIRED"
    CONTENT_MODERATED = "CONTENT_MODERATED"
    NETWORK_ERROR = "NETWORK_ERROR"
    TIMEOUT = "TIMEOUT"
    GENERATION_ERROR = "GENERATION_ERROR"
    BROWSER_CRASHED = "BROWSER_CRASHED"  # the page or browser died under the worker
    DOWNLOAD_ERROR = "DOWNLOAD_ERROR"  # generated, but the file could not be fetched

    @property
    def stops_run(self) -> bool:
        """Whether this outcome stops every worker of the run."""
        return self in (Outcome.RATE_LIMIT, Outcome.AUTH_REQUIRED)


RETRYABLE = frozenset(
    {
        Outcome.NETWORK_ERROR,
        Outcome.TIMEOUT,
        Outcome.GENERATION_ERROR,
        Outcome.BROWSER_CRASHED,
        Outcome.DOWNLOAD_ERROR,
    }
)
