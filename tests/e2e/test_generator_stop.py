"""generator.py on a real page: a run that is stopping asks the site for no video.

A Ctrl-C that came after a worker claimed its video, and before it clicked, still let
that video start: nothing between the claim and the click asked whether the run stops.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from grokbatch.outcomes import Outcome
from grokbatch.site.generator import VideoGenerator
from grokbatch.site.selectors import Selectors

pytestmark = pytest.mark.e2e


def _generator(page: Page, permalink: str, debug: Path) -> VideoGenerator:
    return VideoGenerator(page, permalink, Selectors.load(None), timeout_s=20.0,
                          element_timeout_s=10.0, page_load_timeout_s=20.0, debug_dir=debug,
                          worker_id="worker-0", stopping=lambda: True)


def test_a_stopping_run_clicks_nothing_and_a_running_one_makes_its_video(
    browser_page: Page, simulator, tmp_path: Path
) -> None:
    sim = simulator("--auto-login", "--generation-seconds", "0.5")
    browser_page.goto(sim.post_url())  # signed in by this first view
    stopped = _generator(browser_page, sim.post_url(), tmp_path)
    stopped.open_post()
    result = stopped.generate("a prompt", "video #0")
    assert (result.stopped, result.clicked) == (True, False)
    assert sim.stats()["generationsStarted"] == 0
    stopped.stopping = lambda: False  # the same page, once the run goes on: it clicks
    made = stopped.generate("a prompt", "video #0")
    assert (made.outcome, made.stopped, made.clicked) == (Outcome.COMPLETED, False, True), made
    assert sim.stats()["generationsStarted"] == 1
