"""Percentiles and rates over the benchmark's raw observations."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence


def percentiles(values: Iterable[float]) -> dict[str, float | None]:
    """p50/p95/p99/max/mean (nearest-rank) of ``values``; None for an empty sample."""
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p95": None, "p99": None, "max": None, "mean": None, "count": 0}

    def rank(fraction: float) -> float:
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]

    return {
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": ordered[-1],
        "mean": sum(ordered) / len(ordered),
        "count": len(ordered),
    }


def scaled(summary: dict[str, float | None], factor: float) -> dict[str, float | None]:
    """The same summary in other units (seconds -> milliseconds), counts untouched."""
    return {
        key: (value * factor if value is not None and key != "count" else value)
        for key, value in summary.items()
    }


def rate(count: int, start: float | None, end: float | None) -> float | None:
    if start is None or end is None or end <= start:
        return None
    return count / (end - start)


def per_second(timestamps: Sequence[float], *, origin: float) -> list[tuple[int, int]]:
    """How many of ``timestamps`` fall in each whole second after ``origin``."""
    buckets = Counter(int(t - origin) for t in timestamps if t >= origin)
    if not buckets:
        return []
    return [(second, buckets.get(second, 0)) for second in range(max(buckets) + 1)]
