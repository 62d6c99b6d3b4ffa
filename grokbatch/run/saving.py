"""What a worker does with a video the site made: upscale, download, delete, as configured.

Saving never raises: whatever breaks (the network, the disk, the site), the item ends as
DOWNLOAD_ERROR with the video's URL kept, so a rerun only downloads it. The only failure
that makes a video again is the site saying it no longer has it (404/410).
"""

from __future__ import annotations

from typing import Any

from loguru import logger
from playwright.sync_api import BrowserContext

from grokbatch.downloads import MB, browser_identity, download_video
from grokbatch.errors import DownloadError, VideoGoneError
from grokbatch.manifest import Item, ItemStatus, Manifest
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
        """An item the site already made (at its `videoUrl`): save it, never make it again.
        False if the site no longer has it: it is to be made anew (`Manifest.make_anew`)."""
        spec, index, url = self.spec, item["index"], item.get("videoUrl")
        assert url, "only an item holding its video's URL is fetched again"
        outcome = Outcome.COMPLETED
        fetched: dict[str, Any] = {}
        if spec.auto_download:
            self.events.state(WorkerState.DOWNLOADING, item=index)
            fetched, gone = self.download(index, url, context, generator)
            if gone:
                logger.warning("{}: video #{}: {}", spec.worker_id, index, fetched.get("error"))
                return False
            if fetched.get("video"):
                fetched.update(error=None, error_kind=None)
                logger.info("{}: video #{} downloaded again", spec.worker_id, index)
            else:
                outcome = Outcome.DOWNLOAD_ERROR
        self.manifest.update_item(index, spec.worker_id, status=ItemStatus.COMPLETED,
                                  download_only=None, **fetched)
        self.events.item_done(index, outcome.value)
        self.events.state(WorkerState.IDLE)
        return True

    def after_generation(self, index: int, video_url: str | None, context: BrowserContext,
                         generator: VideoGenerator) -> dict[str, Any]:
        """Upscale, download and delete, as configured; the manifest changes they make."""
        spec = self.spec
        changes: dict[str, Any] = {}
        if not video_url:
            return changes
        hd_url = None
        if spec.auto_upscale:
            self.events.state(WorkerState.UPSCALING, item=index)
            hd_url = generator.upscale()
            changes["hd_video"] = None if hd_url is None else {"url": hd_url}
            if hd_url:  # kept at once, as the video's own URL is
                self.manifest.update_item(index, spec.worker_id, hd_video=changes["hd_video"])
        saved_all = True
        if spec.auto_download:
            self.events.state(WorkerState.DOWNLOADING, item=index)
            changes.update(self.download(index, video_url, context, generator)[0])
            saved_all = changes.get("video") is not None
            if hd_url:
                hd, _ = self.download(index, hd_url, context, generator, suffix="-hd")
                if hd.get("video"):
                    changes["hd_video"] = {**hd["video"], "url": hd_url}
                else:
                    saved_all = False
            if spec.auto_upscale and hd_url is None:
                saved_all = False
        if spec.auto_delete and saved_all:
            changes["deleted"] = generator.delete_video()
        return changes

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
