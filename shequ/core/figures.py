"""Rates and their display, one way for every app's statistics (the grid's, the government
services')."""

from __future__ import annotations


def rate(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or None when there is nothing to divide by."""
    return numerator / denominator if denominator else None


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"
