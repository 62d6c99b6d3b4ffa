"""`Manifest`: a job's manifest file, shared by every worker process, and its work queue.

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
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import orjson

from grokbatch.clock import Clock, iso, now_iso, parse_iso, utc_now
from grokbatch.errors import DiskError, ManifestError, NotItemHolderError
from grokbatch.files import give_room_back, write_atomically
from grokbatch.locks import exclusive_lock
from grokbatch.manifest import resume
from grokbatch.manifest.document import (
    ITEM_STATUSES,
    RUN_STATUSES,
    Item,
    ItemChanges,
    ItemStatus,
    ManifestDocument,
    PromptRow,
    RunStatus,
    item_at,
    new_document,
    note_attempt,
    recount,
    requeue,
    started_on_site,
    stored_changes,
)
from grokbatch.manifest.schema import check_document
from grokbatch.paths import RunFiles
from grokbatch.processes import pid_alive

if TYPE_CHECKING:  # Unpack for **kwargs is in typing only from Python 3.12
    from typing_extensions import Unpack

# A claimed item belongs to its worker until this long after its last renewal; the worker
# renews it while it works, so only a dead or wedged worker lets it lapse.
DEFAULT_LEASE = timedelta(seconds=120)

_T = TypeVar("_T")


def _validate(doc: Any, path: Path) -> ManifestDocument:
    """Check the document has the shape we rely on (ManifestError if not); recount it.

    The counters are recomputed from the items rather than trusted, so an item edited by
    hand, or a counter missing, can never make a run think there is nothing left to do.
    """
    checked = check_document(doc, path, run_statuses=RUN_STATUSES,
                             item_statuses=ITEM_STATUSES)
    recount(checked)
    return checked


def read_manifest_file(path: Path) -> ManifestDocument:
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


# What a write in the room set aside frees of it, at least: twice the manifest if more,
# for its new copy beside the old.
ROOM_PER_WRITE = 256 * 1024


def _write_atomically(path: Path, doc: ManifestDocument, *, room: bool = False) -> None:
    """Write `doc` to `path` via temp file + fsync + os.replace.

    With `room` (the write records what the site made or is making), a disk found full
    frees some of the room the run set aside for the manifest (`RunFiles.manifest_room`),
    enough for this write, and takes it; the DiskError is raised all the same, so that
    the run stops with it recorded. Each worker's video in the making may need one.
    """
    data = orjson.dumps(doc)
    try:
        write_atomically(path, data)
    except DiskError as exc:
        if not (room and exc.disk_full and give_room_back(
                RunFiles(path.parent).manifest_room, max(ROOM_PER_WRITE, 2 * len(data)))):
            raise
        write_atomically(path, data)
        raise DiskError(f"{exc} (written in the room set aside for it)") from None


def _held_item(doc: ManifestDocument, index: int, worker_id: str) -> Item:
    """The item at `index` if `worker_id` holds it, else NotItemHolderError."""
    item = item_at(doc, index)
    if item["workerId"] != worker_id or item["status"] != ItemStatus.IN_PROGRESS.value:
        raise NotItemHolderError(f"item {index} is not held by {worker_id} "
                                 f"(status {item['status']}, holder {item['workerId']})")
    return item


def _claimable(doc: ManifestDocument) -> list[Item]:
    """The items a claim may give: PENDING ones, less those that would generate once the
    site's quota allows this run no more generations (`generationBudget`; None: no limit).
    A video the site made or started is fetched or looked for whatever the quota says."""
    budget = doc.get("generationBudget")
    spent = isinstance(budget, int) and budget <= 0
    return [item for item in doc["items"]
            if item["status"] == ItemStatus.PENDING.value and not item.get("waitsForRerun")
            and not (spent and not started_on_site(item))]


class _Txn:
    """One transaction's document; set `dirty` when it was changed and must be written."""

    __slots__ = ("dirty", "doc")

    def __init__(self, doc: ManifestDocument) -> None:
        self.doc = doc
        self.dirty = False


class Manifest:
    """A job's manifest on disk; every method is one atomic transaction under the lock."""

    def __init__(self, path: Path, lease: timedelta = DEFAULT_LEASE,
                 clock: Clock = utc_now) -> None:
        """`clock` is what leases are given and judged by (a test moves it instead of
        waiting for a lease to lapse)."""
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.lease = lease
        self.clock = clock

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
        prompts: list[PromptRow] | None = None,
        settings: dict[str, Any] | None = None,
        lease: timedelta = DEFAULT_LEASE,
    ) -> Manifest:
        """Write a new manifest with `count` PENDING items (or one per prompts-file row).

        With `prompts` (rows of `{"prompt": str, "count": int}`) each row makes `count`
        items that record their `promptIndex`; `count` is then ignored.
        """
        manifest = cls(path, lease)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = new_document(job_name=job_name, account_alias=account_alias,
                           permalink=permalink, count=count, prompt=prompt, prompts=prompts,
                           settings=settings)
        with manifest._locked():
            if path.exists():
                raise ManifestError(f"a manifest already exists at {path}")
            recount(doc)
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
    def _transaction(self, *, room: bool = False) -> Iterator[_Txn]:
        """Lock, read, let the caller change the document, then write it back if it did
        (in the room set aside for the manifest if the disk is full and `room` is asked)."""
        with self._locked():
            txn = _Txn(read_manifest_file(self.path))
            yield txn
            if txn.dirty:
                recount(txn.doc)
                txn.doc["updatedAt"] = now_iso()
                _write_atomically(self.path, txn.doc, room=room)

    def _apply(self, change: Callable[[ManifestDocument], _T]) -> _T:
        """Run `change` on the document in one transaction; write it if `change` returned
        something (what it changed), not if it returned nothing."""
        with self._transaction() as txn:
            result = change(txn.doc)
            txn.dirty = bool(result)
        return result

    def _lease_until(self) -> str:
        return iso(self.clock() + self.lease)

    # ----------------------------------------------------------------- reads
    def snapshot(self) -> ManifestDocument:
        """A consistent copy of the whole manifest, as the JSON it is (each read parses the
        file afresh: the caller owns what it gets)."""
        return read_manifest_file(self.path)

    def has_claimable_item(self) -> bool:
        """Whether a claim would give an item now (a read: nothing is claimed)."""
        return bool(_claimable(self.snapshot()))

    # ----------------------------------------------------------------- work queue
    def claim_next_item(self, worker_id: str, pid: int | None = None,
                        stopping: Callable[[], bool] | None = None) -> Item | None:
        """Give the lowest PENDING item to `worker_id`, or None when none is left (or
        none the quota allows: each item that generates spends one of `generationBudget`).

        `stopping` is asked with the manifest locked: when it says the run is stopping,
        nothing is claimed. A worker that meets a rate limit stops the run before it gives
        its item back, so no other worker can claim that item and meet the limit again.
        """
        with self._transaction() as txn:
            if stopping is not None and stopping():
                return None
            doc = txn.doc
            budget = doc.get("generationBudget")
            # Fewest failed attempts first: an item retried after a failure waits at the back.
            for item in sorted(_claimable(doc),
                               key=lambda i: (len(i.get("history", ())), i["index"]))[:1]:
                # A video the site made or started is fetched or looked for: that asks the
                # site for no generation, so it costs neither the budget nor an attempt.
                generates = not started_on_site(item)
                if generates and isinstance(budget, int):
                    doc["generationBudget"] = budget - 1
                item.update({
                    "status": ItemStatus.IN_PROGRESS.value,
                    "attempts": item["attempts"] + generates,
                    "workerId": worker_id,
                    "workerPid": pid if pid is not None else os.getpid(),
                    "startedAt": now_iso(),
                    "completedAt": None,
                    "leaseExpiresAt": self._lease_until(),
                })
                txn.dirty = True
                return item  # the transaction's document is the caller's once written
        return None

    def update_item(self, index: int, worker_id: str,
                    **changes: Unpack[ItemChanges]) -> Item:
        """Change an item that `worker_id` holds; refuse one it does not hold.

        Setting a status other than IN_PROGRESS ends the claim: the lease is cleared and,
        for COMPLETED/FAILED, `completedAt` is stamped. A change ItemChanges does not
        name is a TypeError, as an unknown keyword argument is.
        """
        stored = stored_changes(changes)
        # Where the site makes the video, or the video it made: what a rerun cannot know
        # otherwise, and would make again. Such a write may take the room set aside.
        made = bool(changes.get("generation") or changes.get("video_url"))
        with self._transaction(room=made) as txn:
            doc = txn.doc
            item = _held_item(doc, index, worker_id)
            txn.dirty = True
            item.update(cast("Item", stored))
            if item["status"] != ItemStatus.IN_PROGRESS.value:
                item["leaseExpiresAt"] = None
                if item["status"] in (ItemStatus.COMPLETED.value, ItemStatus.FAILED.value):
                    item["completedAt"] = item.get("completedAt") or now_iso()
                if item["status"] == ItemStatus.FAILED.value:
                    note_attempt(item)
                    if item.get("error"):
                        doc["lastError"] = item["error"]
            return item

    def retry_later(self, index: int, worker_id: str, error_kind: str, error: str | None,
                    *, attempted: bool = True) -> None:
        """A held item's attempt failed in a way worth another try: record the failure in
        its `history` and put it back at the end of the queue. Not `attempted`: it failed
        before any generation could start, so it spends none of the item's attempts."""
        with self._transaction() as txn:
            doc = txn.doc
            item = _held_item(doc, index, worker_id)
            item.update({"errorKind": error_kind, "error": error})
            note_attempt(item)
            if attempted:
                requeue(item, None)
            else:
                _unclaim(doc, item, None)
            doc["lastError"] = error
            txn.dirty = True

    def make_anew(self, index: int, worker_id: str) -> bool:
        """The held item's video is to be made now, though its claim asked for none (the
        site no longer shows the video it made or started): forget that video, and count
        the new generation, in the item's attempts and in the run's budget. When the
        quota allows no more, give the item back instead, as its claim left it (it took
        neither), and say so: False."""
        with self._transaction() as txn:
            doc = txn.doc
            item = _held_item(doc, index, worker_id)
            txn.dirty = True
            budget = doc.get("generationBudget")
            if isinstance(budget, int) and budget <= 0:
                # What it holds stays: the video the site may still be making is looked
                # for again by the rerun, not made again (nor looked for again now).
                requeue(item, None)
                item["waitsForRerun"] = True
                return False
            item.update({"generation": None, "videoUrl": None, "downloadOnly": None,
                         "video": None})
            item.pop("hdVideo", None)  # absent: the new video's run did not ask for it
            item.pop("deleted", None)
            if isinstance(budget, int):
                doc["generationBudget"] = budget - 1
            item["attempts"] += 1
            return True

    def release_item(self, index: int, worker_id: str, reason: str | None = None) -> None:
        """Give back an item a worker holds without a result (stop, rate limit, its run
        gone): it spends none of the item's attempts (`_unclaim`)."""
        with self._transaction() as txn:
            doc = txn.doc
            item = item_at(doc, index)
            if item["workerId"] == worker_id and item["status"] == ItemStatus.IN_PROGRESS.value:
                _unclaim(doc, item, reason)
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

    def lapsed_holders(self) -> set[str]:
        """The workers holding an IN_PROGRESS item whose lease has lapsed: they stopped
        renewing it, whether or not their process is still there."""
        now = self.clock()
        held = [item for item in self.snapshot()["items"]
                if item["status"] == ItemStatus.IN_PROGRESS.value and item["workerId"]]
        return {str(item["workerId"]) for item in held
                if (lease := parse_iso(item.get("leaseExpiresAt"))) is not None and lease <= now}

    def requeue_abandoned(self, dead_workers: frozenset[str] = frozenset()) -> list[int]:
        """Put IN_PROGRESS items back to PENDING whose holder is gone or whose lease expired.

        A holder is gone when it is named in `dead_workers` or its recorded PID no longer
        exists. Its claim's attempt is taken back: a worker that died (killed, crashed, its
        run killed) is grokbatch's failure, not the video's. Returns the indices requeued.
        """
        now = self.clock()
        requeued: list[int] = []
        with self._transaction() as txn:
            doc = txn.doc
            for item in doc["items"]:
                if item["status"] != ItemStatus.IN_PROGRESS.value:
                    continue
                lease = parse_iso(item.get("leaseExpiresAt"))
                gone = item["workerId"] in dead_workers or not pid_alive(item.get("workerPid"))
                if gone or lease is None or lease <= now:
                    _give_back(item, "abandoned by its worker")
                    requeued.append(item["index"])
                    txn.dirty = True
        return requeued

    def reset_for_rerun(self, max_attempts: int) -> list[int]:
        """Prepare a rerun (`resume.reset_for_rerun`); return the indices reset."""
        return self._apply(lambda doc: resume.reset_for_rerun(doc, max_attempts))

    def requeue_unsaved(self, run_dir: Path, saving: resume.Saving) -> list[int]:
        """Requeue, to be saved and never made again, COMPLETED items whose video is not
        saved in full (`resume.requeue_unsaved`); return their indices."""
        return self._apply(lambda doc: resume.requeue_unsaved(doc, run_dir, saving))

    def extend(self, count: int) -> int:
        """Grow a single-prompt job to `count` items (`resume.extend`); return how many
        were added."""
        return self._apply(lambda doc: resume.extend(doc, count))

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
                cast("dict[str, Any]", doc)[key] = value  # top-level fields are open JSON
                txn.dirty = True


def _give_back(item: Item, reason: str | None) -> None:
    """Back to the queue without a result: the claim counted an attempt that was not made
    (`claim_next_item`), so it is taken back; unless the site made or started a video for
    it (then a generation was asked for, or the claim counted none)."""
    if not started_on_site(item):
        item["attempts"] = max(0, item["attempts"] - 1)
    requeue(item, reason)


def _unclaim(doc: ManifestDocument, item: Item, reason: str | None) -> None:
    """Back to the queue as if never claimed: its attempt taken back (`_give_back`), and
    the generation the claim took from the run's budget, unless the site made or started
    a video for it (then the quota was spent, or the claim took nothing)."""
    budget = doc.get("generationBudget")
    if isinstance(budget, int) and not started_on_site(item):
        doc["generationBudget"] = budget + 1
    _give_back(item, reason)
