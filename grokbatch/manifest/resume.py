"""What a rerun of a job puts back in the queue, and how a job grows.

Each function changes a manifest document in place and returns what it changed (falsy
when nothing), so `Manifest` can apply it as one transaction and write only if needed.
"""

from __future__ import annotations

from pathlib import Path

from grokbatch.errors import ManifestError
from grokbatch.manifest.document import (
    LEGACY_RATE_LIMITED,
    Item,
    ItemStatus,
    ManifestDocument,
    RunStatus,
    new_item,
    requeue,
)
from grokbatch.outcomes import RETRYABLE

_RETRYABLE_KINDS = frozenset(outcome.value for outcome in RETRYABLE)


def _failed_retryably(item: Item) -> bool:
    """Whether the item failed in a way that another attempt may mend."""
    return (item["status"] == ItemStatus.FAILED.value
            and item.get("errorKind") in _RETRYABLE_KINDS)


def retried_by_rerun(doc: ManifestDocument, max_attempts: int) -> list[Item]:
    """The items a rerun puts back in the queue: retryable FAILED ones with attempts left,
    and legacy RATE_LIMITED ones. CONTENT_MODERATED items and items that used up
    `max_attempts` stay FAILED: attempts count over every run of the job, since each may
    have cost a generation of the quota."""
    return [item for item in doc["items"]
            if item["status"] == LEGACY_RATE_LIMITED
            or (_failed_retryably(item) and item["attempts"] < max_attempts)]


def reset_for_rerun(doc: ManifestDocument, max_attempts: int) -> list[int]:
    """Put back in the queue what a rerun retries (`retried_by_rerun`); return their
    indices."""
    reset: list[int] = []
    for item in retried_by_rerun(doc, max_attempts):
        requeue(item, None)
        reset.append(item["index"])
    return reset


def attempts_used_up(doc: ManifestDocument, max_attempts: int) -> list[Item]:
    """The FAILED items a rerun with `max_attempts` would retry but for the attempts they
    have had already."""
    return [item for item in doc["items"]
            if _failed_retryably(item) and item["attempts"] >= max_attempts]


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
