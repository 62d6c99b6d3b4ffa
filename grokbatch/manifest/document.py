"""The manifest document: what a job's record holds, and the changes every path shares.

The document is plain JSON with camelCase keys, as the original tool wrote it. This
module knows its statuses, makes fresh items, counts items by status, and moves an item
back to the queue; it never touches a file (the store does that, under the lock).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from grokbatch.clock import now_iso
from grokbatch.errors import ManifestError

# Failed attempts an item keeps in its `history`: enough to see a pattern, never a long file.
_HISTORY_KEPT = 10


class ItemStatus(str, Enum):
    """Where one item stands."""

    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    RATE_LIMITED = "RATE_LIMITED"


class RunStatus(str, Enum):
    """Where the whole job stands."""

    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    STOPPED_RATE_LIMIT = "STOPPED_RATE_LIMIT"
    STOPPED_AUTH = "STOPPED_AUTH"
    INTERRUPTED = "INTERRUPTED"
    FAILED = "FAILED"


ITEM_STATUSES = frozenset(s.value for s in ItemStatus)
RUN_STATUSES = frozenset(s.value for s in RunStatus)


def new_item(index: int, prompt_index: int | None = None) -> dict[str, Any]:
    """A fresh PENDING item."""
    item: dict[str, Any] = {
        "index": index,
        "status": ItemStatus.PENDING.value,
        "attempts": 0,
        "workerId": None,
        "workerPid": None,
        "createdAt": now_iso(),
        "startedAt": None,
        "completedAt": None,
        "error": None,
        "errorKind": None,
        "leaseExpiresAt": None,
    }
    if prompt_index is not None:
        item["promptIndex"] = prompt_index
    return item


def item_at(doc: dict[str, Any], index: int) -> dict[str, Any]:
    """The item at `index`, or ManifestError if the manifest has none."""
    try:
        item: dict[str, Any] = doc["items"][index]
    except IndexError:
        raise ManifestError(f"no item {index} in this manifest") from None
    return item


def note_attempt(item: dict[str, Any]) -> None:
    """Keep a failed attempt's kind and reason in the item's `history` (the last ten)."""
    entry = {"attempt": item["attempts"], "errorKind": item.get("errorKind"),
             "error": item.get("error"), "at": now_iso()}
    item["history"] = [*item.get("history", []), entry][-_HISTORY_KEPT:]


def requeue(item: dict[str, Any], reason: str | None) -> None:
    """Back to PENDING; an item whose video the site already made only downloads it.

    Every way back to the queue (an abandoned claim, a release, a rerun, a missing
    file) comes through here, so a made video is never generated again by mistake.
    """
    item.update(
        status=ItemStatus.PENDING.value,
        workerId=None,
        workerPid=None,
        leaseExpiresAt=None,
        completedAt=None,
    )
    if item.get("videoUrl"):
        item["downloadOnly"] = True
    if reason:
        item["error"] = reason


def status_counts(doc: dict[str, Any]) -> dict[str, int]:
    """How many items are in each status (every status present, zero or not)."""
    counts = dict.fromkeys((s.value for s in ItemStatus), 0)
    for item in doc["items"]:
        counts[item["status"]] += 1
    return counts


def failed_by_kind(doc: dict[str, Any]) -> dict[str, int]:
    """How many FAILED items there are of each error kind."""
    kinds: dict[str, int] = {}
    for item in doc["items"]:
        if item["status"] == ItemStatus.FAILED.value:
            kind = item.get("errorKind") or "UNKNOWN"
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def recount(doc: dict[str, Any]) -> None:
    """Recompute the counters from the items, so they always agree."""
    counts = status_counts(doc)
    doc["batchSize"] = len(doc["items"])
    doc["completedCount"] = counts[ItemStatus.COMPLETED.value]
    doc["failedCount"] = counts[ItemStatus.FAILED.value]
    doc["rateLimitedCount"] = counts[ItemStatus.RATE_LIMITED.value]
    doc["pendingCount"] = counts[ItemStatus.PENDING.value]
    doc["inProgressCount"] = counts[ItemStatus.IN_PROGRESS.value]
