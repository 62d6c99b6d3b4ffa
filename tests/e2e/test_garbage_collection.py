"""A page's garbage collected in real Chromium: what the page no longer holds is gone after
PageGarbage.collect, what it holds is kept, and a run's workers collect every 5 attempts
through their (shared) Playwright driver."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from grokbatch.site.page_memory import COLLECT_GARBAGE_EVERY, PageGarbage
from tests.e2e.clihelpers import manifest, run_cli, start_args, statuses

pytestmark = pytest.mark.e2e

# Two objects behind weak references, one also held by the page: a collection clears only
# the other. (A WeakRef keeps its object until the task that made it ends, so this runs in
# an evaluate of its own.)
_MAKE = """() => {
    window.held = {bytes: new Array(100000).fill(1)};
    window.heldRef = new WeakRef(window.held);
    window.droppedRef = new WeakRef({bytes: new Array(100000).fill(2)});
}"""
_ALIVE = "() => [window.heldRef.deref() !== undefined, window.droppedRef.deref() !== undefined]"


def _open(page: Page) -> None:
    page.route("http://site.test/**", lambda route: route.fulfill(
        body="<!doctype html><title>post</title><p>post</p>", content_type="text/html"))
    page.goto("http://site.test/imagine/post/x")
    page.evaluate(_MAKE)


def test_a_collection_frees_what_the_page_no_longer_holds_and_keeps_the_rest(browser_page):
    _open(browser_page)
    assert PageGarbage(browser_page, "worker-1").collect()
    assert browser_page.evaluate(_ALIVE) == [True, False]
    assert browser_page.evaluate("() => window.held.bytes.length") == 100000


def test_the_collection_before_the_sixth_attempt_is_a_real_one(browser_page):
    _open(browser_page)
    garbage = PageGarbage(browser_page, "worker-1")
    for _ in range(COLLECT_GARBAGE_EVERY + 1):
        garbage.attempt_starting()
    assert browser_page.evaluate(_ALIVE) == [True, False]


def test_a_runs_worker_collects_its_pages_garbage_every_five_attempts(home, simulator):
    sim = simulator("--generation-seconds", "0.2")
    result = run_cli(home, *start_args(sim.post_url(), count=11, parallel=1))
    assert result.code == 0, result.stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 11
    log = (home / "runs" / "job" / "run.log").read_text()
    assert "Playwright driver: shared" in log
    assert "worker-0: the page collected its garbage after 5 attempt(s)" in log
    assert "worker-0: the page collected its garbage after 10 attempt(s)" in log
    assert "garbage was not collected" not in log
    assert sim.stats()["generationsStarted"] == 11
