"""Whether a downloaded file is a whole video, as its container's own structure says.

A body can end early without the server saying so: a connection closed mid-file with no
`Content-Length`, or a proxy that cuts it. Its first bytes still look like a video. The
container says where the file ends: an MP4 is a row of top-level boxes, each giving its
size, and holds its index (`moov`) and its media (`mdat`); a WebM's Segment gives its
size. Only the headers are read, a few dozen bytes per box.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

# Top-level boxes walked at most: a generated clip has four or five (a fragmented MP4 a
# few per second of video); a file with more is not one.
_MAX_BOXES = 100_000
_BOX = struct.Struct(">I4s")
_LARGE_SIZE = struct.Struct(">Q")
_EBML_ID = b"\x1a\x45\xdf\xa3"
_SEGMENT_ID = b"\x18\x53\x80\x67"


def why_not_whole(path: Path, ext: str) -> str | None:
    """None if the `ext` (mp4 or webm) file at `path` is whole; else why it is not."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        return _mp4_problem(fh, size) if ext == "mp4" else _webm_problem(fh, size)


def _mp4_problem(fh: BinaryIO, size: int) -> str | None:
    """Walk the top-level boxes: each must fit in the file, and the last end with it."""
    offset = 0
    seen: set[bytes] = set()
    for _ in range(_MAX_BOXES):
        if offset == size:
            break
        fh.seek(offset)
        header = fh.read(_BOX.size)
        if len(header) < _BOX.size:
            return f"{size - offset} stray byte(s) after its last box"
        box_size, kind = _BOX.unpack(header)
        header_size = _BOX.size
        if box_size == 1:  # the size follows as 64 bits
            large = fh.read(_LARGE_SIZE.size)
            if len(large) < _LARGE_SIZE.size:
                return "cut short inside a box header"
            (box_size,), header_size = _LARGE_SIZE.unpack(large), _BOX.size + _LARGE_SIZE.size
        elif box_size == 0:  # the last box, to the end of the file
            box_size = size - offset
        if box_size < header_size:
            return f"a broken {_name(kind)} box at byte {offset}"
        if offset + box_size > size:
            return (f"cut short: its {_name(kind)} box needs {offset + box_size - size} "
                    f"byte(s) more than the {size} received")
        seen.add(kind)
        offset += box_size
    else:
        return f"more than {_MAX_BOXES} boxes"
    missing = [kind.decode() for kind in (b"ftyp", b"moov", b"mdat") if kind not in seen]
    if missing:
        return f"no {' or '.join(missing)} box: not a whole MP4"
    return None


def _webm_problem(fh: BinaryIO, size: int) -> str | None:
    """The Segment that follows the EBML header must fit in the file (a live stream's
    Segment of unknown size says nothing, and passes)."""
    header = _element(fh, 0, _EBML_ID)
    if header is None:
        return "no EBML header: not a WebM"
    segment = _element(fh, header[0] + header[2], _SEGMENT_ID)
    if segment is None:
        return "no Segment after the EBML header: not a whole WebM"
    data_at, length, value = segment
    if value == (1 << (7 * length)) - 1:  # all ones: size unknown
        return None
    if data_at + value > size:
        return (f"cut short: its Segment needs {data_at + value - size} byte(s) more than the "
                f"{size} received")
    return None


def _element(fh: BinaryIO, at: int, element_id: bytes) -> tuple[int, int, int] | None:
    """The EBML element `element_id` at byte `at`: (where its data starts, the length of
    its size field, its data size); None if another is there, or its header is cut."""
    fh.seek(at)
    head = fh.read(len(element_id) + 8)
    size = _vint(head, len(element_id)) if head.startswith(element_id) else None
    if size is None:
        return None
    length, value = size
    return at + len(element_id) + length, length, value


def _vint(data: bytes, at: int) -> tuple[int, int] | None:
    """An EBML variable-size integer at `data[at:]`: (its length in bytes, its value)."""
    if at >= len(data) or data[at] == 0:
        return None
    length = 8 - data[at].bit_length() + 1
    if at + length > len(data):
        return None
    value = data[at] & (0xFF >> length)
    for byte in data[at + 1:at + length]:
        value = (value << 8) | byte
    return length, value


def _name(kind: bytes) -> str:
    """A box type as text, for a message (a broken one may hold any byte)."""
    return repr(kind.decode("latin-1")) if kind.isascii() and kind.isalnum() else repr(kind)
