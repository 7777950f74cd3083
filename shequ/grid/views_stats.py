"""The statistics page of tickets and its Excel export.

Who sees what:

* holders of ``grid.stats`` (community heads, street, county, city and province officers) — the
  tickets of any region inside their scope, grouped one level down;
* department staff (``grid.department``) — the statistics of their own department: only tickets
  ever dispatched to it (as the ticket lists), in the area it serves, and only its own row in the
  departments table, so one department never reads another's record;
* anyone else — 403. A region outside the viewer's scope answers 404, as a ticket outside it does.

The export holds aggregate figures only — no names, phone numbers or addresses — and is audited
(``grid.stats_export``: who, which area, period and category, how many rows) and watermarked with
the exporter and the time like every export. Its size is bounded by construction (regions one level
down, departments, categories, at most 366 days), so it needs no row cap.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.db.models.functions import Length
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

# Not aliased: makemessages only extracts the names it knows (gettext_lazy, not _lazy).
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from shequ.core import audit, excel, geo
from shequ.core.forms import DateInput, PlatformForm
from shequ.core.models import AuditResult, Department, Region, User
from shequ.core.permissions import scopes_for
from shequ.core.region_shapes import shapes_of
from shequ.grid import selectors, stats
from shequ.grid.models import Category, Status
from shequ.grid.permissions import GridPerm as P

_CODE = re.compile(r"^\d{2}(\d{2}(\d{2}(\d{3}(\d{3}(\d{3})?)?)?)?)?$")
REGION_OPTIONS_MAX = 1000
# Region choices reach this many levels below each of the viewer's scopes (deeper: drill down).
REGION_OPTION_DEPTH = 2


class Viewer:
    """What a user may count: region scopes (``grid.stats``) or, failing that, their departments."""

    def __init__(self, user: User | AnonymousUser) -> None:
        self.user = user
        codes = scopes_for(user, P.STATS)
        self.department_ids: tuple[int, ...] = ()
        if not codes:
            ids = sorted(selectors.department_ids(user))
            self.department_ids = tuple(ids)
            codes = list(Department.objects.filter(pk__in=ids).values_list("region_code", flat=True))
        self.scopes = sorted(c for c in set(codes) if not any(c != o and c.startswith(o) for o in codes))

    @property
    def allowed(self) -> bool:
        return bool(self.scopes)

    def covers(self, code: str) -> bool:
        return any(code.startswith(s) for s in self.scopes)


def _region_options(viewer: Viewer, chosen: str) -> list[tuple[str, str]]:
    q = Q()
    for code in viewer.scopes:
        q |= Q(code__startswith=code, code_length__lte=len(code) + 3 * REGION_OPTION_DEPTH)
    found = list(
        Region.objects.annotate(code_length=Length("code"))
        .filter(q)
        .order_by("code")
        .values_list("code", "name")[:REGION_OPTIONS_MAX]
    )
    names = dict(found)
    if chosen and chosen not in names:
        found.append((chosen, stats.region_label(chosen)))
        found.sort()
        names[chosen] = stats.region_label(chosen)
    options = []
    for code, _name in found:
        top = next((s for s in viewer.scopes if code.startswith(s)), code)
        parts = [names[code[:n]] for n in stats._LENGTHS if len(top) <= n <= len(code) and code[:n] in names]
        options.append((code, " › ".join(parts)))
    return options


def _category_choices() -> list[tuple[Any, Any]]:
    choices: list[tuple[Any, Any]] = [("", _("All categories"))]
    for root, leaves in selectors.category_tree():
        group = [(root.code, _("%(name)s (all)") % {"name": root.name_zh})]
        group += [(leaf.code, leaf.name_zh) for leaf in leaves]
        choices.append((root.name_zh, group))
    return choices


class StatsForm(PlatformForm):
    region = forms.CharField(label=gettext_lazy("Region"), required=False, widget=forms.Select)
    start = forms.DateField(label=gettext_lazy("From"), required=False, widget=DateInput())
    end = forms.DateField(label=gettext_lazy("To"), required=False, widget=DateInput())
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False)

    def __init__(self, data: Any, *, viewer: Viewer, default_region: str) -> None:
        super().__init__(data)
        self.viewer = viewer
        self.default_region = default_region
        chosen = str(self.data.get("region") or "") if self.is_bound else ""
        region = self.fields["region"]
        region.widget.choices = _region_options(viewer, chosen if viewer.covers(chosen) else "")
        region.initial = default_region
        cat = self.fields["category"]
        assert isinstance(cat, forms.ChoiceField)
        cat.choices = _category_choices()
        start, end = stats.this_month()
        self.fields["start"].initial, self.fields["end"].initial = start, end

    def clean_region(self) -> str:
        code = (self.cleaned_data.get("region") or "").strip() or self.default_region
        if not _CODE.match(code) or not self.viewer.covers(code):
            raise ValidationError(_("Choose a region within your area."), code="region_scope")
        if not Region.objects.filter(code=code).exists():
            raise ValidationError(_("There is no region with this code."), code="region_unknown")
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        default_start, default_end = stats.this_month()
        start = data.get("start") or default_start
        end = data.get("end") or (default_end if not data.get("start") or start <= default_end else start)
        if "start" in self.errors or "end" in self.errors:
            return data
        if end < start:
            self.add_error("end", _("The end of the period comes before its start."))
        elif (end - start).days + 1 > stats.MAX_PERIOD_DAYS:
            self.add_error("end", _("Choose a period of at most %(n)d days.") % {"n": stats.MAX_PERIOD_DAYS})
        data["start"], data["end"] = start, end
        return data

    def query(self) -> stats.StatsQuery:
        data = self.cleaned_data
        code = data.get("category") or ""
        category = Category.objects.filter(code=code).first() if code else None
        return stats.StatsQuery(
            region_code=data["region"],
            start=data["start"],
            end=data["end"],
            category=category,
            department_ids=self.viewer.department_ids,
        )

    def params(self) -> dict[str, str]:
        data = self.cleaned_data
        return {
            "region": data["region"],
            "start": data["start"].isoformat(),
            "end": data["end"].isoformat(),
            "category": data.get("category") or "",
        }


def _viewer(request: HttpRequest, action: str) -> Viewer:
    viewer = Viewer(request.user)
    if not viewer.allowed:
        audit.record(
            action,
            request=request,
            object_type="grid.stats",
            result=AuditResult.DENIED,
            detail={"why": "no grid.stats and no department"},
        )
        raise PermissionDenied(_("You may not see ticket statistics."))
    return viewer


def _form(request: HttpRequest, viewer: Viewer, data: Any, action: str) -> StatsForm:
    """The filters; a region outside the viewer's scope is refused with 404 (and audited)."""
    asked = str(data.get("region") or "").strip()
    if asked and not viewer.covers(asked):
        audit.record(
            action,
            request=request,
            region_code=asked[:15],
            object_type="grid.stats",
            result=AuditResult.DENIED,
            detail={"why": "region outside the viewer's scope"},
        )
        raise Http404
    session_region = str(request.session.get("current_region", "") or "")
    default = session_region if session_region and viewer.covers(session_region) else viewer.scopes[0]
    return StatsForm(data, viewer=viewer, default_region=default)


def _chart_data(report: stats.Report) -> dict[str, Any]:
    return {
        "status": [{"name": label, "value": n} for _code, label, n in report.total.status_list if n],
        "regions": {
            "labels": [r.label for r in report.regions],
            "response": [_pct(r.response_rate) for r in report.regions],
            "resolve": [_pct(r.resolve_rate) for r in report.regions],
            "names": [str(_("On-time response")), str(_("On-time resolution"))],
        },
        "days": {
            "labels": [d.label for d in report.days],
            "submitted": [d.submitted for d in report.days],
            "resolved": [d.resolved for d in report.days],
            "names": [str(_("Submitted")), str(_("Resolved"))],
        },
    }


MAP_REGIONS = 500  # a city has a few dozen counties; a county's streets fewer


def _region_map(report: stats.Report) -> dict[str, Any] | None:
    """The "By region" figures as a choropleth of submitted tickets: the boundaries of the area's
    children (inside the viewer's area by construction; those without tickets count 0) as GeoJSON
    for ECharts. None when no child has a boundary."""
    children = Region.objects.filter(parent__code=report.query.region_code).order_by("code")[:MAP_REGIONS]
    names = {r.code: r.name for r in children}
    shapes = shapes_of(names)
    if not shapes:
        return None
    submitted = {r.key: r.submitted for r in report.regions}
    codes = [c for c in names if c in shapes]
    return {
        "geojson": geo.collection(geo.feature(shapes[c], {"name": c}) for c in codes),
        "data": [{"name": c, "label": names[c], "value": submitted.get(c, 0)} for c in codes],
        "title": str(_("Submitted")),
    }


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


@login_required
@require_GET
def stats_page(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request, "grid.stats_view")
    form = _form(request, viewer, request.GET, "grid.stats_view")
    context: dict[str, Any] = {"form": form, "department_view": bool(viewer.department_ids)}
    if not form.is_valid():
        return render(request, "grid/stats/index.html", context, status=400)
    report = stats.report(form.query())
    params = form.params()
    for row in report.regions:
        if len(row.key) > len(report.query.region_code):
            row.link = "?" + urlencode({**params, "region": row.key})
    context.update(
        report=report,
        params=params,
        charts={**_chart_data(report), "regionmap": _region_map(report)},
        category_label=report.query.category.name_zh if report.query.category else "",
        statuses=[(s, Status(s).label) for s in stats.STATUSES],
        urgent=stats.urgent(report.query),
    )
    return render(request, "grid/stats/index.html", context)


# --- Export -------------------------------------------------------------------------------------


def _row(f: stats.Figures) -> list[Any]:
    return [
        f.label,
        f.submitted,
        *[f.by_status.get(s, 0) for s in stats.STATUSES],
        f.resolved,
        f.overdue,
        stats.percent(f.response_rate),
        stats.percent(f.resolve_rate),
        _round(f.response_hours),
        _round(f.resolve_hours),
        f.rated,
        _round(f.rating, 2),
        stats.percent(f.good_share),
    ]


def _round(value: float | None, digits: int = 1) -> float | str:
    return "" if value is None else round(value, digits)


def _columns(first: str) -> list[excel.Column]:
    titles = [
        (first, 24),
        (_("Submitted"), 10),
        *[(str(Status(s).label), 10) for s in stats.STATUSES],
        (_("Resolved"), 10),
        (_("Overdue now"), 10),
        (_("On-time response"), 12),
        (_("On-time resolution"), 12),
        (_("Average response (hours)"), 12),
        (_("Average resolution (hours)"), 12),
        (_("Rated"), 8),
        (_("Average rating"), 10),
        (_("Rated 4–5"), 10),
    ]
    return [excel.Column(str(title), width, text=i == 0) for i, (title, width) in enumerate(titles)]


def _department_rows(report: stats.Report) -> list[list[Any]]:
    return [
        [
            d.label,
            d.dispatched,
            d.accepted,
            d.returned,
            d.resolved,
            d.open,
            d.overdue,
            stats.percent(d.response_rate),
            stats.percent(d.resolve_rate),
            _round(d.response_hours),
            _round(d.resolve_hours),
            d.rated,
            _round(d.rating, 2),
            stats.percent(d.good_share),
        ]
        for d in report.departments
    ]


def _department_columns() -> list[excel.Column]:
    titles = [
        (_("Department"), 28),
        (_("Dispatched"), 10),
        (_("Accepted"), 10),
        (_("Returned"), 10),
        (_("Resolved"), 10),
        (_("Still open"), 10),
        (_("Overdue now"), 10),
        (_("On-time response"), 12),
        (_("On-time resolution"), 12),
        (_("Average response (hours)"), 12),
        (_("Average resolution (hours)"), 12),
        (_("Rated"), 8),
        (_("Average rating"), 10),
        (_("Rated 4–5"), 10),
    ]
    return [excel.Column(str(title), width, text=i == 0) for i, (title, width) in enumerate(titles)]


def workbook(report: stats.Report, *, info: str) -> tuple[bytes, int]:
    """The report as an official workbook: one sheet per table; returns the bytes and the row count."""
    q = report.query
    period = f"{q.start:%Y-%m-%d} – {q.end:%Y-%m-%d}"
    what = report.area + (f" · {q.category.name_zh}" if q.category else "")
    title = _("Ticket statistics: %(what)s, %(period)s") % {"what": what, "period": period}
    total = stats.Figures(**{**report.total.__dict__, "label": report.area})
    sheets = [
        excel.Sheet(
            name=_("Summary"), title=title, columns=_columns(_("Area")), rows=[_row(total)], info=info
        ),
    ]
    if report.regions:
        sheets.append(
            excel.Sheet(
                name=_("By region"),
                title=title,
                columns=_columns(_("Region")),
                rows=[_row(r) for r in report.regions],
                info=info,
            )
        )
    sheets += [
        excel.Sheet(
            name=_("By department"),
            title=title,
            columns=_department_columns(),
            rows=_department_rows(report),
            info=info,
        ),
        excel.Sheet(
            name=_("By category"),
            title=title,
            columns=_columns(_("Category")),
            rows=[_row(c) for c in report.categories],
            info=info,
        ),
        excel.Sheet(
            name=_("By day"),
            title=title,
            columns=[
                excel.Column(_("Day"), 14),
                excel.Column(_("Submitted"), 10, text=False),
                excel.Column(_("Resolved"), 10, text=False),
                excel.Column(_("Overdue now"), 10, text=False),
            ],
            rows=[[d.key, d.submitted, d.resolved, d.overdue] for d in report.days],
            info=info,
        ),
    ]
    urgent = stats.urgent(q)
    sheets.append(
        excel.Sheet(
            name=_("Urgent tickets"),
            title=title,
            columns=[
                excel.Column(_("Urgent"), 10, text=False),
                excel.Column(_("Danger to life (detected)"), 14, text=False),
                excel.Column(_("Acknowledged"), 12, text=False),
                excel.Column(_("Minutes to acknowledgement (median)"), 16, text=False),
                excel.Column(_("Minutes to acknowledgement (90th percentile)"), 16, text=False),
                excel.Column(_("Climbed: not acknowledged in time"), 14, text=False),
                excel.Column(_("Straight to the head: nobody on duty"), 14, text=False),
                excel.Column(_("Not yet acknowledged"), 12, text=False),
                excel.Column(_("False alarms cleared"), 12, text=False),
            ],
            rows=[
                [
                    urgent.alerts,
                    urgent.life_safety,
                    urgent.acknowledged,
                    _round(urgent.ack_median_minutes),
                    _round(urgent.ack_p90_minutes),
                    urgent.escalated,
                    urgent.nobody_on_duty,
                    urgent.waiting,
                    urgent.cleared,
                ]
            ],
            info=info,
        )
    )
    rows = 2 + len(report.regions) + len(report.departments) + len(report.categories) + len(report.days)
    return excel.workbook_bytes(sheets), rows


@login_required
@require_POST
def stats_export(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request, "grid.stats_export")
    form = _form(request, viewer, request.POST, "grid.stats_export")
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    report = stats.report(form.query())
    user = request.user
    name = getattr(user, "display_name", "") or user.get_username()
    when = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    info = _("%(region)s · exported by %(name)s (%(user)s) · %(when)s · for official use only") % {
        "region": report.area,
        "name": name,
        "user": user.get_username(),
        "when": when,
    }
    content, rows = workbook(report, info=info)
    params = form.params()
    audit.record(
        "grid.stats_export",
        request=request,
        region_code=params["region"],
        object_type="grid.stats",
        detail={
            **params,
            "rows": rows,
            "departments": list(viewer.department_ids),
        },
    )
    day = timezone.localdate()
    label = _("ticket statistics")
    filename = f"{report.area}-{label}-{day:%Y%m%d}.xlsx"
    response = HttpResponse(content, content_type=excel.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = (
        f'attachment; filename="grid-stats-{params["region"]}-{day:%Y%m%d}.xlsx"; '
        f"filename*=UTF-8''{quote(filename)}"
    )
    return response
