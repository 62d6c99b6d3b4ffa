"""A worker starts its browser only if it may still have something to do.

Once it holds its launch slot, a worker asks: has the runner told it to leave, and, once the
runner has let the workers claim, would a claim give it an item? If not, it leaves before
it copies its profile or starts a driver or a browser. Before the runner's word it always
goes on: the quota is not known yet (a budget in the manifest is the last run's), and its
page may be the one the runner looks at.

The worker runs its real code against a real manifest; the profile copy and Playwright are
replaced by stand-ins that record that the worker went on.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import Pipe
from pathlib import Path
from typing import Any

import pytest

from grokbatch.manifest import Manifest
from grokbatch.run import worker as worker_module
from grokbatch.run.worker import Worker
from grokbatch.run.worker_protocol import (
    Events,
    StartSignal,
    StopFlag,
    Word,
    WorkerExit,
    WorkerSpec,
)

WORKER = "worker-1"
URL = "https://assets.grok.com/users/u/generated/v/generated_video.mp4"


class WentOn(Exception):
    """The worker went on to start its browser (the stand-in profile copy was called)."""


@pytest.fixture
def manifest(tmp_path: Path) -> Manifest:
    return Manifest.create(tmp_path / "runs" / "job" / "manifest.json", job_name="job",
                           account_alias="acct", permalink="http://127.0.0.1:9/imagine/post/abc",
                           count=2, prompt="p")


@pytest.fixture(autouse=True)
def no_browser(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Stand-ins for what a worker does first to start its browser."""
    calls: list[str] = []

    def copy_profile(*args: Any) -> None:
        calls.append("copy_profile")
        raise WentOn

    def open_playwright(*args: Any) -> None:
        calls.append("open_playwright")
        raise WentOn

    monkeypatch.setattr(worker_module, "copy_profile", copy_profile)
    monkeypatch.setattr(worker_module, "open_playwright", open_playwright)
    return calls


def make_worker(manifest: Manifest, word: Word | None, *, signal: bool = True) -> Worker:
    """A worker on `manifest` that the runner told `word` (None: nothing yet; `signal`
    False: a worker that claims at once, with no word to wait for)."""
    run_dir = manifest.path.parent
    spec = WorkerSpec(
        worker_id=WORKER, account="acct", run_dir=run_dir, manifest_path=manifest.path,
        account_profile=run_dir / "account", profile_dir=run_dir / "profile",
        permalink="http://127.0.0.1:9/imagine/post/abc", prompts=("p",), headless=True,
        timeout_s=10.0, element_timeout_s=5.0, page_load_timeout_s=10.0, browser_path=None,
        selectors_file=None, auto_download=False,
    )
    ctx = multiprocessing.get_context()
    start = StartSignal(ctx) if signal else None
    if start is not None and word is not None:
        start.say(word)
    conn, _ = Pipe()
    return Worker(spec, StopFlag(ctx), Events(conn, WORKER), start_signal=start)


def assert_goes_on(worker: Worker, no_browser: list[str]) -> None:
    """`worker` goes on to start its browser: its profile copy is the first thing it does."""
    with pytest.raises(WentOn):
        worker.run()
    assert no_browser == ["copy_profile"]


def test_told_to_go_with_every_item_claimed_it_leaves_without_a_browser(
    manifest: Manifest, no_browser: list[str],
) -> None:
    for other in ("worker-0", "worker-2"):
        assert manifest.claim_next_item(other) is not None
    assert not manifest.has_claimable_item()
    assert make_worker(manifest, Word.GO).run() == WorkerExit.OK
    assert no_browser == []
    assert not (manifest.path.parent / "profile").exists()


def test_told_to_go_with_no_quota_left_it_leaves_without_a_browser(
    manifest: Manifest, no_browser: list[str],
) -> None:
    manifest.update_fields(generationBudget=0)  # the look found the quota spent
    assert make_worker(manifest, Word.GO).run() == WorkerExit.OK
    assert no_browser == []


def test_told_to_leave_it_leaves_without_a_browser(
    manifest: Manifest, no_browser: list[str],
) -> None:
    assert make_worker(manifest, Word.LEAVE).run() == WorkerExit.OK
    assert no_browser == []


@pytest.mark.parametrize("word", [Word.GO, None, Word.LOOK], ids=["go", "no-word", "look"])
def test_with_an_item_to_claim_it_starts_its_browser(
    manifest: Manifest, no_browser: list[str], word: Word | None,
) -> None:
    assert_goes_on(make_worker(manifest, word), no_browser)


def test_before_the_runner_s_word_a_budget_the_last_run_left_does_not_keep_it_back(
    manifest: Manifest, no_browser: list[str],
) -> None:
    # The last run spent its quota; this run's look has not been made yet.
    manifest.update_fields(generationBudget=0)
    assert_goes_on(make_worker(manifest, None), no_browser)


def test_a_worker_that_claims_at_once_asks_the_manifest(
    manifest: Manifest, no_browser: list[str],
) -> None:
    assert_goes_on(make_worker(manifest, None, signal=False), no_browser)
    for other in ("worker-0", "worker-2"):
        manifest.claim_next_item(other)
    assert make_worker(manifest, None, signal=False).run() == WorkerExit.OK
    assert no_browser == ["copy_profile"]  # the second asked nothing more


def test_what_a_claim_would_give_is_what_a_claim_gives(manifest: Manifest) -> None:
    assert manifest.has_claimable_item()
    manifest.update_fields(generationBudget=0)
    assert not manifest.has_claimable_item()
    assert manifest.claim_next_item("worker-0") is None
    # A video the site made before is only downloaded: the quota does not hold it back.
    manifest.update_fields(generationBudget=1)
    item = manifest.claim_next_item("worker-0")
    assert item is not None
    manifest.update_item(item["index"], "worker-0", video_url=URL)
    manifest.release_item(item["index"], "worker-0", "stopping")
    assert manifest.snapshot()["generationBudget"] == 0
    assert manifest.has_claimable_item()
    assert manifest.claim_next_item("worker-0") is not None
    assert not manifest.has_claimable_item()


def test_an_account_profile_gone_under_the_run_stops_it_saying_what_to_do(
    manifest: Manifest, no_browser: list[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Removed after the run began: each worker "crashed: FileNotFoundError", was replaced,
    # and the run ended "some videos failed or were not made" without a word of why.
    from grokbatch.profiles import copy_profile
    from grokbatch.run.worker_protocol import StopReason

    monkeypatch.setattr(worker_module, "copy_profile", copy_profile)  # the real one
    worker = make_worker(manifest, None)
    stops: list[tuple[StopReason, str | None]] = []
    monkeypatch.setattr(worker.events, "stop_run",
                        lambda reason, message=None: stops.append((reason, message)))
    assert worker.run() == WorkerExit.OK
    assert no_browser == []  # no driver, no browser
    assert worker.stop.is_set()
    [(reason, message)] = stops
    assert reason is StopReason.USAGE
    assert message is not None and "profile of account acct is gone" in message
    assert "grokbatch accounts add acct" in message
    assert [i["status"] for i in manifest.snapshot()["items"]] == ["PENDING", "PENDING"]
