"""grokbatch.manifest: the locked JSON work queue, under contention and under SIGKILL."""

from __future__ import annotations

import errno
import fcntl
import json
import multiprocessing
import os
import random
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from grokbatch.errors import DiskError, ManifestError, NotItemHolderError
from grokbatch.files import set_room_aside
from grokbatch.manifest import (
    ItemStatus,
    Manifest,
    RunStatus,
    read_manifest_file,
    status_counts,
    store,
)
from grokbatch.paths import RunFiles

PERMALINK = "https://grok.com/imagine/post/abc123"
SPAWN = multiprocessing.get_context("spawn")
# Spawned children import grokbatch from scratch; on a loaded CI box that can take seconds.
_CHILD_START_TIMEOUT_S = 60.0
_CONTENTION_WORKERS = 20
_CONTENTION_ITEMS = 200
_CRASH_ROUNDS = 30
# The reader must not hog a CPU that the lock holder needs (CI boxes may have two).
_READER_PAUSE_S = 0.001


def make_manifest(path: Path, count: int = 3, **kwargs: Any) -> Manifest:
    return Manifest.create(
        path, job_name="job", account_alias="acct", permalink=PERMALINK, count=count,
        prompt=kwargs.pop("prompt", "a secret prompt"), **kwargs,
    )


def assert_counters_match_items(doc: dict[str, Any]) -> None:
    statuses = [item["status"] for item in doc["items"]]
    assert doc["batchSize"] == len(statuses)
    assert doc["completedCount"] == statuses.count("COMPLETED")
    assert doc["failedCount"] == statuses.count("FAILED")
    assert doc["rateLimitedCount"] == statuses.count("RATE_LIMITED")
    assert doc["pendingCount"] == statuses.count("PENDING")
    assert doc["inProgressCount"] == statuses.count("IN_PROGRESS")


def dead_pid() -> int:
    """The PID of a process that has already exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    return tmp_path / "runs" / "job" / "manifest.json"


# --------------------------------------------------------------------------- create / open
def test_create_writes_pending_items_and_camelcase_top_level(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path, count=4)
    doc = json.loads(manifest_path.read_text())
    for key in ("id", "jobName", "accountAlias", "permalink", "prompt", "batchSize", "status",
                "createdAt", "updatedAt", "completedCount", "failedCount",
                "rateLimitedCount", "items", "lastError", "stopReason", "rateLimitedAt"):
        assert key in doc, key
    assert doc["status"] == "PENDING"
    assert doc["batchSize"] == 4
    assert [item["index"] for item in doc["items"]] == [0, 1, 2, 3]
    for item in doc["items"]:
        assert item["status"] == "PENDING"
        assert item["attempts"] == 0
        for key in ("workerId", "createdAt", "startedAt", "completedAt", "error",
                    "errorKind", "leaseExpiresAt"):
            assert key in item, key
    assert manifest.snapshot() == doc


def test_create_with_prompt_rows_makes_count_items_per_row(manifest_path: Path) -> None:
    Manifest.create(
        manifest_path, job_name="job", account_alias="acct", permalink=PERMALINK, count=99,
        prompts=[{"prompt": "one", "count": 2}, {"prompt": "two", "count": 1}],
    )
    doc = read_manifest_file(manifest_path)
    assert [item["promptIndex"] for item in doc["items"]] == [0, 0, 1]
    assert doc["prompts"][1]["prompt"] == "two"
    assert "prompt" not in doc


def test_create_refuses_to_overwrite_an_existing_manifest(manifest_path: Path) -> None:
    make_manifest(manifest_path)
    before = manifest_path.read_bytes()
    with pytest.raises(ManifestError, match="already exists"):
        make_manifest(manifest_path, count=9)
    assert manifest_path.read_bytes() == before


def test_open_missing_manifest_raises_manifest_error(manifest_path: Path) -> None:
    with pytest.raises(ManifestError, match="no manifest"):
        Manifest.open(manifest_path)


def test_snapshot_is_a_copy_not_a_live_view(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path)
    snap = manifest.snapshot()
    snap["items"][0]["status"] = "COMPLETED"
    assert manifest.snapshot()["items"][0]["status"] == "PENDING"


def test_manifest_file_is_mode_0600_after_create_and_after_updates(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path)
    assert stat.S_IMODE(manifest_path.stat().st_mode) == 0o600
    item = manifest.claim_next_item("w1")
    assert item is not None
    manifest.update_item(item["index"], "w1", status=ItemStatus.COMPLETED)
    assert stat.S_IMODE(manifest_path.stat().st_mode) == 0o600


# --------------------------------------------------------------------------- claim / update
def test_claim_gives_lowest_pending_item_then_none_when_empty(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path, count=3)
    claimed = [manifest.claim_next_item(f"w{i}") for i in range(3)]
    assert [item["index"] for item in claimed if item] == [0, 1, 2]
    assert manifest.claim_next_item("w9") is None
    doc = manifest.snapshot()
    assert doc["status"] == "PENDING"  # claiming never writes the run's status: the runner does
    first = doc["items"][0]
    assert first["status"] == "IN_PROGRESS"
    assert first["workerId"] == "w0"
    assert first["workerPid"] == os.getpid()
    assert first["attempts"] == 1
    assert first["startedAt"] and first["leaseExpiresAt"]


def test_claim_skips_completed_items_and_reuses_released_ones_without_an_attempt_spent(
        manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path, count=3)
    a = manifest.claim_next_item("w1")
    b = manifest.claim_next_item("w2")
    assert a and b
    manifest.update_item(a["index"], "w1", status="COMPLETED")
    manifest.release_item(b["index"], "w2", reason="stopping")
    again = manifest.claim_next_item("w3")
    assert again is not None and again["index"] == 1
    assert again["attempts"] == 1  # the released claim made no attempt: only this one


def test_claim_gives_nothing_once_the_run_is_stopping_asked_with_the_manifest_locked(
    manifest_path: Path,
) -> None:
    manifest = make_manifest(manifest_path, count=2)
    before = manifest_path.read_bytes()
    asked_locked: list[bool] = []

    def stopping() -> bool:
        # The lock is held: anyone else's claim waits meanwhile.
        with open(manifest.lock_path) as fh, pytest.raises(BlockingIOError):
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        asked_locked.append(True)
        return True

    assert manifest.claim_next_item("w1", stopping=stopping) is None
    assert asked_locked == [True]
    assert manifest_path.read_bytes() == before
    claimed = manifest.claim_next_item("w1", stopping=lambda: False)
    assert claimed is not None and claimed["index"] == 0


def test_update_item_refuses_a_worker_that_does_not_hold_the_item(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path)
    item = manifest.claim_next_item("w1")
    assert item is not None
    before = manifest_path.read_bytes()
    with pytest.raises(NotItemHolderError):
        manifest.update_item(item["index"], "w2", status=ItemStatus.COMPLETED)
    with pytest.raises(NotItemHolderError):  # never claimed at all
        manifest.update_item(2, "w1", status=ItemStatus.COMPLETED)
    assert manifest_path.read_bytes() == before


def test_update_item_refuses_after_the_item_was_finished(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path)
    item = manifest.claim_next_item("w1")
    assert item is not None
    manifest.update_item(item["index"], "w1", status=ItemStatus.COMPLETED)
    with pytest.raises(NotItemHolderError):
        manifest.update_item(item["index"], "w1", status=ItemStatus.FAILED)
    assert manifest.snapshot()["items"][0]["status"] == "COMPLETED"


@pytest.mark.parametrize("field", ["bogus", "errorKind", "error_knd", "video_id"])
def test_update_item_refuses_a_change_it_does_not_know_with_type_error(
    manifest_path: Path, field: str
) -> None:
    manifest = make_manifest(manifest_path)
    item = manifest.claim_next_item("w1")
    assert item is not None
    before = manifest_path.read_bytes()
    with pytest.raises(TypeError, match=field):
        manifest.update_item(item["index"], "w1", **{field: 1})  # type: ignore[misc]
    assert manifest_path.read_bytes() == before


def test_update_item_refuses_a_status_that_is_not_an_item_status(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path)
    item = manifest.claim_next_item("w1")
    assert item is not None
    before = manifest_path.read_bytes()
    with pytest.raises(ValueError, match="DONE"):
        manifest.update_item(item["index"], "w1", status="DONE")  # type: ignore[arg-type]
    assert manifest_path.read_bytes() == before


def test_every_change_update_item_takes_is_stored_under_an_item_key() -> None:
    from grokbatch.manifest.document import STORED_KEYS, Item, ItemChanges

    assert set(STORED_KEYS) == set(ItemChanges.__annotations__)
    assert set(STORED_KEYS.values()) <= set(Item.__annotations__)
    assert STORED_KEYS["error_kind"] == "errorKind"
    assert STORED_KEYS["generation_s"] == "generationSeconds"


def test_update_item_stores_snake_case_changes_under_camel_case_keys(
    manifest_path: Path,
) -> None:
    manifest = make_manifest(manifest_path)
    item = manifest.claim_next_item("w1")
    assert item is not None
    manifest.update_item(item["index"], "w1", video_url="http://x/v.mp4", generation_s=1.5,
                         download_only=None, hd_video={"url": "http://x/hd.mp4"})
    stored = manifest.snapshot()["items"][item["index"]]
    assert (stored["videoUrl"], stored["generationSeconds"]) == ("http://x/v.mp4", 1.5)
    assert stored["downloadOnly"] is None and stored["hdVideo"] == {"url": "http://x/hd.mp4"}


def test_update_to_completed_clears_lease_and_stamps_completed_at(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path)
    item = manifest.claim_next_item("w1")
    assert item is not None
    video = {"path": "videos/0.mp4", "bytes": 10, "sha256": "ab"}
    updated = manifest.update_item(item["index"], "w1", status=ItemStatus.COMPLETED, video=video)
    assert updated["status"] == "COMPLETED"
    assert updated["leaseExpiresAt"] is None
    assert updated["completedAt"]
    assert manifest.snapshot()["items"][0]["video"] == video


def test_failed_item_records_error_kind_and_last_error(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path)
    item = manifest.claim_next_item("w1")
    assert item is not None
    manifest.update_item(item["index"], "w1", status=ItemStatus.FAILED,
                         error="network dropped", error_kind="NETWORK_ERROR")
    doc = manifest.snapshot()
    assert doc["items"][0]["errorKind"] == "NETWORK_ERROR"
    assert doc["lastError"] == "network dropped"
    assert doc["failedCount"] == 1


def test_counters_always_equal_item_statuses(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path, count=6)
    assert_counters_match_items(manifest.snapshot())
    steps = [
        ("COMPLETED", None), ("FAILED", "TIMEOUT"), ("FAILED", "NETWORK_ERROR"),
        ("COMPLETED", None), ("FAILED", "CONTENT_MODERATED"),
    ]
    for status, kind in steps:
        item = manifest.claim_next_item("w1")
        assert item is not None
        assert_counters_match_items(manifest.snapshot())
        manifest.update_item(item["index"], "w1", status=status, error_kind=kind)
        assert_counters_match_items(manifest.snapshot())
    manifest.reset_for_rerun(max_attempts=3)
    assert_counters_match_items(manifest.snapshot())
    manifest.extend(10)
    doc = manifest.snapshot()
    assert_counters_match_items(doc)
    assert doc["completedCount"] == 2 and doc["batchSize"] == 10


# --------------------------------------------------------------------------- leases
class FakeClock:
    """A clock that a test moves by hand, so no lease test waits for time to pass."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def test_requeue_abandoned_requeues_expired_leases(manifest_path: Path) -> None:
    make_manifest(manifest_path, count=2)
    clock = FakeClock()
    manifest = Manifest(manifest_path, lease=timedelta(minutes=2), clock=clock)
    item = manifest.claim_next_item("w1", pid=os.getpid())  # a live PID: only the lease lapses
    assert item is not None
    clock.now += timedelta(minutes=1)
    assert manifest.requeue_abandoned() == []  # still leased
    clock.now += timedelta(minutes=1)
    assert manifest.requeue_abandoned() == [item["index"]]  # lapsed at its expiry
    requeued = manifest.snapshot()["items"][item["index"]]
    assert requeued["status"] == "PENDING"
    assert requeued["workerId"] is None and requeued["leaseExpiresAt"] is None
    with pytest.raises(NotItemHolderError):  # the old holder lost it
        manifest.update_item(item["index"], "w1", status=ItemStatus.COMPLETED)


def test_requeue_abandoned_requeues_lease_edited_into_the_past(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path, count=2)
    assert manifest.claim_next_item("w1") is not None
    doc = json.loads(manifest_path.read_text())
    past = datetime.now(timezone.utc) - timedelta(minutes=5)
    doc["items"][0]["leaseExpiresAt"] = past.isoformat(timespec="milliseconds")
    manifest_path.write_text(json.dumps(doc))
    assert manifest.requeue_abandoned() == [0]


def test_requeue_abandoned_requeues_items_of_dead_worker_pids(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path, count=3)
    manifest.claim_next_item("dead", pid=dead_pid())
    manifest.claim_next_item("alive", pid=os.getpid())
    assert manifest.requeue_abandoned() == [0]
    items = manifest.snapshot()["items"]
    assert items[0]["status"] == "PENDING"
    assert items[0]["attempts"] == 0  # its worker died: grokbatch's failure, not the video's
    assert items[1]["status"] == "IN_PROGRESS" and items[1]["workerId"] == "alive"
    assert items[1]["attempts"] == 1


def test_requeue_abandoned_leaves_live_leased_items_alone(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path, count=2)
    manifest.claim_next_item("w1")
    manifest.claim_next_item("w2")
    before = manifest_path.read_bytes()
    assert manifest.requeue_abandoned() == []
    assert manifest_path.read_bytes() == before  # nothing changed, nothing rewritten


def test_requeue_abandoned_requeues_named_dead_workers(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path, count=2)
    manifest.claim_next_item("w1")
    manifest.claim_next_item("w2")
    assert manifest.requeue_abandoned(frozenset({"w2"})) == [1]


def test_renew_lease_extends_only_the_workers_items(manifest_path: Path) -> None:
    make_manifest(manifest_path, count=3)
    clock = FakeClock()
    manifest = Manifest(manifest_path, lease=timedelta(minutes=2), clock=clock)
    manifest.claim_next_item("w1")
    manifest.claim_next_item("w2")
    old = manifest.snapshot()["items"]
    clock.now += timedelta(minutes=1)
    assert manifest.renew_lease("w1") == 1
    assert manifest.renew_lease("nobody") == 0
    new = manifest.snapshot()["items"]
    assert new[0]["leaseExpiresAt"] > old[0]["leaseExpiresAt"]
    assert new[1]["leaseExpiresAt"] == old[1]["leaseExpiresAt"]
    clock.now += timedelta(minutes=1, seconds=30)
    assert manifest.requeue_abandoned() == [1]  # w1 renewed, w2 lapsed


# --------------------------------------------------------------------------- reruns
def _finish(manifest: Manifest, status: str, kind: str | None = None,
            attempts: int | None = None) -> int:
    item = manifest.claim_next_item("w1")
    assert item is not None
    changes: dict[str, Any] = {"status": status, "error_kind": kind}
    if attempts is not None:
        changes["attempts"] = attempts
    manifest.update_item(item["index"], "w1", **changes)
    return int(item["index"])


def _legacy_rate_limited(manifest: Manifest) -> int:
    """Claim an item and edit it by hand into RATE_LIMITED, as the original tool left one."""
    item = manifest.claim_next_item("w1")
    assert item is not None
    index = int(item["index"])
    _edit(manifest.path, lambda doc: doc["items"][index].update(
        status="RATE_LIMITED", leaseExpiresAt=None))
    return index


def test_reset_for_rerun_requeues_legacy_rate_limited_and_retryable_failures(
    manifest_path: Path,
) -> None:
    manifest = make_manifest(manifest_path, count=6)
    limited = _legacy_rate_limited(manifest)
    network = _finish(manifest, "FAILED", "NETWORK_ERROR")
    timeout = _finish(manifest, "FAILED", "TIMEOUT", attempts=2)
    moderated = _finish(manifest, "FAILED", "CONTENT_MODERATED")
    exhausted = _finish(manifest, "FAILED", "GENERATION_ERROR", attempts=3)
    done = _finish(manifest, "COMPLETED")
    reset = manifest.reset_for_rerun(max_attempts=3)
    assert sorted(reset) == [limited, network, timeout]
    items = manifest.snapshot()["items"]
    for index in (limited, network, timeout):
        assert items[index]["status"] == "PENDING"
        assert items[index]["workerId"] is None
    assert items[moderated]["status"] == "FAILED"  # never retried
    assert items[exhausted]["status"] == "FAILED"  # used up its attempts
    assert items[done]["status"] == "COMPLETED"


def test_a_legacy_rate_limited_item_is_read_and_counted_but_never_written(
    manifest_path: Path,
) -> None:
    manifest = make_manifest(manifest_path, count=2)
    _legacy_rate_limited(manifest)
    doc = Manifest.open(manifest_path).snapshot()
    assert doc["rateLimitedCount"] == 1
    assert_counters_match_items(doc)
    assert status_counts(doc)["RATE_LIMITED"] == 1
    item = manifest.claim_next_item("w2")
    assert item is not None
    before = manifest_path.read_bytes()
    with pytest.raises(ValueError, match="RATE_LIMITED"):
        manifest.update_item(item["index"], "w2", status="RATE_LIMITED")  # type: ignore[arg-type]
    assert manifest_path.read_bytes() == before
    assert "RATE_LIMITED" not in {status.value for status in ItemStatus}


def test_reset_for_rerun_never_retries_moderated_even_with_attempts_left(
    manifest_path: Path,
) -> None:
    manifest = make_manifest(manifest_path, count=1)
    _finish(manifest, "FAILED", "CONTENT_MODERATED")
    assert manifest.reset_for_rerun(max_attempts=20) == []
    assert manifest.snapshot()["items"][0]["status"] == "FAILED"


def test_reset_for_rerun_attempts_cap_is_strict(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path, count=2)
    _finish(manifest, "FAILED", "TIMEOUT", attempts=2)
    _finish(manifest, "FAILED", "TIMEOUT", attempts=3)
    assert manifest.reset_for_rerun(max_attempts=3) == [0]
    assert manifest.reset_for_rerun(max_attempts=4) == [1]


def test_extend_adds_pending_items_and_reopens_a_completed_run(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path, count=2)
    for _ in range(2):
        _finish(manifest, "COMPLETED")
    manifest.set_status(RunStatus.COMPLETED)
    assert manifest.extend(5) == 3
    doc = manifest.snapshot()
    assert [item["index"] for item in doc["items"]] == [0, 1, 2, 3, 4]
    assert [item["status"] for item in doc["items"][2:]] == ["PENDING"] * 3
    assert doc["status"] == "PENDING"
    assert manifest.extend(3) == 0  # never shrinks
    assert len(manifest.snapshot()["items"]) == 5


def test_extend_refuses_a_prompts_file_job(manifest_path: Path) -> None:
    manifest = Manifest.create(
        manifest_path, job_name="job", account_alias="acct", permalink=PERMALINK, count=1,
        prompts=[{"prompt": "p", "count": 1}],
    )
    with pytest.raises(ManifestError, match="prompts file"):
        manifest.extend(5)


def test_set_status_stopped_rate_limit_stamps_rate_limited_at(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path)
    manifest.set_status(RunStatus.IN_PROGRESS)
    assert manifest.snapshot()["rateLimitedAt"] is None
    before = datetime.now(timezone.utc)
    manifest.set_status(RunStatus.STOPPED_RATE_LIMIT, reason="rate limited")
    doc = manifest.snapshot()
    assert doc["status"] == "STOPPED_RATE_LIMIT"
    assert doc["stopReason"] == "rate limited"
    stamped = datetime.fromisoformat(doc["rateLimitedAt"])
    assert before - timedelta(seconds=1) <= stamped <= datetime.now(timezone.utc)


# --------------------------------------------------------------------------- corruption
@pytest.mark.parametrize(
    "content",
    [b'{"id": "x", "items": [{"index": 0, "sta', b"", b"not json at all", b"[]",
     b'{"items": "nope"}', b'{"items": [{"index": 5, "status": "PENDING"}]}',
     b'{"items": [{"index": 0, "status": "WEIRD"}]}'],
)
def test_corrupt_manifest_raises_and_is_left_byte_identical(
    manifest_path: Path, content: bytes
) -> None:
    make_manifest(manifest_path)
    manifest_path.write_bytes(content)
    with pytest.raises(ManifestError):
        Manifest.open(manifest_path)
    manifest = Manifest(manifest_path)
    for operation in (
        lambda: manifest.claim_next_item("w1"),
        manifest.requeue_abandoned,
        lambda: manifest.reset_for_rerun(3),
        lambda: manifest.set_status(RunStatus.FAILED),
        lambda: manifest.extend(10),
    ):
        with pytest.raises(ManifestError):
            operation()
    assert manifest_path.read_bytes() == content


def test_truncated_manifest_error_says_it_was_left_untouched(manifest_path: Path) -> None:
    make_manifest(manifest_path, count=5)
    full = manifest_path.read_bytes()
    manifest_path.write_bytes(full[: len(full) // 2])
    with pytest.raises(ManifestError, match="left untouched"):
        Manifest.open(manifest_path)
    assert manifest_path.read_bytes() == full[: len(full) // 2]


# --------------------------------------------------------------------------- contention
def _contention_worker(path: str, worker_id: str, go: Any, results: Any) -> None:
    """Claim and complete items until none is left; report the indices claimed."""
    manifest = Manifest(Path(path))
    go.wait(_CHILD_START_TIMEOUT_S)
    claimed: list[int] = []
    error = None
    try:
        while True:
            item = manifest.claim_next_item(worker_id)
            if item is None:
                break
            claimed.append(item["index"])
            manifest.update_item(item["index"], worker_id, status=ItemStatus.COMPLETED)
    except Exception as exc:  # reported to the test, which fails on it
        error = f"{type(exc).__name__}: {exc}"
    results.put((worker_id, claimed, error))


def _reader(path: str, ready: Any, stop: Any, results: Any) -> None:
    """Parse the manifest with plain json.loads as fast as possible until told to stop."""
    reads = 0
    failures: list[str] = []
    ready.set()
    while not stop.is_set():
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
            if not isinstance(doc.get("items"), list) or len(doc["items"]) != _CONTENTION_ITEMS:
                failures.append("wrong shape")
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
        reads += 1
        time.sleep(_READER_PAUSE_S)
    results.put(("reader", reads, failures[:5]))


@pytest.mark.slow  # 20 spawned processes on one lock: 10-60 s on a small or busy machine
def test_twenty_processes_complete_every_item_exactly_once(manifest_path: Path) -> None:
    make_manifest(manifest_path, count=_CONTENTION_ITEMS)
    go, stop, ready = SPAWN.Event(), SPAWN.Event(), SPAWN.Event()
    results = SPAWN.Queue()
    reader = SPAWN.Process(target=_reader, args=(str(manifest_path), ready, stop, results))
    reader.start()
    workers = [
        SPAWN.Process(target=_contention_worker,
                      args=(str(manifest_path), f"w{i}", go, results))
        for i in range(_CONTENTION_WORKERS)
    ]
    for proc in workers:
        proc.start()
    try:
        assert ready.wait(_CHILD_START_TIMEOUT_S), "reader process never started"
        go.set()
        worker_results = [results.get(timeout=120) for _ in workers]
        stop.set()
        _, reads, failures = results.get(timeout=30)
    finally:
        go.set()
        stop.set()
        for proc in [*workers, reader]:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    assert [proc.exitcode for proc in workers] == [0] * _CONTENTION_WORKERS
    assert [error for _, _, error in worker_results if error] == []
    claimed = [index for _, indices, _ in worker_results for index in indices]
    assert len(claimed) == len(set(claimed)), "an index was claimed twice"
    assert sorted(claimed) == list(range(_CONTENTION_ITEMS))
    assert sum(1 for _, indices, _ in worker_results if indices) > 1, "no real contention"
    doc = Manifest.open(manifest_path).snapshot()
    assert all(item["status"] == "COMPLETED" for item in doc["items"])
    assert all(item["attempts"] == 1 for item in doc["items"])
    assert_counters_match_items(doc)
    assert doc["completedCount"] == _CONTENTION_ITEMS
    assert failures == [], f"reader saw a half-written manifest: {failures}"
    assert reads > 0


# --------------------------------------------------------------------------- crash safety
def _churn(path: str, worker_id: str, started: Any) -> None:
    """Loop every kind of write as fast as possible until killed."""
    manifest = Manifest(Path(path))
    first = True
    while True:
        item = manifest.claim_next_item(worker_id)
        if first:
            started.set()
            first = False
        manifest.renew_lease(worker_id)
        if item is None:
            manifest.requeue_abandoned(frozenset({worker_id}))
            continue
        manifest.update_item(item["index"], worker_id, error="churning")
        if item["index"] % 3 == 0:
            manifest.update_item(item["index"], worker_id, status=ItemStatus.FAILED,
                                 error_kind="TIMEOUT")
            manifest.reset_for_rerun(max_attempts=20)
        else:
            manifest.release_item(item["index"], worker_id)
        manifest.set_status(RunStatus.IN_PROGRESS, reason=str(item["index"]))


def test_sigkill_at_random_moments_always_leaves_a_valid_manifest(manifest_path: Path) -> None:
    make_manifest(manifest_path, count=8)
    rng = random.Random(1234)
    for round_number in range(_CRASH_ROUNDS):
        started = SPAWN.Event()
        proc = SPAWN.Process(target=_churn,
                             args=(str(manifest_path), f"w{round_number}", started))
        proc.start()
        try:
            assert started.wait(_CHILD_START_TIMEOUT_S), "churn process never started"
            time.sleep(rng.uniform(0.005, 0.150))
            assert proc.is_alive(), f"churn process died by itself (exit {proc.exitcode})"
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.join(timeout=30)
        assert proc.exitcode == -signal.SIGKILL
        doc = json.loads(manifest_path.read_text(encoding="utf-8"))
        assert len(doc["items"]) == 8
        snapshot = Manifest.open(manifest_path).snapshot()
        assert_counters_match_items(snapshot)
    # Temp files a kill left behind must not get in the way of later writes.
    manifest = Manifest.open(manifest_path)
    manifest.requeue_abandoned()
    item = manifest.claim_next_item("survivor")
    assert item is not None
    manifest.update_item(item["index"], "survivor", status=ItemStatus.COMPLETED)
    doc = manifest.snapshot()
    assert doc["items"][item["index"]]["status"] == "COMPLETED"
    assert all(i["status"] != "IN_PROGRESS" for i in doc["items"])
    assert_counters_match_items(doc)
    assert stat.S_IMODE(manifest_path.stat().st_mode) == 0o600


def test_stale_temp_files_of_killed_writers_are_removed_under_the_job_lock(
    tmp_path: Path,
) -> None:
    from grokbatch.files import remove_stale_temp_files, write_atomically

    (tmp_path / "videos").mkdir()
    (tmp_path / ".manifest.json.abc123.tmp").write_bytes(b"half")
    (tmp_path / "videos" / ".job-001.mp4.xyz.tmp").write_bytes(b"half")
    write_atomically(tmp_path / "manifest.json", b"{}")
    assert remove_stale_temp_files(tmp_path) == 2
    assert not list(tmp_path.rglob(".*.tmp"))
    assert (tmp_path / "manifest.json").read_bytes() == b"{}"


def test_a_non_main_thread_never_waits_for_a_busy_lock(manifest_path: Path) -> None:
    import threading

    from grokbatch.errors import LockBusyError
    from grokbatch.locks import exclusive_lock

    manifest = make_manifest(manifest_path)
    errors: list[BaseException] = []

    def renew() -> None:
        try:
            manifest.renew_lease("w1")
        except BaseException as exc:
            errors.append(exc)

    with exclusive_lock(manifest.lock_path):
        thread = threading.Thread(target=renew)
        thread.start()
        thread.join(10)
    assert [type(e) for e in errors] == [LockBusyError]
    renew()  # the lock is free again: the same call succeeds
    assert len(errors) == 1


# --------------------------------------------------------------------------- checked, not trusted
def _edit(path: Path, change: Any) -> bytes:
    """Apply `change(doc)` to the manifest file by hand; return the bytes written."""
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))
    return path.read_bytes()


def test_counts_are_recomputed_when_an_item_is_edited_back_to_pending(
    manifest_path: Path,
) -> None:
    manifest = make_manifest(manifest_path, count=2)
    for _ in range(2):
        _finish(manifest, "COMPLETED")

    def reopen_first(doc: dict[str, Any]) -> None:
        doc["items"][0].update(status="PENDING", completedAt=None)

    written = _edit(manifest_path, reopen_first)  # counters still say 2 completed, 0 pending
    snapshot = Manifest.open(manifest_path).snapshot()
    assert (snapshot["pendingCount"], snapshot["completedCount"]) == (1, 1)
    assert_counters_match_items(snapshot)
    assert manifest_path.read_bytes() == written  # reading never rewrites the file


@pytest.mark.parametrize("key", ["pendingCount", "batchSize", "completedCount", "failedCount",
                                 "rateLimitedCount", "inProgressCount"])
def test_a_missing_counter_is_recomputed_not_refused(manifest_path: Path, key: str) -> None:
    manifest = make_manifest(manifest_path, count=3)
    _finish(manifest, "COMPLETED")
    written = _edit(manifest_path, lambda doc: doc.pop(key))
    snapshot = Manifest.open(manifest_path).snapshot()
    assert_counters_match_items(snapshot)
    assert manifest_path.read_bytes() == written


@pytest.mark.parametrize("key", ["status", "items", "permalink", "accountAlias", "jobName",
                                 "createdAt", "updatedAt"])
def test_a_missing_top_level_key_is_a_manifest_error_naming_it(manifest_path: Path,
                                                               key: str) -> None:
    make_manifest(manifest_path)
    written = _edit(manifest_path, lambda doc: doc.pop(key))
    with pytest.raises(ManifestError, match=rf"\b{key}\b.*missing") as info:
        Manifest.open(manifest_path)
    assert info.value.exit_code == 2
    assert manifest_path.read_bytes() == written


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("leaseExpiresAt", "yesterday", r"item 1 field leaseExpiresAt is 'yesterday'"),
        ("startedAt", "yesterday", r"item 1 field startedAt is 'yesterday'"),
        ("startedAt", 5, r"item 1 field startedAt is 5"),
        ("leaseExpiresAt", "2025-01-31T12:00:00", r"item 1 field leaseExpiresAt"),  # no offset
        ("attempts", "two", r"item 1 field attempts"),
        ("attempts", -1, r"item 1 field attempts"),
        ("status", "DONE", r"item 1 field status is 'DONE', not one of"),
        ("workerId", 7, r"item 1 field workerId"),
        ("promptIndex", 3, r"item 1 field promptIndex"),
        ("video", {"path": "x.mp4"}, r"item 1 field video"),
        ("index", 0, r"item 1 field index must be 1"),
        ("generation", {"videoPostIds": ["p"]}, r"item 1 field generation must hold"),
        ("generation", {"videoPostIds": "p", "startedAt": "2025-01-31T12:00:00+00:00"},
         r"item 1 field generation must hold"),
        ("generation", {"videoPostIds": [""], "startedAt": "2025-01-31T12:00:00+00:00"},
         r"item 1 field generation must hold"),
        ("generation", {"videoPostIds": ["p"], "startedAt": "soon"},
         r"item 1 field generation.startedAt is 'soon'"),
    ],
)
def test_a_garbage_item_field_is_a_manifest_error_naming_field_and_item(
    manifest_path: Path, field: str, value: Any, message: str
) -> None:
    make_manifest(manifest_path, count=2)
    written = _edit(manifest_path, lambda doc: doc["items"][1].update({field: value}))
    with pytest.raises(ManifestError, match=message):
        Manifest.open(manifest_path)
    assert manifest_path.read_bytes() == written


@pytest.mark.parametrize("field", ["attempts", "status", "index", "workerId"])
def test_a_missing_item_field_is_a_manifest_error_naming_field_and_item(
    manifest_path: Path, field: str
) -> None:
    make_manifest(manifest_path, count=2)
    written = _edit(manifest_path, lambda doc: doc["items"][1].pop(field))
    with pytest.raises(ManifestError, match=rf"item 1 field {field}"):
        Manifest.open(manifest_path)
    assert manifest_path.read_bytes() == written


@pytest.mark.parametrize(
    ("field", "value"),
    [("rateLimitedAt", "yesterday"), ("status", "SLEEPING"), ("createdAt", "soon"),
     ("settings", []), ("prompt", 3), ("prompts", [{"prompt": 1}])],
)
def test_a_garbage_top_level_field_is_a_manifest_error_naming_it(
    manifest_path: Path, field: str, value: Any
) -> None:
    make_manifest(manifest_path, prompt="secret words")
    written = _edit(manifest_path, lambda doc: doc.update({field: value}))
    with pytest.raises(ManifestError, match=field) as info:
        Manifest.open(manifest_path)
    assert "secret words" not in str(info.value)
    assert manifest_path.read_bytes() == written


def test_a_manifest_error_leaves_every_transaction_refused_and_the_file_unchanged(
    manifest_path: Path,
) -> None:
    manifest = make_manifest(manifest_path, count=2)
    written = _edit(manifest_path, lambda doc: doc["items"][0].update(leaseExpiresAt="soon"))
    for call in (lambda: manifest.claim_next_item("w1"), manifest.requeue_abandoned,
                 lambda: manifest.reset_for_rerun(3)):
        with pytest.raises(ManifestError, match="item 0 field leaseExpiresAt"):
            call()
    assert manifest_path.read_bytes() == written


def test_new_manifests_carry_schema_version_1(manifest_path: Path) -> None:
    make_manifest(manifest_path)
    assert json.loads(manifest_path.read_text())["schemaVersion"] == 1


def test_a_manifest_without_schema_version_is_read_as_version_1(manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path)
    _edit(manifest_path, lambda doc: doc.pop("schemaVersion"))
    assert manifest.claim_next_item("w1") is not None


def test_a_manifest_from_a_newer_grokbatch_is_refused_asking_for_an_upgrade(
    manifest_path: Path,
) -> None:
    make_manifest(manifest_path)
    written = _edit(manifest_path, lambda doc: doc.update(schemaVersion=2))
    with pytest.raises(ManifestError, match=r"made by a newer grokbatch.*upgrade"):
        Manifest.open(manifest_path)
    assert manifest_path.read_bytes() == written


@pytest.mark.parametrize("version", [0, "1", 1.5, True])
def test_a_bad_schema_version_is_refused(manifest_path: Path, version: Any) -> None:
    make_manifest(manifest_path)
    _edit(manifest_path, lambda doc: doc.update(schemaVersion=version))
    with pytest.raises(ManifestError, match="schemaVersion"):
        Manifest.open(manifest_path)


@pytest.mark.parametrize(
    ("field", "value"),
    [("cooldownUntil", "tomorrow"), ("generationBudget", "ten"),
     ("lastQuota", {"available": "yes"}), ("lastQuota", [])],
)
def test_garbage_in_the_quota_fields_is_a_manifest_error_naming_it(
    manifest_path: Path, field: str, value: Any
) -> None:
    make_manifest(manifest_path)
    written = _edit(manifest_path, lambda doc: doc.update({field: value}))
    with pytest.raises(ManifestError, match=field):
        Manifest.open(manifest_path)
    assert manifest_path.read_bytes() == written


@pytest.mark.parametrize(("field", "value"), [("history", "x"), ("history", [1]),
                                              ("downloadOnly", "yes"), ("choice", 2)])
def test_garbage_in_an_items_history_or_download_flag_is_a_manifest_error(
    manifest_path: Path, field: str, value: Any
) -> None:
    make_manifest(manifest_path, count=2)
    _edit(manifest_path, lambda doc: doc["items"][0].update({field: value}))
    with pytest.raises(ManifestError, match=f"item 0 field {field}"):
        Manifest.open(manifest_path)


def test_what_a_run_writes_passes_the_checks(manifest_path: Path) -> None:
    """Every field the work queue writes (history, downloadOnly, choice, quota) reads back."""
    manifest = make_manifest(manifest_path, count=2)
    manifest.update_fields(generationBudget=5, cooldownUntil=None, lastQuota={
        "checkedAt": "2026-01-01T00:00:00+00:00", "available": True, "remainingQueries": 3,
        "windowSizeSeconds": 7200, "nextAvailableAt": None})
    item = manifest.claim_next_item("w1")
    assert item is not None
    manifest.update_item(item["index"], "w1", status=ItemStatus.FAILED, error_kind="TIMEOUT",
                         error="timed out", video_url="http://x/v.mp4", choice="first")
    manifest.reset_for_rerun(max_attempts=3)
    doc = Manifest.open(manifest_path).snapshot()
    assert doc["items"][0]["status"] == "PENDING"
    assert doc["generationBudget"] == 4


def test_a_release_gives_back_the_attempt_and_the_budget_an_abandoned_claim_only_the_attempt(
        manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path, count=2)
    manifest.update_fields(generationBudget=2)
    released = manifest.claim_next_item("w1")
    abandoned = manifest.claim_next_item("gone", pid=dead_pid())
    assert released and abandoned and manifest.snapshot()["generationBudget"] == 0
    manifest.release_item(released["index"], "w1", "not started")  # no generation started
    assert manifest.requeue_abandoned() == [abandoned["index"]]
    doc = manifest.snapshot()
    assert [(i["status"], i["attempts"]) for i in doc["items"]] == [("PENDING", 0)] * 2
    # The dead worker's generation may have started, and cost the quota: its share stays spent.
    assert doc["generationBudget"] == 1


# --------------------------------------------------------------------------- a started generation
_GENERATION = {"videoPostIds": ["post-a", "post-b"], "startedAt": "2026-12-02T05:00:00+00:00"}


def test_a_started_generation_outlives_every_way_back_to_the_queue(manifest_path: Path) -> None:
    # Where the site makes a video is kept through a release, a retry and an abandoned
    # claim: the next try looks there before it makes another.
    manifest = make_manifest(manifest_path, count=1)
    for give_back in (
        lambda: manifest.release_item(0, "w"),
        lambda: manifest.retry_later(0, "w", "NETWORK_ERROR", "the stream broke off"),
        lambda: manifest.requeue_abandoned(frozenset({"w"})),
    ):
        assert manifest.claim_next_item("w") is not None
        manifest.update_item(0, "w", generation=_GENERATION)
        give_back()
        item = manifest.snapshot()["items"][0]
        assert item["status"] == "PENDING"
        assert item["generation"] == _GENERATION
        assert not item.get("downloadOnly")  # no video URL yet: it is looked for, not fetched
    assert manifest.claim_next_item("w") is not None
    manifest.update_item(0, "w", generation=None)
    assert manifest.snapshot()["items"][0]["generation"] is None


def test_a_started_video_is_looked_for_whatever_the_budget_and_takes_nothing_from_it(
        manifest_path: Path) -> None:
    # The try that started it paid for its generation: looking for the video is free, and
    # allowed even once the quota allows no more generations.
    manifest = make_manifest(manifest_path, count=2)
    manifest.update_fields(generationBudget=1)
    assert manifest.claim_next_item("w")["index"] == 0  # type: ignore[index]
    manifest.update_item(0, "w", generation=_GENERATION)
    manifest.requeue_abandoned(frozenset({"w"}))
    assert manifest.snapshot()["generationBudget"] == 0  # spent by the try that started it
    looked_for = manifest.claim_next_item("w")
    assert looked_for is not None and looked_for["index"] == 0  # claimable on a spent budget
    assert manifest.snapshot()["generationBudget"] == 0
    manifest.release_item(0, "w")  # a stop during the look: nothing to give back
    assert manifest.snapshot()["generationBudget"] == 0
    assert manifest.claim_next_item("w")["index"] == 0  # type: ignore[index]
    assert manifest.claim_next_item("w2") is None  # item 1 would generate: no budget


def test_making_anew_takes_a_generation_from_the_budget_or_gives_the_video_back(
        manifest_path: Path) -> None:
    manifest = make_manifest(manifest_path, count=1)
    manifest.update_fields(generationBudget=0)
    assert manifest.claim_next_item("w") is None  # it would generate
    manifest.update_fields(generationBudget=1)
    assert manifest.claim_next_item("w") is not None
    manifest.update_item(0, "w", generation=_GENERATION)
    manifest.requeue_abandoned(frozenset({"w"}))
    manifest.update_fields(generationBudget=0)
    assert manifest.claim_next_item("w") is not None
    # The site shows nothing of it, and the quota allows no more: back, as the claim left
    # it (one attempt: the generation the earlier try asked for), with the video the site
    # may still be making, for the rerun to look for (it was forgotten, and made again);
    # not claimable again in this run (no loop of looks).
    assert manifest.make_anew(0, "w") is False
    item = manifest.snapshot()["items"][0]
    assert (item["status"], item["attempts"], item["generation"]) == (
        "PENDING", 1, _GENERATION)
    assert manifest.snapshot()["generationBudget"] == 0
    assert manifest.claim_next_item("w") is None
    assert manifest.reset_for_rerun(3) == [0]  # the rerun looks again
    assert "waitsForRerun" not in manifest.snapshot()["items"][0]
    assert manifest.claim_next_item("w") is not None
    assert manifest.snapshot()["generationBudget"] == 0  # a look: free
    # With a generation left, it is made now, and takes it.
    manifest.update_fields(generationBudget=1)
    assert manifest.make_anew(0, "w") is True
    assert manifest.snapshot()["generationBudget"] == 0
    item = manifest.snapshot()["items"][0]
    assert (item["generation"], item["attempts"]) == (None, 2)  # a second generation asked


def test_attempts_count_the_generations_asked_for_not_the_claims(manifest_path: Path) -> None:
    # Attempts count over every run since each may have cost a generation: a claim that
    # only fetches a made video, or looks for a started one, counts none, and a try that
    # died after the site started its video keeps the one it asked for.
    manifest = make_manifest(manifest_path, count=2)
    manifest.claim_next_item("w")
    manifest.claim_next_item("w")
    manifest.update_item(0, "w", generation=_GENERATION)  # #0's generation started
    manifest.requeue_abandoned(frozenset({"w"}))  # both workers died
    assert [i["attempts"] for i in manifest.snapshot()["items"]] == [1, 0]
    assert manifest.claim_next_item("w")["index"] == 0  # type: ignore[index]  # a look
    manifest.update_item(0, "w", video_url="http://x/v.mp4")  # found
    manifest.release_item(0, "w")  # stopped before it was saved: fetched later
    assert manifest.claim_next_item("w")["index"] == 0  # type: ignore[index]  # a fetch
    assert manifest.snapshot()["items"][0]["attempts"] == 1


# --------------------------------------------------------------------------- a disk that fills
def _disk(monkeypatch: pytest.MonkeyPatch, refuses: Callable[[], int | None]) -> None:
    """Manifest writes go to a disk that refuses them with the errno `refuses()` says
    (None: takes them)."""
    real = store.write_atomically

    def write(path: Path, data: bytes) -> None:
        code = refuses()
        if code is not None:
            raise DiskError.from_os_error("write", path, OSError(code, os.strerror(code)))
        real(path, data)

    monkeypatch.setattr(store, "write_atomically", write)


def _room_size(room: Path) -> int:
    return room.stat().st_size if room.exists() else 0


def test_a_disk_that_fills_still_takes_the_generation_each_worker_records(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the site makes a video is written as soon as it is known; a disk that filled
    under the run lost it, and the rerun made the video again. The room the run set aside,
    for as many such writes as it has workers, takes each, and the disk error still stops
    the run."""
    manifest = make_manifest(tmp_path / "manifest.json")
    room = RunFiles(tmp_path).manifest_room
    set_room_aside(room, 2 * store.ROOM_PER_WRITE)  # two workers
    assert room.stat().st_blocks * 512 >= 2 * store.ROOM_PER_WRITE  # not a sparse file
    held = [manifest.claim_next_item(worker) for worker in ("w1", "w2", "w3")]
    room_left = [_room_size(room)]

    def full_but_what_was_freed() -> int | None:  # each write takes all the disk frees
        freed = _room_size(room) < room_left[0]
        room_left[0] = _room_size(room)
        return None if freed else errno.ENOSPC

    _disk(monkeypatch, full_but_what_was_freed)
    for item, worker in zip(held[:2], ("w1", "w2"), strict=True):
        assert item is not None
        with pytest.raises(DiskError, match=r"No space left on device \(written in the "
                                            r"room set aside for it\)$"):
            manifest.update_item(item["index"], worker, generation={
                "videoPostIds": [f"post-{worker}"], "startedAt": "2026-12-03T07:00:00Z"})
    assert not room.exists()
    assert held[2] is not None
    with pytest.raises(DiskError, match=r"No space left on device$"):  # no room left
        manifest.update_item(held[2]["index"], "w3", generation={
            "videoPostIds": ["post-w3"], "startedAt": "2026-12-03T07:00:00Z"})
    kept = read_manifest_file(manifest.path)["items"]
    assert [(i["workerId"], (i.get("generation") or {}).get("videoPostIds")) for i in kept] == [
        ("w1", ["post-w1"]), ("w2", ["post-w2"]), ("w3", None)]


@pytest.mark.parametrize("fallocate", ["unsupported", "missing"])
def test_room_is_set_aside_where_the_disk_or_platform_has_no_fallocate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fallocate: str) -> None:
    """A file system without fallocate, or a platform without the call (macOS): the room is
    taken by writing it, not refused (a run would not start)."""
    from grokbatch import files

    def unsupported(fd: int, offset: int, size: int) -> None:
        raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))

    if fallocate == "unsupported":
        monkeypatch.setattr(files.os, "posix_fallocate", unsupported)
    else:
        monkeypatch.delattr(files.os, "posix_fallocate")
    room = RunFiles(tmp_path).manifest_room
    set_room_aside(room, 3 * store.ROOM_PER_WRITE + 1)
    assert room.stat().st_size == 3 * store.ROOM_PER_WRITE + 1
    assert room.stat().st_blocks * 512 >= 3 * store.ROOM_PER_WRITE + 1
    assert room.read_bytes().count(0) == room.stat().st_size


@pytest.mark.parametrize(("code", "room_set_aside", "records_a_generation"), [
    (errno.ENOSPC, False, True),  # no room to give
    (errno.ENOSPC, True, False),  # a claim, a lease, a status: a rerun loses nothing by it
    (errno.EROFS, True, True),  # read-only: room freed would give it nothing
])
def test_a_write_the_room_set_aside_is_not_for_is_refused_and_not_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, room_set_aside: bool,
        records_a_generation: bool) -> None:
    """The write is refused, the manifest is as it was, and a room set aside stays for
    the write that needs it."""
    manifest = make_manifest(tmp_path / "manifest.json")
    item = manifest.claim_next_item("w1")
    assert item is not None
    room = RunFiles(tmp_path).manifest_room
    if room_set_aside:
        set_room_aside(room, 1 << 20)
    before = manifest.path.read_bytes()
    _disk(monkeypatch, lambda: code)
    with pytest.raises(DiskError, match=os.strerror(code)) as refused:
        if records_a_generation:
            manifest.update_item(item["index"], "w1", generation={
                "videoPostIds": ["post-1"], "startedAt": "2026-12-03T07:00:00Z"})
        else:
            manifest.renew_lease("w1")
    assert "room set aside" not in str(refused.value)
    assert manifest.path.read_bytes() == before
    assert room.exists() is room_set_aside
