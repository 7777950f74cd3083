"""What every map page shares: the optional tile server, and regions as GeoJSON features.

Maps draw region boundaries and points as vector layers on a plain background, so they work with
no tile server (the demo has no internet); ``SHEQU_MAP_TILES`` adds a tile layer underneath.
Page scripts: ``core/maps.js`` (with Leaflet), loaded only by map pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.http import HttpResponse

from shequ.core import geo
from shequ.core.components import MapLayer, components
from shequ.core.models import Region
from shequ.core.permissions import Viewer, has_perm
from shequ.core.region_shapes import shapes_of


def map_settings() -> dict[str, Any]:
    """The tile layer (``tiles`` empty: none) and where to centre a map that has nothing to show."""
    center = settings.GRID_MAP_CENTER
    return {
        "tiles": str(settings.GRID_MAP_TILES or ""),
        "attribution": settings.GRID_MAP_ATTRIBUTION,
        "lat": center[0],
        "lng": center[1],
    }


def allow_tiles(response: HttpResponse, tiles: str | None = None) -> HttpResponse:
    """Let this page (only) load images from the tile server (CSP img-src)."""
    match = re.match(r"^(https?://[^/{]+)", settings.GRID_MAP_TILES if tiles is None else tiles)
    if match:
        response._csp_update = {"img-src": [match.group(1)]}  # type: ignore[attr-defined]
    return response


def region_features(
    regions: Iterable[Region], extra: dict[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """A feature per region that has a boundary; ``extra`` adds properties by region code. The
    caller has checked the regions against the viewer's scopes."""
    regions = list(regions)
    shapes = shapes_of(r.code for r in regions)
    return [
        geo.feature(
            shapes[r.code],
            {
                "kind": "region",
                "code": r.code,
                "name": r.name,
                "level": r.level,
                **(extra or {}).get(r.code, {}),
            },
        )
        for r in regions
        if r.code in shapes
    ]


def outside(shapes: dict[str, dict[str, Any]], region_code: str, lat: Any, lng: Any) -> bool | None:
    """Does the point lie outside its region's boundary? None when either is unknown."""
    shape = shapes.get(region_code)
    if shape is None or lat is None or lng is None:
        return None
    return not geo.contains(shape, float(lng), float(lat))


def layers_for(viewer: Viewer, area: Iterable[Region]) -> list[MapLayer]:
    """The map layers other apps offer (``Component.map_layers``) that the viewer may see in the
    area: a map page adds them as toggleable sources without importing those apps."""
    codes = [r.code for r in area]
    return [
        layer
        for comp in components()
        for layer in comp.map_layers
        if codes and all(has_perm(viewer, layer.perm, code) for code in codes)
    ]


def layer_features(viewer: Viewer, area: Iterable[Region], key: str) -> list[dict[str, Any]] | None:
    """The features of the layer ``key`` over the area (already checked against the viewer's
    scopes by the page), or None when no layer of that key is offered to the viewer there."""
    area = list(area)
    layer = next((x for x in layers_for(viewer, area) if x.key == key), None)
    return None if layer is None else layer.features(viewer, [r.code for r in area])
