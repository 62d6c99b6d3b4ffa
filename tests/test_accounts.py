"""accounts.py without a browser: removing an account, and what a failed add leaves."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grokbatch import accounts
from grokbatch.cli.app import main
from grokbatch.errors import DiskError


@contextlib.contextmanager
def _read_only_disk() -> Iterator[None]:
    """Every unlink and rmdir fails as on a read-only file system (even for root)."""

    def refuse(path: object, *args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "unlink", refuse)
        patch.setattr(os, "rmdir", refuse)
        yield


def _run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["grokbatch", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return int(exited.value.code or 0)


def test_remove_on_a_read_only_disk_raises_naming_path_and_cause(
    fake_account: Callable[..., Path]
) -> None:
    profile = fake_account("acct")
    with _read_only_disk(), pytest.raises(DiskError, match="Read-only file system") as info:
        accounts.remove_account("acct")
    assert str(profile.parent) in str(info.value)
    assert info.value.exit_code == 1
    assert profile.is_dir()


def test_accounts_remove_that_fails_says_so_and_exits_1(
    fake_account: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    profile = fake_account("acct")
    with _read_only_disk():
        code = _run_main(monkeypatch, "accounts", "remove", "acct")
    captured = capsys.readouterr()
    assert code == 1
    assert "removed" not in captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("grokbatch: error: account acct was not removed: cannot remove ")
    assert str(profile.parent) in lines[0] and lines[0].endswith("Read-only file system")
    assert [a.alias for a in accounts.list_accounts()] == ["acct"]


def test_accounts_remove_that_works_still_says_removed(
    fake_account: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], grokbatch_home: Path
) -> None:
    fake_account("gone")
    assert _run_main(monkeypatch, "accounts", "remove", "gone") == 0
    assert "account gone removed" in capsys.readouterr().out
    assert not (grokbatch_home / "accounts" / "gone").exists()


def test_an_account_a_live_run_uses_is_not_removed(
    fake_account: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    # It was removed, and each worker started after it (and each replacement) crashed.
    from grokbatch import paths
    from grokbatch.locks import job_lock
    from grokbatch.manifest import Manifest

    profile = fake_account("acct")
    for job, alias in (("busy", "acct"), ("other", "someone")):
        Manifest.create(paths.manifest_file(job), job_name=job, account_alias=alias,
                        permalink="http://127.0.0.1:9/imagine/post/x", count=1, prompt=None)
    with job_lock("busy"):
        assert accounts.jobs_running_on("acct") == ["busy"]
        code = _run_main(monkeypatch, "accounts", "remove", "acct")
        assert code == 4
        assert capsys.readouterr().err.strip() == (
            "grokbatch: error: account acct is in use by a live run of job busy: wait for "
            "it or stop it first")
        assert profile.is_dir()
    assert accounts.jobs_running_on("acct") == []
    assert _run_main(monkeypatch, "accounts", "remove", "acct") == 0  # once the run is over
    assert not profile.exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--browser-path", "/nonexistent/chromium"], "does not exist"),
        (["--timeout", "nan"], "--timeout must be positive and at most 3600 seconds"),
        (["--url", "http://127.0.0.1:99999/imagine"], "not a valid URL"),
    ],
)
def test_accounts_add_with_bad_input_exits_2_and_writes_nothing(
    cli: Callable[..., subprocess.CompletedProcess[str]], grokbatch_home: Path,
    flags: list[str], message: str
) -> None:
    result = cli("accounts", "add", "fresh", "--headless", *flags)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert list(grokbatch_home.iterdir()) == []


def test_a_failed_import_leaves_no_account(grokbatch_home: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "chrome"
    (source / "Default").mkdir(parents=True)
    (source / "Local State").write_text("{}")

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(accounts, "copy_profile", full)
    with pytest.raises(DiskError, match="No space left on device"):
        accounts.import_account("copied", source)
    assert not (grokbatch_home / "accounts" / "copied").exists()


def test_importing_from_a_directory_that_is_not_there_says_so(grokbatch_home: Path,
                                                                tmp_path: Path) -> None:
    with pytest.raises(accounts.UsageError, match="does not exist"):
        accounts.import_account("copied", tmp_path / "no-such-profile")
    assert not (grokbatch_home / "accounts" / "copied").exists()


def test_a_profile_a_live_browser_holds_is_not_imported_and_a_stale_lock_is_no_bar(
    grokbatch_home: Path, tmp_path: Path
) -> None:
    # It was copied while the browser wrote it, with "imported" and exit 0.
    import socket

    source = tmp_path / "chrome"
    (source / "Default").mkdir(parents=True)
    (source / "Local State").write_text("{}")
    lock = source / "SingletonLock"
    os.symlink(f"{socket.gethostname()}-{os.getpid()}", lock)  # this process: alive
    with pytest.raises(accounts.UsageError, match=rf"in use by a running browser \(PID "
                                                  rf"{os.getpid()}\): close it first"):
        accounts.import_account("copied", source)
    assert not (grokbatch_home / "accounts" / "copied").exists()
    lock.unlink()
    os.symlink(f"{socket.gethostname()}-999999999", lock)  # a browser long gone
    assert accounts.import_account("copied", source).alias == "copied"


def test_an_empty_profile_path_is_not_the_current_directory(grokbatch_home: Path) -> None:
    with pytest.raises(accounts.UsageError, match="--from-chrome-profile is empty"):
        accounts.import_account("copied", "")


def test_importing_a_profile_without_a_session_says_a_run_would_stop(
    grokbatch_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "chrome"
    (source / "Default").mkdir(parents=True)
    (source / "Local State").write_text("{}")
    code = _run_main(monkeypatch, "accounts", "import", "bare", "--from-chrome-profile",
                     str(source))
    assert code == 0
    err = capsys.readouterr().err
    assert "the profile holds no session for https://grok.com" in err
    assert "a run would stop as signed out" in err


def test_an_account_whose_site_url_no_longer_parses_is_still_listed(
    fake_account: Callable[..., Path]
) -> None:
    profile = fake_account("odd")
    (profile.parent / "account.json").write_text('{"siteUrl": "http://[::1/imagine"}')
    [account] = accounts.list_accounts()
    assert (account.alias, account.looks_signed_in) == ("odd", False)
