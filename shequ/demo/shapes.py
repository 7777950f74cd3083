"""Plausible boundaries for the demo's regions (seeded, so every run draws the same map).

Hunan is a rough quadrilateral; each region is cut into its children as rows of quadrilaterals
with jittered edges, so children tile their parent exactly (shared edges are the same straight
segments). The demo's chain lands where it really is: the child that holds the demo region is
the cell containing that region's real centre (Changsha, Yuelu district, Yuelu street).
Covered: the province, its cities, Changsha's counties, the demo county's streets, their
communities and the grids that exist when this runs.
"""

from __future__ import annotations

import math
import random
from typing import Any

from shequ.core import geo
from shequ.core.models import Region, RegionLevel
from shequ.core.region_shapes import shape_set

Point = tuple[float, float]  # lon, lat
Quad = list[Point]  # bottom-left, bottom-right, top-right, top-left

HUNAN: Quad = [(108.9, 24.8), (114.2, 25.0), (113.9, 29.9), (109.6, 29.7)]
# The real centre of each region on the demo's chain.
CENTRES: dict[str, Point] = {
    "4301": (113.0, 28.2),  # 长沙市
    "430104": (112.93, 28.2),  # 岳麓区
    "430104002": (112.94, 28.18),  # 岳麓街道
}
JITTER = 0.18  # of a row's or column's width: irregular, still convex


def _lerp(a: Point, b: Point, t: float) -> Point:
    return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t


def _cuts(n: int, rng: random.Random) -> list[float]:
    return [0.0, *[(i + rng.uniform(-JITTER, JITTER)) / n for i in range(1, n)], 1.0]


def subdivide(corners: Quad, k: int, rng: random.Random) -> list[Quad]:
    """``k`` quadrilaterals tiling ``corners``: rows from south to north, cells west to east."""
    bl, br, tr, tl = corners
    rows = max(1, round(math.sqrt(k)))
    counts = [k // rows + (1 if i < k % rows else 0) for i in range(rows)]
    left, right = _cuts(rows, rng), _cuts(rows, rng)
    lines = [(_lerp(bl, tl, left[i]), _lerp(br, tr, right[i])) for i in range(rows + 1)]
    cells: list[Quad] = []
    for i, count in enumerate(counts):
        (a0, b0), (a1, b1) = lines[i], lines[i + 1]
        bottom, top = _cuts(count, rng), _cuts(count, rng)
        for m in range(count):
            cells.append(
                [
                    _lerp(a0, b0, bottom[m]),
                    _lerp(a0, b0, bottom[m + 1]),
                    _lerp(a1, b1, top[m + 1]),
                    _lerp(a1, b1, top[m]),
                ]
            )
    return cells


def _assign(children: list[Region], cells: list[Quad]) -> dict[str, Quad]:
    """Children to cells in code order, except that a child with a real centre takes its cell."""
    free = list(range(len(cells)))
    placed: dict[str, Quad] = {}
    for child in children:
        centre = CENTRES.get(child.code)
        if centre is None:
            continue
        for i in free:
            if geo.contains(geo.quad(cells[i]), *centre):
                placed[child.code] = cells[i]
                free.remove(i)
                break
    rest = iter(free)
    for child in children:
        if child.code not in placed:
            placed[child.code] = cells[next(rest)]
    return placed


def demo_shapes(*, seed: int, province: str, city: str, county: str) -> dict[str, dict[str, Any]]:
    quads: dict[str, Quad] = {province: HUNAN}

    def cut(parent: str, children: list[Region]) -> None:
        if not children or parent not in quads:
            return
        rng = random.Random(f"{seed}:shape:{parent}")
        quads.update(_assign(children, subdivide(quads[parent], len(children), rng)))

    def children_of(code: str, level: str) -> list[Region]:
        return list(Region.objects.filter(parent__code=code, level=level).order_by("code"))

    cut(province, children_of(province, RegionLevel.CITY))
    cut(city, children_of(city, RegionLevel.COUNTY))
    streets = children_of(county, RegionLevel.STREET)
    cut(county, streets)
    communities = Region.objects.filter(code__startswith=county, level=RegionLevel.COMMUNITY).order_by("code")
    by_street: dict[str, list[Region]] = {}
    for community in communities:
        by_street.setdefault(community.code[:9], []).append(community)
    for street in streets:
        cut(street.code, by_street.get(street.code, []))
    grids = Region.objects.filter(code__startswith=county, level=RegionLevel.GRID).order_by("code")
    by_community: dict[str, list[Region]] = {}
    for grid in grids:
        by_community.setdefault(grid.code[:12], []).append(grid)
    for code, members in by_community.items():
        cut(code, members)
    return {code: geo.quad(corners) for code, corners in quads.items()}


def load_demo_shapes(*, seed: int, province: str, city: str, county: str) -> int:
    """Store the demo's boundaries (idempotent: the same seed draws the same shapes)."""
    return shape_set(geometries=demo_shapes(seed=seed, province=province, city=city, county=county))
