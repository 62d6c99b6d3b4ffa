"""What a worker does with a video the site made: upscale, download, delete, as configured.

Saving never raises: whatever breaks (the network, the disk, the site), the item ends as
DOWNLOAD_ERROR with the video's URL kept, so a rerun only finishes saving it. What a try
that died or failed left undone (the upscale, a file, the delete) is done by the next one,
on the video's own post (`fetch_again`). The only failure that makes a video again is the
site saying it no longer has it (404/410).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loguru import logger
from playwright.sync_api import BrowserContext
from playwright.sync_api import Error as PlaywrightError

from grokbatch.downloads import MB, browser_identity, download_video
from grokbatch.errors import DownloadError, VideoGoneError
from grokbatch.logs import first_line
from grokbatch.manifest import (
    DELETE,
    HD_FILE,
    UPSCALE,
    VIDEO_FILE,
    Item,
    ItemStatus,
    Manifest,
    left_to_save,
)
from grokbatch.outcomes import Outcome
from grokbatch.paths import RunFiles
from grokbatch.run.worker_protocol import Events, WorkerSpec, WorkerState
from grokbatch.site.generator import VideoGenerator


class VideoSaver:
    """Saves one worker's made videos, recording each step in the manifest."""

    def __init__(self, spec: WorkerSpec, manifest: Manifest, events: Events) -> None:
        self.spec = spec
        self.manifest = manifest
        self.events = events

    def fetch_again(self, item: Item, context: BrowserContext,
                    generator: VideoGenerator) -> bool:
        """An item the site already made (at its `videoUrl`): finish saving it as this run
        saves videos (`left_to_save`: what an earlier try did not do, that died or failed
        on the way), never make it again. False if the site no longer has it: it is to be
        made anew (`Manifest.make_anew`)."""
        spec, index, url = self.spec, item["index"], item.get("videoUrl")
        assert url, "only an item holding its video's URL is fetched again"
        left = left_to_save(item, spec.run_dir, spec.saving)
        on_post = bool(left & {UPSCALE, DELETE}) and self._open_post(item, url, generator)
        changes, gone = self._save(index, url, item, left, on_post, context, generator)
        if gone:
            logger.warning("{}: video #{}: {}", spec.worker_id, index, changes.get("error"))
            return False
        if not changes.get("error_kind"):
            changes.update(error=None, error_kind=None)
            if left & {VIDEO_FILE, HD_FILE}:
                logger.info("{}: video #{} downloaded again", spec.worker_id, index)
        self.manifest.update_item(index, spec.worker_id, status=ItemStatus.COMPLETED,
                                  download_only=None, **changes)
        outcome = Outcome.DOWNLOAD_ERROR if changes.get("error_kind") else Outcome.COMPLETED
        self.events.item_done(index, outcome.value)
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
        if UPSCALE in left:  # (None: asked for and not had, which a rerun asks again)
            if on_post:
                self.events.state(WorkerState.UPSCALING, item=index)
                hd_url = generator.upscale()
            changes["hd_video"] = None if hd_url is None else {"url": hd_url}
            if hd_url:  # kept at once, as the video's own URL is
                self.manifest.update_item(index, spec.worker_id, hd_video=changes["hd_video"])
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
        if DELETE in left:  # a video is deleted from the site only once all of it is saved
            changes["deleted"] = all(saved.values()) and on_post and generator.delete_video()
        return changes, False

    def _open_post(self, item: Item, url: str, generator: VideoGenerator) -> bool:
        """Open the post of the item's made video, for its upscale or delete: True once the
        page shows it. Otherwise the log says why, and those steps wait for a rerun."""
        spec, index = self.spec, item["index"]
        generation = item.get("generation")
        posts = list(generation["videoPostIds"]) if generation else []
        if not posts:
            logger.warning("{}: video #{}: its post is not known (it was made before "
                           "grokbatch kept it), so it cannot be upscaled or deleted here",
                           spec.worker_id, index)
            return False
        self.events.state(WorkerState.LOOKING, item=index)
        try:
            if generator.open_video_post(posts, url):
                return True
            why = "its post does not show it"
        except PlaywrightError as exc:
            why = f"its post did not load: {first_line(str(exc))}"
        logger.warning("{}: video #{}: {}, so it is not upscaled or deleted now; a rerun "
                       "tries again", spec.worker_id, index, why)
        return False

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
            return ({"video": None, "error": reason, "error_kind": Outcome.DOWNLOAD_ERROR.value},
                    gone)
        return {"video": video.to_json()}, False
