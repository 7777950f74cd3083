"""The grid worker's map (``registry:map``) and its GeoJSON (``registry:map_data``): the grid's
boundary, its buildings (a tap opens the building page with its houses), key places, and the
open tickets of the grid (from the grid app's ``grid:map_data``, when that app is installed).
Buildings whose point lies outside their grid's boundary are marked and listed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from shequ.core import geo, maps
from shequ.core.models import Region, RegionLevel
from shequ.core.permissions import Viewer, codes_q, has_perm, scopes_for
from shequ.core.region_shapes import shapes_of
from shequ.registry import selectors
from shequ.registry.models import Building, House, KeyPlace
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.views import count_subquery, region_in_scope, registry_page, with_local_addresses

MAX_BUILDINGS = 3000  # a street's worth; a county officer picks an area first
MAX_PLACES = 500
MAX_GRIDS = 500


def area_for(viewer: Viewer, code: str) -> list[Region]:
    """The region asked for (404 outside the viewer's scope) or the viewer's own regions."""
    code = code.strip()
    if code:
        return [region_in_scope(viewer, code, P.VIEW_PLACES)]
    return list(Region.objects.filter(code__in=scopes_for(viewer, P.VIEW_PLACES)).order_by("code"))


@dataclass
class GridMap:
    regions: list[Region] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    places: list[KeyPlace] = field(default_factory=list)
    truncated: bool = False
    without_point: int = 0

    @property
    def outside(self) -> list[Building]:
        return [b for b in self.buildings if getattr(b, "outside", False)]


def grid_map(viewer: Viewer, area: list[Region]) -> GridMap:
    codes = [r.code for r in area]
    grids = Region.objects.filter(codes_q(codes, "code"), level=RegionLevel.GRID).order_by("code")[:MAX_GRIDS]
    shown = {r.code: r for r in [*area, *grids]}
    in_area = selectors.building_list(viewer=viewer).filter(codes_q(codes))
    located = in_area.filter(latitude__isnull=False, longitude__isnull=False)
    # Houses only: the popup says how many; people are counted on the building page.
    buildings = list(
        located.annotate(house_count=count_subquery(House.objects.all(), "building"))[: MAX_BUILDINGS + 1]
    )
    out = GridMap(
        regions=list(shown.values()),
        buildings=with_local_addresses(buildings[:MAX_BUILDINGS]),
        truncated=len(buildings) > MAX_BUILDINGS,
        without_point=in_area.filter(latitude__isnull=True).count(),
    )
    shapes = shapes_of({b.region_code for b in out.buildings})
    for b in out.buildings:
        b.outside = maps.outside(shapes, b.region_code, b.latitude, b.longitude)  # type: ignore[attr-defined]
    out.places = list(
        selectors.key_place_list(viewer=viewer)
        .filter(codes_q(codes), is_active=True, building__latitude__isnull=False)
        .select_related("building")[:MAX_PLACES]
    )
    return out


def features(data: GridMap, area: list[Region]) -> list[dict[str, Any]]:
    focus = {r.code: {"focus": True} for r in area}
    out = maps.region_features(data.regions, focus)
    for b in data.buildings:
        out.append(
            geo.feature(
                geo.point(float(b.longitude or 0), float(b.latitude or 0)),
                {
                    "kind": "building",
                    "id": b.pk,
                    "label": b.local_address or b.address,  # type: ignore[attr-defined]
                    "houses": b.house_count,  # type: ignore[attr-defined]
                    "outside": bool(b.outside),  # type: ignore[attr-defined]
                    "region": b.region_code,
                    "url": reverse("registry:building", args=[b.pk]),
                },
            )
        )
    for p in data.places:
        building = p.building
        if building is None or building.latitude is None or building.longitude is None:
            continue
        out.append(
            geo.feature(
                geo.point(float(building.longitude), float(building.latitude)),
                {
                    "kind": "place",
                    "id": p.pk,
                    "label": p.name,
                    "kind_label": str(p.get_kind_display()),
                    "url": reverse("registry:key_place", args=[p.pk]),
                },
            )
        )
    return out


@registry_page(P.VIEW_PLACES)
def map_data(request: HttpRequest) -> HttpResponse:
    area = area_for(request.user, request.GET.get("region", ""))
    return JsonResponse(
        geo.collection(features(grid_map(request.user, area), area)), content_type="application/geo+json"
    )


GRID_VIEW = "grid.view"  # the grid app's permission to read its region's tickets


def _tickets_url(viewer: Viewer, code: str) -> str:
    """The grid app's open tickets of the area, if that app is installed and the viewer may read
    them (the registry does not import it: the page only points at its data)."""
    if not has_perm(viewer, GRID_VIEW, code or None):
        return ""
    try:
        url = reverse("grid:map_data")
    except NoReverseMatch:
        return ""
    return url + "?" + urlencode({"layer": "tickets", **({"region": code} if code else {})})


EMERGENCY_VIEW = "emergency.view"  # the emergency app's permission to read its region's warnings


def _warnings_url(viewer: Viewer, code: str) -> str:
    """The emergency app's warnings in force over the area, if that app is installed and the viewer
    may read them (as for tickets, the page only points at the data)."""
    if not has_perm(viewer, EMERGENCY_VIEW, code or None):
        return ""
    try:
        url = reverse("emergency:map_data")
    except NoReverseMatch:
        return ""
    return url + ("?" + urlencode({"region": code}) if code else "")


@registry_page(P.VIEW_PLACES)
def map_page(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    code = request.GET.get("region", "").strip()
    area = area_for(viewer, code)
    data = grid_map(viewer, area)
    query = "?" + urlencode({"region": code}) if code else ""
    sources: list[dict[str, Any]] = [{"url": reverse("registry:map_data") + query}]
    tickets = _tickets_url(viewer, code)
    if tickets:
        sources.append({"url": tickets, "list": "map-tickets"})
    warnings = _warnings_url(viewer, code)
    if warnings:
        sources.append({"url": warnings})
        # The warnings in words (the map only draws their areas): the emergency app's public list.
        warnings_page = reverse("emergency:public") + ("?" + urlencode({"region": code}) if code else "")
    else:
        warnings_page = ""
    config = {
        **maps.map_settings(),
        "sources": sources,
        "text": {
            "houses": _("%s houses"),
            "outside": _("Location outside the grid"),
            "open_building": _("Open the building and its houses"),
            "open_place": _("Open the key place"),
            "open_ticket": _("Open the ticket"),
            "open_warning": _("Open the warning"),
            "details": _("Details"),
            "ready": _("The map is drawn."),
        },
    }
    context = {
        "area": area,
        "data": data,
        "map_config": config,
        "tickets": bool(tickets),
        "warnings_page": warnings_page,
    }
    return maps.allow_tiles(render(request, "registry/map.html", context))
