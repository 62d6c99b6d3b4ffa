"""worker.py: a video the site made is kept in the manifest before it is saved, and a
failure to save it costs at most the file, never a second generation.

The worker runs its real code against a real manifest and a real HTTP server on loopback;
only the browser is stood in for (its cookies, user agent and generator).
"""

from __future__ import annotations

import json
import multiprocessing
from multiprocessing import Pipe
from pathlib import Path
from typing import Any

import pytest

from grokbatch.manifest import Manifest, Saving
from grokbatch.outcomes import Outcome
from grokbatch.run.worker import Worker
from grokbatch.run.worker_protocol import Events, StopFlag, WorkerSpec
from grokbatch.site.generator import GenerationResult
from tests.video_server import COOKIE, VIDEO, ServerLog

WORKER = "worker-0"


class FakePage:
    def is_closed(self) -> bool:
        return False

    def evaluate(self, script: str) -> str:
        assert script == "navigator.userAgent"
        return "Mozilla/5.0 HeadlessChrome test"


class FakeContext:
    """The browser context: it has the session cookie."""

    def cookies(self, url: str) -> list[dict[str, str]]:
        name, value = COOKIE.split("=", 1)
        return [{"name": name, "value": value}]


class FakeGenerator:
    """Makes a video at `next_url` when asked (or ends as `outcome`); counts how often it
    was asked."""

    def __init__(self, next_url: str | None = None, outcome: Outcome = Outcome.COMPLETED,
                 *, clicked: bool = True) -> None:
        self.page = FakePage()
        self.next_url = next_url
        self.outcome = outcome
        self.clicked = clicked  # False: the attempt ended before its generate click
        self.generations = 0
        self.snapshots: list[str] = []

    def save_debug(self, kind: str) -> str | None:
        self.snapshots.append(kind)
        return None

    def generate(self, prompt: str | None, label: str) -> GenerationResult:
        self.generations += 1
        return GenerationResult(self.outcome, video_url=self.next_url, elapsed_s=1.0,
                                clicked=self.clicked)


def make_worker(run_dir: Path, generator: FakeGenerator, *, auto_download: bool = True,
                count: int = 1, auto_upscale: bool = False,
                auto_delete: bool = False) -> tuple[Worker, Manifest]:
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.exists():
        Manifest.create(manifest_path, job_name="job", account_alias="acct",
                        permalink="http://127.0.0.1:9/imagine/post/abc", count=count,
                        prompt="p")
    spec = WorkerSpec(
        worker_id=WORKER, account="acct", run_dir=run_dir, manifest_path=manifest_path,
        account_profile=run_dir / "unused", profile_dir=run_dir / "unused",
        permalink="http://127.0.0.1:9/imagine/post/abc", prompts=("p",), headless=True,
        timeout_s=10.0, element_timeout_s=5.0, page_load_timeout_s=10.0, browser_path=None,
        selectors_file=None, auto_download=auto_download, auto_upscale=auto_upscale,
        auto_delete=auto_delete,
    )
    conn, _ = Pipe()
    worker = Worker(spec, StopFlag(multiprocessing.get_context()), Events(conn, WORKER))
    worker.context = FakeContext()  # type: ignore[assignment]
    worker.generator = generator  # type: ignore[assignment]
    return worker, worker.manifest


def made_but_unsaved(run_dir: Path, url: str) -> Manifest:
    """A manifest whose only item the site made at `url` and which is back in the queue."""
    _, manifest = make_worker(run_dir, FakeGenerator())
    item = manifest.claim_next_item(WORKER)
    assert item is not None
    manifest.update_item(0, WORKER, video_url=url)
    manifest.release_item(0, WORKER, "worker stopped")
    return manifest


def process_next(worker: Worker) -> None:
    item = worker.manifest.claim_next_item(WORKER)
    assert item is not None
    worker._process(item, None, None)  # type: ignore[arg-type]  # no relaunch needed


def item0(manifest: Manifest) -> dict[str, Any]:
    return dict(manifest.snapshot()["items"][0])


def test_video_url_is_in_the_manifest_before_the_download_so_a_kill_then_only_downloads(
    server: tuple[str, ServerLog], run_dir: Path
) -> None:
    base, log = server
    url = f"{base}/video.mp4"
    manifest_path = run_dir / "manifest.json"
    on_disk_at_download: list[bytes] = []
    log.on_request = lambda path: on_disk_at_download.append(manifest_path.read_bytes())
    worker, manifest = make_worker(run_dir, FakeGenerator(url))
    process_next(worker)
    assert item0(manifest)["status"] == "COMPLETED"

    # What a SIGKILL at the moment the download began would have left on disk:
    at_download = json.loads(on_disk_at_download[0])["items"][0]
    assert at_download["status"] == "IN_PROGRESS"
    assert at_download["videoUrl"] == url
    manifest_path.write_bytes(on_disk_at_download[0])
    assert manifest.requeue_abandoned(frozenset({WORKER})) == [0]
    assert item0(manifest)["downloadOnly"] is True

    # The rerun's worker downloads it and never generates.
    generator = FakeGenerator()
    rerun, _ = make_worker(run_dir, generator)
    process_next(rerun)
    assert generator.generations == 0
    item = item0(manifest)
    assert (item["status"], item["videoUrl"], item.get("downloadOnly")) == ("COMPLETED", url, None)
    assert (run_dir / item["video"]["path"]).read_bytes() == VIDEO
    assert item["attempts"] == 1  # the one generation; the kill and the fetch counted none


def test_saving_that_fails_ends_as_download_error_keeping_the_url_not_as_a_crash(
    server: tuple[str, ServerLog], run_dir: Path
) -> None:
    base, _ = server
    url = f"{base}/video.mp4"
    (run_dir / "videos").write_text("a file where the folder should be")
    generator = FakeGenerator(url)
    worker, manifest = make_worker(run_dir, generator)
    process_next(worker)
    item = item0(manifest)
    assert generator.generations == 1
    assert (item["status"], item["errorKind"], item["videoUrl"]) == (
        "COMPLETED", "DOWNLOAD_ERROR", url)
    assert item["video"] is None
    assert "videos/" in item["error"]
    # The disk refused it: the page says nothing of that (a snapshot would only take room).
    assert generator.snapshots == []


def test_download_only_item_whose_download_fails_again_stays_made_and_is_not_generated(
    server: tuple[str, ServerLog], run_dir: Path
) -> None:
    base, log = server
    url = f"{base}/error"
    manifest = made_but_unsaved(run_dir, url)
    generator = FakeGenerator(f"{base}/video.mp4")
    worker, _ = make_worker(run_dir, generator)
    process_next(worker)
    item = item0(manifest)
    assert generator.generations == 0
    assert log.requests["/error"] > 0
    assert (item["status"], item["errorKind"], item["videoUrl"]) == (
        "COMPLETED", "DOWNLOAD_ERROR", url)
    assert item.get("video") is None
    assert generator.snapshots == ["DOWNLOAD_ERROR"]  # as every failure but the disk's
    # and a rerun asks for the download again, never for a generation
    assert manifest.requeue_unsaved(run_dir, Saving(download=True)) == [0]
    assert item0(manifest)["downloadOnly"] is True
    process_next(worker)
    # Fetching it twice counted no attempt: attempts count generations asked for.
    assert item0(manifest)["attempts"] == 1
    assert generator.generations == 0


def test_download_only_item_gone_from_the_site_is_generated_again_and_the_log_says_so(
    server: tuple[str, ServerLog], run_dir: Path, log_lines: list[str]
) -> None:
    base, _ = server
    manifest = made_but_unsaved(run_dir, f"{base}/gone")
    generator = FakeGenerator(f"{base}/video.mp4")
    worker, _ = make_worker(run_dir, generator)
    process_next(worker)
    item = item0(manifest)
    assert generator.generations == 1
    assert item["status"] == "COMPLETED"
    assert item["videoUrl"] == f"{base}/video.mp4"
    assert (run_dir / item["video"]["path"]).read_bytes() == VIDEO
    assert any("HTTP 404" in line for line in log_lines)
    assert any("the site no longer has it; it is made now" in line for line in log_lines)


def test_download_only_item_without_downloads_is_completed_not_generated(
    server: tuple[str, ServerLog], run_dir: Path
) -> None:
    base, log = server
    manifest = made_but_unsaved(run_dir, f"{base}/video.mp4")
    generator = FakeGenerator(f"{base}/video.mp4")
    worker, _ = make_worker(run_dir, generator, auto_download=False)
    process_next(worker)
    assert generator.generations == 0
    assert sum(log.requests.values()) == 0
    assert item0(manifest)["status"] == "COMPLETED"


def test_a_disk_that_refuses_a_made_video_stops_the_run_keeping_its_url(
    server: tuple[str, ServerLog], run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The disk had room for the manifest, not for a video: the worker made every video
    # left, none saved, each with a debug snapshot eating the room the manifest needs, and
    # the run ended "3 video(s) made but not saved" without a word of the disk.
    import errno

    from grokbatch import downloads
    from grokbatch.files import AtomicFile
    from grokbatch.run.worker_protocol import StopReason

    class FullDisk(AtomicFile):  # for the video only: the manifest still fits
        def write(self, data: bytes) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(downloads, "AtomicFile", FullDisk)
    base, _ = server
    url = f"{base}/video.mp4"
    generator = FakeGenerator(url)
    worker, manifest = make_worker(run_dir, generator, count=3)
    stops: list[tuple[StopReason, str | None]] = []
    monkeypatch.setattr(worker.events, "stop_run",
                        lambda reason, message=None: stops.append((reason, message)))
    worker._work_loop(None, None)  # type: ignore[arg-type]  # no relaunch needed
    assert generator.generations == 1  # no video is made that cannot be saved
    items = manifest.snapshot()["items"]
    assert [(i["status"], i["errorKind"], i.get("videoUrl")) for i in items] == [
        ("COMPLETED", "DOWNLOAD_ERROR", url), ("PENDING", None, None), ("PENDING", None, None)]
    assert worker.stop.is_set()
    assert stops == [(StopReason.DISK, f"the disk refused video #0's file under "
                      f"{run_dir / 'videos'}: cannot write the video: No space left on device")]
    assert generator.snapshots == []  # the page says nothing of the disk
