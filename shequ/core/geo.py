"""Region geometry in plain Python: GeoJSON checks, point in polygon, bounding boxes, features.

Coordinates are WGS84 ``[longitude, latitude]`` as GeoJSON orders them. A region's boundary is a
Polygon (outer ring, then holes) or a MultiPolygon. No GIS library: the shapes are community and
grid boundaries of a few dozen to a few thousand vertices, and ray casting on them is enough.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Iterator
from typing import Any

# Everything we map lies in China: the mainland, Hainan and the South China Sea islands.
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)
# A boundary is stored to 6 decimals (about 0.1 m), as buildings' and tickets' points are.
DECIMALS = 6
MAX_VERTICES = 200_000

Ring = list[tuple[float, float]]
BBox = tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat


class GeometryError(ValueError):
    """A geometry that is not a valid boundary; the message says what and where."""


def _position(value: Any, where: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) < 2:
        raise GeometryError(f"{where}: a position must be [longitude, latitude]")
    lon, lat = value[0], value[1]
    if (
        isinstance(lon, bool)
        or isinstance(lat, bool)
        or not isinstance(lon, int | float)
        or not isinstance(lat, int | float)
    ):
        raise GeometryError(f"{where}: coordinates must be numbers")
    lon, lat = float(lon), float(lat)
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise GeometryError(f"{where}: coordinates must be finite numbers")
    if not (CHINA_LON[0] <= lon <= CHINA_LON[1] and CHINA_LAT[0] <= lat <= CHINA_LAT[1]):
        raise GeometryError(
            f"{where}: [{lon}, {lat}] is not in China (longitude 73–136, latitude 3–54; "
            "GeoJSON puts the longitude first)"
        )
    return round(lon, DECIMALS), round(lat, DECIMALS)


def ring_area(ring: Ring) -> float:
    """Signed area in square degrees (shoelace); positive when counter-clockwise."""
    total = 0.0
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        total += x1 * y2 - x2 * y1
    return total / 2


def _ring(value: Any, where: str) -> Ring:
    if not isinstance(value, list) or len(value) < 4:
        raise GeometryError(f"{where}: a ring needs at least 4 positions (a closed triangle)")
    ring = [_position(p, f"{where}, position {i + 1}") for i, p in enumerate(value)]
    if ring[0] != ring[-1]:
        raise GeometryError(f"{where}: the ring is not closed (its last position must repeat the first)")
    if len(set(ring)) < 3:
        raise GeometryError(f"{where}: the ring has fewer than 3 distinct positions")
    if abs(ring_area(ring)) < 1e-12:
        raise GeometryError(f"{where}: the ring encloses no area")
    return ring


def _polygon(value: Any, where: str) -> list[Ring]:
    if not isinstance(value, list) or not value:
        raise GeometryError(f"{where}: a polygon is a list of rings (the outer ring first)")
    return [_ring(r, f"{where}, ring {i + 1}") for i, r in enumerate(value)]


def validate(geometry: Any) -> dict[str, Any]:
    """The geometry as we store it (coordinates rounded to 6 decimals, altitudes dropped), or a
    ``GeometryError`` naming the first problem."""
    if not isinstance(geometry, dict):
        raise GeometryError("the geometry must be a GeoJSON object")
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [_polygon(coords, "polygon")]
    elif kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise GeometryError("a MultiPolygon needs at least one polygon")
        polygons = [_polygon(p, f"polygon {i + 1}") for i, p in enumerate(coords)]
    else:
        raise GeometryError(f"the geometry must be a Polygon or MultiPolygon, not {kind!r}")
    if sum(len(r) for p in polygons for r in p) > MAX_VERTICES:
        raise GeometryError(f"the geometry has more than {MAX_VERTICES} positions; simplify it first")
    as_lists = [[[list(pt) for pt in ring] for ring in poly] for poly in polygons]
    if kind == "Polygon":
        return {"type": "Polygon", "coordinates": as_lists[0]}
    return {"type": "MultiPolygon", "coordinates": as_lists}


def polygons(geometry: dict[str, Any]) -> list[list[Ring]]:
    """The polygons of a stored geometry, each a list of rings of (lon, lat)."""
    raw = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [[[(float(x), float(y)) for x, y, *_ in ring] for ring in poly] for poly in raw]


def positions(geometry: dict[str, Any]) -> Iterator[tuple[float, float]]:
    for poly in polygons(geometry):
        for ring in poly:
            yield from ring


def bbox(geometry: dict[str, Any]) -> BBox:
    xs, ys = zip(*positions(geometry), strict=True)
    return min(xs), min(ys), max(xs), max(ys)


def in_ring(ring: Ring, lon: float, lat: float) -> bool:
    """Ray casting: does a ray east from the point cross the ring an odd number of times?"""
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def contains(geometry: dict[str, Any], lon: float, lat: float) -> bool:
    """Is the point inside the geometry (inside an outer ring and not in one of its holes)?"""
    for outer, *holes in polygons(geometry):
        if in_ring(outer, lon, lat) and not any(in_ring(h, lon, lat) for h in holes):
            return True
    return False


def _segment_distance(px: float, py: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def near_boundary(geometry: dict[str, Any], lon: float, lat: float, tolerance: float) -> bool:
    """Is the point within ``tolerance`` degrees of one of the geometry's edges?"""
    return any(
        _segment_distance(lon, lat, a, b) <= tolerance
        for poly in polygons(geometry)
        for ring in poly
        for a, b in itertools.pairwise(ring)
    )


# A shared edge drawn twice differs by rounding; about 5 m is still "on the edge".
EDGE_TOLERANCE = 0.00005


def outside_share(child: dict[str, Any], parent: dict[str, Any]) -> float:
    """The share of the child's vertices that lie outside the parent, those on its edges (within
    ``EDGE_TOLERANCE``) counting as inside: 0 for a child inside; above 0 is tolerated but worth a
    report (boundaries drawn by different hands overlap a little)."""
    points = [pt for poly in polygons(child) for ring in poly for pt in ring[:-1]]
    if not points:
        return 0.0
    outside = sum(
        1
        for lon, lat in points
        if not contains(parent, lon, lat) and not near_boundary(parent, lon, lat, EDGE_TOLERANCE)
    )
    return outside / len(points)


def sample_point(geometry: dict[str, Any], rng: random.Random, tries: int = 1000) -> tuple[float, float]:
    """A random point inside the geometry (rejection sampling in its bounding box)."""
    min_lon, min_lat, max_lon, max_lat = bbox(geometry)
    for _ in range(tries):
        lon, lat = rng.uniform(min_lon, max_lon), rng.uniform(min_lat, max_lat)
        lon, lat = round(lon, DECIMALS), round(lat, DECIMALS)
        if contains(geometry, lon, lat):
            return lon, lat
    raise GeometryError("no point found inside the geometry")


def quad(corners: Iterable[tuple[float, float]]) -> dict[str, Any]:
    """A Polygon from its corners (closed here)."""
    ring = [[round(x, DECIMALS), round(y, DECIMALS)] for x, y in corners]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def feature(geometry: dict[str, Any] | None, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(lon, DECIMALS), round(lat, DECIMALS)]}


def collection(features: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}
