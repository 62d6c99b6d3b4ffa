"""What a manifest must hold before grokbatch trusts it: checked on every read.

A manifest is a file a person can edit, restore from a backup, or find written by a newer
grokbatch. Every read checks the fields that grokbatch relies on and refuses, naming the
field (and the item), anything it cannot work with, so a bad file is a clear usage error
instead of a KeyError halfway through a run, and it is never rewritten. Counters
(`pendingCount`, `batchSize`, ...) are not checked here: the reader recomputes them.

Error messages never quote a prompt: the prompt fields are named, never shown.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, cast

from grokbatch.errors import ManifestError
from grokbatch.manifest.document import SCHEMA_VERSION, ManifestDocument

_REQUIRED_TEXT = ("jobName", "accountAlias", "permalink")
_OPTIONAL_TEXT = ("id", "prompt", "lastError", "stopReason")
_REQUIRED_TIMES = ("createdAt", "updatedAt")
_OPTIONAL_TIMES = ("rateLimitedAt", "cooldownUntil")
_ITEM_TIMES = ("createdAt", "startedAt", "completedAt", "leaseExpiresAt")
_ITEM_TEXT = ("error", "errorKind", "videoUrl", "choice")
# Shown in place of a value that must not be quoted (it may be a prompt) or is too long.
_MAX_SHOWN = 40


class _Bad(Exception):
    """One problem, described relative to the document: `field` and what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")


def check_document(doc: Any, path: Path, *, run_statuses: frozenset[str],
                   item_statuses: frozenset[str]) -> ManifestDocument:
    """Return `doc` if grokbatch can work with it, else raise ManifestError naming why."""
    if not isinstance(doc, dict):
        raise ManifestError(f"manifest {path} is not a grokbatch manifest (not a JSON object)")
    version = doc.get("schemaVersion", SCHEMA_VERSION)
    if _is_int(version) and version > SCHEMA_VERSION:
        raise ManifestError(
            f"manifest {path} was made by a newer grokbatch (schema version {version}; this "
            f"one reads version {SCHEMA_VERSION}): upgrade grokbatch to use this job"
        )
    try:
        if not _is_int(version) or version < 1:
            raise _Bad("schemaVersion", "must be a whole number from 1")
        _check_top_level(doc, run_statuses)
        prompt_count = len(doc["prompts"]) if "prompts" in doc else 1
        for position, item in enumerate(doc["items"]):
            _check_item(item, position, item_statuses, prompt_count)
    except _Bad as exc:
        raise ManifestError(
            f"manifest {path}: {exc}; it was left untouched: fix it, restore it or remove "
            "the job's directory"
        ) from None
    return cast("ManifestDocument", doc)  # checked: it holds what the type promises


def _check_top_level(doc: dict[str, Any], run_statuses: frozenset[str]) -> None:
    if not isinstance(doc.get("items"), list):
        raise _Bad("items", "is missing or not a list")
    _check_status(doc, "status", run_statuses)
    for key in _REQUIRED_TEXT:
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise _Bad(key, "is missing or not a non-empty string")
    for key in _OPTIONAL_TEXT:
        _check_optional(doc, key, str, "a string")
    for key in _REQUIRED_TIMES:
        if key not in doc:
            raise _Bad(key, "is missing")
        _check_time(doc, key)
    for key in _OPTIONAL_TIMES:
        _check_time(doc, key)
    _check_optional(doc, "settings", dict, "an object")
    _check_optional(doc, "generationBudget", int, "a whole number")
    quota = doc.get("lastQuota")
    if quota is not None and not (
        isinstance(quota, dict) and isinstance(quota.get("available"), bool)
        and isinstance(quota.get("checkedAt"), str)
        and (quota.get("remainingQueries") is None or _is_int(quota["remainingQueries"]))
    ):
        raise _Bad("lastQuota", "must hold available, checkedAt and remainingQueries")
    if "prompts" in doc:
        rows = doc["prompts"]
        if not isinstance(rows, list) or not rows:
            raise _Bad("prompts", "must be a non-empty list")
        for n, row in enumerate(rows):
            if (not isinstance(row, dict) or not isinstance(row.get("prompt"), str)
                    or not _is_int(row.get("count"))):
                raise _Bad(f"prompts[{n}]", "must hold a prompt (text) and a count")


def _check_item(item: Any, position: int, statuses: frozenset[str], prompt_count: int) -> None:
    where = f"item {position}"
    if not isinstance(item, dict):
        raise _Bad(where, "is not an object")
    if item.get("index") != position or not _is_int(item.get("index")):
        raise _Bad(f"{where} field index", f"must be {position} (its position in items)")
    try:
        _check_status(item, "status", statuses)
        if not _is_int(item.get("attempts")) or item["attempts"] < 0:
            raise _Bad("attempts", "is missing or not a whole number from 0")
        if "workerId" not in item:
            raise _Bad("workerId", "is missing")
        _check_optional(item, "workerId", str, "a string")
        _check_optional(item, "workerPid", int, "a process id")
        for key in _ITEM_TIMES:
            _check_time(item, key)
        for key in _ITEM_TEXT:
            _check_optional(item, key, str, "a string")
        _check_optional(item, "downloadOnly", bool, "true or false")
        history = item.get("history")
        if history is not None and not (
            isinstance(history, list) and all(isinstance(entry, dict) for entry in history)
        ):
            raise _Bad("history", "must be a list of attempts")
        prompt_index = item.get("promptIndex")
        if prompt_index is not None and not (
            _is_int(prompt_index) and 0 <= prompt_index < prompt_count
        ):
            raise _Bad("promptIndex", f"must be a row number from 0 to {prompt_count - 1}")
        generation = item.get("generation")
        if generation is not None:
            if not (isinstance(generation, dict) and isinstance(generation.get("startedAt"), str)
                    and isinstance(generation.get("videoPostIds"), list)
                    and all(isinstance(p, str) and p for p in generation["videoPostIds"])):
                raise _Bad("generation",
                           "must hold videoPostIds (a list of post ids) and startedAt")
            _check_time({"generation.startedAt": generation["startedAt"]}, "generation.startedAt")
        video = item.get("video")
        if video is not None and not (
            isinstance(video, dict) and isinstance(video.get("path"), str)
            and _is_int(video.get("bytes")) and isinstance(video.get("sha256"), str)
        ):
            raise _Bad("video", "must hold path, bytes and sha256")
    except _Bad as exc:
        raise _Bad(where, f"field {exc}") from None


def _check_status(doc: dict[str, Any], key: str, allowed: frozenset[str]) -> None:
    value = doc.get(key)
    if key not in doc:
        raise _Bad(key, "is missing")
    if value not in allowed:
        raise _Bad(key, f"is {_shown(value)}, not one of {', '.join(sorted(allowed))}")


def _check_optional(doc: dict[str, Any], key: str, kind: type, what: str) -> None:
    value = doc.get(key)
    if value is not None and (not isinstance(value, kind)
                              or (isinstance(value, bool) and kind is not bool)):
        raise _Bad(key, f"must be {what} or null")


def _check_time(doc: dict[str, Any], key: str) -> None:
    """A time must be ISO 8601 with a UTC offset, as grokbatch writes it (or null)."""
    value = doc.get(key)
    if value is None:
        return
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if not isinstance(value, str) or parsed is None or parsed.tzinfo is None:
        raise _Bad(key, f"is {_shown(value)}, not a time like 2025-01-31T12:00:00+00:00")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…"
