"""media.py: a downloaded file is a whole video only if its container says it ends there."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from grokbatch.media import why_not_whole
from grokbatch.simulator.server import _video
from tests.video_server import VIDEO


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _check(tmp_path: Path, data: bytes, ext: str = "mp4") -> str | None:
    path = tmp_path / f"video.{ext}"
    path.write_bytes(data)
    return why_not_whole(path, ext)


def test_the_simulators_videos_are_whole_padded_or_not(tmp_path: Path) -> None:
    assert _check(tmp_path, VIDEO) is None
    assert _check(tmp_path, _video("generated_video.mp4", 3 * 1024 * 1024)) is None


@pytest.mark.parametrize("cut", [1, 100, len(VIDEO) // 2, len(VIDEO) - 12])
def test_an_mp4_cut_anywhere_is_not_whole(tmp_path: Path, cut: int) -> None:
    problem = _check(tmp_path, VIDEO[:-cut])
    assert problem is not None and "cut short" in problem, problem


def test_bytes_after_the_last_box_or_a_broken_box_are_not_whole(tmp_path: Path) -> None:
    assert _check(tmp_path, VIDEO + b"\0\0\0") == "3 stray byte(s) after its last box"
    broken = _box(b"ftyp", b"isom") + struct.pack(">I4s", 4, b"moov")
    assert _check(tmp_path, broken) == "a broken 'moov' box at byte 12"


def test_an_mp4_without_its_index_or_its_media_is_not_whole(tmp_path: Path) -> None:
    assert _check(tmp_path, _box(b"ftyp", b"isom") + _box(b"mdat", b"x" * 100)) == (
        "no moov box: not a whole MP4")
    assert _check(tmp_path, _box(b"ftyp", b"isom")) == "no moov or mdat box: not a whole MP4"


def test_a_64_bit_box_size_and_a_last_box_to_the_end_of_the_file_are_read(
    tmp_path: Path
) -> None:
    large_mdat = struct.pack(">I4sQ", 1, b"mdat", 16 + 50) + b"m" * 50
    head = _box(b"ftyp", b"isom") + _box(b"moov", b"index")
    assert _check(tmp_path, head + large_mdat) is None
    assert _check(tmp_path, head + large_mdat[:-1]) is not None
    to_the_end = struct.pack(">I4s", 0, b"mdat") + b"m" * 50
    assert _check(tmp_path, head + to_the_end) is None


def _ebml(element_id: bytes, payload: bytes) -> bytes:
    return element_id + bytes([0x80 | len(payload)]) + payload  # a 1-byte size (< 127)


def test_a_webm_whose_segment_goes_past_the_end_is_not_whole(tmp_path: Path) -> None:
    header = _ebml(b"\x1a\x45\xdf\xa3", b"\x42\x82\x84webm")
    segment = _ebml(b"\x18\x53\x80\x67", b"s" * 60)
    assert _check(tmp_path, header + segment, "webm") is None
    problem = _check(tmp_path, header + segment[:-10], "webm")
    assert problem is not None and "needs 10 byte(s) more" in problem, problem
    live = b"\x18\x53\x80\x67" + b"\x01\xff\xff\xff\xff\xff\xff\xff" + b"s" * 10  # size unknown
    assert _check(tmp_path, header + live, "webm") is None
    assert _check(tmp_path, header, "webm") == (
        "no Segment after the EBML header: not a whole WebM")
