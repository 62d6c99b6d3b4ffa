"""saving.py: what a try that died or failed left undone of saving a made video (its
upscale, a file, its delete) is done by the next one, on the video's own post, and the
video is never made again.

The worker runs its real code against a real manifest and a real HTTP server on loopback;
only the browser is stood in for (its cookies, user agent, and the generator's page).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError

from grokbatch.clock import iso, utc_now
from grokbatch.manifest import Manifest, Saving
from grokbatch.site.generator import GenerationResult
from tests.test_worker_saving import (
    WORKER,
    FakeGenerator,
    item0,
    make_worker,
    process_next,
)
from tests.video_server import VIDEO, ServerLog

POSTS = ["first-post", "second-post"]
ALL_STEPS = Saving(download=True, upscale=True, delete=True)


class PostGenerator(FakeGenerator):
    """A generator whose page can open a made video's post (`shows`: whether that post
    shows the video, or an exception to raise), upscale it to `hd_url` and delete it."""

    def __init__(self, hd_url: str | None = None, shows: bool | Exception = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hd_url = hd_url
        self.shows = shows
        self.opened: list[tuple[list[str], str]] = []
        self.upscales = 0
        self.deletes = 0
        self.on_started: Any = None
        self.at_upscale: Any = None  # called as the site is asked to upscale
        self.at_delete: Any = None  # called as the site is asked to delete
        # The HD copy an earlier try's upscale made (or an exception: the page broke).
        self.hd_shown: str | Exception | None = None
        self.hd_waits: list[float] = []
        self.upscale_asked = True  # whether a failed upscale clicked the site's upscale item

    def generate(self, prompt: str | None, label: str) -> GenerationResult:
        if self.on_started is not None:  # as the stream names the video's post
            self.on_started(["post-of-the-video"])
        return super().generate(prompt, label)

    def open_video_post(self, post_ids: list[str], video_url: str) -> bool:
        self.opened.append((post_ids, video_url))
        if isinstance(self.shows, Exception):
            raise self.shows
        return self.shows

    def upscale(self) -> str | None:
        self.upscales += 1
        if self.at_upscale is not None:
            self.at_upscale()
        return self.hd_url

    def wait_for_hd(self, wait_s: float) -> str | None:
        self.hd_waits.append(wait_s)
        if isinstance(self.hd_shown, Exception):
            raise self.hd_shown
        return self.hd_shown

    def delete_video(self) -> bool:
        self.deletes += 1
        if self.at_delete is not None:
            self.at_delete()
        return True


def saving_worker(run_dir: Path, generator: PostGenerator, saving: Saving = ALL_STEPS) -> Any:
    """A worker that saves videos as `saving` says; its generations name their post."""
    worker, _ = make_worker(run_dir, generator, auto_download=saving.download,
                            auto_upscale=saving.upscale, auto_delete=saving.delete)
    generator.on_started = worker._on_started
    return worker


def killed_after_made(run_dir: Path, url: str, *, posts: list[str] | None = POSTS,
                      **recorded: Any) -> Manifest:
    """A manifest whose only video the site made at `url` (on `posts`), whose worker was
    killed before it finished saving it (having recorded `recorded`)."""
    _, manifest = make_worker(run_dir, FakeGenerator())
    assert manifest.claim_next_item(WORKER) is not None
    if posts:
        manifest.update_item(0, WORKER, generation={"videoPostIds": posts,
                                                    "startedAt": "2026-12-02T07:00:00+00:00"})
    manifest.update_item(0, WORKER, video_url=url, **recorded)
    assert manifest.requeue_abandoned(frozenset({WORKER})) == [0]
    assert item0(manifest)["downloadOnly"] is True
    return manifest


def test_a_video_killed_before_its_upscale_is_upscaled_saved_and_deleted_on_its_post(
        server: tuple[str, ServerLog], run_dir: Path) -> None:
    base, _ = server
    url, hd_url = f"{base}/video.mp4", f"{base}/video_hd.mp4"
    manifest = killed_after_made(run_dir, url)
    generator = PostGenerator(hd_url=hd_url)
    process_next(saving_worker(run_dir, generator))
    item = item0(manifest)
    assert generator.generations == 0
    assert generator.opened == [(POSTS, url)]  # the post that shows the kept video
    assert (generator.upscales, generator.deletes) == (1, 1)
    assert (item["status"], item.get("downloadOnly"), item["deleted"]) == (
        "COMPLETED", None, True)
    assert (run_dir / item["video"]["path"]).read_bytes() == VIDEO
    assert (run_dir / item["hdVideo"]["path"]).read_bytes() == VIDEO
    assert item["hdVideo"]["url"] == hd_url
    assert item["attempts"] == 1


def test_a_video_killed_after_its_upscale_is_not_upscaled_again(
        server: tuple[str, ServerLog], run_dir: Path) -> None:
    base, log = server
    url, hd_url = f"{base}/video.mp4", f"{base}/video_hd.mp4"
    manifest = killed_after_made(run_dir, url, hd_video={"url": hd_url})
    generator = PostGenerator(hd_url="http://127.0.0.1:9/never-asked")
    process_next(saving_worker(run_dir, generator))
    item = item0(manifest)
    assert (generator.upscales, generator.deletes, generator.generations) == (0, 1, 0)
    assert log.requests["/video_hd.mp4"] == 1
    assert (run_dir / item["hdVideo"]["path"]).read_bytes() == VIDEO
    assert (item["status"], item["deleted"]) == ("COMPLETED", True)


def test_an_hd_copy_that_failed_to_download_is_fetched_by_a_rerun_then_the_video_deleted(
        server: tuple[str, ServerLog], run_dir: Path) -> None:
    base, log = server
    url, hd_url = f"{base}/video.mp4", f"{base}/flaky"
    log.failures_left["/flaky"] = 1000  # the HD copy cannot be had in the first run
    generator = PostGenerator(hd_url=hd_url, next_url=url)
    worker = saving_worker(run_dir, generator)
    process_next(worker)
    item = item0(worker.manifest)
    assert (item["status"], item["errorKind"], item["deleted"]) == (
        "COMPLETED", "DOWNLOAD_ERROR", False)  # not deleted: not all of it is saved
    assert item["hdVideo"] == {"url": hd_url}
    assert generator.deletes == 0

    log.failures_left["/flaky"] = 0
    assert worker.manifest.requeue_unsaved(run_dir, ALL_STEPS) == [0]
    sd_requests = log.requests["/video.mp4"]
    process_next(worker)
    item = item0(worker.manifest)
    assert log.requests["/video.mp4"] == sd_requests  # the saved file is not fetched again
    assert (run_dir / item["hdVideo"]["path"]).read_bytes() == VIDEO
    assert (item["status"], item["errorKind"], item["deleted"]) == ("COMPLETED", None, True)
    assert (generator.generations, generator.upscales, generator.deletes) == (1, 1, 1)
    assert generator.opened == [(["post-of-the-video"], url)]
    assert worker.manifest.requeue_unsaved(run_dir, ALL_STEPS) == []  # nothing left


def test_an_upscale_that_did_not_come_through_is_a_download_error_a_rerun_finishes(
        server: tuple[str, ServerLog], run_dir: Path) -> None:
    base, _ = server
    generator = PostGenerator(hd_url=None, next_url=f"{base}/video.mp4")
    worker = saving_worker(run_dir, generator)
    process_next(worker)
    item = item0(worker.manifest)
    # Not saved in full, so not "every video completed" (the run exits 1), nor deleted.
    assert (item["status"], item["errorKind"], item["deleted"]) == (
        "COMPLETED", "DOWNLOAD_ERROR", False)
    assert "upscale" in item["error"]
    assert worker.manifest.requeue_unsaved(run_dir, ALL_STEPS) == [0]
    generator.hd_shown = f"{base}/video_hd.mp4"  # the site made it after all
    process_next(worker)
    item = item0(worker.manifest)
    assert (item["errorKind"], item["deleted"], generator.upscales) == (None, True, 1)
    assert (run_dir / item["hdVideo"]["path"]).read_bytes() == VIDEO


def test_an_upscale_never_asked_of_the_site_is_not_waited_for_by_the_next_try(
        server: tuple[str, ServerLog], run_dir: Path) -> None:
    # Its menu item was never clicked: the next try waited --timeout for an HD copy the
    # site was never asked for.
    base, _ = server
    generator = PostGenerator(hd_url=None, next_url=f"{base}/video.mp4")
    generator.upscale_asked = False
    worker = saving_worker(run_dir, generator)
    process_next(worker)
    item = item0(worker.manifest)
    assert (item["status"], item["errorKind"], item["hdVideo"]) == (
        "COMPLETED", "DOWNLOAD_ERROR", None)
    assert worker.manifest.requeue_unsaved(run_dir, ALL_STEPS) == [0]  # still to do
    generator.hd_url, generator.upscale_asked = f"{base}/video_hd.mp4", True
    process_next(worker)
    item = item0(worker.manifest)
    assert generator.hd_waits == []  # asked at once
    assert (item["errorKind"], generator.upscales) == (None, 2)
    assert (run_dir / item["hdVideo"]["path"]).read_bytes() == VIDEO


def test_a_post_that_will_not_load_leaves_the_upscale_and_delete_to_a_rerun(
        server: tuple[str, ServerLog], run_dir: Path, log_lines: list[str]) -> None:
    base, _ = server
    url = f"{base}/video.mp4"
    manifest = killed_after_made(run_dir, url)
    generator = PostGenerator(shows=PlaywrightError("net::ERR_CONNECTION_REFUSED"))
    process_next(saving_worker(run_dir, generator))
    item = item0(manifest)
    assert (run_dir / item["video"]["path"]).read_bytes() == VIDEO  # what could be, is saved
    assert (item["status"], item["hdVideo"], item["deleted"]) == ("COMPLETED", None, False)
    assert (generator.upscales, generator.deletes, generator.generations) == (0, 0, 0)
    assert any("its post did not load" in line and "a rerun tries again" in line
               for line in log_lines)
    assert manifest.requeue_unsaved(run_dir, ALL_STEPS) == [0]


def test_a_post_that_shows_another_video_is_not_upscaled_or_deleted(
        server: tuple[str, ServerLog], run_dir: Path) -> None:
    base, _ = server
    manifest = killed_after_made(run_dir, f"{base}/video.mp4")
    generator = PostGenerator(hd_url=f"{base}/video_hd.mp4", shows=False)
    process_next(saving_worker(run_dir, generator))
    item = item0(manifest)
    assert (generator.upscales, generator.deletes) == (0, 0)
    assert (item["status"], item["deleted"]) == ("COMPLETED", False)


def test_a_video_whose_post_is_unknown_is_saved_and_left_on_the_site_for_good(
        server: tuple[str, ServerLog], run_dir: Path, log_lines: list[str]) -> None:
    # Made by a grokbatch that did not keep a video's post: nowhere to upscale or delete it.
    base, _ = server
    manifest = killed_after_made(run_dir, f"{base}/video.mp4", posts=None)
    generator = PostGenerator(hd_url=f"{base}/video_hd.mp4")
    process_next(saving_worker(run_dir, generator))
    item = item0(manifest)
    assert generator.opened == []
    assert (run_dir / item["video"]["path"]).read_bytes() == VIDEO
    assert (item["status"], item["deleted"]) == ("COMPLETED", False)
    assert any("its post is not known" in line for line in log_lines)
    assert manifest.requeue_unsaved(run_dir, ALL_STEPS) == []  # a rerun could do no more


def test_a_rerun_that_adds_upscale_or_delete_leaves_the_videos_already_done_alone(
        server: tuple[str, ServerLog], run_dir: Path) -> None:
    base, _ = server
    generator = PostGenerator(next_url=f"{base}/video.mp4")
    worker = saving_worker(run_dir, generator, Saving(download=True))
    process_next(worker)
    assert item0(worker.manifest)["status"] == "COMPLETED"
    assert worker.manifest.requeue_unsaved(run_dir, ALL_STEPS) == []
    assert generator.opened == []


def test_a_video_made_anew_forgets_the_hd_copy_and_delete_of_the_one_the_site_lost(
        run_dir: Path) -> None:
    manifest = killed_after_made(run_dir, "http://127.0.0.1:9/gone",
                                 hd_video={"url": "http://127.0.0.1:9/gone_hd"}, deleted=True)
    assert manifest.claim_next_item(WORKER) is not None
    assert manifest.make_anew(0, WORKER)
    item = item0(manifest)
    assert item["videoUrl"] is None
    # Gone, not null: a rerun that adds --upscale must not take the new video for one its
    # own run asked to upscale.
    assert "hdVideo" not in item and "deleted" not in item


def test_a_video_deleted_by_a_try_that_died_before_it_said_so_is_recorded_deleted(
        server: tuple[str, ServerLog], run_dir: Path) -> None:
    # Its files were recorded before the site was asked to delete it; the site did, and
    # the worker died. The next try finds the post without it and the site without the
    # video (404): it is deleted, not made again.
    base, _ = server
    (run_dir / "videos").mkdir()
    for name in ("0.mp4", "0-hd.mp4"):
        (run_dir / "videos" / name).write_bytes(VIDEO)
    record = {"bytes": len(VIDEO), "sha256": "-"}
    manifest = killed_after_made(
        run_dir, f"{base}/gone", video={**record, "path": "videos/0.mp4"},
        hd_video={**record, "path": "videos/0-hd.mp4", "url": f"{base}/gone-hd"})
    generator = PostGenerator(shows=False, next_url=f"{base}/video.mp4")
    process_next(saving_worker(run_dir, generator))
    item = item0(manifest)
    assert (item["status"], item["deleted"], item["videoUrl"]) == (
        "COMPLETED", True, f"{base}/gone")
    assert (generator.generations, generator.upscales, generator.deletes) == (0, 0, 0)
    assert manifest.requeue_unsaved(run_dir, ALL_STEPS) == []  # done for good


def test_the_files_and_the_upscale_are_recorded_before_the_site_is_asked(
        server: tuple[str, ServerLog], run_dir: Path) -> None:
    base, _ = server
    generator = PostGenerator(hd_url=f"{base}/video_hd.mp4", next_url=f"{base}/video.mp4")
    worker = saving_worker(run_dir, generator)
    seen: dict[str, Any] = {}
    generator.at_upscale = lambda: seen.update(upscale=item0(worker.manifest))
    generator.at_delete = lambda: seen.update(delete=item0(worker.manifest))
    process_next(worker)
    # A death during the upscale leaves its time: the next try waits for it, not asks again.
    assert set(seen["upscale"]["hdVideo"]) == {"askedAt", "waitSeconds"}
    assert seen["upscale"]["hdVideo"]["waitSeconds"] == worker.spec.timeout_s
    # A death during the delete leaves both files recorded: the next try makes nothing.
    assert seen["delete"]["video"]["path"] and seen["delete"]["hdVideo"]["path"]
    assert "deleted" not in seen["delete"]
    assert item0(worker.manifest)["deleted"] is True


@pytest.mark.parametrize("made_meanwhile", [True, False])
def test_an_upscale_an_earlier_try_asked_for_is_waited_for_before_another_is_asked(
        server: tuple[str, ServerLog], run_dir: Path, made_meanwhile: bool) -> None:
    base, _ = server
    hd_url = f"{base}/video_hd.mp4"
    manifest = killed_after_made(run_dir, f"{base}/video.mp4",
                                 hd_video={"askedAt": "2000-01-01T00:00:00+00:00"})
    generator = PostGenerator(hd_url=hd_url)
    generator.hd_shown = hd_url if made_meanwhile else None
    process_next(saving_worker(run_dir, generator))
    item = item0(manifest)
    assert generator.hd_waits == [0.0]  # its time is long over: one look, no wait
    assert generator.upscales == (0 if made_meanwhile else 1)
    assert (run_dir / item["hdVideo"]["path"]).read_bytes() == VIDEO
    assert item["deleted"] is True


def test_a_rerun_with_a_shorter_timeout_waits_the_time_the_asking_try_gave_the_upscale(
        server: tuple[str, ServerLog], run_dir: Path) -> None:
    base, _ = server
    hd_url = f"{base}/video_hd.mp4"
    asked_at = iso(utc_now() - timedelta(seconds=5))
    killed_after_made(run_dir, f"{base}/video.mp4",
                      hd_video={"askedAt": asked_at, "waitSeconds": 90.0})
    generator = PostGenerator(hd_url=hd_url)
    generator.hd_shown = hd_url
    worker = saving_worker(run_dir, generator)
    assert worker.spec.timeout_s < 85  # this run's own --timeout is shorter
    process_next(worker)
    (waited,) = generator.hd_waits
    assert 80 < waited <= 85  # what is left of the asking try's 90 s
    assert generator.upscales == 0


def test_a_post_that_breaks_while_an_earlier_upscale_is_waited_for_asks_for_no_other(
        server: tuple[str, ServerLog], run_dir: Path) -> None:
    base, _ = server
    asked = {"askedAt": "2000-01-01T00:00:00+00:00"}
    manifest = killed_after_made(run_dir, f"{base}/video.mp4", hd_video=asked)
    generator = PostGenerator(hd_url=f"{base}/video_hd.mp4")
    generator.hd_shown = PlaywrightError("Target page, context or browser has been closed")
    process_next(saving_worker(run_dir, generator))
    item = item0(manifest)
    assert generator.upscales == 0
    assert (item["hdVideo"], item["deleted"]) == (asked, False)  # a rerun looks again
    assert manifest.requeue_unsaved(run_dir, ALL_STEPS) == [0]


def test_a_rerun_without_upscale_saves_the_hd_copy_its_run_had_before_it_deletes(
        server: tuple[str, ServerLog], run_dir: Path) -> None:
    base, log = server
    hd_url = f"{base}/video_hd.mp4"
    manifest = killed_after_made(run_dir, f"{base}/video.mp4", hd_video={"url": hd_url})
    generator = PostGenerator()
    process_next(saving_worker(run_dir, generator, Saving(download=True, delete=True)))
    item = item0(manifest)
    assert log.requests["/video_hd.mp4"] == 1
    assert (run_dir / item["hdVideo"]["path"]).read_bytes() == VIDEO
    assert (item["deleted"], generator.upscales) == (True, 0)
