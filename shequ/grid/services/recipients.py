"""Who is told: a department's staff, a region's staff with a permission."""

from __future__ import annotations

from shequ.core.selectors import department_staff, region_staff

__all__ = ["department_staff", "region_staff"]
