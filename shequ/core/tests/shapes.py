"""Boundaries for the test world (shequ/conftest.py TREE), for map tests of any app:

street 430104002 = community A (west half) + community B (east half);
community A = grid A (south) + grid B (north); community B = its one grid C.
"""

from __future__ import annotations

from typing import Any

from shequ.core.region_shapes import shapes_import

STREET = "430104002"
COMMUNITY_A = "430104002001"
GRID_A = "430104002001001"
GRID_B = "430104002001002"
COMMUNITY_B = "430104002003"
GRID_C = "430104002003001"
# A point inside each grid: (latitude, longitude), the order of the model fields.
IN_GRID_A = (28.12, 112.92)
IN_GRID_B = (28.17, 112.92)
IN_GRID_C = (28.15, 112.97)


def square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


BOXES = {
    STREET: (112.90, 28.10, 113.00, 28.20),
    COMMUNITY_A: (112.90, 28.10, 112.95, 28.20),
    GRID_A: (112.90, 28.10, 112.95, 28.15),
    GRID_B: (112.90, 28.15, 112.95, 28.20),
    COMMUNITY_B: (112.95, 28.10, 113.00, 28.20),
    GRID_C: (112.95, 28.10, 113.00, 28.20),
}


def load_test_shapes() -> None:
    features = [
        {"type": "Feature", "properties": {"code": code}, "geometry": square(*box)}
        for code, box in BOXES.items()
    ]
    shapes_import(actor=None, collection={"type": "FeatureCollection", "features": features})
