"""Warnings in force on the maps of the app shell (``emergency:map_data``): the grid worker's map
(``registry:map``) draws the area of every warning covering the region it shows, coloured by
level, with a link to the warning. The roll-call's own map (who has not answered per grid) is
``views_callouts``'s."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from shequ.core import geo, guards, maps
from shequ.core.models import Region
from shequ.core.permissions import has_perm, scopes_for
from shequ.core.region_shapes import shapes_of
from shequ.emergency import selectors
from shequ.emergency.models import Level, WarningStatus, WarningType
from shequ.emergency.permissions import EmergencyPerm as P

MAX_WARNINGS = 50


def _covers(area_codes: list[str], codes: list[str]) -> bool:
    """Does a warning of ``area_codes`` touch any of ``codes`` (one inside the other)?"""
    return any(a.startswith(c) or c.startswith(a) for a in area_codes for c in codes)


@guards.page(P.VIEW)
def map_data(request: HttpRequest) -> HttpResponse:
    """GeoJSON of the warnings in force covering ``?region=`` (in the viewer's scope), or the
    viewer's own regions: each area region's boundary and the zone drawn, as ``kind: warning``."""
    viewer = request.user
    code = request.GET.get("region", "").strip()
    if code:
        if not has_perm(viewer, P.VIEW, code) or not Region.objects.filter(code=code).exists():
            raise Http404
        codes = [code]
    else:
        codes = sorted(scopes_for(viewer, P.VIEW))
    warnings = [
        w
        for w in selectors.warning_list(viewer=viewer, status=WarningStatus.ISSUED).order_by(
            "-level", "-issued_at"
        )
        if _covers(w.area_codes or [w.region_code], codes)
    ][:MAX_WARNINGS]
    features: list[dict[str, Any]] = []
    for warning in warnings:
        drill = _("[Drill]") if warning.is_drill else ""
        props = {
            "kind": "warning",
            "color": warning.color,
            "label": drill
            + _("%(level)s %(kind)s warning")
            % {"level": Level(warning.level).label, "kind": WarningType(warning.kind).label}
            + "："
            + warning.title,
            "url": reverse("emergency:warning", args=[warning.pk]),
        }
        # Only the area's regions that lie where the map looks (a county warning on a grid's map is
        # the grid's part of it, not the county's outline).
        # A region without a boundary of its own is drawn as the warning's area region holding it.
        shown = set()
        for area in warning.area_codes or [warning.region_code]:
            inner = {area for c in codes if area.startswith(c)} | {c for c in codes if c.startswith(area)}
            outlined = set(shapes_of(inner))
            shown |= outlined | ({area} if inner - outlined else set())
        regions = Region.objects.filter(code__in=sorted(shown))
        features += [{**f, "properties": {**f["properties"], **props}} for f in maps.region_features(regions)]
        if warning.area_polygon:
            features.append(geo.feature(warning.area_polygon, {**props, "zone": True}))
    return JsonResponse(geo.collection(features), content_type="application/geo+json")
