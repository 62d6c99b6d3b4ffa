"""PageGarbage: a page's renderer collects its garbage every few videos.

What a video leaves behind in the page (the replaced <video> and its player, the fetched
stream's buffers, the objects of the waits on the page) is garbage, but the renderer frees
it only at its own next full collection, and with a page's small heap that comes late: on
the simulator's post page a renderer held about 50 MB of it by its 100th video
(`scripts/page_growth.py --videos 150`). A collection asked for over DevTools
(`HeapProfiler.collectGarbage`) every 5 videos keeps it within 10 MB of its 10th video's
size over 150 videos, for about 15 ms of the renderer's time each
(`scripts/page_growth.py --videos 150 --collect-every 5`). The site cannot tell: no flag,
no script in the page, nothing on the network.
"""

from __future__ import annotations

from loguru import logger
from playwright.sync_api import CDPSession, Page
from playwright.sync_api import Error as PlaywrightError

from grokbatch.logs import first_line

# Attempts on a page between two collections of its garbage (measured: 1, 5, 10 and 25;
# 5 keeps the renderer within 4 MB of collecting after every video, at a fifth of the cost).
COLLECT_GARBAGE_EVERY = 5


class PageGarbage:
    """Counts the attempts on one page and has its renderer collect its garbage every
    `every` of them."""

    def __init__(self, page: Page, worker_id: str, every: int = COLLECT_GARBAGE_EVERY) -> None:
        self.page = page
        self.worker_id = worker_id
        self.every = every
        self.attempts = 0
        self._session: CDPSession | None = None
        self._unavailable = False  # the browser offers no DevTools session for the page

    def attempt_starting(self) -> None:
        """Call before each attempt: after every `every` attempts, collect first."""
        if self.attempts and self.attempts % self.every == 0:
            self.collect()
        self.attempts += 1

    def collect(self) -> bool:
        """A full collection of the page's garbage, now; whether it was done.

        A failure is only logged: a page that is gone fails the attempt's next step, which
        says what happened to it. The call is bounded by the attempt's hard deadline, as
        any other on the page (the worker's watchdog)."""
        if self._unavailable:
            return False
        try:
            if self._session is None:
                self._session = self.page.context.new_cdp_session(self.page)
            self._session.send("HeapProfiler.collectGarbage")
        except PlaywrightError as exc:
            if self._session is None:
                self._unavailable = True
            logger.debug("{}: the page's garbage was not collected: {}", self.worker_id,
                         first_line(str(exc)))
            return False
        logger.debug("{}: the page collected its garbage after {} attempt(s)", self.worker_id,
                     self.attempts)
        return True
