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

from grokbatch.manifest import ItemStatus, Manifest, Saving, files_lost, left_to_save

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
    assert manifest.requeue_unsaved(tmp_path / "runs" / "job", Saving(download=True)) == [0]
    item = items(manifest)[0]
    assert (item["status"], item["videoUrl"], item["downloadOnly"]) == ("PENDING", URL, True)


def _saved_file(run_dir: Path, name: str) -> dict[str, Any]:
    (run_dir / name).write_bytes(b"video")
    return {"path": name, "bytes": 5, "sha256": "-"}


@pytest.mark.parametrize(("recorded", "saving", "left"), [
    ({}, Saving(download=True), {"video"}),
    ({}, Saving(download=True, upscale=True, delete=True), {"video", "upscale", "hd", "delete"}),
    ({"video": "saved"}, Saving(download=True, upscale=True), {"upscale", "hd"}),
    ({"video": "saved", "hdVideo": {"url": URL}}, Saving(download=True, upscale=True), {"hd"}),
    ({"video": "saved", "hdVideo": "saved"}, Saving(download=True, upscale=True, delete=True),
     {"delete"}),
    ({"video": "saved", "deleted": True}, Saving(download=True, upscale=True, delete=True),
     set()),  # gone from the site: nothing to upscale or delete there
    ({"video": "missing"}, Saving(download=True), {"video"}),  # recorded, but not on disk
    ({}, Saving(download=False, upscale=True), {"upscale"}),
    # An HD copy whose URL is known is saved by a run that does not upscale.
    ({"video": "saved", "hdVideo": {"url": URL}}, Saving(download=True), {"hd"}),
    ({"video": "saved", "hdVideo": {"askedAt": "2026-12-02T07:00:00+00:00"}},
     Saving(download=True, upscale=True), {"upscale", "hd"}),
    ({"video": "missing", "deleted": True}, Saving(download=True), set()),
])
def test_left_to_save_is_what_the_run_asks_less_what_the_item_records_as_done(
    tmp_path: Path, recorded: dict[str, Any], saving: Saving, left: set[str],
) -> None:
    item: dict[str, Any] = {"videoUrl": URL}
    for key, value in recorded.items():
        if value == "saved":
            value = {**_saved_file(tmp_path, f"{key}.mp4"), "url": URL}
        elif value == "missing":
            value = {"path": "gone.mp4", "bytes": 5, "sha256": "-"}
        item[key] = value
    assert left_to_save(item, tmp_path, saving) == left
    assert left_to_save({"videoUrl": None}, tmp_path, saving) == frozenset()  # nothing made


def test_a_deleted_videos_missing_file_is_said_lost_not_fetched_or_made_again(
    manifest: Manifest, tmp_path: Path,
) -> None:
    run_dir = tmp_path / "runs" / "job"
    assert manifest.claim_next_item("worker-0") is not None
    manifest.update_item(0, "worker-0", video_url=URL, status=ItemStatus.COMPLETED,
                         video={"path": "videos/0.mp4", "bytes": 5, "sha256": "-"},
                         deleted=True)
    saving = Saving(download=True, upscale=True, delete=True)
    assert manifest.requeue_unsaved(run_dir, saving) == []
    assert files_lost(manifest.snapshot(), run_dir) == [0]
    assert items(manifest)[0]["status"] == "COMPLETED"
