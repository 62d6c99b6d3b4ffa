"""Timestamps as grokbatch writes them: UTC, ISO 8601, to the millisecond.

Manifests, account metadata and reports all store times this way, so a file written by
one part reads back in any other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

# What tells the time, for code that lets a test move it (the manifest's leases).
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """`moment` as grokbatch writes a time: ISO 8601 with its offset, to the millisecond."""
    return moment.isoformat(timespec="milliseconds")


def now_iso() -> str:
    """The current UTC time as grokbatch writes it."""
    return iso(utc_now())


def parse_iso(value: str | None) -> datetime | None:
    """A written time as a datetime, or None for none."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def local_time(moment: datetime) -> str:
    """`moment` as the machine's local time, for a person: 2026-12-02 19:20:49 CET."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
