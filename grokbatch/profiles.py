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
from dataclasses import dataclass
from pathlib import Path

from grokbatch.paths import PRIVATE_DIR_MODE, make_private_dir

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
    """Copy the session-bearing parts of the profile at `source` into `target` (0700)."""
    if not source.is_dir():
        raise FileNotFoundError(f"profile {source} does not exist")
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


def remove_profile(path: Path) -> None:
    """Delete a profile copy; missing is fine."""
    shutil.rmtree(path, ignore_errors=True)


def tree_size(path: Path) -> int:
    """Total bytes of the files under `path`."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
