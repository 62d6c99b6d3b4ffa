"""generator.py on a real page: a video is asked for only by a click that happened.

A Ctrl-C that came after a worker claimed its video, and before it clicked, still let
that video start: nothing between the claim and the click asked whether the run stops.
A control that stayed disabled, or a click that set off nothing where earlier videos
streamed, was counted as a started video, spending the video's attempts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from grokbatch.outcomes import Outcome
from grokbatch.site.generator import VideoGenerator
from grokbatch.site.selectors import Selectors

pytestmark = pytest.mark.e2e


def _signed_in(simulator, page: Page):
    """A simulator of quick videos, and `page` signed in to it by a first view."""
    sim = simulator("--auto-login", "--generation-seconds", "0.5")
    page.goto(sim.post_url())
    return sim


def _generator(page: Page, permalink: str, debug: Path, *, timeout_s: float = 20.0,
               element_timeout_s: float = 10.0, stopping: bool = False) -> VideoGenerator:
    """A worker's generator on `page`, its post opened (`stopping`: the run is stopping)."""
    generator = VideoGenerator(page, permalink, Selectors.load(None), timeout_s=timeout_s,
                               element_timeout_s=element_timeout_s, page_load_timeout_s=20.0,
                               debug_dir=debug, worker_id="worker-0",
                               stopping=lambda: stopping)
    generator.open_post()
    return generator


def test_a_stopping_run_clicks_nothing_and_a_running_one_makes_its_video(
    browser_page: Page, simulator, tmp_path: Path
) -> None:
    sim = _signed_in(simulator, browser_page)
    stopped = _generator(browser_page, sim.post_url(), tmp_path, stopping=True)
    result = stopped.generate("a prompt", "video #0")
    assert (result.stopped, result.clicked) == (True, False)
    assert sim.stats()["generationsStarted"] == 0
    stopped.stopping = lambda: False  # the same page, once the run goes on: it clicks
    made = stopped.generate("a prompt", "video #0")
    assert (made.outcome, made.stopped, made.clicked) == (Outcome.COMPLETED, False, True), made
    assert sim.stats()["generationsStarted"] == 1


def test_a_generate_control_that_stays_disabled_is_not_a_started_video(
    browser_page: Page, simulator, tmp_path: Path
) -> None:
    # The site may keep its control disabled (a limit its quota does not show, a page
    # half loaded): Playwright never clicks it, so no video started and no attempt is spent.
    sim = _signed_in(simulator, browser_page)
    browser_page.add_init_script(
        "setInterval(() => document.querySelectorAll('button').forEach("
        "(b) => { if (!b.closest('[role=dialog]')) b.disabled = true; }), 5)")
    generator = _generator(browser_page, sim.post_url(), tmp_path, element_timeout_s=1.0)
    result = generator.generate("a prompt", "video #0")
    assert (result.outcome, result.clicked) == (Outcome.GENERATION_ERROR, False), result
    assert result.error == "the generate control stayed disabled"
    assert sim.stats()["generationsStarted"] == 0


def test_a_click_that_sets_off_nothing_after_videos_that_streamed_is_not_a_started_video(
    browser_page: Page, simulator, tmp_path: Path
) -> None:
    # The control the worker clicks has stopped starting videos (the site moved it and
    # another button took its place): no stream, no progress, where every earlier video
    # streamed. Nothing started, so no attempt is spent; the control is named.
    sim = _signed_in(simulator, browser_page)
    generator = _generator(browser_page, sim.post_url(), tmp_path, timeout_s=3.0,
                           element_timeout_s=2.0)
    assert generator.generate("a prompt", "video #0").outcome is Outcome.COMPLETED
    browser_page.evaluate("""() => document.addEventListener('click', (e) => {
        if (e.target.closest('[data-grokbatch-target=generate]')) {
          e.stopImmediatePropagation(); e.preventDefault(); } }, true)""")
    result = generator.generate("a prompt", "video #1")
    assert (result.outcome, result.clicked) == (Outcome.GENERATION_ERROR, False), result
    assert result.error is not None and result.error.startswith(
        "the click on the generate control (found by selector, labelled ")
    assert "started nothing within 3 s: no stream, no progress" in result.error
    assert sim.stats()["generationsStarted"] == 1
