"""Worker profile copies: only the session-bearing parts, private, never a stale lock."""

from __future__ import annotations

import os
from pathlib import Path

from grokbatch.profiles import copy_profile, remove_profile, tree_size


def _write(path: Path, size: int = 10) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


def _fake_profile(root: Path) -> None:
    for kept in ("Local State", "Default/Cookies", "Default/Preferences",
                 "Default/Local Storage/leveldb/000003.log",
                 "Default/IndexedDB/https_grok.com_0.indexeddb.leveldb/CURRENT",
                 "Default/Network/Cookies"):
        _write(root / kept, 100)
    for cache in ("Default/Cache/Cache_Data/f_000001", "Default/Code Cache/js/index",
                  "Default/GPUCache/data_0", "GrShaderCache/data_1",
                  "Default/Service Worker/CacheStorage/abc/index", "Default/blob_storage/x",
                  "Crashpad/pending/dump.dmp", "ShaderCache/data_0"):
        _write(root / cache, 5000)
    (root / "SingletonLock").symlink_to("host-1234")
    _write(root / "SingletonCookie", 5)


def test_copy_keeps_session_files_and_skips_caches_and_locks(tmp_path: Path) -> None:
    source, target = tmp_path / "src", tmp_path / "dst"
    _fake_profile(source)
    stats = copy_profile(source, target)
    copied = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert copied == sorted([
        "Default/Cookies", "Default/IndexedDB/https_grok.com_0.indexeddb.leveldb/CURRENT",
        "Default/Local Storage/leveldb/000003.log", "Default/Network/Cookies",
        "Default/Preferences", "Local State",
    ])
    assert stats.files == 6 and stats.bytes == 600 == tree_size(target)
    assert not (target / "SingletonLock").exists()
    assert os.stat(target).st_mode & 0o777 == 0o700
    assert os.stat(target / "Default").st_mode & 0o777 == 0o700


def test_remove_profile_deletes_the_copy_and_tolerates_missing(tmp_path: Path) -> None:
    source, target = tmp_path / "src", tmp_path / "dst"
    _fake_profile(source)
    copy_profile(source, target)
    remove_profile(target)
    assert not target.exists()
    remove_profile(target)  # already gone: no error
