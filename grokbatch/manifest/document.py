"""The manifest document: what a job's record holds, and the changes every path shares.

The document is plain JSON with camelCase keys, as the original tool wrote it. This
module knows its statuses, makes fresh items, counts items by status, and moves an item
back to the queue; it never touches a file (the store does that, under the lock).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from enum import Enum
from typing import Any, Final, TypedDict

from grokbatch.clock import now_iso
from grokbatch.errors import ManifestError

# The manifest layout this grokbatch writes and reads. A manifest without the key was
# written before it existed and has the same layout as version 1.
SCHEMA_VERSION = 1
# Failed attempts an item keeps in its `history`: enough to see a pattern, never a long file.
_HISTORY_KEPT = 10


class ItemStatus(str, Enum):
    """Where one item stands."""

    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


# An item status that manifests of the original tool may hold and grokbatch never writes
# (a rate limit releases the item instead): such an item is read, counted as
# `rateLimitedCount` and put back in the queue by a rerun, but nothing can set it.
LEGACY_RATE_LIMITED: Final = "RATE_LIMITED"


class RunStatus(str, Enum):
    """Where the whole job stands."""

    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    STOPPED_RATE_LIMIT = "STOPPED_RATE_LIMIT"
    STOPPED_AUTH = "STOPPED_AUTH"
    INTERRUPTED = "INTERRUPTED"
    FAILED = "FAILED"


# Every item status a manifest may hold when it is read.
ITEM_STATUSES = frozenset({*(s.value for s in ItemStatus), LEGACY_RATE_LIMITED})
RUN_STATUSES = frozenset(s.value for s in RunStatus)


class VideoRecord(TypedDict):
    """A saved video file: its path under the job's directory, size and hash."""

    path: str
    bytes: int
    sha256: str


class HdVideo(TypedDict, total=False):
    """The upscaled copy: when it was asked for and how long its try would wait for it,
    its URL once the site made it, and the file's record once it is saved."""

    askedAt: str
    waitSeconds: float
    url: str
    path: str
    bytes: int
    sha256: str


class _SiteGenerationKeys(TypedDict):
    videoPostIds: list[str]
    startedAt: str


class SiteGeneration(_SiteGenerationKeys, total=False):
    """A generation the site started for an item, as its stream first named it: each of
    its videos' own post (the kept one first), and when. Should the worker not live to
    see the end, the next one looks on those posts for the video before making another.
    A try that gave up on it (its --timeout, a broken stream) adds how far the site's own
    progress had come (percent), and when (seconds after `startedAt`): the look waits for
    what that progress says is left."""

    progress: int
    progressSeconds: float


class Attempt(TypedDict):
    """One failed attempt, as an item's `history` keeps it."""

    attempt: int
    errorKind: str | None
    error: str | None
    at: str


class _ItemKeys(TypedDict):
    index: int
    status: str  # an ItemStatus value, or LEGACY_RATE_LIMITED in an old file
    attempts: int
    workerId: str | None
    workerPid: int | None
    createdAt: str
    startedAt: str | None
    completedAt: str | None
    error: str | None
    errorKind: str | None  # an Outcome value
    leaseExpiresAt: str | None


class Item(_ItemKeys, total=False):
    """One video of the job, as stored (camelCase keys); the optional keys come with use."""

    promptIndex: int
    history: list[Attempt]
    videoUrl: str | None
    generation: SiteGeneration | None
    choice: str | None
    video: VideoRecord | None
    hdVideo: HdVideo | None
    deleted: bool
    generationSeconds: float
    downloadOnly: bool | None
    # Its earlier try's video was looked for and not found, and the quota allowed no new
    # one: no claim gives it again in this run; the next run looks again (`resume`).
    waitsForRerun: bool


class PromptRow(TypedDict):
    """One row of a prompts file: a prompt and how many videos to make of it."""

    prompt: str
    count: int


class _DocumentKeys(TypedDict):
    jobName: str
    accountAlias: str
    permalink: str
    status: str  # a RunStatus value
    createdAt: str
    updatedAt: str
    items: list[Item]


class ManifestDocument(_DocumentKeys, total=False):
    """A job's manifest, as stored; the schema check makes sure of the required keys, and
    every read recomputes the counters."""

    schemaVersion: int
    id: str
    prompt: str | None
    prompts: list[PromptRow]
    settings: dict[str, Any]
    lastError: str | None
    stopReason: str | None
    rateLimitedAt: str | None
    cooldownUntil: str | None
    generationBudget: int | None
    lastQuota: dict[str, Any] | None
    batchSize: int
    completedCount: int
    failedCount: int
    rateLimitedCount: int
    pendingCount: int
    inProgressCount: int


class ItemChanges(TypedDict, total=False):
    """What a worker may change in an item it holds: `update_item`'s keyword arguments.

    Each is stored under its camelCase name (`error_kind` -> `errorKind`), but for those
    in `_STORED_AS`; a misspelt change is a type error, and a TypeError when it runs.
    """

    status: ItemStatus
    attempts: int
    error: str | None
    error_kind: str | None
    started_at: str | None
    completed_at: str | None
    video: VideoRecord | None
    hd_video: HdVideo | None
    video_url: str | None
    generation: SiteGeneration | None
    choice: str | None
    deleted: bool
    generation_s: float
    download_only: bool | None


# Changes whose stored name is not their camelCase: the stored one says the unit.
_STORED_AS: Final = {"generation_s": "generationSeconds"}


def _camel_case(name: str) -> str:
    return re.sub(r"_([a-z])", lambda match: match.group(1).upper(), name)


# Change name -> stored key, for every change ItemChanges allows (and only those).
STORED_KEYS: Final[dict[str, str]] = {
    name: _STORED_AS.get(name) or _camel_case(name) for name in ItemChanges.__annotations__
}


def stored_changes(changes: ItemChanges) -> dict[str, Any]:
    """`changes` under their stored keys, enums (an ItemStatus) as their values.

    TypeError for a change that ItemChanges does not name (as for an unknown keyword
    argument), ValueError for a status that is not an ItemStatus.
    """
    unknown = changes.keys() - STORED_KEYS.keys()
    if unknown:
        raise TypeError(f"unknown item fields: {', '.join(sorted(unknown))}")
    stored: dict[str, Any] = {STORED_KEYS[name]: value.value if isinstance(value, Enum)
                              else value for name, value in changes.items()}
    if "status" in stored:
        stored["status"] = ItemStatus(stored["status"]).value
    return stored


def new_item(index: int, prompt_index: int | None = None) -> Item:
    """A fresh PENDING item."""
    item: Item = {
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


def new_document(*, job_name: str, account_alias: str, permalink: str, count: int,
                 prompt: str | None, prompts: list[PromptRow] | None,
                 settings: dict[str, Any] | None) -> ManifestDocument:
    """A new job's document: `count` PENDING items, or with `prompts` (rows of a prompts
    file) each row's `count` items, which record their `promptIndex`."""
    items: list[Item] = []
    if prompts is not None:
        for prompt_index, row in enumerate(prompts):
            for _ in range(int(row["count"])):
                items.append(new_item(len(items), prompt_index))
    else:
        items = [new_item(i) for i in range(count)]
    stamp = now_iso()
    doc: ManifestDocument = {
        "schemaVersion": SCHEMA_VERSION,
        "id": str(uuid.uuid4()),
        "jobName": job_name,
        "accountAlias": account_alias,
        "permalink": permalink,
        "status": RunStatus.PENDING.value,
        "createdAt": stamp,
        "updatedAt": stamp,
        "items": items,
        "lastError": None,
        "stopReason": None,
        "rateLimitedAt": None,
        "settings": settings or {},
    }
    if prompts is not None:
        doc["prompts"] = prompts
    else:
        doc["prompt"] = prompt
    return doc


def item_at(doc: ManifestDocument, index: int) -> Item:
    """The item at `index`, or ManifestError if the manifest has none."""
    try:
        return doc["items"][index]
    except IndexError:
        raise ManifestError(f"no item {index} in this manifest") from None


def note_attempt(item: Item) -> None:
    """Keep a failed attempt's kind and reason in the item's `history` (the last ten)."""
    entry: Attempt = {"attempt": item["attempts"], "errorKind": item.get("errorKind"),
             "error": item.get("error"), "at": now_iso()}
    item["history"] = [*item.get("history", []), entry][-_HISTORY_KEPT:]


def started_on_site(item: Mapping[str, Any]) -> bool:
    """Whether the site made this item's video (its `videoUrl`) or started it (its
    `generation`): its next try asks the site for no new video, only fetches or looks
    for that one, and the quota it spent was spent by the try that started it."""
    return bool(item.get("videoUrl") or item.get("generation"))


def requeue(item: Item, reason: str | None) -> None:
    """Back to PENDING; an item whose video the site already made only downloads it.

    Every way back to the queue (an abandoned claim, a release, a rerun, a missing
    file) comes through here, so a made video is never generated again by mistake.
    """
    item.update({
        "status": ItemStatus.PENDING.value,
        "workerId": None,
        "workerPid": None,
        "leaseExpiresAt": None,
        "completedAt": None,
    })
    if item.get("videoUrl"):
        item["downloadOnly"] = True
    if reason:
        item["error"] = reason


def status_counts(doc: Mapping[str, Any]) -> dict[str, int]:
    """How many items are in each status (every status present, zero or not; the legacy
    RATE_LIMITED too, so what `run status` shows keeps its shape)."""
    counts = dict.fromkeys((*(s.value for s in ItemStatus), LEGACY_RATE_LIMITED), 0)
    for item in doc["items"]:
        counts[item["status"]] += 1
    return counts


def failed_by_kind(doc: Mapping[str, Any]) -> dict[str, int]:
    """How many FAILED items there are of each error kind."""
    kinds: dict[str, int] = {}
    for item in doc["items"]:
        if item["status"] == ItemStatus.FAILED.value:
            kind = item.get("errorKind") or "UNKNOWN"
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def recount(doc: ManifestDocument) -> None:
    """Recompute the counters from the items, so they always agree."""
    counts = status_counts(doc)
    doc["batchSize"] = len(doc["items"])
    doc["completedCount"] = counts[ItemStatus.COMPLETED.value]
    doc["failedCount"] = counts[ItemStatus.FAILED.value]
    doc["rateLimitedCount"] = counts[LEGACY_RATE_LIMITED]
    doc["pendingCount"] = counts[ItemStatus.PENDING.value]
    doc["inProgressCount"] = counts[ItemStatus.IN_PROGRESS.value]
