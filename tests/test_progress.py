"""The progress model behind the live display (its drawing is rich's job)."""

from __future__ import annotations

import pytest
from loguru import logger

from grokbatch.run.progress import Progress


def test_worker_lines_show_state_item_and_percent() -> None:
    progress = Progress(enabled=False)
    progress.start(total=3, done=0, failed=0)
    progress.worker_state("worker-0", "starting")
    progress.worker_state("worker-1", "generating", 2, 45)
    progress.worker_state("worker-2", "downloading", 1)
    assert progress.states == {
        "worker-0": "starting",
        "worker-1": "generating #2 45%",
        "worker-2": "downloading #1",
    }


def test_items_count_by_where_each_try_left_them_not_by_its_outcome() -> None:
    # A try that failed and sent its video back to the queue left it to be made: it is
    # neither failed nor done (before, every retry counted as one more failed video).
    progress = Progress(enabled=False)
    progress.start(total=5, done=1, failed=0)
    for status in ("COMPLETED", "PENDING", "PENDING", "FAILED", "PENDING"):
        progress.item_done(status)
    assert (progress.done, progress.failed) == (2, 1)


def test_without_a_terminal_a_summary_line_is_logged_once_its_interval_has_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    progress = Progress(enabled=True)  # pytest captures stderr: not a terminal
    progress.start(total=5, done=1, failed=1)
    assert progress.live_mode is False
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message).strip()), format="{message}")
    try:
        progress.refresh()  # the interval has not passed yet
        assert lines == []
        monkeypatch.setattr("grokbatch.run.progress._PLAIN_SUMMARY_EVERY_S", 0.0)
        progress.refresh()
    finally:
        logger.remove(sink)
        progress.stop()
    assert lines == ["progress: 1 completed, 1 failed, 3 remaining"]
