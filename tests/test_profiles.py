"""Worker profile copies: only the session-bearing parts, private, never a stale lock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


def test_a_look_at_a_dead_run_holds_the_lock_an_instant_and_names_no_holder(
    grokbatch_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `run status` deleted a dead run's copies holding the job's lock with its own PID in
    # it: a `run start` then was told "job is already running (PID of the status)", exit 4.
    from grokbatch import paths, profiles
    from grokbatch.locks import job_is_running

    copies = paths.run_files("job").worker_profiles / "worker-0" / "Default"
    copies.mkdir(parents=True)
    (copies / "Cookies").write_text("session")
    paths.run_lock_file("job").write_text("999999999")  # the dead run's
    locked_while_deleting: list[bool] = []

    def remove(path: Path) -> None:
        locked_while_deleting.append(job_is_running("job"))
        remove_profile(path)

    monkeypatch.setattr(profiles, "remove_profile", remove)
    profiles.clean_dead_run("job")
    assert locked_while_deleting and not any(locked_while_deleting)
    assert paths.run_lock_file("job").read_text() == "999999999"
    assert not paths.run_files("job").worker_profiles.exists()
    assert [p.name for p in paths.run_dir("job").iterdir()] == [paths.run_lock_file("job").name]


def test_copies_set_aside_by_a_look_that_died_are_removed_by_the_next_run(
    grokbatch_home: Path
) -> None:
    from grokbatch import paths, profiles

    aside = paths.run_dir("job") / ".worker-profiles.removing-12345" / "worker-0"
    aside.mkdir(parents=True)
    profiles.clear_worker_profiles("job")
    assert list(paths.run_dir("job").iterdir()) == []


def test_a_copy_the_disk_refuses_is_a_disk_error_naming_the_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A worker whose copy met a full disk "crashed: OSError: [Errno 28] ... -> ...", was
    # replaced, and each replacement crashed the same way; a DiskError stops the run.
    import errno

    from grokbatch import profiles
    from grokbatch.errors import DiskError

    source, target = tmp_path / "src", tmp_path / "dst"
    _fake_profile(source)

    def full(src: Path, dst: Path) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(src), None, str(dst))

    monkeypatch.setattr(profiles, "_clone_or_copy", full)
    with pytest.raises(DiskError) as info:
        copy_profile(source, target)
    assert str(info.value) == (f"cannot copy the account's profile to {target}: "
                               "No space left on device")


def test_copies_that_cannot_be_removed_are_said_not_left_in_silence(
    grokbatch_home: Path, monkeypatch: pytest.MonkeyPatch, log_lines: list[str]
) -> None:
    # A read-only disk at the end of a run: the copies, with the session's cookies, stayed
    # under the job's directory, and nothing said so.
    from grokbatch import paths, profiles

    copies = paths.run_files("job").worker_profiles / "worker-0" / "Default"
    copies.mkdir(parents=True)
    (copies / "Cookies").write_text("session")
    monkeypatch.setattr(profiles.shutil, "rmtree",
                        lambda path, ignore_errors=False, **kwargs: None)  # refused
    profiles.clear_worker_profiles("job")
    root = paths.run_files("job").worker_profiles
    assert [line for line in log_lines if "could not all be removed" in line and str(root) in line]
