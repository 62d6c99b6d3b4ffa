"""What a rerun of a job puts back in the queue, what is left of saving a made video, and
how a job grows.

Each function that takes a document changes it in place and returns what it changed (falsy
when nothing), so `Manifest` can apply it as one transaction and write only if needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from grokbatch.errors import ManifestError
from grokbatch.manifest.document import (
    LEGACY_RATE_LIMITED,
    Item,
    ItemStatus,
    ManifestDocument,
    RunStatus,
    new_item,
    requeue,
)
from grokbatch.outcomes import RETRYABLE, Outcome

_RETRYABLE_KINDS = frozenset(outcome.value for outcome in RETRYABLE)


def _failed_retryably(item: Item) -> bool:
    """Whether the item failed in a way that another attempt may mend."""
    return (item["status"] == ItemStatus.FAILED.value
            and item.get("errorKind") in _RETRYABLE_KINDS)


def retried_by_rerun(doc: ManifestDocument, max_attempts: int) -> list[Item]:
    """The items a rerun puts back in the queue: retryable FAILED ones with attempts left,
    and legacy RATE_LIMITED ones. CONTENT_MODERATED items and items that used up
    `max_attempts` stay FAILED: attempts count over every run of the job, since each may
    have cost a generation of the quota. Except one whose last try the site went on making
    (`generation`): its video is looked for, which costs none, though no other is made."""
    return [item for item in doc["items"]
            if item["status"] == LEGACY_RATE_LIMITED
            or (_failed_retryably(item)
                and (item["attempts"] < max_attempts or item.get("generation")))]


def reset_for_rerun(doc: ManifestDocument, max_attempts: int) -> list[int]:
    """Put back in the queue what a rerun retries (`retried_by_rerun`); return their
    indices."""
    reset: list[int] = []
    for item in doc["items"]:
        if item.pop("waitsForRerun", None):  # this is the rerun it waited for
            reset.append(item["index"])
    for item in retried_by_rerun(doc, max_attempts):
        requeue(item, None)
        reset.append(item["index"])
    return reset


def attempts_used_up(doc: ManifestDocument, max_attempts: int) -> list[Item]:
    """The FAILED items a rerun with `max_attempts` would retry but for the attempts they
    have had already."""
    return [item for item in doc["items"]
            if _failed_retryably(item) and item["attempts"] >= max_attempts
            and not item.get("generation")]


@dataclass(frozen=True)
class Saving:
    """What a run does with each video the site makes: its download, upscale and delete
    settings (`--download`, `--upscale`, `--delete`)."""

    download: bool
    upscale: bool = False
    delete: bool = False


# The steps of saving a made video, as `left_to_save` names them.
UPSCALE: Final = "upscale"
VIDEO_FILE: Final = "video"
HD_FILE: Final = "hd"
DELETE: Final = "delete"


def file_saved(record: Mapping[str, Any] | None, run_dir: Path) -> bool:
    """Whether a saved file's record (`video`, `hdVideo`) names a file that is there, whole."""
    if not record or not record.get("path"):
        return False
    path = run_dir / record["path"]
    return path.is_file() and path.stat().st_size == record.get("bytes")


def left_to_save(item: Mapping[str, Any], run_dir: Path, saving: Saving) -> frozenset[str]:
    """What a run saving as `saving` still has to do with the video the site made for
    `item` (at its `videoUrl`), by what the item records as done: `UPSCALE` (no HD copy
    yet), `VIDEO_FILE` and `HD_FILE` (that file is not saved; an HD copy whose URL is
    known is saved even by a run that does not upscale), `DELETE`. Nothing for a video
    deleted from the site: it cannot be fetched, upscaled or deleted any more."""
    if not item.get("videoUrl") or item.get("deleted"):
        return frozenset()
    left: set[str] = set()
    hd = item.get("hdVideo") or {}
    if saving.download and not file_saved(item.get("video"), run_dir):
        left.add(VIDEO_FILE)
    if saving.upscale and not hd.get("url"):
        left.add(UPSCALE)
    if saving.download and (saving.upscale or hd.get("url")) and not file_saved(hd, run_dir):
        left.add(HD_FILE)
    if saving.delete:
        left.add(DELETE)
    return frozenset(left)


def _left_by_its_run(item: Item, run_dir: Path, saving: Saving) -> frozenset[str]:
    """`left_to_save` for a COMPLETED item, but only the steps its own run asked for
    (its `hdVideo` says an upscale was, `deleted: false` that a delete was), and only those
    that its video's post is known for (`generation`): a rerun that only adds a flag does
    not take up the videos already done."""
    left = set(left_to_save(item, run_dir, saving))
    if "hdVideo" not in item:
        left -= {UPSCALE, HD_FILE}
    if item.get("deleted") is not False:
        left.discard(DELETE)
    if not item.get("generation"):  # nowhere to upscale or delete it
        left -= {UPSCALE, DELETE}
        if not (item.get("hdVideo") or {}).get("url"):
            left.discard(HD_FILE)
    return frozenset(left)


def requeue_unsaved(doc: ManifestDocument, run_dir: Path, saving: Saving) -> list[int]:
    """COMPLETED items whose video is not saved in full go back to PENDING, to be finished
    without generating anew (marked `downloadOnly`): a video file that is missing, or an
    HD copy or a delete that their run asked for and did not finish (`_left_by_its_run`)."""
    requeued: list[int] = []
    for item in doc["items"]:
        if item["status"] != ItemStatus.COMPLETED.value or not item.get("videoUrl"):
            continue
        if _left_by_its_run(item, run_dir, saving):
            requeue(item, None)  # it holds a videoUrl: saved, never made again
            requeued.append(item["index"])
    return requeued


def files_lost(doc: ManifestDocument, run_dir: Path) -> list[int]:
    """COMPLETED items deleted from the site once saved whose file (or HD copy) is no
    longer on disk: nothing can fetch them again."""
    return [item["index"] for item in doc["items"]
            if item["status"] == ItemStatus.COMPLETED.value and item.get("deleted")
            and any(record and record.get("path") and not file_saved(record, run_dir)
                    for record in (item.get("video"), item.get("hdVideo")))]


def extend(doc: ManifestDocument, count: int) -> int:
    """Grow a single-prompt job to `count` items; return how many were added.

    A COMPLETED job that grows is PENDING again.
    """
    if "prompts" in doc:
        raise ManifestError("a job made from a prompts file cannot be extended by --count")
    added = max(0, count - len(doc["items"]))
    for _ in range(added):
        doc["items"].append(new_item(len(doc["items"])))
    if added and doc["status"] == RunStatus.COMPLETED.value:
        doc["status"] = RunStatus.PENDING.value
    return added


def not_saved_in_full(doc: Mapping[str, Any], download: bool) -> int:
    """How many COMPLETED items hold a video the site made that is not saved in full: a
    file, or the HD copy, could not be had (DOWNLOAD_ERROR), or (when the run downloads)
    the video's file is not recorded."""
    return sum(1 for item in doc["items"]
               if item["status"] == ItemStatus.COMPLETED.value
               and (item.get("errorKind") == Outcome.DOWNLOAD_ERROR.value
                    or (download and not item.get("video"))))
