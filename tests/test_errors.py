"""errors.py: every error grokbatch raises on purpose is one of its own, with an exit code."""

from __future__ import annotations

import errno
import os

import pytest

from grokbatch import downloads
from grokbatch.errors import (
    DiskError,
    DownloadError,
    ExitCode,
    GrokBatchError,
    LockBusyError,
    LockTimeoutError,
    ManifestError,
    NotItemHolderError,
    VideoGoneError,
    VideoTooLargeError,
)


@pytest.mark.parametrize(
    ("error", "parent", "exit_code"),
    [
        (NotItemHolderError, ManifestError, ExitCode.USAGE),
        (LockTimeoutError, ManifestError, ExitCode.USAGE),
        (LockBusyError, ManifestError, ExitCode.USAGE),
        (DownloadError, GrokBatchError, ExitCode.FAILED),
        (VideoGoneError, DownloadError, ExitCode.FAILED),
        (VideoTooLargeError, DownloadError, ExitCode.FAILED),
    ],
)
def test_manifest_lock_and_download_errors_join_the_hierarchy_with_their_exit_code(
    error: type[GrokBatchError], parent: type[GrokBatchError], exit_code: int
) -> None:
    assert issubclass(error, parent) and issubclass(error, GrokBatchError)
    assert error("why").exit_code == exit_code
    assert error.__doc__


def test_a_refused_save_is_still_a_download_error() -> None:
    assert issubclass(downloads.SaveRefusedError, DownloadError)


@pytest.mark.parametrize(("code", "advice"), [
    (errno.ENOSPC, "free space, then rerun the same command"),
    (errno.EDQUOT, "free space, then rerun the same command"),
    (errno.EROFS, "make it writable, then rerun the same command"),
    (errno.EACCES, "make it writable, then rerun the same command"),
    (errno.ENOTDIR, None),  # a file where a directory should be: neither would help
])
def test_a_disk_error_says_what_to_do_only_where_it_knows(code: int, advice: str | None) -> None:
    error = DiskError.from_os_error("write", "/x/manifest.json", OSError(code, os.strerror(code)))
    assert str(error) == f"cannot write /x/manifest.json: {os.strerror(code)}"
    assert error.advice == advice
    assert DiskError("cannot write /x: who knows").advice is None
