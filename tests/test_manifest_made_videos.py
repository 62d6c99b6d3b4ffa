"""grokbatch.manifest: every way an item goes back to the queue keeps a made video download-only.

An item holding a `videoUrl` is one the site already made (and counted against the
account's quota): requeued by any path, it must be downloaded, never generated again.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grokbatch.manifest import ItemStatus, Manifest

URL = "https://assets.grok.com/users/u/generated/v/generated_video.mp4"


def dead_pid() -> int:
    """The PID of a process that has already exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def manifest(tmp_path: Path) -> Manifest:
    return Manifest.create(tmp_path / "runs" / "job" / "manifest.json", job_name="job",
                           account_alias="acct", permalink="https://grok.com/imagine/post/abc",
                           count=2, prompt="a secret prompt")


def items(manifest: Manifest) -> list[dict[str, Any]]:
    return list(manifest.snapshot()["items"])


def test_in_progress_item_holding_a_video_url_whose_worker_is_gone_is_requeued_download_only(
    manifest: Manifest,
) -> None:
    for worker in ("worker-0", "worker-1"):
        assert manifest.claim_next_item(worker, pid=dead_pid()) is not None
    manifest.update_item(0, "worker-0", video_url=URL)  # made, then the worker was killed
    assert manifest.requeue_abandoned() == [0, 1]
    made, not_made = items(manifest)
    assert (made["status"], made["videoUrl"], made["downloadOnly"]) == ("PENDING", URL, True)
    assert not_made["status"] == "PENDING"
    assert not not_made.get("downloadOnly")  # nothing was made: it is generated


def test_released_item_holding_a_video_url_is_requeued_download_only(
    manifest: Manifest,
) -> None:
    assert manifest.claim_next_item("worker-0") is not None
    manifest.update_item(0, "worker-0", video_url=URL)
    manifest.release_item(0, "worker-0", "stopping")
    item = items(manifest)[0]
    assert (item["status"], item["downloadOnly"]) == ("PENDING", True)
    # and claiming it spends no generation of the quota
    manifest.update_fields(generationBudget=0)
    claimed = manifest.claim_next_item("worker-1")
    assert claimed is not None and claimed["index"] == 0


def test_rerun_of_a_failed_item_holding_a_video_url_only_downloads_it(
    manifest: Manifest,
) -> None:
    assert manifest.claim_next_item("worker-0") is not None
    manifest.update_item(0, "worker-0", video_url=URL, status=ItemStatus.FAILED,
                         error_kind="DOWNLOAD_ERROR", error="disk full")
    assert manifest.reset_for_rerun(max_attempts=3) == [0]
    item = items(manifest)[0]
    assert (item["status"], item["videoUrl"], item["downloadOnly"]) == ("PENDING", URL, True)


def test_completed_item_with_its_download_failed_is_requeued_download_only_on_rerun(
    manifest: Manifest, tmp_path: Path,
) -> None:
    assert manifest.claim_next_item("worker-0") is not None
    manifest.update_item(0, "worker-0", video_url=URL, status=ItemStatus.COMPLETED,
                         video=None, error_kind="DOWNLOAD_ERROR", error="HTTP 500")
    assert manifest.requeue_missing_downloads(tmp_path / "runs" / "job") == [0]
    item = items(manifest)[0]
    assert (item["status"], item["videoUrl"], item["downloadOnly"]) == ("PENDING", URL, True)
