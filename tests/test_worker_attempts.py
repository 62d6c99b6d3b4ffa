"""worker.py: only an attempt that may have started a generation spends one of a video's
attempts. A video that failed before its generate click (the site down, a control missing)
or whose run ended under its worker goes back to the queue as it was, and a worker that
cannot start three videos in a row leaves the rest for a rerun instead of spinning.

The worker runs its real code against a real manifest; the browser is stood in for.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grokbatch.outcomes import Outcome
from grokbatch.run import worker as worker_module
from grokbatch.site.generator import GenerationResult
from tests.test_worker_saving import FakeGenerator, make_worker, process_next


def _attempts(worker: worker_module.Worker) -> list[tuple[str, int]]:
    return [(i["status"], i["attempts"]) for i in worker.manifest.snapshot()["items"]]


def test_a_video_that_never_reached_its_generate_click_spends_no_attempt(
        tmp_path: Path) -> None:
    worker, _ = make_worker(tmp_path, FakeGenerator(outcome=Outcome.NETWORK_ERROR,
                                                    clicked=False))
    process_next(worker)
    assert _attempts(worker) == [("PENDING", 0)]
    assert worker.unstarted == 1


def test_a_clicked_attempt_that_failed_spends_one_and_goes_to_the_back(tmp_path: Path) -> None:
    worker, _ = make_worker(tmp_path, FakeGenerator(outcome=Outcome.NETWORK_ERROR))
    process_next(worker)
    assert _attempts(worker) == [("PENDING", 1)]
    assert worker.unstarted == 0


def test_three_videos_in_a_row_not_started_and_the_worker_leaves_the_rest(
        tmp_path: Path) -> None:
    generator = FakeGenerator(outcome=Outcome.GENERATION_ERROR, clicked=False)
    worker, _ = make_worker(tmp_path, generator, count=5)
    worker._work_loop(None, None)  # type: ignore[arg-type]  # no relaunch needed
    assert generator.generations == 3  # then it left, instead of spinning on a dead site
    assert _attempts(worker) == [("PENDING", 0)] * 5  # every video waits for a rerun


def test_a_started_video_between_unstarted_ones_starts_the_count_again(tmp_path: Path) -> None:
    generator = FakeGenerator(outcome=Outcome.GENERATION_ERROR, clicked=False)
    worker, _ = make_worker(tmp_path, generator, count=3)
    for clicked in (False, False, True, False):
        generator.clicked = clicked
        process_next(worker)
    assert worker.unstarted == 1


def test_a_failure_after_the_run_ended_under_the_worker_spends_no_attempt(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The runner was killed: its driver and so the browser went with it.
    monkeypatch.setattr(worker_module, "runner_gone", lambda: True)
    worker, _ = make_worker(tmp_path, FakeGenerator(outcome=Outcome.BROWSER_CRASHED))
    worker.relaunches_left = 1
    worker._relaunch = lambda playwright, choice: None  # type: ignore[method-assign]
    process_next(worker)
    assert _attempts(worker) == [("PENDING", 0)]


def test_a_moderated_video_still_fails_for_good(
        tmp_path: Path) -> None:
    worker, _ = make_worker(tmp_path, FakeGenerator(outcome=Outcome.CONTENT_MODERATED))
    process_next(worker)
    assert _attempts(worker) == [("FAILED", 1)]


class OneVideoWillNotStart(FakeGenerator):
    """Video #0 fails before its generate click every time; the others are made."""

    def generate(self, prompt: str | None, label: str) -> GenerationResult:
        self.clicked = "#0" not in label
        self.outcome = Outcome.COMPLETED if self.clicked else Outcome.GENERATION_ERROR
        return super().generate(prompt, label)


def test_a_video_that_will_not_start_waits_at_the_back_while_the_others_are_made(
        tmp_path: Path) -> None:
    generator = OneVideoWillNotStart(next_url="http://127.0.0.1:9/v.mp4")
    worker, manifest = make_worker(tmp_path, generator, count=4, auto_download=False)
    worker._work_loop(None, None)  # type: ignore[arg-type]  # no relaunch needed
    assert _attempts(worker) == [("PENDING", 0)] + [("COMPLETED", 1)] * 3
    # Tried first, then after the others, then until three in a row had failed.
    assert len(manifest.snapshot()["items"][0]["history"]) == 4


def test_a_worker_whose_run_was_killed_claims_nothing_more(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Its driver may outlive the killed runner by a moment: no new video starts then.
    monkeypatch.setattr(worker_module, "runner_gone", lambda: True)
    generator = FakeGenerator(next_url="http://127.0.0.1:9/v.mp4")
    worker, _ = make_worker(tmp_path, generator, count=2, auto_download=False)
    worker._work_loop(None, None)  # type: ignore[arg-type]
    assert generator.generations == 0
    assert _attempts(worker) == [("PENDING", 0)] * 2


@pytest.mark.parametrize(("outcome", "left"), [
    (Outcome.NETWORK_ERROR, "PENDING"),  # back to the queue: still to be made
    (Outcome.CONTENT_MODERATED, "FAILED"),
    (Outcome.COMPLETED, "COMPLETED"),
])
def test_the_runner_hears_where_each_try_left_its_video(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outcome: Outcome, left: str) -> None:
    worker, _ = make_worker(tmp_path, FakeGenerator(outcome=outcome))
    heard: list[tuple[int, str, str]] = []
    monkeypatch.setattr(worker.events, "item_done",
                        lambda index, said, status: heard.append((index, said, status)))
    process_next(worker)
    assert heard == [(0, outcome.value, left)]
    assert worker.manifest.snapshot()["items"][0]["status"] == left
