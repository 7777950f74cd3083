"""Ticket maps (``grid:map``) and their GeoJSON (``grid:map_data``).

A community or a grid sees its tickets as points coloured by deadline state (on time, due soon,
overdue, done in the last 30 days), with the layers other apps offer through their manifests
(``Component.map_layers``: the IoT devices and open alerts) as toggles, without importing those
apps; a street sees its grids shaded by open tickets (a county or a city its streets or counties).
Each map repeats its numbers as a list or table, and lists the tickets whose point lies outside
their region's boundary. Region staff only (``grid.view``), inside their scope: another region
answers 404.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core import geo, maps
from shequ.core.models import LEVEL_CODE_LENGTH, Region, RegionLevel
from shequ.core.permissions import Viewer, codes_q, scopes_for
from shequ.core.region_shapes import shapes_of
from shequ.grid import selectors
from shequ.grid.models import OPEN_STATUSES, Status, Ticket
from shequ.grid.permissions import GridPerm as P
from shequ.grid.views import COLOUR_LABELS, grid_page

DONE = "done"
STATE_LABELS: dict[str, Any] = {**COLOUR_LABELS, DONE: gettext_lazy("Done")}
STATE_ORDER = ("red", "yellow", "green", DONE)
DONE_DAYS = 30
MAX_POINTS = 1000  # a community's open tickets are a few dozen; a bound, not a page
MAX_REGIONS = 500
BANDS = 5
STREET_LENGTH = LEVEL_CODE_LENGTH[RegionLevel.STREET]


def area_for(viewer: Viewer, code: str) -> list[Region]:
    """The region asked for (inside the viewer's scope, else 404), or the viewer's own regions."""
    scopes = scopes_for(viewer, P.VIEW)
    code = code.strip()
    if code:
        if not code.isdigit() or not any(code.startswith(c) for c in scopes):
            raise Http404
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise Http404
        return [region]
    return list(Region.objects.filter(code__in=scopes).order_by("code"))


def is_heat(area: list[Region]) -> bool:
    """A street or anything wider is shown as shaded areas; a community or grid as points."""
    return bool(area) and all(len(r.code) <= STREET_LENGTH for r in area)


def heat_regions(area: list[Region]) -> list[Region]:
    """What a heat map shades: a street's grids, or the children of a county, city or province."""
    q = Q(pk__in=[])
    for r in area:
        if r.level == RegionLevel.STREET:
            q |= Q(code__startswith=r.code, level=RegionLevel.GRID)
        else:
            q |= Q(parent__code=r.code)
    return list(Region.objects.filter(q).select_related("parent").order_by("code")[:MAX_REGIONS])


def _open(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return qs.filter(status__in=OPEN_STATUSES)


@dataclass
class HeatRow:
    region: Region
    open: int = 0
    overdue: int = 0
    band: int = 0
    url: str = ""


@dataclass
class Heat:
    rows: list[HeatRow] = field(default_factory=list)
    bands: list[tuple[int, int, int]] = field(default_factory=list)  # band, low, high
    elsewhere: int = 0  # open tickets of the area not in any shaded region (filed at community level)


def heat(viewer: Viewer, area: list[Region]) -> Heat:
    regions = heat_regions(area)
    base = _open(selectors.region_tickets(viewer).filter(codes_q([r.code for r in area]))).order_by()
    out = Heat(rows=[HeatRow(region=r) for r in regions])
    by_code = {row.region.code: row for row in out.rows}
    now = timezone.now()
    for length in sorted({len(r.code) for r in regions}):
        counted = base.annotate(part=Substr("region_code", 1, length)).values("part")
        for item in counted.annotate(n=Count("pk")):
            if item["part"] in by_code:
                by_code[item["part"]].open = item["n"]
        for item in counted.filter(due_at__lt=now).annotate(n=Count("pk")):
            if item["part"] in by_code:
                by_code[item["part"]].overdue = item["n"]
    top = max((row.open for row in out.rows), default=0)
    step = max(1, math.ceil(top / (BANDS - 1))) if top else 1
    for row in out.rows:
        row.band = 0 if row.open == 0 else min(BANDS - 1, math.ceil(row.open / step))
        row.url = "?" + urlencode({"region": row.region.code})
    out.bands = [(0, 0, 0)] + [(b, (b - 1) * step + 1, b * step) for b in range(1, BANDS)]
    out.elsewhere = base.count() - sum(row.open for row in out.rows)
    return out


@dataclass
class Points:
    tickets: list[Ticket] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    without_point: int = 0
    truncated: bool = False


def ticket_points(viewer: Viewer, area: list[Region], *, done: bool = True) -> Points:
    """The area's open tickets (and those closed in the last ``DONE_DAYS`` days) with a point,
    each with ``state``, ``state_label`` and ``outside`` set."""
    base = (
        selectors.region_tickets(viewer).filter(codes_q([r.code for r in area])).exclude(status=Status.MERGED)
    )
    wanted = Q(status__in=OPEN_STATUSES)
    if done:
        wanted |= Q(status=Status.CLOSED, closed_at__gte=timezone.now() - dt.timedelta(days=DONE_DAYS))
    qs = base.filter(wanted)
    located = list(
        qs.filter(latitude__isnull=False, longitude__isnull=False).order_by("due_at", "pk")[: MAX_POINTS + 1]
    )
    out = Points(truncated=len(located) > MAX_POINTS, without_point=qs.filter(latitude__isnull=True).count())
    out.tickets = located[:MAX_POINTS]
    shapes = shapes_of({t.region_code for t in out.tickets})
    for t in out.tickets:
        state = DONE if t.status == Status.CLOSED else (selectors.colour(t) or "green")
        t.state = state  # type: ignore[attr-defined]
        t.state_label = STATE_LABELS[state]  # type: ignore[attr-defined]
        t.outside = maps.outside(shapes, t.region_code, t.latitude, t.longitude)  # type: ignore[attr-defined]
        out.counts[state] = out.counts.get(state, 0) + 1
    return out


def _ticket_feature(t: Any) -> dict[str, Any]:
    return geo.feature(
        geo.point(float(t.longitude), float(t.latitude)),
        {
            "kind": "ticket",
            "id": t.pk,
            "label": f"{t.number} {t.title}",
            "state": t.state,
            "state_label": str(t.state_label),
            "outside": bool(t.outside),
            "region": t.region_code,
            "url": reverse("grid:ticket", args=[t.pk]),
        },
    )


def map_features(viewer: Viewer, area: list[Region], layer: str = "") -> list[dict[str, Any]]:
    """``layer="tickets"``: open tickets as points whatever the level (the registry's map)."""
    if layer == "tickets":
        points = ticket_points(viewer, area, done=False)
        return [_ticket_feature(t) for t in points.tickets]
    if is_heat(area):
        result = heat(viewer, area)
        extra = {
            row.region.code: {"count": row.open, "overdue": row.overdue, "band": row.band, "url": row.url}
            for row in result.rows
        }
        return maps.region_features([row.region for row in result.rows], extra)
    points = ticket_points(viewer, area)
    grids = list(Region.objects.filter(codes_q([r.code for r in area], "code"), level=RegionLevel.GRID))
    focus = {r.code: {"focus": True} for r in area}
    shown = {r.code: r for r in [*area, *grids]}
    return [
        *maps.region_features(shown.values(), focus),
        *[_ticket_feature(t) for t in points.tickets],
    ]


@grid_page(P.VIEW)
def map_data(request: HttpRequest) -> HttpResponse:
    area = area_for(request.user, request.GET.get("region", ""))
    layer = request.GET.get("layer", "")
    if layer and layer != "tickets":
        # Another app's layer (the IoT devices and alerts), through the core's registry of layers.
        offered = maps.layer_features(request.user, area, layer)
        if offered is None:
            raise Http404
        return JsonResponse(geo.collection(offered), content_type="application/geo+json")
    features = map_features(request.user, area, layer)
    return JsonResponse(geo.collection(features), content_type="application/geo+json")


@dataclass
class ShownLayer:
    """Another app's layer on the points map: a toggle, its legend and its marks listed."""

    key: str
    label: Any
    kind: str
    legend: list[tuple[str, Any, int]]
    items: list[dict[str, Any]]

    @property
    def dom_id(self) -> str:
        return "map-layer-" + self.key.replace(".", "-")


def other_layers(
    viewer: Viewer, area: list[Region], code: str
) -> tuple[list[ShownLayer], list[dict[str, Any]]]:
    """The layers other apps offer the viewer over the area, and their map sources."""
    shown, sources = [], []
    for layer in maps.layers_for(viewer, area):
        items = [f["properties"] for f in layer.features(viewer, [r.code for r in area])]
        counts: dict[str, int] = {}
        for item in items:
            counts[item["state"]] = counts.get(item["state"], 0) + 1
        legend = [(state, words, counts.get(state, 0)) for state, words in layer.legend]
        shown.append(ShownLayer(layer.key, layer.label, layer.kind, legend, items))
        query = urlencode({"layer": layer.key, **({"region": code} if code else {})})
        sources.append({"url": reverse("grid:map_data") + "?" + query, "layer": layer.key})
    return shown, sources


@grid_page(P.VIEW)
def map_page(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    area = area_for(viewer, request.GET.get("region", ""))
    code = request.GET.get("region", "").strip()
    data_url = reverse("grid:map_data") + ("?" + urlencode({"region": code}) if code else "")
    settings_ = maps.map_settings()
    context: dict[str, Any] = {
        "area": area,
        "heat_mode": is_heat(area),
        "map_config": {
            **settings_,
            "sources": [{"url": data_url}],
            "regionPopups": is_heat(area),
            "text": {
                "open": _("%s open tickets"),
                "outside": _("Location outside the grid"),
                "open_ticket": _("Open the ticket"),
                "open_region": _("Map of this area"),
                "details": _("Details"),
                "ready": _("The map is drawn."),
            },
        },
    }
    if context["heat_mode"]:
        context["heat"] = heat(viewer, area)
        # The wrong pins of the whole area, listed even where the map shows areas, not points.
        context["outside"] = [t for t in ticket_points(viewer, area, done=False).tickets if t.outside]  # type: ignore[attr-defined]
    else:
        points = ticket_points(viewer, area)
        context["layers"], layer_sources = other_layers(viewer, area, code)
        context["map_config"]["sources"].extend(layer_sources)
        context["map_config"]["text"]["open_device"] = _("Open the device")
        context["map_config"]["text"]["open_alert"] = _("Open the alert")
        context["points"] = points
        context["legend"] = [(s, STATE_LABELS[s], points.counts.get(s, 0)) for s in STATE_ORDER]
        context["outside"] = [t for t in points.tickets if t.outside]  # type: ignore[attr-defined]
    parent = area[0].parent if len(area) == 1 and area[0].parent_id else None
    if parent is not None and any(parent.code.startswith(c) for c in scopes_for(viewer, P.VIEW)):
        context["up"] = parent
    response = render(request, "grid/map.html", context)
    return maps.allow_tiles(response)
