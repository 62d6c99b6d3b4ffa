"""The error hierarchy: every error grokbatch raises on purpose, each with its exit code.

The CLI maps these to one line on stderr and the exit code; nothing else decides exit codes.
"""

from __future__ import annotations

import errno


class ExitCode:
    """Process exit codes, for scripts and cron (the README's "Exit codes" table)."""

    OK = 0
    FAILED_ITEMS = 1
    FAILED = 1  # anything else that failed and is not a usage error: the disk, the site
    USAGE = 2
    AUTH_REQUIRED = 3
    JOB_LOCKED = 4
    RATE_LIMITED = 75  # EX_TEMPFAIL: "try again later", what cron wrappers expect
    INTERRUPTED = 130  # 128 + SIGINT, the shell convention


class GrokBatchError(Exception):
    """Base of every error grokbatch raises on purpose."""

    exit_code: int = ExitCode.USAGE


class UsageError(GrokBatchError):
    """A bad flag, value or combination of flags."""


class ConfigError(GrokBatchError):
    """A config file that is missing, unreadable, not JSON or holds a bad value."""


class UnknownAccountError(GrokBatchError):
    """The named account has no stored profile."""


class ManifestError(GrokBatchError):
    """A manifest that cannot be read: corrupt, truncated or of the wrong shape."""


class NotItemHolderError(ManifestError):
    """A worker tried to change a manifest item that it does not hold."""


class LockTimeoutError(ManifestError):
    """The manifest lock could not be taken in time: a process holding it is stuck."""


class LockBusyError(ManifestError):
    """A thread other than the main one found the manifest lock taken (it never waits)."""


class JobMismatchError(GrokBatchError):
    """An existing job was asked to continue with a different permalink, prompt or account."""


class NoBrowserError(GrokBatchError):
    """No Chromium or Chrome executable could be found."""


class DiskError(GrokBatchError, OSError):
    """A file or directory could not be written or removed: disk full, read-only, denied.

    Also an OSError, so code that handles OSError handles it unchanged.
    """

    exit_code = ExitCode.FAILED

    @classmethod
    def from_os_error(cls, action: str, path: object, exc: OSError) -> DiskError:
        """`cannot <action> <path>: <cause>`, for the OSError `exc` (its errno kept)."""
        error = cls(f"cannot {action} {path}: {exc.strerror or exc}")
        error.errno = exc.errno
        return error

    @property
    def disk_full(self) -> bool:
        """Whether the disk had no room left (or the user's quota on it none)."""
        return self.errno in (errno.ENOSPC, errno.EDQUOT)

    @property
    def advice(self) -> str | None:
        """What to do, where a command ends with it: for a disk with no room or one that
        may not be written; None for anything else (a file where a directory should be)."""
        if self.disk_full:
            return "free space, then rerun the same command"
        if self.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return "make it writable, then rerun the same command"
        return None


class SiteUnreachableError(GrokBatchError):
    """The site (or the simulator) could not be reached."""

    exit_code = ExitCode.FAILED


class InterruptedBySignalError(GrokBatchError):
    """SIGINT or SIGTERM stopped the command after it cleaned up."""

    exit_code = ExitCode.INTERRUPTED


class AuthRequiredError(GrokBatchError):
    """The account's stored session is not signed in."""

    exit_code = ExitCode.AUTH_REQUIRED


class JobLockedError(GrokBatchError):
    """Another run of the same job holds its lock."""

    exit_code = ExitCode.JOB_LOCKED


class CooldownError(GrokBatchError):
    """The job stopped on a rate limit and its cooldown has not passed yet."""

    exit_code = ExitCode.RATE_LIMITED


class SiteChallengeError(GrokBatchError):
    """The site answered with a browser check (a challenge page) instead of the app."""

    exit_code = ExitCode.AUTH_REQUIRED


class DownloadError(GrokBatchError):
    """A made video could not be fetched, checked or saved; only the download is retried."""

    exit_code = ExitCode.FAILED


class VideoGoneError(DownloadError):
    """The site answered 404/410 for the video: it no longer exists there."""


class VideoTooLargeError(DownloadError):
    """The video is larger than the configured cap; its message starts with `TOO_LARGE`
    (kept as the item's error, where the run's summary tells it from other failures)."""

    TOO_LARGE = "video larger than"


class PageMismatchError(UsageError):
    """The site's page lacks what the run's settings need: no video can be made as asked,
    so the run stops (exit 2) before it spends a try on it."""


class UnknownLanguageError(PageMismatchError):
    """The site's UI language has no words in grokbatch (and none in --selectors)."""


class OptionNotOfferedError(PageMismatchError):
    """The site's video options hold no length or resolution like the one asked for."""
