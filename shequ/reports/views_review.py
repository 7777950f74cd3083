"""Reviewing the reports of the regions below (street and above): their list with status and submit
dates, approving or returning one with a reason; and the drill-down "where does this number come
from" from a cell to the scoped records behind it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from shequ.core import audit, guards
from shequ.core.forms import apply_service_errors
from shequ.core.models import RegionLevel
from shequ.reports import selectors_reports as sel
from shequ.reports import services as svc
from shequ.reports.definitions import parse
from shequ.reports.forms_reports import ReturnForm
from shequ.reports.models import InstanceStatus, ReportInstance
from shequ.reports.permissions import ReportPerm as P
from shequ.reports.views_reports import (
    load_instance,
    load_snapshot,
    may_review,
    period_label,
    reports_page,
    unit_name,
)

RECORDS_PAGE = 30


@reports_page(P.REVIEW)
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """A level's own report (its aggregate) and the reports of the regions directly below it."""
    instance = load_instance(request, pk)
    if instance.level == RegionLevel.COMMUNITY:
        raise Http404  # nothing below a community reports
    children = sel.children_of(viewer=request.user, instance=instance)
    rows = [{"instance": c, "may_review": may_review(request.user, c)} for c in children]
    context = {
        "instance": instance,
        "template": instance.template,
        "table": sel.table(instance),
        "period": period_label(instance),
        "unit": unit_name(instance.region),
        "rows": rows,
        "waiting": sum(1 for c in children if c.status == InstanceStatus.SUBMITTED),
        "approved": sum(1 for c in children if c.status == InstanceStatus.APPROVED),
    }
    return render(request, "reports/report/review.html", context)


def _parent_instance(request: HttpRequest, child: ReportInstance) -> ReportInstance | None:
    """Where to go back to after deciding: the reviewer's own report of the same period."""
    parent = (
        sel.instances_for(
            viewer=request.user, period_start=child.period_start, template_key=child.template.key
        )
        .filter(region_code=child.region.parent.code if child.region.parent else "")
        .first()
    )
    return parent


def _back(request: HttpRequest, child: ReportInstance) -> HttpResponse:
    parent = _parent_instance(request, child)
    if parent is not None:
        return redirect("reports:review", pk=parent.pk)
    return redirect("reports:instance", pk=child.pk)


def _refuse(request: HttpRequest, child: ReportInstance) -> HttpResponse:
    return guards.denied(
        request,
        P.REVIEW,
        region_code=child.region_code,
        message=_("Only the region above reviews this report."),
    )


@reports_page(P.REVIEW, methods=("POST",))
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    child = load_instance(request, pk)
    if not may_review(request.user, child):
        return _refuse(request, child)
    if child.status != InstanceStatus.SUBMITTED:
        messages.error(request, _("This report is not waiting for review: nothing was changed."))
        return _back(request, child)
    svc.instance_approve(actor=request.user, instance=child)
    messages.success(request, _("Approved: %(unit)s.") % {"unit": child.region.name})
    return _back(request, child)


@reports_page(P.REVIEW, methods=("GET", "POST"))
def return_(request: HttpRequest, pk: int) -> HttpResponse:
    child = load_instance(request, pk)
    if not may_review(request.user, child):
        return _refuse(request, child)
    waiting = child.status == InstanceStatus.SUBMITTED
    form = ReturnForm(request.POST or None)
    if request.method == "POST" and waiting and form.is_valid():
        try:
            svc.instance_return(actor=request.user, instance=child, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request, _("Returned to %(unit)s with your reason.") % {"unit": child.region.name}
            )
            return _back(request, child)
    context = {
        "instance": child,
        "template": child.template,
        "table": sel.table(child),
        "period": period_label(child),
        "unit": unit_name(child.region),
        "form": form,
        "waiting": waiting,
        "parent": _parent_instance(request, child),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "reports/report/return.html", context, status=status)


# --- Drill-down ---------------------------------------------------------------------------------


def filters_in_words(stat: Any, filters: dict[str, str]) -> list[tuple[str, str]]:
    """A cell's filters as (breakdown, value) in words, by the statistic's dimensions."""
    dimensions = {d.key: d for d in stat.dimensions}
    words: list[tuple[str, str]] = []
    for key, value in filters.items():
        dimension = dimensions.get(key)
        if dimension is None:
            words.append((key, value))
            continue
        labels = {str(v): str(label) for v, label in dimension.values()}
        words.append((str(dimension.label), labels.get(value, value)))
    return words


@reports_page(P.VIEW)
def drilldown(request: HttpRequest, pk: int, cell: str) -> HttpResponse:
    """这个数字从哪里来: the cell, its filters in words and the records behind it, now."""
    instance = load_instance(request, pk)
    snapshot = load_snapshot(instance, request.GET.get("revision"))
    try:
        stat, records = sel.cell_records(viewer=request.user, instance=instance, cell_key=cell)
    except PermissionDenied:
        return guards.denied(
            request,
            region_code=instance.region_code,
            message=_("The number is shown on the report; the records behind it are not yours to see."),
        )
    definition = parse(instance.template.definition)
    found = definition.cell(cell)
    if found is None:
        raise Http404
    row, column = found
    value = ((snapshot or instance).values or {}).get(cell)
    page = Paginator(records, RECORDS_PAGE).get_page(request.GET.get("page"))
    total = page.paginator.count
    lines = [[stat.row(obj).get(c.key, "") for c in stat.columns] for obj in page.object_list]
    audit.record(
        "reports.drilldown",
        request=request,
        region_code=instance.region_code,
        object_type="reports.instance",
        object_id=instance.pk,
        detail={"cell": cell, "stat": stat.key, "rows": len(lines), "page": page.number},
    )
    context = {
        "instance": instance,
        "template": instance.template,
        "period": period_label(instance),
        "unit": unit_name(instance.region),
        "stat": stat,
        "cell": cell,
        "row_title": row.title,
        "unit_word": row.unit,
        "column_title": column.title if len(definition.columns) > 1 else "",
        "value": value,
        "filters": filters_in_words(stat, definition.filters_of(row, column)),
        "state": stat.kind == "state",
        "page": page,
        "total": total,
        "columns": stat.columns,
        "lines": lines,
        "snapshot": snapshot,
        "differs": value is not None and total != value,
    }
    return render(request, "reports/report/drilldown.html", context)
