"""Small helpers the benchmarks share: percentiles of a list of timings."""

from __future__ import annotations


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile by nearest rank (no interpolation: a reported time was measured)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
