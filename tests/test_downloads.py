"""downloads.py: streamed, size-capped, verified saves with the browser's cookies.

Against a real HTTP server on 127.0.0.1 (tests/video_server.py), never a mock of it.
"""

from __future__ import annotations

import errno
import hashlib
import stat
import tracemalloc
from pathlib import Path

import pytest

from grokbatch import downloads
from grokbatch.downloads import (
    MB,
    READ_CHUNK_BYTES,
    BrowserIdentity,
    download_video,
    video_gone,
)
from grokbatch.errors import DownloadError, VideoGoneError, VideoTooLargeError
from grokbatch.files import AtomicFile
from tests.video_server import COOKIE, VIDEO, ServerLog

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/126.0 grokbatch-test"
# A cap small enough to be crossed quickly, still ten read buffers large.
_TEST_CAP = 10 * MB
# Bytes that may sit in the two sockets' kernel buffers when the reader hangs up: counted
# as served though never read. Loopback buffers autotune up to a few MB.
_SOCKET_SLACK = 8 * MB
_TIMEOUT_S = 10.0


def identity(cookies_seen: list[str] | None = None) -> BrowserIdentity:
    """The browser's identity as the worker builds it, with one session cookie."""

    def cookies_for(url: str) -> str:
        if cookies_seen is not None:
            cookies_seen.append(url)
        return COOKIE

    return BrowserIdentity(USER_AGENT, cookies_for)


def fetch(url: str, run_dir: Path, **kwargs: object) -> downloads.VideoFile:
    return download_video(url, run_dir / "videos" / "job-000", run_dir, identity(),
                          timeout_s=_TIMEOUT_S, **kwargs)  # type: ignore[arg-type]


def files_under(folder: Path) -> list[str]:
    """Every entry, temp files included."""
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_video_is_saved_with_its_sha256_sending_the_browsers_cookie_and_user_agent(
    server: tuple[str, ServerLog], run_dir: Path
) -> None:
    base, log = server
    asked: list[str] = []
    video = download_video(f"{base}/redirect", run_dir / "videos" / "job-000", run_dir,
                           identity(asked), timeout_s=_TIMEOUT_S)
    saved = run_dir / "videos" / "job-000.mp4"
    assert video.path == "videos/job-000.mp4"
    assert saved.read_bytes() == VIDEO
    assert video.bytes == len(VIDEO)
    assert video.sha256 == hashlib.sha256(VIDEO).hexdigest()
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert files_under(run_dir / "videos") == ["job-000.mp4"]  # no temp file left
    # The server refuses the video without the cookie; the cookies are looked up per hop.
    assert asked == [f"{base}/redirect", f"{base}/video.mp4"]
    assert log.headers[-1]["Cookie"] == COOKIE
    assert log.headers[-1]["User-Agent"] == USER_AGENT


def test_video_refused_without_the_session_is_a_download_error(
    server: tuple[str, ServerLog], run_dir: Path
) -> None:
    base, log = server
    with pytest.raises(DownloadError, match="HTTP 403"):
        download_video(f"{base}/video.mp4", run_dir / "videos" / "job-000", run_dir,
                       BrowserIdentity(USER_AGENT, lambda url: ""), timeout_s=_TIMEOUT_S)
    assert log.requests["/video.mp4"] == downloads.DOWNLOAD_ATTEMPTS
    assert files_under(run_dir / "videos") == []


def test_body_over_the_cap_fails_with_the_size_reason_holding_one_buffer_at_most(
    server: tuple[str, ServerLog], run_dir: Path
) -> None:
    base, log = server
    log.big_bytes = 50 * MB
    tracemalloc.start()
    try:
        with pytest.raises(VideoTooLargeError, match="larger than 10 MB"):
            fetch(f"{base}/big-stream", run_dir, max_bytes=_TEST_CAP)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * READ_CHUNK_BYTES  # one read buffer (plus its copy), never the body
    assert log.requests["/big-stream"] == 1  # a video over the cap is not fetched again
    assert log.served["/big-stream"] <= _TEST_CAP + READ_CHUNK_BYTES + _SOCKET_SLACK
    assert files_under(run_dir / "videos") == []  # no partial file


def test_announced_length_over_the_cap_fails_before_reading_the_body(
    server: tuple[str, ServerLog], run_dir: Path
) -> None:
    base, log = server
    log.big_bytes = 50 * MB
    with pytest.raises(VideoTooLargeError, match="larger than 10 MB"):
        fetch(f"{base}/big-announced", run_dir, max_bytes=_TEST_CAP)
    assert log.served["/big-announced"] <= _SOCKET_SLACK
    assert files_under(run_dir / "videos") == []


def test_default_cap_is_200_mb() -> None:
    assert downloads.DEFAULT_MAX_VIDEO_MB == 200
    assert downloads.describe_size(downloads.DEFAULT_MAX_VIDEO_MB * MB) == "200 MB"


def test_body_that_breaks_off_is_retried_then_a_download_error_leaving_no_file(
    server: tuple[str, ServerLog], run_dir: Path
) -> None:
    base, log = server
    with pytest.raises(DownloadError, match="broke off"):
        fetch(f"{base}/broken", run_dir)
    assert log.requests["/broken"] == downloads.DOWNLOAD_ATTEMPTS
    assert files_under(run_dir / "videos") == []


@pytest.mark.parametrize("path", ["/cut-unannounced", "/header-only"])
def test_a_video_cut_short_without_the_server_saying_so_is_refused_leaving_no_file(
    server: tuple[str, ServerLog], run_dir: Path, path: str
) -> None:
    # Both were kept as videos: nothing but the first 12 bytes was checked.
    base, log = server
    with pytest.raises(DownloadError, match="not a whole video"):
        fetch(f"{base}{path}", run_dir)
    assert log.requests[path] == downloads.DOWNLOAD_ATTEMPTS  # worth another fetch
    assert files_under(run_dir / "videos") == []


def test_a_video_dripped_slower_than_the_minimum_rate_is_given_up_not_waited_for(
    server: tuple[str, ServerLog], run_dir: Path
) -> None:
    # Each byte came within the read timeout, so the download went on for days.
    base, log = server
    with pytest.raises(DownloadError, match="came too slowly"):
        download_video(f"{base}/drip", run_dir / "videos" / "job-000", run_dir, identity(),
                       timeout_s=0.5, attempts=1)
    assert log.served["/drip"] < len(VIDEO)
    assert files_under(run_dir / "videos") == []


def test_passing_server_errors_are_retried_then_the_video_is_saved(
    server: tuple[str, ServerLog], run_dir: Path
) -> None:
    base, log = server
    log.failures_left["/flaky"] = downloads.DOWNLOAD_ATTEMPTS - 1
    video = fetch(f"{base}/flaky", run_dir)
    assert (run_dir / video.path).read_bytes() == VIDEO
    assert log.requests["/flaky"] == downloads.DOWNLOAD_ATTEMPTS


def test_a_page_instead_of_a_video_is_refused(
    server: tuple[str, ServerLog], run_dir: Path
) -> None:
    base, _ = server
    with pytest.raises(DownloadError, match="not a video"):
        fetch(f"{base}/page.html", run_dir)
    assert files_under(run_dir / "videos") == []


def test_gone_video_is_reported_gone_at_once(
    server: tuple[str, ServerLog], run_dir: Path
) -> None:
    base, log = server
    with pytest.raises(VideoGoneError, match="HTTP 404"):
        fetch(f"{base}/gone", run_dir)
    assert log.requests["/gone"] == 1


def test_videos_path_that_is_not_a_directory_is_a_download_error_not_an_os_error(
    server: tuple[str, ServerLog], run_dir: Path
) -> None:
    base, _ = server
    (run_dir / "videos").write_text("a file where the folder should be")
    with pytest.raises(DownloadError, match="cannot save under videos/"):
        fetch(f"{base}/video.mp4", run_dir)


def test_full_disk_while_writing_is_a_download_error_leaving_no_partial_file(
    server: tuple[str, ServerLog], run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, log = server

    def disk_full(self: AtomicFile, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(AtomicFile, "write", disk_full)
    with pytest.raises(DownloadError, match="No space left on device"):
        fetch(f"{base}/video.mp4", run_dir)
    assert log.requests["/video.mp4"] == 1  # the disk won't be emptied in a second
    assert files_under(run_dir / "videos") == []


def test_video_gone_is_true_only_when_the_site_says_so(server: tuple[str, ServerLog]) -> None:
    base, log = server
    assert video_gone(f"{base}/gone", identity(), timeout_s=_TIMEOUT_S)
    assert not video_gone(f"{base}/video.mp4", identity(), timeout_s=_TIMEOUT_S)
    assert not video_gone(f"{base}/error", identity(), timeout_s=_TIMEOUT_S)  # unknown
    assert not video_gone("http://127.0.0.1:9/x.mp4", identity(), timeout_s=_TIMEOUT_S)
    assert log.headers[0]["Range"] == "bytes=0-0"  # it asks for one byte, not the video
