"""Region boundaries as data: import a GeoJSON FeatureCollection (all or nothing), export one.

Each feature carries its region's code in ``properties.code`` (the significant digits: 2, 4, 6,
9, 12 or 15) and a Polygon or MultiPolygon in WGS84. A file with any bad feature writes nothing
and names every problem by feature; a boundary reaching outside its parent's is written but
reported (boundaries drawn by different offices overlap a little).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from shequ.core import audit, geo
from shequ.core.models import LEVEL_BY_LENGTH, LEVEL_CODE_LENGTH, Region, RegionShape, common_region_code

# Report a child as reaching outside its parent above this share of its vertices (rounding and
# hand-drawn boundaries put a vertex or two on the wrong side of a shared edge).
OUTSIDE_TOLERANCE = 0.0


class ShapeImportError(Exception):
    """The file was refused; ``problems`` names each bad feature. Nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class ShapeImport:
    written: int = 0
    warnings: list[str] = field(default_factory=list)


def parent_code(code: str) -> str | None:
    lengths = sorted(n for n in LEVEL_CODE_LENGTH.values() if n < len(code))
    return code[: lengths[-1]] if lengths else None


def _code_of(feature: Any) -> str | None:
    props = feature.get("properties") if isinstance(feature, dict) else None
    if not isinstance(props, dict):
        return None
    code = props.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)
    return code if isinstance(code, str) else None


def check_collection(collection: Any) -> tuple[dict[str, dict[str, Any]], list[str], list[str]]:
    """Every feature checked: (valid geometries by code, problems, warnings)."""
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        return {}, ["the file must hold a GeoJSON FeatureCollection"], []
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        return {}, ["the FeatureCollection has no features"], []
    codes = [_code_of(f) for f in features]
    known = {
        code: name
        for code, name in Region.objects.filter(code__in=[c for c in codes if c]).values_list("code", "name")
    }
    shapes: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for number, (feature, code) in enumerate(zip(features, codes, strict=True), start=1):
        where = f"feature {number}"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(f"{where}: not a GeoJSON Feature")
            continue
        if code is None:
            problems.append(f"{where}: properties.code (the region code) is missing")
            continue
        where = f"{where} (code {code})"
        if len(code) not in LEVEL_BY_LENGTH or not code.isdigit():
            problems.append(f"{where}: a region code has 2, 4, 6, 9, 12 or 15 digits")
            continue
        if code not in known:
            problems.append(f"{where}: no region has this code")
            continue
        if code in shapes:
            problems.append(f"{where}: the code appears twice in the file")
            continue
        try:
            shapes[code] = geo.validate(feature.get("geometry"))
        except geo.GeometryError as exc:
            problems.append(f"{where} {known[code]}: {exc}")
    warnings = containment_warnings(shapes, known) if not problems else []
    return shapes, problems, warnings


def containment_warnings(shapes: dict[str, dict[str, Any]], names: dict[str, str]) -> list[str]:
    """Children whose boundary reaches outside their parent's (from the file or the database)."""
    parents = {p for p in (parent_code(c) for c in shapes) if p}
    stored = dict(
        RegionShape.objects.filter(region_code__in=parents - set(shapes)).values_list(
            "region_code", "geometry"
        )
    )
    warnings = []
    for code, geometry in shapes.items():
        parent = parent_code(code)
        outer = shapes.get(parent) if parent else None
        outer = outer or (stored.get(parent) if parent else None)
        if outer is None:
            continue
        share = geo.outside_share(geometry, outer)
        if share > OUTSIDE_TOLERANCE:
            warnings.append(
                f"code {code} {names.get(code, '')}: {share:.0%} of its boundary's points lie outside "
                f"its parent {parent}"
            )
    return warnings


def shapes_import(*, actor: Any, collection: Any, source: str = "") -> ShapeImport:
    """Write every feature's boundary, or nothing (``ShapeImportError`` with every problem)."""
    shapes, problems, warnings = check_collection(collection)
    if problems:
        raise ShapeImportError(problems)
    regions = dict(Region.objects.filter(code__in=shapes).values_list("code", "id"))
    now = timezone.now()
    rows = []
    for code, geometry in shapes.items():
        min_lon, min_lat, max_lon, max_lat = geo.bbox(geometry)
        rows.append(
            RegionShape(
                region_id=regions[code],
                region_code=code,
                geometry=geometry,
                min_lon=min_lon,
                min_lat=min_lat,
                max_lon=max_lon,
                max_lat=max_lat,
                updated_at=now,
            )
        )
    area = common_region_code(list(shapes))
    with transaction.atomic():
        RegionShape.objects.bulk_create(
            rows,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["region_code"],
            update_fields=["geometry", "min_lon", "min_lat", "max_lon", "max_lat", "updated_at"],
        )
        audit.record(
            "region.shape_import",
            actor=actor,
            actor_name="" if actor else "shequ regions import-geojson",
            region_code=area,
            object_type="region",
            object_id=area,
            detail={"features": len(rows), "warnings": len(warnings), "file": os.path.basename(source)},
        )
    return ShapeImport(written=len(rows), warnings=warnings)


def shapes_export(*, prefix: str = "", level: str = "") -> dict[str, Any]:
    """The stored boundaries under ``prefix`` (optionally of one level) as a FeatureCollection
    that ``shapes_import`` reads back."""
    qs = RegionShape.objects.filter(region_code__startswith=prefix).select_related("region")
    if level:
        qs = qs.filter(region__level=level)
    return geo.collection(
        geo.feature(s.geometry, {"code": s.region_code, "name": s.region.name, "level": s.region.level})
        for s in qs.order_by("region_code")
    )


def shapes_of(codes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Region code → boundary, for codes the caller has checked against the viewer's scopes."""
    return dict(RegionShape.objects.filter(region_code__in=set(codes)).values_list("region_code", "geometry"))


def shape_set(*, geometries: dict[str, dict[str, Any]], actor: Any = None) -> int:
    """Store boundaries made by code (the demo's), each checked like an imported one."""
    collection = geo.collection(geo.feature(g, {"code": c}) for c, g in geometries.items())
    return shapes_import(actor=actor, collection=collection, source="demo").written
