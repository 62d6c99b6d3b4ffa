"""Private directories and files under GROKBATCH_HOME: modes, symlinks, the disk saying no.

paths.py holds the helpers; the writers that use them (files, logs, locks, downloads,
browser) are checked here too, each for what it writes under a run directory.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from grokbatch import browser, drivers, paths
from grokbatch.downloads import BrowserIdentity, download_video
from grokbatch.errors import DiskError, UsageError
from grokbatch.files import write_atomically
from grokbatch.locks import exclusive_lock, job_lock
from grokbatch.logs import add_run_log
from tests.video_server import COOKIE, VIDEO, video_server


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_make_private_dir_creates_0700_and_tightens_an_existing_0755(tmp_path: Path) -> None:
    made = paths.make_private_dir(tmp_path / "a" / "debug")
    assert mode(made) == 0o700
    loose = tmp_path / "videos"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    assert mode(paths.make_private_dir(loose)) == 0o700


def test_make_private_dir_under_a_regular_file_is_a_disk_error_naming_it(
    tmp_path: Path
) -> None:
    (tmp_path / "runs").write_text("a file")
    with pytest.raises(DiskError, match=r"cannot create directory .*runs/job: Not a directory"):
        paths.make_private_dir(tmp_path / "runs" / "job")


def test_a_private_dir_on_a_read_only_disk_is_used_as_it_is_and_one_to_fix_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read-only disk refuses every chmod: a run directory that is 0700 already needs
    # none (before, it read "cannot create directory" for one that was there).
    def read_only(path: object, mode: int) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    private = paths.make_private_dir(tmp_path / "job")
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    monkeypatch.setattr(paths.os, "chmod", read_only)
    assert paths.make_private_dir(private) == private
    with pytest.raises(DiskError, match=r"cannot set 0700 on .*loose: Read-only file system"):
        paths.make_private_dir(loose)


def test_write_private_file_is_0600_even_over_a_0644_file(tmp_path: Path) -> None:
    target = tmp_path / "snap.html"
    target.write_text("old")
    target.chmod(0o644)
    paths.write_private_file(target, b"<html></html>")
    assert target.read_bytes() == b"<html></html>"
    assert mode(target) == 0o600


def _planted_link(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A symlink at tmp_path/run/<name> pointing at a file outside the run directory."""
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    link = run_dir / name
    link.symlink_to(outside)
    return link, outside


def test_debug_file_is_not_written_through_a_planted_symlink(tmp_path: Path) -> None:
    link, outside = _planted_link(tmp_path, "worker-0_TIMEOUT_1.html")
    with pytest.raises(DiskError, match=r"worker-0_TIMEOUT_1\.html"):
        paths.write_private_file(link, b"snapshot")
    assert outside.read_text() == "keep me"


def test_run_log_is_not_opened_through_a_planted_symlink(tmp_path: Path) -> None:
    link, outside = _planted_link(tmp_path, "run.log")
    with pytest.raises(DiskError, match=r"cannot open log .*run\.log"):
        add_run_log(link)
    assert outside.read_text() == "keep me"


def test_lock_files_are_not_opened_through_a_planted_symlink(tmp_path: Path) -> None:
    link, outside = _planted_link(tmp_path, "manifest.json.lock")
    with pytest.raises(DiskError, match=r"manifest\.json\.lock"), exclusive_lock(link):
        pass
    run_lock = paths.run_lock_file("job")
    paths.make_private_dir(run_lock.parent)
    run_lock.symlink_to(outside)
    with pytest.raises(DiskError, match=r"run\.lock"), job_lock("job"):
        pass
    assert outside.read_text() == "keep me"


def test_atomic_write_replaces_a_planted_symlink_instead_of_following_it(
    tmp_path: Path
) -> None:
    link, outside = _planted_link(tmp_path, "manifest.json")
    write_atomically(link, b"{}")
    assert not link.is_symlink() and link.read_bytes() == b"{}"
    assert mode(link) == 0o600
    assert outside.read_text() == "keep me"


def test_downloaded_videos_are_0600_in_a_0700_videos_directory(tmp_path: Path) -> None:
    with video_server() as (base, _):
        video = download_video(f"{base}/video.mp4", tmp_path / "videos" / "job-000", tmp_path,
                               BrowserIdentity("grokbatch-test", lambda url: COOKIE),
                               timeout_s=10.0)
    saved = tmp_path / video.path
    assert saved.read_bytes() == VIDEO
    assert mode(saved) == 0o600
    assert mode(tmp_path / "videos") == 0o700


def test_a_job_lock_that_fails_its_run_removes_the_lock_file_it_made() -> None:
    with pytest.raises(DiskError), job_lock("job"):
        raise DiskError("cannot write manifest.json: No space left on device")
    assert not paths.run_lock_file("job").exists()
    with job_lock("job"):
        pass
    assert paths.run_lock_file("job").exists()  # a run that ended well keeps its PID file
    with pytest.raises(DiskError), job_lock("job"):
        raise DiskError("full")
    assert paths.run_lock_file("job").exists()  # not made by that run: left as it was


def test_chromium_crash_dumps_go_under_grokbatch_home(grokbatch_home: Path) -> None:
    dumps = grokbatch_home.resolve() / "crash-dumps"
    assert paths.crash_dumps_dir() == dumps
    assert f"--crash-dumps-dir={dumps}" in browser.launch_args(headless=True)
    assert f"--crash-dumps-dir={dumps}" in browser.launch_args(headless=False)
    assert browser.browser_env()["BREAKPAD_DUMP_LOCATION"] == str(dumps)


def test_the_driver_gets_its_node_settings_and_compile_cache_and_the_browser_neither(
    grokbatch_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NODE_OPTIONS", "--trace-warnings")  # the user's own: kept
    monkeypatch.setenv(drivers.NODE_COMPILE_CACHE_ENV, "unset after the test")
    monkeypatch.delenv(drivers.NODE_COMPILE_CACHE_ENV)  # tune_driver sets it: undone after
    browser.tune_driver()
    browser.tune_driver()  # a second time adds nothing
    cache = grokbatch_home.resolve() / "cache" / "node-compile-cache"
    assert os.environ["NODE_OPTIONS"] == f"--trace-warnings {drivers.DRIVER_NODE_OPTIONS}"
    assert os.environ[drivers.NODE_COMPILE_CACHE_ENV] == str(cache)
    assert cache.is_dir() and cache.stat().st_mode & 0o777 == 0o700
    env = browser.browser_env()
    assert "NODE_OPTIONS" not in env and drivers.NODE_COMPILE_CACHE_ENV not in env


def test_a_compile_cache_that_cannot_be_made_leaves_the_driver_without_one_not_the_run(
    grokbatch_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `cache` not a directory (or not ours to write): each worker died in tune_driver with
    # a traceback on the console, its replacements the same, and the run ended "some
    # videos failed or were not made"; the shared driver left its socket directory behind.
    for name in (drivers.NODE_COMPILE_CACHE_ENV, "NODE_OPTIONS"):  # as before, after it
        monkeypatch.setenv(name, "unset after the test")
        monkeypatch.delenv(name)
    grokbatch_home.mkdir(parents=True, exist_ok=True)
    (grokbatch_home / "cache").write_text("not a directory")
    env = drivers.driver_env({"PATH": "/usr/bin"})
    assert drivers.NODE_COMPILE_CACHE_ENV not in env
    assert env["NODE_OPTIONS"] == drivers.DRIVER_NODE_OPTIONS
    browser.tune_driver()
    assert drivers.NODE_COMPILE_CACHE_ENV not in os.environ


def test_the_directories_grokbatch_creates_in_its_home_are_0700_and_those_outside_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # runs/ and accounts/ were 0755: anyone on the machine could list the jobs and accounts
    # (and a default job name holds a digest of the prompt).
    home = tmp_path / "outside" / "grokbatch-home"
    monkeypatch.setenv("GROKBATCH_HOME", str(home))
    paths.make_private_dir(paths.run_dir("job"))
    for made in (home, home / "runs", home / "runs" / "job"):
        assert stat.S_IMODE(made.stat().st_mode) == 0o700, made
    assert stat.S_IMODE((tmp_path / "outside").stat().st_mode) != 0o700


def test_a_home_that_is_a_file_is_named_not_read_as_empty(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every command read it as a home with no accounts and no jobs ("unknown account").
    home = tmp_path / "home"
    home.write_text("")
    monkeypatch.setenv("GROKBATCH_HOME", str(home))
    with pytest.raises(UsageError, match=r"is not a directory \(set by GROKBATCH_HOME\)"):
        paths.home()


def test_a_debug_file_the_disk_cuts_short_is_not_left_half_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A full disk in the middle of a screenshot left the part written: junk, on the one
    # disk that had no room to spare (the manifest must still be written there).
    import errno

    target = tmp_path / "worker-0_TIMEOUT_1.png"

    class CutShort:
        def __init__(self, fd: int, mode: str) -> None:
            self.fd = fd

        def __enter__(self) -> CutShort:
            return self

        def __exit__(self, *exc: object) -> None:
            os.close(self.fd)

        def fileno(self) -> int:
            return self.fd

        def write(self, data: bytes) -> None:
            os.write(self.fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(paths.os, "fdopen", CutShort)
    with pytest.raises(DiskError, match="No space left on device"):
        paths.write_private_file(target, b"x" * 10_000)
    monkeypatch.undo()
    assert not target.exists()
