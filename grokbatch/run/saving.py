"""What a worker does with a video the site made: upscale, download, delete, as configured.

Saving never raises: whatever breaks (the network, the disk, the site), the item ends as
DOWNLOAD_ERROR with the video's URL kept, so a rerun only finishes saving it. What a try
that died or failed left undone (the upscale, a file, the delete) is done by the next one,
on the video's own post (`fetch_again`). The only failure that makes a video again is the
site saying it no longer has it (404/410).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from loguru import logger
from playwright.sync_api import BrowserContext
from playwright.sync_api import Error as PlaywrightError

from grokbatch.clock import now_iso, parse_iso, utc_now
from grokbatch.downloads import (
    MB,
    SaveRefusedError,
    browser_identity,
    download_video,
    video_gone,
)
from grokbatch.errors import DownloadError, VideoGoneError
from grokbatch.logs import first_line
from grokbatch.manifest import (
    DELETE,
    HD_FILE,
    UPSCALE,
    VIDEO_FILE,
    HdVideo,
    Item,
    ItemStatus,
    Manifest,
    left_to_save,
)
from grokbatch.outcomes import Outcome
from grokbatch.paths import RunFiles
from grokbatch.run.worker_protocol import Events, WorkerSpec, WorkerState
from grokbatch.site.generator import VideoGenerator

# What the post of a made video shows, when it is opened to upscale or delete it there.
_SHOWN, _NOT_SHOWN, _DELETED = "shown", "not shown", "deleted from the site"


class VideoSaver:
    """Saves one worker's made videos, recording each step in the manifest."""

    def __init__(self, spec: WorkerSpec, manifest: Manifest, events: Events) -> None:
        self.spec = spec
        self.manifest = manifest
        self.events = events
        # Why the disk refused a video's file (full, read-only), once it has: no video can
        # be saved now, so the worker stops the run once the item is recorded.
        self.disk_refused: str | None = None

    def fetch_again(self, item: Item, context: BrowserContext,
                    generator: VideoGenerator) -> bool:
        """An item the site already made (at its `videoUrl`): finish saving it as this run
        saves videos (`left_to_save`: what an earlier try did not do, that died or failed
        on the way), never make it again. False if the site no longer has it: it is to be
        made anew (`Manifest.make_anew`)."""
        spec, index, url = self.spec, item["index"], item.get("videoUrl")
        assert url, "only an item holding its video's URL is fetched again"
        left = left_to_save(item, spec.run_dir, spec.saving)
        post = self._open_post(item, url, context, generator) if left & {UPSCALE, DELETE} \
            else _NOT_SHOWN
        if post is _DELETED and VIDEO_FILE not in left:
            # Saved, and gone from the site: an earlier try deleted it and died before it
            # could say so (or someone else did). Nothing is left to do with it there.
            logger.info("{}: video #{}: saved, and the site no longer has it: deleted",
                        spec.worker_id, index)
            changes: dict[str, Any] = {"deleted": True}
            gone = False
        else:
            changes, gone = self._save(index, url, item, left, post is _SHOWN, context,
                                       generator)
        if gone:
            logger.warning("{}: video #{}: {}", spec.worker_id, index, changes.get("error"))
            return False
        if not changes.get("error_kind"):
            changes.update(error=None, error_kind=None)
            if changes.get("video") or (changes.get("hd_video") or {}).get("path"):
                logger.info("{}: video #{} saved, not made again", spec.worker_id, index)
        self.manifest.update_item(index, spec.worker_id, status=ItemStatus.COMPLETED,
                                  download_only=None, **changes)
        outcome = Outcome.DOWNLOAD_ERROR if changes.get("error_kind") else Outcome.COMPLETED
        self.events.item_done(index, outcome.value, ItemStatus.COMPLETED.value)
        self.events.state(WorkerState.IDLE)
        return True

    def after_generation(self, index: int, video_url: str | None, context: BrowserContext,
                         generator: VideoGenerator) -> dict[str, Any]:
        """Upscale, download and delete the video just made (the page shows it), as
        configured; the manifest changes they make."""
        if not video_url:
            return {}
        made: dict[str, Any] = {"videoUrl": video_url}
        left = left_to_save(made, self.spec.run_dir, self.spec.saving)
        return self._save(index, video_url, made, left, True, context, generator)[0]

    def _save(self, index: int, url: str, item: Mapping[str, Any], left: frozenset[str],
              on_post: bool, context: BrowserContext,
              generator: VideoGenerator) -> tuple[dict[str, Any], bool]:
        """Do the steps `left` of saving the video at `url` (`item` records the others as
        done); the upscale and the delete only when the page shows the video (`on_post`).
        Returns the manifest changes, and whether the site no longer has the video."""
        spec = self.spec
        changes: dict[str, Any] = {}
        hd_url = (item.get("hdVideo") or {}).get("url")
        if UPSCALE in left:  # (recorded without a URL: asked for and not had; asked again)
            hd_record = item.get("hdVideo") or None
            if on_post:
                self.events.state(WorkerState.UPSCALING, item=index)
                hd_record = self._upscale(index, hd_record, generator)
            changes["hd_video"] = hd_record
            hd_url = hd_record.get("url") if hd_record else None
            if hd_url:  # kept at once, as the video's own URL is
                self.manifest.update_item(index, spec.worker_id, hd_video=hd_record)
        saved = {VIDEO_FILE: VIDEO_FILE not in left, HD_FILE: HD_FILE not in left}
        if VIDEO_FILE in left:
            self.events.state(WorkerState.DOWNLOADING, item=index)
            fetched, gone = self.download(index, url, context, generator)
            changes.update(fetched)
            if gone:
                return changes, True
            saved[VIDEO_FILE] = fetched.get("video") is not None
        if HD_FILE in left and hd_url:
            self.events.state(WorkerState.DOWNLOADING, item=index)
            hd, _ = self.download(index, hd_url, context, generator, suffix="-hd")
            saved[HD_FILE] = hd.get("video") is not None
            if saved[HD_FILE]:
                changes["hd_video"] = {**hd["video"], "url": hd_url}
            elif saved[VIDEO_FILE]:  # the video's own failure, if any, says more
                changes.update(error=hd["error"], error_kind=hd["error_kind"])
        elif HD_FILE in left and saved[VIDEO_FILE]:  # not saved in full: a rerun asks again
            changes.update(error="no HD copy: the upscale did not come through",
                           error_kind=Outcome.DOWNLOAD_ERROR.value)
        if DELETE in left:  # a video is deleted from the site only once all of it is saved
            if all(saved.values()) and on_post:
                # Its files are recorded first: should this process die once the site has
                # deleted it, the next try finds them saved, and the video gone from the site.
                self.manifest.update_item(index, spec.worker_id, **changes)
                changes["deleted"] = generator.delete_video()
            else:
                changes["deleted"] = False
        return changes, False

    def _upscale(self, index: int, asked: HdVideo | None,
                 generator: VideoGenerator) -> HdVideo | None:
        """The HD copy of the video the page shows: waited for when an earlier try asked
        for it (`asked` says when; the site may be making it still), for the rest of its
        time, else asked for now. Its record: with its URL, or when it was asked for (None
        when the site's upscale item was never clicked: the next try asks without waiting)."""
        spec = self.spec
        asked_at = parse_iso(asked["askedAt"]) if asked and asked.get("askedAt") else None
        if asked and asked_at is not None:
            since = (utc_now() - asked_at).total_seconds()
            # The rest of the time the asking try gave it (or this run gives, if longer).
            limit = max(spec.timeout_s, asked.get("waitSeconds") or 0.0)
            wait_s = min(limit, max(0.0, limit - since))
            logger.info("{}: video #{}: an earlier try asked for its HD copy; waiting up to "
                        "{:.0f} s for it before asking again", spec.worker_id, index, wait_s)
            try:
                url = generator.wait_for_hd(wait_s)
            except PlaywrightError as exc:  # nothing is known: a rerun looks again
                logger.warning("{}: video #{}: its post did not load again while it waited for "
                               "its HD copy: {}", spec.worker_id, index, first_line(str(exc)))
                return asked
            if url:
                logger.info("{}: video #{}: the HD copy an earlier try asked for is kept, "
                            "not asked for again", spec.worker_id, index)
                return {"url": url}
        record: HdVideo = {"askedAt": now_iso(), "waitSeconds": spec.timeout_s}
        # Kept before the site is asked: should this process die now, the next try waits
        # for this upscale instead of asking for a second one.
        self.manifest.update_item(index, spec.worker_id, hd_video=record)
        url = generator.upscale()
        if url:
            return {"url": url}
        if not generator.upscale_asked:  # never clicked: no HD copy to wait for next time
            self.manifest.update_item(index, spec.worker_id, hd_video=None)
            return None
        return record

    def _open_post(self, item: Item, url: str, context: BrowserContext,
                   generator: VideoGenerator) -> str:
        """Open the post of the item's made video, for its upscale or delete: `_SHOWN` once
        the page shows it, `_DELETED` when it does not and the site no longer has the video
        (404/410), else `_NOT_SHOWN`, with a log line that says why."""
        spec, index = self.spec, item["index"]
        generation = item.get("generation")
        posts = list(generation["videoPostIds"]) if generation else []
        if not posts:
            logger.warning("{}: video #{}: its post is not known (it was made before "
                           "grokbatch kept it), so it cannot be upscaled or deleted here",
                           spec.worker_id, index)
            return _NOT_SHOWN
        self.events.state(WorkerState.LOOKING, item=index)
        try:
            if generator.open_video_post(posts, url):
                return _SHOWN
            if self._gone(url, context, generator):  # the post loaded, without it
                return _DELETED
            why = "its post does not show it"
        except PlaywrightError as exc:
            why = f"its post did not load: {first_line(str(exc))}"
        logger.warning("{}: video #{}: {}, so it is not upscaled or deleted now; a rerun "
                       "tries again", spec.worker_id, index, why)
        return _NOT_SHOWN

    def _gone(self, url: str, context: BrowserContext, generator: VideoGenerator) -> bool:
        """Whether the site says it no longer has the video at `url` (False: unknown)."""
        try:
            identity = browser_identity(context, generator.page)
        except PlaywrightError:
            return False
        return video_gone(url, identity, timeout_s=self.spec.page_load_timeout_s)

    def download(self, index: int, url: str, context: BrowserContext,
                 generator: VideoGenerator, suffix: str = "") -> tuple[dict[str, Any], bool]:
        """Save one made video: (the manifest changes, whether the site no longer has it)."""
        spec = self.spec
        try:
            identity = browser_identity(context, generator.page)
            video = download_video(url, RunFiles(spec.run_dir).video_stem(index, suffix),
                                   spec.run_dir, identity, timeout_s=spec.page_load_timeout_s,
                                   max_bytes=spec.max_video_mb * MB)
        except Exception as exc:  # whatever broke, saving must cost the file, not the video
            reason = str(exc) if isinstance(exc, DownloadError) else (
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            gone = isinstance(exc, VideoGoneError)
            if not gone:
                logger.warning("{}: video #{} made but not saved: {}; its URL is kept, only "
                               "the download is retried", spec.worker_id, index, reason)
            if isinstance(exc, SaveRefusedError):
                # The page says nothing of the disk, and a snapshot would take the room
                # the manifest needs to keep this video's URL.
                self.disk_refused = (f"the disk refused video #{index}'s file under "
                                     f"{RunFiles(spec.run_dir).videos}: {reason}")
            elif not gone:
                with contextlib.suppress(Exception):  # as every other failure leaves one
                    generator.save_debug(Outcome.DOWNLOAD_ERROR.value)
            return ({"video": None, "error": reason, "error_kind": Outcome.DOWNLOAD_ERROR.value},
                    gone)
        return {"video": video.to_json()}, False
