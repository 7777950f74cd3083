"""Scope matrix of the staff console pages (shequ/iot/urls_console.py)."""

from __future__ import annotations

# Every console route, as "iot:<name>"; test_iot_routes.py checks that none is missing.
COVERED: set[str] = set()
