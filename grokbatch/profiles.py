"""Per-worker copies of an account's browser profile, and their cleanup.

Two Chromium processes cannot share one user-data directory, so every worker gets its own
copy. Only what a signed-in session needs is copied (cookies, local storage, IndexedDB,
preferences, `Local State`); caches, crash dumps and stale `Singleton*` locks never are:
they are most of a real profile's size, and a copied lock makes Chromium refuse to start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from grokbatch import paths
from grokbatch.errors import DiskError, JobLockedError
from grokbatch.locks import job_lock
from grokbatch.paths import PRIVATE_DIR_MODE, make_private_dir
from grokbatch.processes import kill_now

# Directory and file names that are caches or per-process state, at any depth.
SKIPPED_NAMES = frozenset(
    {
        "Cache",
        "Code Cache",
        "GPUCache",
        "DawnCache",
        "DawnGraphiteCache",
        "DawnWebGPUCache",
        "GrShaderCache",
        "GraphiteDawnCache",
        "ShaderCache",
        "CacheStorage",  # service-worker caches
        "ScriptCache",
        "blob_storage",
        "Crashpad",
        "Crash Reports",
        "BrowserMetrics",
        "component_crx_cache",
        "extensions_crx_cache",
        "optimization_guide_model_store",
        "OptimizationHints",
        "Safe Browsing",
        "SafetyTips",
        "hyphen-data",
        "Subresource Filter",
        "MEIPreload",
        "WidevineCdm",
        "segmentation_platform",
        "GCM Store",
        "Download Service",
        "History",  # browsing history: not part of a session
        "History-journal",
        "Favicons",
        "Favicons-journal",
        "Top Sites",
        "Top Sites-journal",
        "Visited Links",
        "DevToolsActivePort",
    }
)
SKIPPED_PREFIXES = ("Singleton", "BrowserMetrics", ".org.chromium.")


# ioctl number of FICLONE (Linux): a copy-on-write clone on btrfs, XFS and other
# reflink-capable file systems; elsewhere it fails at once and we copy the bytes.
_FICLONE = 0x40049409


def _clone_or_copy(src: Path, dst: Path) -> None:
    """Copy one file, as a copy-on-write clone where the file system offers one."""
    try:
        import fcntl

        with open(src, "rb") as fin, open(dst, "wb") as fout:
            fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
    except (ImportError, OSError):
        shutil.copyfile(src, dst)
    shutil.copystat(src, dst)


def _skip(name: str) -> bool:
    return name in SKIPPED_NAMES or name.startswith(SKIPPED_PREFIXES)


@dataclass(frozen=True)
class CopyStats:
    """What a profile copy cost."""

    files: int
    bytes: int


def copy_profile(source: Path, target: Path) -> CopyStats:
    """Copy the session-bearing parts of the profile at `source` into `target` (0700).

    A copy the disk refuses (full, read-only) is a DiskError naming `target`: a worker
    then stops the run, which every other worker, and any replacement, would meet too.
    """
    if not source.is_dir():
        raise FileNotFoundError(f"profile {source} does not exist")
    try:
        return _copy_tree(source, target)
    except DiskError:
        raise
    except OSError as exc:
        raise DiskError.from_os_error("copy the account's profile to", target, exc) from None


def _copy_tree(source: Path, target: Path) -> CopyStats:
    files = 0
    copied = 0
    make_private_dir(target)
    for root, dirs, names in os.walk(source):
        dirs[:] = [d for d in dirs if not _skip(d)]
        rel = Path(root).relative_to(source)
        out_dir = target / rel
        out_dir.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        for name in names:
            if _skip(name):
                continue
            src = Path(root) / name
            if src.is_symlink() or not src.is_file():
                continue
            with contextlib.suppress(FileNotFoundError):  # Chromium may delete as we copy
                _clone_or_copy(src, out_dir / name)
                files += 1
                copied += src.stat().st_size
    return CopyStats(files=files, bytes=copied)


def browsers_using(root: Path) -> list[int]:
    """PIDs of browser main processes whose user-data dir is `root` or below it.

    Playwright starts Chromium in a session of its own, so killing a worker's process group
    misses it; its command line names its profile, which is how it is found (Linux /proc;
    elsewhere nothing is found and the driver's pipe closing ends the browser).
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    prefixes = {f"--user-data-dir={form}".encode() for form in (root, Path(root).resolve())}
    found: list[int] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg == p or arg.startswith(p + b"/") for arg in args for p in prefixes):
            found.append(int(entry.name))
    return found


def kill_browsers_using(root: Path) -> int:
    """Kill every browser using a profile at or below `root`, with all its processes
    (renderers and helpers share its process group); return how many browsers."""
    pids = browsers_using(root)
    for pid in pids:
        kill_now(pid, group=True)
        kill_now(pid)
    return len(pids)


def remove_profile(path: Path) -> None:
    """Delete a profile copy; missing is fine, and so is a part that will not go."""
    shutil.rmtree(path, ignore_errors=True)


def remove_tree(path: Path) -> None:
    """Delete `path` and everything in it, or raise DiskError naming the first file that
    could not be removed and why (a read-only disk, a file marked immutable)."""
    failures: list[tuple[str, BaseException]] = []

    def record(failed: str, exc: BaseException) -> None:
        if not isinstance(exc, FileNotFoundError):  # Chromium may delete as we do
            failures.append((failed, exc))

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=lambda function, failed, exc: record(failed, exc))
    else:
        shutil.rmtree(path, onerror=lambda function, failed, info: record(failed, info[1]))
    if failures:
        failed, exc = failures[0]
        cause = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DiskError(f"cannot remove {failed}: {cause}")


def tree_size(path: Path) -> int:
    """Total bytes of the files under `path`."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


# Copies a look at a dead run (`clean_dead_run`) set aside, to delete without the lock.
_REMOVING_PREFIX = ".worker-profiles.removing-"


def clear_worker_profiles(job: str, *, keep_copies: bool = False) -> None:
    """Kill any browser still running on this job's worker profiles and delete the copies
    (they hold session cookies), unless `keep_copies`: a run kept them on purpose. Call only
    while holding the job's lock, or when it is free: then no live run uses them."""
    root = paths.run_files(job).worker_profiles
    if kill_browsers_using(root):
        logger.debug("job {}: stopped browsers a finished run left behind", job)
    if not keep_copies:
        remove_profile(root)
        if root.exists():  # a read-only disk, say: the user must know cookies stay there
            logger.warning("job {}: the workers' profile copies (they hold the session's "
                           "cookies) could not all be removed from {}; the next run of the "
                           "job removes them, or delete them yourself", job, root)
    for left in root.parent.glob(f"{_REMOVING_PREFIX}*"):  # by a look that did not finish
        remove_profile(left)


def clean_dead_run(job: str, *, keep_copies: bool = False) -> None:
    """What a dead run of `job` left, if none is live: its browsers stopped, its profile
    copies removed unless it kept them on purpose (`keep_copies`, from --keep-profiles).

    The job's lock is held for an instant only, and says no holder: a run that starts
    meanwhile waits for it rather than being told the job is running (a look is not a
    run). The copies are set aside under the lock and deleted after it.
    """
    root = paths.run_files(job).worker_profiles
    if not root.exists():
        return
    aside: Path | None = None
    with contextlib.suppress(JobLockedError), job_lock(job, record_holder=False):
        if kill_browsers_using(root):
            logger.debug("job {}: stopped browsers a finished run left behind", job)
        if not keep_copies:
            aside = root.with_name(f"{_REMOVING_PREFIX}{os.getpid()}")
            try:
                root.rename(aside)
            except OSError:
                aside = root  # deleted where it is, as soon as the lock is let go
    for left in ([aside] if aside is not None else []) + list(
            root.parent.glob(f"{_REMOVING_PREFIX}*")):
        remove_profile(left)
