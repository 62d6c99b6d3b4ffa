"""`simulator serve --video-mb`: generated videos padded to a realistic size, still MP4s.

Against a real simulator subprocess (SimulatorProcess) over its HTTP API, no browser.
"""

from __future__ import annotations

import hashlib
import struct
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest

from grokbatch.downloads import BrowserIdentity, download_video
from grokbatch.simulator.process import SimulatorProcess
from grokbatch.simulator.state import SESSION_COOKIE

MIB = 1024 * 1024
# Generations over HTTP, made quick.
_QUICK = ("--generation-seconds", "0.1")
_TIMEOUT_S = 10.0
# Loopback only: a proxy from the environment must never see these requests.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _shipped(name: str) -> bytes:
    return (resources.files("grokbatch.simulator") / "assets" / name).read_bytes()


def _request(url: str, session: str, method: str = "GET",
             range_: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Cookie": f"{SESSION_COOKIE}={session}"}
    if range_:
        headers["Range"] = range_
    request = urllib.request.Request(url, headers=headers, method=method)
    try:
        with _NO_PROXY.open(request, timeout=_TIMEOUT_S) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _top_level_boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, offset, size) of each top-level MP4 box; the sizes must tile the file."""
    boxes, offset = [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        assert size >= 8, f"box {kind!r} at {offset} has size {size}"
        boxes.append((kind, offset, size))
        offset += size
    assert offset == len(data), "the box sizes do not add up to the file's length"
    return boxes


def _video_urls(sim: SimulatorProcess, session: str) -> dict[str, str]:
    """Make a video and upscale it; the URLs of its SD and HD files."""
    made = sim.generate(session)["result"]["response"]["streamingVideoGenerationResponse"]
    assert made["progress"] == 100, made
    hd = sim.upscale(session, made["videoId"])
    return {"generated_video.mp4": sim.url + made["videoUrl"],
            "generated_video_hd.mp4": sim.url + hd["hdMediaUrl"]}


def test_video_mb_pads_sd_and_hd_to_that_size_with_one_trailing_free_box(
    simulator: Callable[..., SimulatorProcess],
) -> None:
    sim = simulator(*_QUICK, "--video-mb", "1")
    session = sim.new_session()
    urls = _video_urls(sim, session)
    for name, url in urls.items():
        shipped = _shipped(name)
        status, headers, body = _request(url, session)
        assert status == 200, name
        assert len(body) == MIB and int(headers["Content-Length"]) == MIB, name
        assert body.startswith(shipped), name
        boxes = _top_level_boxes(body)
        assert boxes[:-1] == _top_level_boxes(shipped), name  # the shipped boxes, untouched
        kind, offset, size = boxes[-1]
        assert (kind, offset, size) == (b"free", len(shipped), MIB - len(shipped)), name
        assert body[offset + 8 :] == bytes(size - 8), name  # the padding is zeros
        status, headers, head_body = _request(url, session, "HEAD")
        assert (status, head_body) == (200, b"") and int(headers["Content-Length"]) == MIB
        # The media element's ranged reads see the same, bigger file.
        status, headers, part = _request(url, session, range_="bytes=0-99")
        assert (status, part) == (206, body[:100]), name
        assert headers["Content-Range"] == f"bytes 0-99/{MIB}"
        status, headers, tail = _request(url, session, range_="bytes=-16")
        assert (status, tail) == (206, bytes(16)), name
        assert headers["Content-Range"] == f"bytes {MIB - 16}-{MIB - 1}/{MIB}"
    # Two full GETs and the first ranged read of each file are counted; HEADs are not.
    assert sim.stats()["videoRequests"] == 4


def test_a_padded_video_passes_the_workers_download_checks(
    simulator: Callable[..., SimulatorProcess], tmp_path: Path,
) -> None:
    sim = simulator(*_QUICK, "--video-mb", "1")
    session = sim.new_session()
    url = _video_urls(sim, session)["generated_video.mp4"]
    identity = BrowserIdentity("grokbatch-test", lambda _url: f"{SESSION_COOKIE}={session}")
    saved = download_video(url, tmp_path / "videos" / "job-000", tmp_path, identity,
                           timeout_s=_TIMEOUT_S)
    data = (tmp_path / saved.path).read_bytes()
    assert saved.path == str(Path("videos") / "job-000.mp4")
    assert saved.bytes == len(data) == MIB
    assert saved.sha256 == hashlib.sha256(data).hexdigest()


def test_by_default_the_shipped_videos_are_served_unchanged(
    simulator: Callable[..., SimulatorProcess],
) -> None:
    sim = simulator(*_QUICK)
    session = sim.new_session()
    for name, url in _video_urls(sim, session).items():
        shipped = _shipped(name)
        status, headers, body = _request(url, session)
        assert (status, body) == (200, shipped), name
        assert int(headers["Content-Length"]) == len(shipped)
        status, headers, _ = _request(url, session, "HEAD")
        assert int(headers["Content-Length"]) == len(shipped)


def test_a_size_below_the_shipped_file_serves_it_unchanged(
    simulator: Callable[..., SimulatorProcess],
) -> None:
    sim = simulator(*_QUICK, "--video-mb", "0.001")  # 1049 bytes, the shipped file is ~8 KB
    session = sim.new_session()
    url = _video_urls(sim, session)["generated_video.mp4"]
    assert _request(url, session)[2] == _shipped("generated_video.mp4")


@pytest.mark.parametrize("value", ["64.5", "1000"])
def test_a_video_mb_above_64_is_refused_with_one_line(
    cli: Callable[..., subprocess.CompletedProcess[str]], value: str,
) -> None:
    result = cli("simulator", "serve", "--port", "0", "--video-mb", value)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"grokbatch: error: --video-mb must be between 0 and 64 (MB), not {value}"]
    assert result.stdout == ""
