"""The part `profile`: copy_profile() of a synthetic ~500 MB Chromium-like profile against
shutil.copytree of the whole of it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

from grokbatch.profiles import copy_profile

from .numbers import MB, median
from .spawn import temp_dir


def _write_random(path: Path, size: int, file_size: int) -> int:
    """Fill `path` (a directory) with random files of at most `file_size` bytes."""
    path.mkdir(parents=True, exist_ok=True)
    written = 0
    n = 0
    while written < size:
        chunk = min(file_size, size - written)
        (path / f"{n:06d}").write_bytes(os.urandom(chunk))
        written += chunk
        n += 1
    return written


def _write_file(path: Path, size: int) -> int:
    """One file of `size` random bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return size


# Non-cache profile state, as shares of `state_mb`: (path, share, copied by copy_profile?)
_STATE_PARTS = (
    ("Default/Local Storage/leveldb", 0.08, True),
    ("Default/IndexedDB/https_grok.com_0.indexeddb.leveldb", 0.08, True),
    ("Default/Session Storage", 0.04, True),
    ("Default/Sessions", 0.04, True),
    ("Default/Web Data", 0.04, True),
    ("Default/Login Data", 0.02, True),
    ("Default/Shortcuts", 0.02, True),
    ("Default/History", 0.50, False),
    ("Default/Favicons", 0.14, False),
    ("Default/Top Sites", 0.02, False),
    ("Default/Visited Links", 0.02, False),
)
# Caches and crash dumps, as shares of `cache_mb`.
_CACHE_PARTS = (
    ("Default/Cache/Cache_Data", 0.40),
    ("Default/Code Cache/js", 0.20),
    ("Default/Service Worker/CacheStorage", 0.20),
    ("Default/GPUCache", 0.05),
    ("GrShaderCache", 0.05),
    ("Default/blob_storage", 0.05),
    ("Crashpad/completed", 0.05),
)


def build_synthetic_profile(
    root: Path, *, state_mb: float = 50, cache_mb: float = 450, file_size: int = MB
) -> dict[str, int]:
    """Write a Chromium-like user-data dir at `root`; return its byte counts by kind.

    `sessionBytes` is what a signed-in session needs (cookies, local storage, IndexedDB,
    preferences, ...), `otherStateBytes` history/favicons/top sites (not needed for a
    session), `cacheBytes` caches and crash dumps. Directories end in files of random
    bytes; leveldb-style parts are a directory of files, the sqlite-style ones one file.
    """
    root.mkdir(parents=True, exist_ok=True)
    sizes = {"sessionBytes": 0, "otherStateBytes": 0, "cacheBytes": 0}
    default = root / "Default"
    default.mkdir(exist_ok=True)
    cookies = default / "Cookies"
    with contextlib.closing(sqlite3.connect(cookies)) as db:
        db.execute("CREATE TABLE cookies (host_key TEXT, name TEXT, value TEXT, "
                   "encrypted_value BLOB, path TEXT, expires_utc INTEGER)")
        db.executemany("INSERT INTO cookies VALUES (?, ?, ?, ?, ?, ?)",
                       [(".grok.com", f"c{i}", "", os.urandom(64), "/", 0) for i in range(50)])
        db.commit()
    prefs = json.dumps({"profile": {"name": "bench", "exit_type": "Normal"},
                        "intl": {"accept_languages": "en-US,en"}}).encode()
    (default / "Preferences").write_bytes(prefs)
    (root / "Local State").write_bytes(json.dumps({"browser": {"enabled_labs": []}}).encode())
    sizes["sessionBytes"] += cookies.stat().st_size + len(prefs)
    sizes["sessionBytes"] += (root / "Local State").stat().st_size
    with contextlib.suppress(OSError):  # a stale lock, as a crashed Chromium leaves behind
        os.symlink("bench-host-12345", root / "SingletonLock")
    for rel, share, copied in _STATE_PARTS:
        size = max(1, int(state_mb * MB * share))
        path = root / rel
        if rel.endswith("leveldb") or rel.endswith(("Session Storage", "Sessions")):
            written = _write_random(path, size, file_size)
        else:
            written = _write_file(path, size)
        sizes["sessionBytes" if copied else "otherStateBytes"] += written
    for rel, share in _CACHE_PARTS:
        sizes["cacheBytes"] += _write_random(root / rel, max(1, int(cache_mb * MB * share)),
                                             file_size)
    sizes["totalBytes"] = sum(sizes.values())
    return sizes


def bench_profile(state_mb: float, cache_mb: float, reps: int) -> dict[str, Any]:
    """copy_profile() against shutil.copytree on a synthetic profile, `reps` times each."""
    with temp_dir("bench-profile-") as tmp:
        src = tmp / "src"
        t0 = time.monotonic()
        sizes = build_synthetic_profile(src, state_mb=state_mb, cache_mb=cache_mb)
        build_s = time.monotonic() - t0
        smart: list[float] = []
        naive: list[float] = []
        stats = None
        for rep in range(reps):
            dst = tmp / f"copy-{rep}"
            t0 = time.perf_counter()
            stats = copy_profile(src, dst)
            smart.append(time.perf_counter() - t0)
            shutil.rmtree(dst)
        for rep in range(reps):
            dst = tmp / f"full-{rep}"
            t0 = time.perf_counter()
            shutil.copytree(src, dst, symlinks=True)
            naive.append(time.perf_counter() - t0)
            shutil.rmtree(dst)
    assert stats is not None
    return {
        "profile": {k: v for k, v in sizes.items()},
        "buildSeconds": build_s,
        "copyProfileBytes": stats.bytes,
        "copyProfileFiles": stats.files,
        "copyProfileSeconds": median(smart),
        "copyProfileAllSeconds": smart,
        "copytreeBytes": sizes["totalBytes"],
        "copytreeSeconds": median(naive),
        "copytreeAllSeconds": naive,
        "reps": reps,
    }
