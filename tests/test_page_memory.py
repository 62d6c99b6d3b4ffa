"""PageGarbage: when a page's renderer is asked to collect its garbage, over one DevTools
session, and what a failure does. A stand-in page records what is sent; the collection in
real Chromium is tests/e2e/test_garbage_collection.py's."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Error as PlaywrightError

from grokbatch.site.page_memory import COLLECT_GARBAGE_EVERY, PageGarbage


class _Session:
    def __init__(self, fail_sends: int = 0) -> None:
        self.sent: list[str] = []
        self.fail_sends = fail_sends

    def send(self, method: str, params: Any = None) -> dict[str, Any]:
        if self.fail_sends:
            self.fail_sends -= 1
            raise PlaywrightError("Target page, context or browser has been closed")
        self.sent.append(method)
        return {}


class _Context:
    def __init__(self, session: _Session | None) -> None:
        self.session = session
        self.opened = 0

    def new_cdp_session(self, page: Any) -> _Session:
        self.opened += 1
        if self.session is None:
            raise PlaywrightError("CDP session is only available in Chromium")
        return self.session


class _Page:
    def __init__(self, session: _Session | None) -> None:
        self.context = _Context(session)


def _garbage(session: _Session | None, every: int = COLLECT_GARBAGE_EVERY
             ) -> tuple[PageGarbage, _Page]:
    page = _Page(session)
    return PageGarbage(page, "worker-1", every=every), page  # type: ignore[arg-type]


def test_the_page_collects_before_every_fifth_attempt_after_the_first_five():
    session = _Session()
    garbage, page = _garbage(session)
    assert COLLECT_GARBAGE_EVERY == 5
    sent_before = []
    for _ in range(16):
        garbage.attempt_starting()
        sent_before.append(len(session.sent))
    # Before attempts 6, 11 and 16: after 5, 10 and 15 attempts.
    assert sent_before == [0] * 5 + [1] * 5 + [2] * 5 + [3]
    assert session.sent == ["HeapProfiler.collectGarbage"] * 3
    assert page.context.opened == 1  # one DevTools session for the page's whole life
    assert garbage.attempts == 16


def test_nothing_is_sent_before_the_first_attempts_are_done():
    session = _Session()
    garbage, page = _garbage(session, every=3)
    for _ in range(3):
        garbage.attempt_starting()
    assert session.sent == []
    assert page.context.opened == 0


def test_a_failed_collection_is_only_logged_and_the_next_one_is_tried(log_lines):
    session = _Session(fail_sends=1)
    garbage, page = _garbage(session, every=1)
    garbage.attempt_starting()  # the first attempt: nothing to collect yet
    garbage.attempt_starting()  # fails: logged, the attempt goes on
    garbage.attempt_starting()
    assert session.sent == ["HeapProfiler.collectGarbage"]
    assert page.context.opened == 1
    assert any("garbage was not collected" in line and "closed" in line
               for line in log_lines)


def test_a_browser_without_devtools_sessions_is_asked_once():
    garbage, page = _garbage(None, every=1)
    for _ in range(5):
        garbage.attempt_starting()
    assert not garbage.collect()
    assert page.context.opened == 1

