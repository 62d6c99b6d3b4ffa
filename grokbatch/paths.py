"""Every on-disk location grokbatch uses, in one place.

Everything lives under `GROKBATCH_HOME` when it is set (tests always set it), otherwise
under the platform's user data directory.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from grokbatch.errors import DiskError, UsageError

HOME_ENV = "GROKBATCH_HOME"

# Aliases and job names become directory names: no separators, no leading dot or dash.
# Always matched with `fullmatch`: `match` with `$` would accept a trailing newline.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_NAME_LENGTH = 64

PRIVATE_DIR_MODE = 0o700  # profiles hold session cookies
PRIVATE_FILE_MODE = 0o600  # the manifest holds the prompt
# Files grokbatch writes under its home are opened without following a symlink planted in
# their place (0 where the platform has no such flag).
NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
# The longest path we give a Unix socket: at most 107 bytes on Linux (sun_path), 103 on macOS.
MAX_SOCKET_PATH = 100


def is_valid_name(value: str | None) -> bool:
    """Whether `value` is a safe alias or job name (the whole string, no trailing newline)."""
    return bool(value) and NAME_PATTERN.fullmatch(value or "") is not None


def validate_name(value: str, what: str) -> str:
    """Return `value` if it is a safe alias or job name, else raise UsageError."""
    if not is_valid_name(value):
        raise UsageError(
            f"invalid {what} {value!r}: use 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return value


def home() -> Path:
    """The root of every file grokbatch writes."""
    env = os.environ.get(HOME_ENV)
    root = Path(env).expanduser().resolve() if env else platformdirs.user_data_path("grokbatch")
    if root.exists() and not root.is_dir():  # it read as a home with no accounts, no jobs
        raise UsageError(f"grokbatch's home {root} is not a directory"
                         + (f" (set by {HOME_ENV})" if env else ""))
    return root


def make_private_dir(path: Path) -> Path:
    """Create `path` (and parents) and make it 0700; DiskError naming it if that fails.
    The parents it creates within grokbatch's home (the home, `runs/`, `accounts/`) are
    0700 too: their entries name the jobs and accounts. Others keep the usual mode.

    A symlink someone put in its place (videos/ on another disk, say) is used as it is:
    the mode of a directory elsewhere is not ours to change.
    """
    root = home()
    try:
        missing = [parent for parent in reversed(path.parents) if not parent.exists()]
        for parent in missing:
            inside = parent == root or root in parent.parents
            parent.mkdir(mode=PRIVATE_DIR_MODE if inside else 0o777, exist_ok=True)
        path.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    except OSError as exc:
        raise DiskError.from_os_error("create directory", path, exc) from None
    try:
        # Only when it is not 0700 already: a read-only disk refuses even a chmod that
        # changes nothing, and the directory is there to be read.
        if not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) != PRIVATE_DIR_MODE:
            os.chmod(path, PRIVATE_DIR_MODE)
    except OSError as exc:
        raise DiskError.from_os_error("set 0700 on", path, exc) from None
    return path


def write_private_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` (created or truncated, 0600), never through a symlink.

    For files nobody reads while they are written (debug snapshots); a file that others
    read uses `files.write_atomically`.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | NO_FOLLOW, PRIVATE_FILE_MODE)
    except OSError as exc:
        raise DiskError.from_os_error("write", path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), PRIVATE_FILE_MODE)  # an existing file keeps its old mode
            fh.write(data)
    except OSError as exc:
        # A part of a file is no snapshot, and on a full disk it takes the room left.
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise DiskError.from_os_error("write", path, exc) from None


def accounts_dir() -> Path:
    """Directory holding one sub-directory per account."""
    return home() / "accounts"


def account_dir(alias: str) -> Path:
    """Directory of one account: `profile/` and `account.json`."""
    return accounts_dir() / validate_name(alias, "account alias")


def account_profile_dir(alias: str) -> Path:
    """The account's Chromium user-data directory."""
    return account_dir(alias) / "profile"


def account_meta_file(alias: str) -> Path:
    """The account's metadata file."""
    return account_dir(alias) / "account.json"


def runs_dir() -> Path:
    """Directory holding one sub-directory per job."""
    return home() / "runs"


def run_dir(job: str) -> Path:
    """Directory of one job."""
    return runs_dir() / validate_name(job, "job name")


@dataclass(frozen=True)
class RunFiles:
    """What one job's run directory holds: the one place their names are spelled."""

    dir: Path

    @property
    def manifest(self) -> Path:
        """The job's manifest (the work queue and run record)."""
        return self.dir / "manifest.json"

    @property
    def manifest_room(self) -> Path:
        """Room on the disk set aside for the manifest while a run is live
        (`files.set_room_aside`): a disk that fills still takes what the run must record."""
        return self.dir / ".manifest.room"

    @property
    def lock(self) -> Path:
        """Held for the whole of a run, so that two runs of one job cannot overlap."""
        return self.dir / "run.lock"

    @property
    def log(self) -> Path:
        """The job's log, appended to by every run."""
        return self.dir / "run.log"

    @property
    def debug(self) -> Path:
        """Screenshots and HTML snapshots of failures."""
        return self.dir / "debug"

    @property
    def videos(self) -> Path:
        """Downloaded videos."""
        return self.dir / "videos"

    @property
    def report(self) -> Path:
        """The job's HTML report."""
        return self.dir / "report.html"

    @property
    def timeline(self) -> Path:
        """The last run's start-up timeline (for the benchmark)."""
        return self.dir / "timeline.json"

    @property
    def worker_profiles(self) -> Path:
        """Per-worker profile copies, present while a run is live."""
        return self.dir / "worker-profiles"

    def worker_profile(self, worker_id: str) -> Path:
        """One worker's profile copy."""
        return self.worker_profiles / worker_id

    def video_stem(self, index: int, suffix: str = "") -> Path:
        """A downloaded video's path without its extension: `<job>-<index>[suffix]`."""
        return self.videos / f"{self.dir.name}-{index:03d}{suffix}"


def run_files(job: str) -> RunFiles:
    """The files of job `job`'s run directory."""
    return RunFiles(run_dir(job))


def manifest_file(job: str) -> Path:
    """The job's manifest."""
    return run_files(job).manifest


def run_lock_file(job: str) -> Path:
    """Held for the whole of a run, so that two runs of one job cannot overlap."""
    return run_files(job).lock


def run_log_file(job: str) -> Path:
    """The job's log, appended to by every run."""
    return run_files(job).log


def node_compile_cache_dir() -> Path:
    """Where the Playwright driver's node keeps the code it compiled (no user data)."""
    return home() / "cache" / "node-compile-cache"


def crash_dumps_dir() -> Path:
    """Where Chromium writes crash dumps (they hold page memory: cookies, the prompt)."""
    return home() / "crash-dumps"

