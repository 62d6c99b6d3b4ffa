"""Keep a long-lived grokbatch process's C heap from growing with the manifest.

Every manifest transaction reads, parses and writes back the whole manifest, so a worker
allocates and frees from a few hundred KB to a few MB each time, more as the manifest
fills in. glibc's malloc gives a block of 128 KiB or more that its heap has no room for a
mapping of its own, which goes back to the system when the block is freed; but then it
raises that limit to the freed block's size, and the free memory its heap may keep to twice
that (its "dynamic mmap threshold"). From then on such blocks come from the heap, which
keeps what they leave.
A worker's Python grew by 4.5 MB from its 10th to its 100th video that way, in a
1000-video run with the headless shell, close to half of all it grew
(`scripts/bench.py --only longrun --headless-shell`, "what grew, MB by process kind").

`steady_heap()` fixes the limit at glibc's default, which turns the adjustment off, and
`give_back_free_memory()` returns the free pages inside the heap (`malloc_trim`). The fork
server calls the first before it forks any worker (`run/fork_server.py`), the runner calls
it too, and a worker calls the second every few videos. Neither changes what a process may
allocate. Where the C library is not glibc both do nothing and return False.
"""

from __future__ import annotations

import ctypes
import sys
from functools import cache

# mallopt's parameter for the size from which a block gets a mapping of its own (malloc.h).
M_MMAP_THRESHOLD = -3
# glibc's own starting value for it.
MMAP_THRESHOLD_BYTES = 128 * 1024
# Videos a worker makes between two returns of its heap's free pages (about 0.1 ms each).
GIVE_BACK_EVERY = 5


@cache
def _glibc() -> ctypes.CDLL | None:
    """This process's C library, if it is glibc (which alone has malloc_trim)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "malloc_trim"):
        return None  # musl: neither a dynamic threshold nor malloc_trim
    return libc


def steady_heap() -> bool:
    """Fix glibc's mmap threshold, so that large blocks are always unmapped when freed;
    whether it was done."""
    libc = _glibc()
    return bool(libc and libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def give_back_free_memory() -> bool:
    """Return the free pages of the C heap to the system; whether there were any."""
    libc = _glibc()
    return bool(libc and libc.malloc_trim(0))
