"""Report pages (统一报表): the index of the viewer's reports, one report as a table with its manual
fields, refreshing and submitting it, its history of submissions and the Excel form.

Thin: the selectors (``selectors_reports``) read and scope, the services decide, ``excel`` draws the
official form from the same ``ReportTable`` the page shows.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit, guards
from shequ.core.excel import XLSX_CONTENT_TYPE
from shequ.core.forms import apply_service_errors
from shequ.core.models import LEVEL_CODE_LENGTH, Region
from shequ.core.permissions import Viewer, has_perm, scopes_for
from shequ.reports import selectors_reports as sel
from shequ.reports import services as svc
from shequ.reports.definitions import Row, parse
from shequ.reports.excel import FormHeading, report_workbook
from shequ.reports.forms_reports import IndexFilterForm, ManualForm
from shequ.reports.models import InstanceStatus, ReportInstance, ReportSnapshot, ReportTemplate
from shequ.reports.permissions import ReportPerm as P
from shequ.reports.services._common import is_filler
from shequ.reports.services.review import editable_manual_rows

FORBIDDEN = "reports/report/forbidden.html"
reports_page = functools.partial(guards.page, template=FORBIDDEN)
INDEX_PAGE = 50


# --- Helpers shared by the report pages ---------------------------------------------------------


def load_instance(request: HttpRequest, pk: int) -> ReportInstance:
    """The instance in the viewer's scope (404 outside it)."""
    return sel.instance_for(viewer=request.user, pk=pk)


def load_snapshot(instance: ReportInstance, revision: Any) -> ReportSnapshot | None:
    """The snapshot ``revision`` of ``instance`` (None without one; 404 for a wrong number)."""
    if revision in (None, ""):
        return None
    try:
        number = int(revision)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    snapshot = instance.snapshots.select_related("submitted_by", "outcome_by").filter(revision=number).first()
    if snapshot is None:
        raise Http404
    return snapshot


def shown_table(instance: ReportInstance, snapshot: ReportSnapshot | None) -> Any:
    """The table as ``snapshot`` froze it, or as the instance stands."""
    if snapshot is None:
        return sel.table(instance)
    return sel.table(instance, values=snapshot.values, manual=snapshot.manual)


def may_fill(user: Viewer, instance: ReportInstance) -> bool:
    """The region's own filler: a scope on exactly this region (a street officer reviews its
    communities' reports but does not fill them)."""
    return instance.editable and is_filler(user, instance.region_code)


def editable_rows(instance: ReportInstance) -> list[Row]:
    """The manual rows this region types (above the filling level, not those summed up)."""
    return editable_manual_rows(parse(instance.template.definition), instance)


def manual_initial(instance: ReportInstance) -> dict[str, str]:
    return {key: "" if value is None else str(value) for key, value in (instance.manual or {}).items()}


def parent_code(code: str) -> str:
    shorter = [n for n in LEVEL_CODE_LENGTH.values() if n < len(code)]
    return code[: max(shorter)] if shorter else ""


def may_review(user: Viewer, instance: ReportInstance) -> bool:
    parent = parent_code(instance.region_code)
    return bool(parent) and has_perm(user, P.REVIEW, parent)


def unit_name(region: Region) -> str:
    """The 填报单位 as a form names it: the street and community for a community
    (岳麓街道枇杷塘社区), the region's own name above."""
    street = LEVEL_CODE_LENGTH["street"]
    if len(region.code) <= street:
        return region.name
    codes = [region.code[:n] for n in LEVEL_CODE_LENGTH.values() if street <= n <= len(region.code)]
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    return "".join(names.get(c, "") for c in codes) or region.name


def authority(template: ReportTemplate, region: Region) -> str:
    """制表机关: the definition's when it names one, else the region that receives the report."""
    named = (template.definition or {}).get("authority")
    if named:
        return str(named)
    length = LEVEL_CODE_LENGTH.get(template.receive_level, 0)
    code = region.code[:length]
    return Region.objects.filter(code=code).values_list("name", flat=True).first() or ""


def period_label(instance: ReportInstance) -> str:
    return sel.period_label(instance.template.periodicity, instance.period_start)


def _status_counts(user: Viewer) -> dict[str, int]:
    from django.db.models import Count

    rows = sel.instances_for(viewer=user).order_by().values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


# --- Index --------------------------------------------------------------------------------------


@reports_page(P.VIEW)
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    everything = sel.instances_for(viewer=user)
    templates = list(
        ReportTemplate.objects.filter(pk__in=everything.values("template"))
        .order_by("key", "-version")
        .values_list("key", "title")
    )
    template_choices = list(dict(reversed(templates)).items())
    template_choices.sort()
    starts = sorted(set(everything.values_list("period_start", "template__periodicity")), reverse=True)
    periods: dict[date, str] = {}
    for start, periodicity in starts:
        periods.setdefault(start, sel.period_label(periodicity, start))
    form = IndexFilterForm(request.GET or None, templates=template_choices, periods=list(periods.items()))
    filters = form.filters()
    rows = (
        sel.instances_for(viewer=user, **filters)
        .select_related("template", "region")
        .order_by("-period_start", "template__key", "region_code")
    )
    page = Paginator(rows, INDEX_PAGE).get_page(request.GET.get("page"))
    own = set(scopes_for(user, P.FILL))
    counts = _status_counts(user)
    context = {
        "form": form,
        "page": page,
        "items": [
            {
                "instance": i,
                "period": periods.get(i.period_start) or period_label(i),
                "own": i.region_code in own,
            }
            for i in page.object_list
        ],
        "statuses": [(v, label, counts.get(v, 0)) for v, label in InstanceStatus.choices],
        "status": filters.get("status") or "",
        "may_templates": has_perm(user, P.TEMPLATES),
    }
    return render(request, "reports/report/index.html", context)


# --- One report ---------------------------------------------------------------------------------


def _instance_page(
    request: HttpRequest, instance: ReportInstance, form: ManualForm | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    table = sel.table(instance)
    fill = may_fill(user, instance)
    manual_rows = editable_rows(instance)
    if form is None and fill and manual_rows:
        form = ManualForm(None, rows=manual_rows, initial=manual_initial(instance))
    last = instance.snapshots.select_related("submitted_by", "outcome_by").order_by("-revision").first()
    children = sel.children_of(viewer=user, instance=instance) if instance.level != "community" else []
    context = {
        "instance": instance,
        "template": instance.template,
        "table": table,
        "period": period_label(instance),
        "unit": unit_name(instance.region),
        "form": form if fill else None,
        "may_fill": fill,
        "may_review": may_review(user, instance),
        "last": last,
        "children": children,
        "waiting": sum(1 for c in children if c.status == InstanceStatus.SUBMITTED),
        "revision": None,
    }
    return render(request, "reports/report/instance.html", context, status=status)


@reports_page(P.VIEW, methods=("GET", "POST"))
def instance_detail(request: HttpRequest, pk: int) -> HttpResponse:
    instance = load_instance(request, pk)
    if request.method == "GET":
        return _instance_page(request, instance)
    if not may_fill(request.user, instance):
        return guards.denied(
            request, P.FILL, region_code=instance.region_code, message=_("You cannot change this report now.")
        )
    form = ManualForm(request.POST, rows=editable_rows(instance), initial=manual_initial(instance))
    if form.is_valid():
        try:
            svc.instance_save_manual(actor=request.user, instance=instance, manual=form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Saved. Submit the report when every number is right."))
            return redirect("reports:instance", pk=instance.pk)
    return _instance_page(request, instance, form=form, status=400)


@reports_page(P.FILL, methods=("POST",))
def instance_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    instance = load_instance(request, pk)
    if not may_fill(request.user, instance):
        return guards.denied(
            request, P.FILL, region_code=instance.region_code, message=_("You cannot change this report now.")
        )
    svc.instance_refresh(actor=request.user, instance=instance)
    messages.success(request, _("The numbers were computed again from today's data."))
    return redirect("reports:instance", pk=instance.pk)


@reports_page(P.FILL, methods=("GET", "POST"))
def instance_submit(request: HttpRequest, pk: int) -> HttpResponse:
    instance = load_instance(request, pk)
    if not may_fill(request.user, instance):
        return guards.denied(
            request,
            P.FILL,
            region_code=instance.region_code,
            message=_("This report cannot be submitted now: it is not yours to fill or already submitted."),
        )
    error = ""
    if request.method == "POST":
        try:
            snapshot = svc.instance_submit(actor=request.user, instance=instance)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(
                request,
                _("Submitted (revision %(n)d). The reviewers were told.") % {"n": snapshot.revision},
            )
            return redirect("reports:instance", pk=instance.pk)
    context = {
        "instance": instance,
        "template": instance.template,
        "table": sel.table(instance),
        "period": period_label(instance),
        "unit": unit_name(instance.region),
        "error": error,
    }
    return render(request, "reports/report/submit.html", context, status=400 if error else 200)


# --- History and snapshots ----------------------------------------------------------------------


@reports_page(P.VIEW)
def history(request: HttpRequest, pk: int) -> HttpResponse:
    instance = load_instance(request, pk)
    snapshots = list(instance.snapshots.select_related("submitted_by", "outcome_by").order_by("-revision"))
    context = {
        "instance": instance,
        "template": instance.template,
        "period": period_label(instance),
        "unit": unit_name(instance.region),
        "snapshots": snapshots,
    }
    return render(request, "reports/report/history.html", context)


@reports_page(P.VIEW)
def snapshot_detail(request: HttpRequest, pk: int, revision: int) -> HttpResponse:
    instance = load_instance(request, pk)
    snapshot = load_snapshot(instance, revision)
    assert snapshot is not None
    context = {
        "instance": instance,
        "template": instance.template,
        "table": shown_table(instance, snapshot),
        "period": period_label(instance),
        "unit": unit_name(instance.region),
        "snapshot": snapshot,
        "revision": snapshot.revision,
    }
    return render(request, "reports/report/snapshot.html", context)


# --- Excel --------------------------------------------------------------------------------------


@reports_page(P.VIEW)
def export(request: HttpRequest, pk: int) -> HttpResponse:
    """The official form: a snapshot (``?revision=``) exactly as frozen, else the report as it
    stands — marked as a draft unless submitted or approved."""
    instance = load_instance(request, pk)
    snapshot = load_snapshot(instance, request.GET.get("revision"))
    draft = snapshot is None and instance.status in (InstanceStatus.DRAFT, InstanceStatus.RETURNED)
    if snapshot is not None:
        reported_on = timezone.localdate(snapshot.submitted_at)
    elif instance.submitted_at is not None and not draft:
        reported_on = timezone.localdate(instance.submitted_at)
    else:
        reported_on = timezone.localdate()
    heading = FormHeading(
        title=instance.template.title,
        number=instance.template.number,
        authority=authority(instance.template, instance.region),
        unit=unit_name(instance.region),
        period=period_label(instance),
        reported_on=reported_on,
        draft=draft,
    )
    content = report_workbook(shown_table(instance, snapshot), heading)
    with transaction.atomic():
        audit.record(
            "reports.export",
            request=request,
            region_code=instance.region_code,
            object_type="reports.instance",
            object_id=instance.pk,
            detail={
                "template": instance.template.key,
                "period": instance.period_start.isoformat(),
                "revision": snapshot.revision if snapshot else None,
                "draft": draft,
            },
        )
    suffix = f"-r{snapshot.revision}" if snapshot else ("-draft" if draft else "")
    ascii_name = (
        f"report-{instance.template.key}-{instance.region_code}-{instance.period_start:%Y%m}{suffix}.xlsx"
    )
    words = _("draft") if draft else ""
    name = f"{heading.unit}{heading.title}{heading.period}{words}.xlsx"
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return response
