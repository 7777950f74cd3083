"""Region boundaries: geometry checks, point in polygon, the all-or-nothing GeoJSON import (service
and ``shequ regions import-geojson``), the export, and the demo's boundaries."""

from __future__ import annotations

import json
import random
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from shequ.conftest import build_tree
from shequ.core import geo
from shequ.core.models import AuditEntry, Region, RegionShape
from shequ.core.region_shapes import ShapeImportError, shapes_export, shapes_import

STREET = "430104002"
COMMUNITY_A = "430104002001"
GRID_A = "430104002001001"
GRID_B = "430104002001002"


def square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def feature(code: Any, geometry: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"code": code}, "geometry": geometry}


def fc(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


# --- Geometry -----------------------------------------------------------------------------------


def test_point_in_polygon_by_ray_casting() -> None:
    # An L-shaped polygon: the notch at the top right is outside.
    ell = {
        "type": "Polygon",
        "coordinates": [
            [
                [112.0, 28.0],
                [112.2, 28.0],
                [112.2, 28.1],
                [112.1, 28.1],
                [112.1, 28.2],
                [112.0, 28.2],
                [112.0, 28.0],
            ]
        ],
    }
    assert geo.contains(ell, 112.05, 28.15)
    assert geo.contains(ell, 112.15, 28.05)
    assert not geo.contains(ell, 112.15, 28.15)  # the notch
    assert not geo.contains(ell, 111.99, 28.05)
    assert not geo.contains(ell, 112.05, 28.21)


def test_holes_and_multipolygons() -> None:
    donut = {
        "type": "Polygon",
        "coordinates": [
            square(112.0, 28.0, 112.3, 28.3)["coordinates"][0],
            square(112.1, 28.1, 112.2, 28.2)["coordinates"][0],
        ],
    }
    assert geo.contains(donut, 112.05, 28.05)
    assert not geo.contains(donut, 112.15, 28.15)  # in the hole
    two = {
        "type": "MultiPolygon",
        "coordinates": [
            square(112.0, 28.0, 112.1, 28.1)["coordinates"],
            square(113.0, 28.0, 113.1, 28.1)["coordinates"],
        ],
    }
    assert geo.contains(two, 113.05, 28.05) and geo.contains(two, 112.05, 28.05)
    assert not geo.contains(two, 112.5, 28.05)
    assert geo.bbox(two) == (112.0, 28.0, 113.1, 28.1)


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ({"type": "Point", "coordinates": [112.0, 28.0]}, "Polygon or MultiPolygon"),
        ("not an object", "GeoJSON object"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[112.0, 28.0], [112.1, 28.0], [112.1, 28.1], [112.0, 28.1]]],
            },
            "not closed",
        ),
        (
            {"type": "Polygon", "coordinates": [[[112.0, 28.0], [112.1, 28.0], [112.0, 28.0]]]},
            "at least 4 positions",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[28.0, 112.0], [28.1, 112.0], [28.1, 112.1], [28.0, 112.0]]],
            },
            "not in China",
        ),
        (
            {"type": "Polygon", "coordinates": [[[2.0, 48.0], [2.1, 48.0], [2.1, 48.1], [2.0, 48.0]]]},
            "not in China",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[112.0, 28.0], [112.1, 28.0], [112.2, 28.0], [112.0, 28.0]]],
            },
            "no area",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[112.0, "28"], [112.1, 28.0], [112.1, 28.1], [112.0, "28"]]],
            },
            "numbers",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[112.0, float("nan")], [112.1, 28.0], [112.1, 28.1], [112.0, 28.0]]],
            },
            "finite",
        ),
        ({"type": "Polygon", "coordinates": []}, "list of rings"),
        ({"type": "MultiPolygon", "coordinates": []}, "at least one polygon"),
    ],
)
def test_bad_geometry_is_named(geometry: Any, message: str) -> None:
    with pytest.raises(geo.GeometryError, match=message):
        geo.validate(geometry)


def test_valid_geometry_is_rounded_and_altitudes_dropped() -> None:
    out = geo.validate(
        {
            "type": "Polygon",
            "coordinates": [[[112.1234567, 28.0, 50], [112.2, 28.0], [112.2, 28.1], [112.1234567, 28.0, 50]]],
        }
    )
    assert out["coordinates"][0][0] == [112.123457, 28.0]


def test_sampled_points_lie_inside() -> None:
    shape = geo.validate(square(112.0, 28.0, 112.01, 28.01))
    rng = random.Random(1)
    for _ in range(50):
        lon, lat = geo.sample_point(shape, rng)
        assert geo.contains(shape, lon, lat)


# --- Import and export --------------------------------------------------------------------------


@pytest.fixture
def tree(db: None) -> dict[str, Region]:
    return build_tree()


def test_import_writes_every_boundary_and_audits(tree: dict[str, Region]) -> None:
    result = shapes_import(
        actor=None,
        collection=fc(
            feature(COMMUNITY_A, square(112.9, 28.1, 113.0, 28.2)),
            feature(GRID_A, square(112.9, 28.1, 112.95, 28.2)),
            feature(int(GRID_B), square(112.95, 28.1, 113.0, 28.2)),  # a number is read as the code
        ),
        source="/tmp/yuelu.geojson",
    )
    assert result.written == 3 and result.warnings == []
    shape = RegionShape.objects.get(region_code=GRID_A)
    assert (shape.min_lon, shape.min_lat, shape.max_lon, shape.max_lat) == (112.9, 28.1, 112.95, 28.2)
    entry = AuditEntry.objects.filter(action="region.shape_import").get()
    assert entry.detail == {"features": 3, "warnings": 0, "file": "yuelu.geojson"}
    assert entry.region_code == COMMUNITY_A


def test_a_bad_feature_writes_nothing_and_every_problem_is_named(tree: dict[str, Region]) -> None:
    shapes_import(actor=None, collection=fc(feature(GRID_A, square(112.9, 28.1, 112.95, 28.2))))
    before = list(RegionShape.objects.values_list("region_code", "geometry"))
    bad = fc(
        feature(COMMUNITY_A, square(112.0, 28.0, 112.5, 28.5)),  # valid
        feature("430104002999", square(112.0, 28.0, 112.1, 28.1)),  # no such region
        feature(
            GRID_B,
            {
                "type": "Polygon",
                "coordinates": [[[112.0, 28.0], [112.1, 28.0], [112.1, 28.1], [112.0, 28.1]]],
            },
        ),
        feature(GRID_A, square(28.0, 112.0, 28.1, 112.1)),  # lat, lon swapped
        {"type": "Feature", "properties": {}, "geometry": square(112.0, 28.0, 112.1, 28.1)},
        feature(COMMUNITY_A, square(112.0, 28.0, 112.5, 28.5)),  # twice
        feature("12ab", square(112.0, 28.0, 112.1, 28.1)),
    )
    with pytest.raises(ShapeImportError) as caught:
        shapes_import(actor=None, collection=bad)
    problems = caught.value.problems
    assert problems == [
        "feature 2 (code 430104002999): no region has this code",
        f"feature 3 (code {GRID_B}) 第二网格: polygon, ring 1: the ring is not closed "
        "(its last position must repeat the first)",
        f"feature 4 (code {GRID_A}) 第一网格: polygon, ring 1, position 1: [28.0, 112.0] is not in China "
        "(longitude 73–136, latitude 3–54; GeoJSON puts the longitude first)",
        "feature 5: properties.code (the region code) is missing",
        f"feature 6 (code {COMMUNITY_A}): the code appears twice in the file",
        "feature 7 (code 12ab): a region code has 2, 4, 6, 9, 12 or 15 digits",
    ]
    assert list(RegionShape.objects.values_list("region_code", "geometry")) == before
    assert not AuditEntry.objects.filter(action="region.shape_import").exclude(detail__features=1).exists()


@pytest.mark.parametrize(
    "collection", [{"type": "Feature"}, {"type": "FeatureCollection", "features": []}, []]
)
def test_not_a_feature_collection(tree: dict[str, Region], collection: Any) -> None:
    with pytest.raises(ShapeImportError):
        shapes_import(actor=None, collection=collection)
    assert not RegionShape.objects.exists()


def test_a_child_reaching_outside_its_parent_is_written_and_reported(tree: dict[str, Region]) -> None:
    shapes_import(actor=None, collection=fc(feature(COMMUNITY_A, square(112.9, 28.1, 113.0, 28.2))))
    result = shapes_import(
        actor=None,
        collection=fc(
            feature(GRID_A, square(112.95, 28.12, 113.05, 28.18)),  # half outside the stored parent
            feature(GRID_B, square(112.9, 28.1, 112.95, 28.2)),  # inside, sharing two of its edges
        ),
    )
    assert result.written == 2
    assert result.warnings == [
        f"code {GRID_A} 第一网格: 50% of its boundary's points lie outside its parent {COMMUNITY_A}"
    ]


def test_command_imports_exports_and_refuses(tree: dict[str, Region], tmp_path: Path) -> None:
    good = tmp_path / "good.geojson"
    good.write_text(
        json.dumps(
            fc(
                feature(STREET, square(112.8, 28.0, 113.1, 28.3)),
                feature(COMMUNITY_A, square(112.9, 28.1, 113.0, 28.2)),
            )
        ),
        encoding="utf-8",
    )
    out = StringIO()
    call_command("regions", "import-geojson", str(good), stdout=out)
    assert "2 boundaries imported" in out.getvalue()

    exported = tmp_path / "out.geojson"
    call_command("regions", "export-geojson", "--code", STREET, "-o", str(exported), stdout=StringIO())
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert [f["properties"] for f in data["features"]] == [
        {"code": STREET, "name": "岳麓街道", "level": "street"},
        {"code": COMMUNITY_A, "name": "枇杷塘社区", "level": "community"},
    ]
    assert data == shapes_export(prefix=STREET)
    # What was exported imports again unchanged.
    call_command("regions", "import-geojson", str(exported), stdout=StringIO())
    assert shapes_export(prefix=STREET) == data

    bad = tmp_path / "bad.geojson"
    bad.write_text(
        json.dumps(fc(feature("430104002777", square(112.8, 28.0, 113.1, 28.3)))), encoding="utf-8"
    )
    err = StringIO()
    with pytest.raises(CommandError, match="1 problem"):
        call_command("regions", "import-geojson", str(bad), stdout=StringIO(), stderr=err)
    assert "no region has this code" in err.getvalue()
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="cannot read GeoJSON"):
        call_command("regions", "import-geojson", str(broken))
    assert RegionShape.objects.count() == 2


# --- The demo's boundaries ----------------------------------------------------------------------


def test_demo_boundaries_tile_their_parents(tree: dict[str, Region]) -> None:
    from shequ.demo.shapes import demo_shapes

    shapes = demo_shapes(seed=2026, province="43", city="4301", county="430104")
    assert set(shapes) == {r.code for r in tree.values()}
    assert shapes == demo_shapes(seed=2026, province="43", city="4301", county="430104")  # seeded
    # The demo street lies where Yuelu street really is.
    assert geo.contains(shapes[STREET], 112.94, 28.18)
    rng = random.Random(7)
    for code, shape in shapes.items():
        geo.validate(shape)
        parent = {15: 12, 12: 9, 9: 6, 6: 4, 4: 2}.get(len(code))
        if parent is None:
            continue
        # Children lie inside their parent: every sampled point of a child is in the parent.
        for _ in range(20):
            lon, lat = geo.sample_point(shape, rng)
            assert geo.contains(shapes[code[:parent]], lon, lat), code
    # Siblings do not overlap: a point of one grid is in no other grid.
    grids = [c for c in shapes if len(c) == 15]
    for code in grids:
        for _ in range(20):
            lon, lat = geo.sample_point(shapes[code], rng)
            assert [g for g in grids if geo.contains(shapes[g], lon, lat)] == [code]
