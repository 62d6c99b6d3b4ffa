"""The manifest: one job's work queue and run record, shared by every worker process.

One JSON file per job, rewritten whole on every change: written to a temp file in the
same directory, flushed and fsynced, then `os.replace`d over the old one, always under an
exclusive portalocker lock on a separate lock file. Readers never see a half-written
file, and a process killed at any instant leaves a valid manifest behind.

Every public method is one transaction: take the lock, read the file, change it, write
it, release the lock. Counters are recomputed from the items on every write, so they can
never disagree with them.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any

import orjson

from grokbatch.clock import now_iso, parse_iso
from grokbatch.errors import ManifestError, NotItemHolderError
from grokbatch.files import write_atomically
from grokbatch.locks import exclusive_lock
from grokbatch.manifest_schema import SCHEMA_VERSION, check_document
from grokbatch.outcomes import RETRYABLE
from grokbatch.processes import pid_alive

# A claimed item belongs to its worker until this long after its last renewal; the worker
# renews it while it works, so only a dead or wedged worker lets it lapse.
DEFAULT_LEASE = timedelta(seconds=120)

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


# Python keyword -> manifest key, for update_item(**changes).
_ITEM_FIELDS = {
    "status": "status",
    "attempts": "attempts",
    "error": "error",
    "error_kind": "errorKind",
    "started_at": "startedAt",
    "completed_at": "completedAt",
    "video": "video",
    "hd_video": "hdVideo",
    "video_url": "videoUrl",
    "video_id": "videoId",
    "choice": "choice",
    "deleted": "deleted",
    "generation_s": "generationSeconds",
    "download_only": "downloadOnly",
}


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


def _note_attempt(item: dict[str, Any]) -> None:
    """Keep a failed attempt's kind and reason in the item's `history` (the last ten)."""
    entry = {"attempt": item["attempts"], "errorKind": item.get("errorKind"),
             "error": item.get("error"), "at": now_iso()}
    item["history"] = [*item.get("history", []), entry][-10:]


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


def _recount(doc: dict[str, Any]) -> None:
    """Recompute the counters from the items, so they always agree."""
    counts = status_counts(doc)
    doc["batchSize"] = len(doc["items"])
    doc["completedCount"] = counts[ItemStatus.COMPLETED.value]
    doc["failedCount"] = counts[ItemStatus.FAILED.value]
    doc["rateLimitedCount"] = counts[ItemStatus.RATE_LIMITED.value]
    doc["pendingCount"] = counts[ItemStatus.PENDING.value]
    doc["inProgressCount"] = counts[ItemStatus.IN_PROGRESS.value]


_VALID_STATUSES = frozenset(s.value for s in ItemStatus)
_VALID_RUN_STATUSES = frozenset(s.value for s in RunStatus)


def _validate(doc: Any, path: Path) -> dict[str, Any]:
    """Check the document has the shape we rely on (ManifestError if not); recount it.

    The counters are recomputed from the items rather than trusted, so an item edited by
    hand, or a counter missing, can never make a run think there is nothing left to do.
    """
    checked = check_document(doc, path, run_statuses=_VALID_RUN_STATUSES,
                             item_statuses=_VALID_STATUSES)
    _recount(checked)
    return checked


def read_manifest_file(path: Path) -> dict[str, Any]:
    """Read, check and recount a manifest file without locking (replace() makes reads
    atomic); the file itself is never changed by reading it."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(f"no manifest at {path}") from None
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc.strerror}") from None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ManifestError(
            f"manifest {path} is corrupt (invalid JSON at line {exc.lineno}); "
            "it was left untouched: restore it or remove the job's directory"
        ) from None
    return _validate(doc, path)


def _write_atomically(path: Path, doc: dict[str, Any]) -> None:
    """Write `doc` to `path` via temp file + fsync + os.replace."""
    write_atomically(path, orjson.dumps(doc))


class _Txn:
    """One transaction's document; set `dirty` when it was changed and must be written."""

    __slots__ = ("dirty", "doc")

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.dirty = False


class Manifest:
    """A job's manifest on disk; every method is one atomic transaction under the lock."""

    def __init__(self, path: Path, lease: timedelta = DEFAULT_LEASE) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.lease = lease

    # ----------------------------------------------------------------- creation
    @classmethod
    def create(
        cls,
        path: Path,
        *,
        job_name: str,
        account_alias: str,
        permalink: str,
        count: int,
        prompt: str | None = None,
        prompts: list[dict[str, Any]] | None = None,
        settings: dict[str, Any] | None = None,
        lease: timedelta = DEFAULT_LEASE,
    ) -> Manifest:
        """Write a new manifest with `count` PENDING items (or one per prompts-file row).

        With `prompts` (rows of `{"prompt": str, "count": int}`) each row makes `count`
        items that record their `promptIndex`; `count` is then ignored.
        """
        manifest = cls(path, lease)
        path.parent.mkdir(parents=True, exist_ok=True)
        items: list[dict[str, Any]] = []
        if prompts is not None:
            for prompt_index, row in enumerate(prompts):
                for _ in range(int(row["count"])):
                    items.append(new_item(len(items), prompt_index))
        else:
            items = [new_item(i) for i in range(count)]
        stamp = now_iso()
        doc: dict[str, Any] = {
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
        with manifest._locked():
            if path.exists():
                raise ManifestError(f"a manifest already exists at {path}")
            _recount(doc)
            _write_atomically(path, doc)
        return manifest

    @classmethod
    def open(cls, path: Path, lease: timedelta = DEFAULT_LEASE) -> Manifest:
        """Open an existing manifest, checking that it can be read."""
        manifest = cls(path, lease)
        read_manifest_file(manifest.path)
        return manifest

    # ----------------------------------------------------------------- plumbing
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the manifest's lock for one transaction."""
        with exclusive_lock(self.lock_path):
            yield

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[_Txn]:
        """Lock, read, let the caller change the document, then write it back if it did."""
        with self._locked():
            txn = _Txn(read_manifest_file(self.path))
            yield txn
            if txn.dirty:
                _recount(txn.doc)
                txn.doc["updatedAt"] = now_iso()
                _write_atomically(self.path, txn.doc)

    def _lease_until(self) -> str:
        return (datetime.now(timezone.utc) + self.lease).isoformat(timespec="milliseconds")

    # ----------------------------------------------------------------- reads
    def snapshot(self) -> dict[str, Any]:
        """A consistent copy of the whole manifest."""
        return read_manifest_file(self.path)

    # ----------------------------------------------------------------- work queue
    def claim_next_item(self, worker_id: str, pid: int | None = None) -> dict[str, Any] | None:
        """Give the lowest PENDING item to `worker_id`, or None when none is left (or
        none the quota allows: each item that generates spends one of `generationBudget`)."""
        with self._transaction() as txn:
            doc = txn.doc
            # How many more generations the site's quota allows this run (None: no limit).
            budget = doc.get("generationBudget")
            allowed = [
                item for item in doc["items"]
                if item["status"] == ItemStatus.PENDING.value and not (
                    not item.get("downloadOnly") and isinstance(budget, int) and budget <= 0)
            ]
            # Fewest failed attempts first: an item retried after a failure waits at the back.
            for item in sorted(allowed, key=lambda i: (len(i.get("history", ())), i["index"]))[:1]:
                if not item.get("downloadOnly") and isinstance(budget, int):
                    doc["generationBudget"] = budget - 1
                item.update(
                    status=ItemStatus.IN_PROGRESS.value,
                    attempts=item["attempts"] + 1,
                    workerId=worker_id,
                    workerPid=pid if pid is not None else os.getpid(),
                    startedAt=now_iso(),
                    completedAt=None,
                    leaseExpiresAt=self._lease_until(),
                )
                if doc["status"] == RunStatus.PENDING.value:
                    doc["status"] = RunStatus.IN_PROGRESS.value
                txn.dirty = True
                return dict(item)
        return None

    def update_item(self, index: int, worker_id: str, **changes: Any) -> dict[str, Any]:
        """Change an item that `worker_id` holds; refuse one it does not hold.

        Setting a status other than IN_PROGRESS ends the claim: the lease is cleared and,
        for COMPLETED/FAILED, `completedAt` is stamped.
        """
        unknown = set(changes) - set(_ITEM_FIELDS)
        if unknown:
            raise ValueError(f"unknown item fields: {sorted(unknown)}")
        with self._transaction() as txn:
            doc = txn.doc
            item = self._item(doc, index)
            if item["workerId"] != worker_id or item["status"] != ItemStatus.IN_PROGRESS.value:
                raise NotItemHolderError(
                    f"item {index} is not held by {worker_id} "
                    f"(status {item['status']}, holder {item['workerId']})"
                )
            txn.dirty = True
            for key, value in changes.items():
                item[_ITEM_FIELDS[key]] = value.value if isinstance(value, Enum) else value
            if item["status"] != ItemStatus.IN_PROGRESS.value:
                item["leaseExpiresAt"] = None
                if item["status"] in (ItemStatus.COMPLETED.value, ItemStatus.FAILED.value):
                    item["completedAt"] = item.get("completedAt") or now_iso()
                if item["status"] == ItemStatus.FAILED.value:
                    _note_attempt(item)
                    if item.get("error"):
                        doc["lastError"] = item["error"]
            return dict(item)

    def retry_later(self, index: int, worker_id: str, error_kind: str, error: str | None) -> None:
        """A held item's attempt failed in a way worth another try: record the failure in
        its `history` and put it back at the end of the queue."""
        with self._transaction() as txn:
            doc = txn.doc
            item = self._item(doc, index)
            if item["workerId"] != worker_id or item["status"] != ItemStatus.IN_PROGRESS.value:
                raise NotItemHolderError(f"item {index} is not held by {worker_id}")
            item.update(errorKind=error_kind, error=error)
            _note_attempt(item)
            self._requeue(item, None)
            doc["lastError"] = error
            txn.dirty = True

    def release_item(self, index: int, worker_id: str, reason: str | None = None) -> None:
        """Give back an item a worker holds without a result (stop, rate limit)."""
        with self._transaction() as txn:
            doc = txn.doc
            item = self._item(doc, index)
            if item["workerId"] == worker_id and item["status"] == ItemStatus.IN_PROGRESS.value:
                self._requeue(item, reason)
                txn.dirty = True

    def renew_lease(self, worker_id: str) -> int:
        """Extend the lease of every item `worker_id` holds; return how many."""
        renewed = 0
        with self._transaction() as txn:
            doc = txn.doc
            for item in doc["items"]:
                if item["workerId"] == worker_id and item["status"] == ItemStatus.IN_PROGRESS.value:
                    item["leaseExpiresAt"] = self._lease_until()
                    renewed += 1
                    txn.dirty = True
        return renewed

    def requeue_abandoned(self, dead_workers: frozenset[str] = frozenset()) -> list[int]:
        """Put IN_PROGRESS items back to PENDING whose holder is gone or whose lease expired.

        A holder is gone when it is named in `dead_workers` or its recorded PID no longer
        exists. Returns the indices requeued.
        """
        now = datetime.now(timezone.utc)
        requeued: list[int] = []
        with self._transaction() as txn:
            doc = txn.doc
            for item in doc["items"]:
                if item["status"] != ItemStatus.IN_PROGRESS.value:
                    continue
                lease = parse_iso(item.get("leaseExpiresAt"))
                gone = item["workerId"] in dead_workers or not pid_alive(item.get("workerPid"))
                if gone or lease is None or lease <= now:
                    self._requeue(item, "abandoned by its worker")
                    requeued.append(item["index"])
                    txn.dirty = True
        return requeued

    def reset_for_rerun(self, max_attempts: int) -> list[int]:
        """Prepare a rerun: RATE_LIMITED and retryable FAILED items go back to PENDING.

        CONTENT_MODERATED items and items that used up `max_attempts` stay FAILED.
        Returns the indices reset.
        """
        retryable = {outcome.value for outcome in RETRYABLE}
        reset: list[int] = []
        with self._transaction() as txn:
            doc = txn.doc
            for item in doc["items"]:
                status = item["status"]
                again = status == ItemStatus.RATE_LIMITED.value or (
                    status == ItemStatus.FAILED.value
                    and item.get("errorKind") in retryable
                    and item["attempts"] < max_attempts
                )
                if again:
                    self._requeue(item, None)
                    reset.append(item["index"])
                    txn.dirty = True
        return reset

    def requeue_missing_downloads(self, run_dir: Path) -> list[int]:
        """COMPLETED items whose video file is missing go back to PENDING to be fetched again
        (marked `downloadOnly`, so a worker downloads them without generating anew)."""
        requeued: list[int] = []
        with self._transaction() as txn:
            doc = txn.doc
            for item in doc["items"]:
                if item["status"] != ItemStatus.COMPLETED.value or not item.get("videoUrl"):
                    continue
                video = item.get("video")
                path = run_dir / video["path"] if video else None
                if path is not None and path.is_file() and path.stat().st_size == video["bytes"]:
                    continue
                self._requeue(item, None)  # it holds a videoUrl: download only
                requeued.append(item["index"])
                txn.dirty = True
        return requeued

    def extend(self, count: int) -> int:
        """Grow a single-prompt job to `count` items; return how many were added."""
        with self._transaction() as txn:
            doc = txn.doc
            if "prompts" in doc:
                raise ManifestError("a job made from a prompts file cannot be extended by --count")
            added = max(0, count - len(doc["items"]))
            for _ in range(added):
                doc["items"].append(new_item(len(doc["items"])))
                txn.dirty = True
            if added and doc["status"] == RunStatus.COMPLETED.value:
                doc["status"] = RunStatus.PENDING.value
        return added

    # ----------------------------------------------------------------- run status
    def set_status(self, status: RunStatus, reason: str | None = None) -> None:
        """Set the run's status (and why it stopped)."""
        with self._transaction() as txn:
            doc = txn.doc
            txn.dirty = True
            doc["status"] = status.value
            doc["stopReason"] = reason
            if status is RunStatus.STOPPED_RATE_LIMIT:
                doc["rateLimitedAt"] = now_iso()

    def update_fields(self, **fields: Any) -> None:
        """Set top-level fields (camelCase keys) other than items and counters."""
        with self._transaction() as txn:
            doc = txn.doc
            for key, value in fields.items():
                if key == "items":
                    raise ValueError("items are changed through the item methods")
                doc[key] = value
                txn.dirty = True

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _item(doc: dict[str, Any], index: int) -> dict[str, Any]:
        try:
            item: dict[str, Any] = doc["items"][index]
        except IndexError:
            raise ManifestError(f"no item {index} in this manifest") from None
        return item

    @staticmethod
    def _requeue(item: dict[str, Any], reason: str | None) -> None:
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

