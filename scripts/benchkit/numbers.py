"""The benchmark's arithmetic on measurements, and how one shows in a table cell."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

MB = 1 << 20


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) with linear interpolation; None for no values."""
    if not values:
        return None
    data = sorted(values)
    if len(data) == 1:
        return float(data[0])
    rank = (len(data) - 1) * p / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(data) - 1)
    return float(data[low] + (data[high] - data[low]) * (rank - low))


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no values."""
    return percentile(values, 50)


def fmt(value: Any, digits: int = 2) -> str:
    """A table cell: None as n/a, floats rounded."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def spread(values: Sequence[float], digits: int = 2, unit: str = "") -> str:
    """`median (min-max)` of repeated measurements, or the one value; n/a for none."""
    if not values:
        return "n/a"
    mid = fmt(float(median(values) or 0), digits) + unit
    if len(values) == 1:
        return mid
    return f"{mid} ({fmt(float(min(values)), digits)}-{fmt(float(max(values)), digits)})"
