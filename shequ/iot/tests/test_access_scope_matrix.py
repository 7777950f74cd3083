"""Scope matrix of the access-control pages (shequ/iot/urls_access.py)."""

from __future__ import annotations

# Every access-control route, as "iot:<name>"; test_iot_routes.py checks that none is missing.
COVERED: set[str] = set()
