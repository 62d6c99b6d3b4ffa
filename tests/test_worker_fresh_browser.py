"""worker.py: a worker starts a fresh browser every FRESH_BROWSER_EVERY videos (a browser
grows with every video it makes), between two items, and never while the run stops."""

from __future__ import annotations

from pathlib import Path

import pytest

from grokbatch.manifest import Manifest
from grokbatch.run import worker as worker_module
from tests.test_worker_saving import WORKER, FakeGenerator, make_worker, process_next


def _worker_with_counted_launches(tmp_path: Path, count: int, monkeypatch: pytest.MonkeyPatch
                                  ) -> tuple[worker_module.Worker, list[str]]:
    """A worker on a job of `count` items whose browser launches and closes are only
    counted."""
    run_dir = tmp_path / "runs" / "job"
    run_dir.mkdir(parents=True)
    Manifest.create(run_dir / "manifest.json", job_name="job", account_alias="acct",
                    permalink="http://127.0.0.1:9/imagine/post/abc", count=count, prompt="p")
    worker, _ = make_worker(run_dir, FakeGenerator(), auto_download=False)
    calls: list[str] = []
    monkeypatch.setattr(worker, "_close_browser", lambda: calls.append("close"))

    def launch(playwright: object, choice: object) -> None:
        calls.append("launch")
        worker.videos_on_browser = 0  # as the real one does

    monkeypatch.setattr(worker, "_launch", launch)
    monkeypatch.setattr(worker_module, "kill_browsers_using", lambda profile: None)
    return worker, calls


def test_a_fresh_browser_every_few_videos_between_items(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "FRESH_BROWSER_EVERY", 2)
    worker, calls = _worker_with_counted_launches(tmp_path, 5, monkeypatch)
    for _ in range(5):
        process_next(worker)
    assert calls == ["close", "launch"] * 2  # after videos 2 and 4, not after 5
    doc = worker.manifest.snapshot()
    assert doc["completedCount"] == 5
    assert all(item["attempts"] == 1 for item in doc["items"])


def test_no_fresh_browser_once_the_run_is_stopping(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "FRESH_BROWSER_EVERY", 1)
    worker, calls = _worker_with_counted_launches(tmp_path, 2, monkeypatch)
    worker.stop.set()
    item = worker.manifest.claim_next_item(WORKER)
    assert item is not None
    worker._process(item, None, None)  # type: ignore[arg-type]
    assert calls == []
