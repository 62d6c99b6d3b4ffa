"""The part `manifest`: claim and update latency of the run's manifest with 1, 20 and 100
contending processes (spawned, as workers are), in a tight loop and paced."""

from __future__ import annotations

import json
import multiprocessing
import random
import time
from pathlib import Path
from typing import Any

from grokbatch.manifest import ItemStatus, Manifest

from .numbers import median, percentile
from .spawn import log, temp_dir


def manifest_worker(path: str, worker_id: str, ready: Any, go: Any, results: Any,
                    think_s: float = 0.0, max_items: int = 0) -> None:
    """One contending process: claim, then complete, until the queue is empty.

    With `think_s`, it sleeps about that long (jittered) before each claim and each
    update, as a worker busy generating would; `max_items` > 0 stops it after that many.
    """
    manifest = Manifest(Path(path))
    ready.put(worker_id)
    go.wait(120)
    claims: list[float] = []
    updates: list[float] = []
    begin = time.monotonic()
    try:
        while not max_items or len(updates) < max_items:
            if think_s:
                time.sleep(think_s * random.uniform(0.5, 1.5))
            t0 = time.perf_counter()
            item = manifest.claim_next_item(worker_id)
            t1 = time.perf_counter()
            if item is None:
                break
            claims.append(t1 - t0)
            if think_s:
                time.sleep(think_s * random.uniform(0.5, 1.5))
                t1 = time.perf_counter()
            manifest.update_item(item["index"], worker_id, status=ItemStatus.COMPLETED)
            updates.append(time.perf_counter() - t1)
        error = None
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    results.put({"worker_id": worker_id, "claims": claims, "updates": updates, "begin": begin,
                 "end": time.monotonic(), "error": error})


def _latency_summary(claims: list[float], updates: list[float]) -> dict[str, Any]:
    ms = 1000.0
    return {
        "claimP50Ms": (median(claims) or 0) * ms if claims else None,
        "claimP99Ms": (percentile(claims, 99) or 0) * ms if claims else None,
        "claimMaxMs": max(claims) * ms if claims else None,
        "updateP50Ms": (median(updates) or 0) * ms if updates else None,
        "updateP99Ms": (percentile(updates, 99) or 0) * ms if updates else None,
        "updateMaxMs": max(updates) * ms if updates else None,
    }


def bench_manifest_contended(procs: int, items: int, think_s: float = 0.0,
                             max_items: int = 0) -> dict[str, Any]:
    """`procs` spawned processes claiming and completing `items` items of one manifest."""
    ctx = multiprocessing.get_context("spawn")
    with temp_dir(f"bench-manifest-{procs}-") as tmp:
        path = tmp / "manifest.json"
        Manifest.create(path, job_name="bench", account_alias="bench",
                        permalink="http://127.0.0.1/imagine/post/x", count=items, prompt="p")
        ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
        workers = [ctx.Process(target=manifest_worker, args=(str(path), f"w{i}", ready, go,
                                                              results, think_s, max_items),
                               daemon=True)
                   for i in range(procs)]
        rows: list[dict[str, Any]] = []
        try:
            for w in workers:
                w.start()
            for _ in range(procs):
                ready.get(timeout=180)
            go.set()
            deadline = time.monotonic() + 600
            while len(rows) < procs:
                rows.append(results.get(timeout=max(1.0, deadline - time.monotonic())))
            for w in workers:
                w.join(10)
            final = json.loads(path.read_bytes())
        finally:
            for w in workers:
                if w.is_alive():
                    w.kill()
                    w.join(5)
            for q in (ready, results):
                q.close()
                q.cancel_join_thread()
    claims = [c for r in rows for c in r["claims"]]
    updates = [u for r in rows for u in r["updates"]]
    span = max(r["end"] for r in rows) - min(r["begin"] for r in rows)
    return {
        "processes": procs,
        "items": items,
        "thinkSeconds": think_s,
        "completed": final.get("completedCount"),
        "errors": [r["error"] for r in rows if r["error"]],
        "spanSeconds": span,
        "opsPerSecond": (len(claims) + len(updates)) / span if span > 0 else None,
        "itemsPerSecond": len(updates) / span if span > 0 else None,
        **_latency_summary(claims, updates),
    }


def bench_manifest_uncontended(items: int, reps: int = 30) -> dict[str, Any]:
    """One process, `reps` claim+update pairs on a fresh manifest of `items` items."""
    with temp_dir("bench-manifest-1-") as tmp:
        manifest = Manifest.create(tmp / "manifest.json", job_name="bench",
                                   account_alias="bench",
                                   permalink="http://127.0.0.1/imagine/post/x", count=items,
                                   prompt="p")
        claims, updates = [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            item = manifest.claim_next_item("solo")
            t1 = time.perf_counter()
            assert item is not None
            manifest.update_item(item["index"], "solo", status=ItemStatus.COMPLETED)
            claims.append(t1 - t0)
            updates.append(time.perf_counter() - t1)
        size = (tmp / "manifest.json").stat().st_size
    return {"processes": 1, "items": items, "reps": reps, "manifestBytes": size,
            **_latency_summary(claims, updates)}


# Items each paced process completes before it stops.
_PACED_ITEMS = 10


def bench_manifest_part(out: dict[str, Any], items: int, process_counts: list[int],
                        think_s: float) -> None:
    """The part into `out` (filled as it goes, so an interrupted bench keeps what ran):
    uncontended, each process count in a tight loop, then the first count paced."""
    out.update(items=items, contended=[])
    log("manifest: uncontended")
    out["uncontended"] = bench_manifest_uncontended(items)
    for procs in process_counts:
        log(f"manifest: {procs} processes on {items} items")
        try:
            out["contended"].append(bench_manifest_contended(procs, items))
        except Exception as exc:
            log(f"manifest with {procs} processes failed: {exc!r}")
            out["contended"].append({"processes": procs, "errors": [repr(exc)],
                                     "claimP99Ms": None})
    if think_s > 0:
        procs = process_counts[0]
        log(f"manifest: {procs} paced processes (think {think_s} s)")
        try:
            out["paced"] = bench_manifest_contended(procs, items, think_s,
                                                    max_items=_PACED_ITEMS)
        except Exception as exc:
            log(f"paced manifest run failed: {exc!r}")
