"""What a rerun of a job puts back in the queue, and how a job grows.

Each function changes a manifest document in place and returns what it changed (falsy
when nothing), so `Manifest` can apply it as one transaction and write only if needed.
"""

from __future__ import annotations

from pathlib import Path

from grokbatch.errors import ManifestError
from grokbatch.manifest.document import (
    LEGACY_RATE_LIMITED,
    ItemStatus,
    ManifestDocument,
    RunStatus,
    new_item,
    requeue,
)
from grokbatch.outcomes import RETRYABLE


def reset_for_rerun(doc: ManifestDocument, max_attempts: int) -> list[int]:
    """Retryable FAILED items (and legacy RATE_LIMITED ones) go back to PENDING; return
    their indices.

    CONTENT_MODERATED items and items that used up `max_attempts` stay FAILED.
    """
    retryable = {outcome.value for outcome in RETRYABLE}
    reset: list[int] = []
    for item in doc["items"]:
        status = item["status"]
        again = status == LEGACY_RATE_LIMITED or (
            status == ItemStatus.FAILED.value
            and item.get("errorKind") in retryable
            and item["attempts"] < max_attempts
        )
        if again:
            requeue(item, None)
            reset.append(item["index"])
    return reset


def requeue_missing_downloads(doc: ManifestDocument, run_dir: Path) -> list[int]:
    """COMPLETED items whose video file is missing go back to PENDING to be fetched again
    (marked `downloadOnly`, so a worker downloads them without generating anew)."""
    requeued: list[int] = []
    for item in doc["items"]:
        if item["status"] != ItemStatus.COMPLETED.value or not item.get("videoUrl"):
            continue
        video = item.get("video")
        if video is not None:
            path = run_dir / video["path"]
            if path.is_file() and path.stat().st_size == video["bytes"]:
                continue
        requeue(item, None)  # it holds a videoUrl: download only
        requeued.append(item["index"])
    return requeued


def extend(doc: ManifestDocument, count: int) -> int:
    """Grow a single-prompt job to `count` items; return how many were added.

    A COMPLETED job that grows is PENDING again.
    """
    if "prompts" in doc:
        raise ManifestError("a job made from a prompts file cannot be extended by --count")
    added = max(0, count - len(doc["items"]))
    for _ in range(added):
        doc["items"].append(new_item(len(doc["items"])))
    if added and doc["status"] == RunStatus.COMPLETED.value:
        doc["status"] = RunStatus.PENDING.value
    return added
