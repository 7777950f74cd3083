"""The statistics page of government services (``govservice.view``): an area of the viewer's
regions (or one below it) and a period; figures by item, by answerable unit (department or
community) and by region one level down — applications, closed, on time, satisfaction, bad ratings,
rectifications done, open and overdue, the channels and 帮办代办. An area outside the viewer's
regions answers 404. Tables always; a bar chart beside them (not in elderly mode)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import Q
from django.db.models.functions import Length
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from shequ.core import guards
from shequ.core.models import Region
from shequ.core.permissions import scopes_for
from shequ.govservice import stats
from shequ.govservice.forms_review import CODE, StatsForm
from shequ.govservice.permissions import GovPerm as P
from shequ.govservice.views_review import FORBIDDEN

REGION_OPTIONS_MAX = 500
REGION_OPTION_DEPTH = 2  # the viewer's regions and two levels below (deeper: follow the links)


def _scopes(viewer: Any) -> list[str]:
    codes = set(scopes_for(viewer, P.VIEW))
    return sorted(c for c in codes if not any(c != o and c.startswith(o) for o in codes))


def _options(scopes: list[str], chosen: str) -> list[tuple[str, str]]:
    q = Q()
    for code in scopes:
        q |= Q(
            code__startswith=code,
            code_length__lte=min(len(code) + 3 * REGION_OPTION_DEPTH, stats.COMMUNITY_LENGTH),
        )
    found = list(
        Region.objects.annotate(code_length=Length("code"))
        .filter(q)
        .order_by("code")
        .values_list("code", "name")[:REGION_OPTIONS_MAX]
    )
    if chosen and chosen not in dict(found):
        name = Region.objects.filter(code=chosen).values_list("name", flat=True).first()
        if name:
            found.append((chosen, name))
            found.sort()
    depth = {code: len(code) for code in scopes}
    out = []
    for code, name in found:
        top = next((s for s in scopes if code.startswith(s)), code)
        indent = "　" * ((len(code) - depth.get(top, len(code))) // 3)
        out.append((code, indent + name))
    return out


def _chart(report: stats.Report) -> dict[str, Any]:
    """The grid's statistics script draws a "regions" bar chart of two percentages per row."""
    rows = report.regions or report.items
    return {
        "regions": {
            "labels": [r.label for r in rows],
            "response": [_pct(r.on_time_rate) for r in rows],
            "resolve": [_pct(r.satisfaction) for r in rows],
            "names": [str(_("Closed on time")), str(_("Satisfied (4–5 stars)"))],
        },
        "days": {"labels": [], "submitted": [], "resolved": [], "names": ["", ""]},
    }


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


@guards.page(P.VIEW, template=FORBIDDEN)
def stats_page(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    scopes = _scopes(viewer)
    asked = str(request.GET.get("region") or "").strip()
    if asked and (not CODE.match(asked) or not any(asked.startswith(s) for s in scopes)):
        guards.record_denial(request, P.VIEW, region_code=asked[:15])
        raise Http404
    session_region = str(request.session.get("current_region", "") or "")
    default = (
        session_region if any(session_region.startswith(s) for s in scopes) and session_region else scopes[0]
    )
    form = StatsForm(request.GET or None, regions=_options(scopes, asked), default_region=default)
    context: dict[str, Any] = {"form": form}
    if request.GET and not form.is_valid():
        return render(request, "govservice/stats/index.html", context, status=400)
    if form.is_bound:
        region, period = form.cleaned_data["region"], form.cleaned_data["period_obj"]
        params = form.params()
    else:
        region, period = default, stats.period_of(stats.MONTH)
        params = {"region": region, "period": stats.MONTH}
    report = stats.report(region_code=region, period=period)
    for row in report.regions:
        row.link = "?" + urlencode({**params, "region": row.key})
    context.update(report=report, charts=_chart(report), chart_of_regions=bool(report.regions))
    return render(request, "govservice/stats/index.html", context)
