"""worker.py: a video an earlier try started is looked for on its own post before another
is made. The site goes on making a video when the try that asked for it dies (a killed
worker, a frozen page, a broken stream); the next try keeps that video instead of spending
the quota on it again, and makes one only when the site shows none.

The worker runs its real code against a real manifest; the browser is stood in for.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError

from grokbatch.clock import iso, utc_now
from grokbatch.outcomes import Outcome
from grokbatch.run import worker as worker_module
from grokbatch.site import generator as generator_module
from grokbatch.site.generator import GenerationResult, VideoGenerator
from tests.test_worker_saving import WORKER, FakeGenerator, item0, make_worker, process_next

MADE_URL = "http://127.0.0.1:9/assets/users/u/generated/v/generated_video.mp4"


class LookingGenerator(FakeGenerator):
    """A generator whose `find_made_video` answers `found` (a URL, None, or an exception
    to raise), and whose generations tell the worker their video post, as the stream does."""

    def __init__(self, found: str | Exception | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.found = found
        self.looks: list[tuple[list[str], float]] = []
        self.on_started: Any = None

    def find_made_video(self, post_ids: list[str], wait_s: float, give_up: Any) -> str | None:
        self.looks.append((post_ids, wait_s))
        if isinstance(self.found, Exception):
            raise self.found
        return self.found

    def generate(self, prompt: str | None, label: str) -> GenerationResult:
        if self.clicked and self.on_started is not None:
            self.on_started([f"post-of-generation-{self.generations + 1}"])
        return super().generate(prompt, label)


def _started_earlier(tmp_path: Path, generator: LookingGenerator, *, seconds_ago: float = 1.0,
                     posts: tuple[str, ...] = ("first-post",), **kwargs: Any
                     ) -> worker_module.Worker:
    """A worker whose only video an earlier try started on the site, then died."""
    worker, manifest = make_worker(tmp_path, generator, **kwargs)
    generator.on_started = worker._on_started
    assert manifest.claim_next_item(WORKER) is not None
    started = iso(utc_now() - timedelta(seconds=seconds_ago))
    manifest.update_item(0, WORKER, generation={"videoPostIds": list(posts),
                                                "startedAt": started})
    manifest.requeue_abandoned(frozenset({WORKER}))
    return worker


def test_the_video_an_earlier_try_started_is_found_and_kept_not_made_again(
        tmp_path: Path) -> None:
    generator = LookingGenerator(found=MADE_URL)
    worker = _started_earlier(tmp_path, generator, auto_download=False)
    process_next(worker)
    item = item0(worker.manifest)
    assert item["status"] == "COMPLETED"
    assert item["videoUrl"] == MADE_URL
    assert item["attempts"] == 1
    assert generator.generations == 0  # nothing was asked of the site's quota
    assert "generationSeconds" not in item  # the look took its time, not a generation
    assert [posts for posts, _ in generator.looks] == [["first-post"]]


def test_a_video_the_site_shows_nowhere_is_made_now(tmp_path: Path) -> None:
    generator = LookingGenerator(found=None, next_url=MADE_URL)
    worker = _started_earlier(tmp_path, generator, auto_download=False)
    process_next(worker)
    item = item0(worker.manifest)
    assert item["status"] == "COMPLETED"
    assert generator.generations == 1
    assert item["attempts"] == 2  # the earlier try's generation, and this one
    # The new generation's own post replaced the one that showed nothing.
    assert item["generation"]["videoPostIds"] == ["post-of-generation-1"]


def test_a_look_that_could_not_load_the_page_makes_nothing_and_is_tried_again(
        tmp_path: Path) -> None:
    generator = LookingGenerator(found=PlaywrightError("net::ERR_CONNECTION_REFUSED"))
    worker = _started_earlier(tmp_path, generator)
    process_next(worker)
    item = item0(worker.manifest)
    # Its one attempt is the generation the earlier try asked for; the look spent none.
    assert (item["status"], item["attempts"]) == ("PENDING", 1)
    assert item["generation"]["videoPostIds"] == ["first-post"]  # looked for again next time
    assert item["errorKind"] == "NETWORK_ERROR"
    assert generator.generations == 0
    assert worker.unstarted == 1  # three such in a row and the worker leaves


def test_a_stop_during_the_look_gives_the_video_back_still_to_be_looked_for(
        tmp_path: Path) -> None:
    generator = LookingGenerator(found=None)
    worker = _started_earlier(tmp_path, generator)
    worker.stop.set()
    process_next(worker)
    item = item0(worker.manifest)
    assert (item["status"], item["attempts"]) == ("PENDING", 1)
    assert item["generation"]["videoPostIds"] == ["first-post"]
    assert generator.generations == 0


@pytest.mark.parametrize(("seconds_ago", "wait_s"), [(1.0, 9.0), (600.0, 0.0)])
def test_the_look_waits_only_for_what_is_left_of_the_generations_time(
        tmp_path: Path, seconds_ago: float, wait_s: float) -> None:
    # The video timeout is 10 s: a generation started 1 s ago may take 9 s more; one
    # started long ago is looked at once.
    generator = LookingGenerator(found=MADE_URL)
    worker = _started_earlier(tmp_path, generator, seconds_ago=seconds_ago, auto_download=False)
    process_next(worker)
    (_, waited), = generator.looks
    assert waited == pytest.approx(wait_s, abs=0.5)


def test_the_kept_video_of_a_side_by_side_pair_is_looked_for_first(tmp_path: Path) -> None:
    generator = LookingGenerator(found=MADE_URL)
    worker = _started_earlier(tmp_path, generator, posts=("left", "right"), auto_download=False)
    worker.spec = dataclasses.replace(worker.spec, choice="second")
    process_next(worker)
    assert [posts for posts, _ in generator.looks] == [["right", "left"]]


def test_a_generation_is_kept_when_it_starts_and_dropped_when_the_site_says_it_made_none(
        tmp_path: Path) -> None:
    generator = LookingGenerator(outcome=Outcome.NETWORK_ERROR)
    worker, manifest = make_worker(tmp_path, generator, count=1)
    generator.on_started = worker._on_started
    worker.spec = dataclasses.replace(worker.spec, max_attempts=3)
    process_next(worker)  # the stream broke off: the site may still make it
    assert item0(manifest)["generation"]["videoPostIds"] == ["post-of-generation-1"]
    generator.found = None
    generator.outcome = Outcome.GENERATION_ERROR
    original = generator.generate

    def said_no_video(prompt: str | None, label: str) -> GenerationResult:
        result = original(prompt, label)
        return GenerationResult(result.outcome, "the stream reported an error", clicked=True,
                                made_none=True)

    generator.generate = said_no_video  # type: ignore[method-assign]
    process_next(worker)
    assert item0(manifest)["generation"] is None  # nothing for a later try to look for


class _Posts:
    """Stands in for the pages of video posts: each look at a post answers from its list
    (None: no video yet), and takes `look_s` of a clock the test moves."""

    def __init__(self, answers: dict[str, list[str | None]], look_s: float = 5.0) -> None:
        self.answers = answers
        self.look_s = look_s
        self.now = 0.0
        self.looked: list[str] = []

    def look(self, post_id: str) -> str | None:
        self.looked.append(post_id)
        self.now += self.look_s
        answers = self.answers[post_id]
        return answers.pop(0) if len(answers) > 1 else answers[0]


def _generator_on(posts: _Posts, monkeypatch: pytest.MonkeyPatch) -> VideoGenerator:
    generator = VideoGenerator.__new__(VideoGenerator)  # no page: its looks are stood in for
    generator._needs_reload = False
    generator._video_on_post = posts.look  # type: ignore[method-assign]
    monkeypatch.setattr(generator_module.time, "monotonic", lambda: posts.now)
    return generator


def test_of_a_pair_made_together_the_preferred_video_is_kept_whichever_was_seen_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The pair appeared between the looks at the preferred post and at the other one.
    posts = _Posts({"preferred": [None, "A"], "other": ["B"]})
    generator = _generator_on(posts, monkeypatch)
    assert generator.find_made_video(["preferred", "other"], 60, give_up=lambda: False) == "A"
    assert posts.looked == ["preferred", "other", "preferred"]


def test_the_look_goes_on_to_the_end_of_the_generations_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 10 s left, 5 s a look: the video that appears for the second look is found.
    posts = _Posts({"post": [None, "V"]})
    generator = _generator_on(posts, monkeypatch)
    assert generator.find_made_video(["post"], 10, give_up=lambda: False) == "V"
    posts = _Posts({"post": [None]})
    generator = _generator_on(posts, monkeypatch)
    assert generator.find_made_video(["post"], 10, give_up=lambda: False) is None
    assert posts.looked == ["post", "post"]  # then its time was up
    posts = _Posts({"post": [None]})
    generator = _generator_on(posts, monkeypatch)
    assert generator.find_made_video(["post"], 0, give_up=lambda: False) is None
    assert posts.looked == ["post"]  # at least once


def test_the_look_waits_for_what_the_sites_progress_said_was_left() -> None:
    from grokbatch.run.looking import LONGEST_LOOK_S, look_wait_s

    def started(seconds_ago: float, **progress: Any) -> Any:
        return {"videoPostIds": ["p"], "startedAt": iso(utc_now() - timedelta(seconds=seconds_ago)),
                **progress}

    # No progress known (a killed try): the rest of the try's --timeout.
    assert 48 <= look_wait_s(started(10), 60) <= 50
    assert look_wait_s(started(90), 60) == 0
    # 25 % after 3 s: about 12 s in all; waited for until twice that from the start.
    assert 18 <= look_wait_s(started(5, progress=25, progressSeconds=3.0), 4) <= 19
    # A long way to go is waited for at most LONGEST_LOOK_S.
    assert look_wait_s(started(5, progress=1, progressSeconds=5.0), 4) == LONGEST_LOOK_S
    # Done (100 %) or nonsense: the rest of the try's time, as without progress.
    assert look_wait_s(started(5, progress=100, progressSeconds=3.0), 4) == 0
    assert look_wait_s(started(5, progress=50, progressSeconds=0), 4) == 0
