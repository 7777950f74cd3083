"""Report templates (province officers, ``reports.templates``): every template with its versions,
one version's definition previewed as the table it makes, its JSON file, and a new version
published from an uploaded JSON definition."""

from __future__ import annotations

import json
from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from shequ.core.forms import apply_service_errors
from shequ.core.models import Region
from shequ.reports import selectors_reports as sel
from shequ.reports import services as svc
from shequ.reports.forms_reports import PublishForm
from shequ.reports.models import ReportInstance, ReportTemplate
from shequ.reports.permissions import ReportPerm as P
from shequ.reports.views_reports import reports_page


def template_rows() -> list[dict[str, object]]:
    """Each key's active version (or latest) with all its versions."""
    versions = list(ReportTemplate.objects.order_by("key", "-version"))
    by_key: dict[str, list[ReportTemplate]] = {}
    for t in versions:
        by_key.setdefault(t.key, []).append(t)
    return [
        {"current": next((v for v in group if v.active), group[0]), "versions": group}
        for group in by_key.values()
    ]


@reports_page(P.TEMPLATES)
def templates(request: HttpRequest) -> HttpResponse:
    return render(request, "reports/report/templates.html", {"rows": template_rows(), "form": PublishForm()})


def preview(template: ReportTemplate) -> object:
    """The table an empty instance of ``template`` makes (titles, units, columns, headings)."""
    today = date.today()
    blank = ReportInstance(
        template=template,
        region=Region(code="", name=""),
        region_code="",
        level=template.fill_level,
        period_start=today,
        period_end=today,
        values={},
        manual={},
    )
    return sel.table(blank)


@reports_page(P.TEMPLATES)
def template_detail(request: HttpRequest, key: str, version: int) -> HttpResponse:
    template = ReportTemplate.objects.filter(key=key, version=version).first()
    if template is None:
        raise Http404
    if request.GET.get("format") == "json":
        body = json.dumps(template.definition, ensure_ascii=False, indent=2)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{template.key}-v{template.version}.json"'
        return response
    context = {
        "template": template,
        "versions": list(ReportTemplate.objects.filter(key=key).order_by("-version")),
        "table": preview(template),
    }
    return render(request, "reports/report/template.html", context)


@reports_page(P.TEMPLATES, methods=("POST",))
def template_publish(request: HttpRequest) -> HttpResponse:
    form = PublishForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            template = svc.template_publish(
                actor=request.user,
                key=data["key"],
                title=data["title"],
                number=data["number"],
                periodicity=data["periodicity"],
                fill_level=data["fill_level"],
                receive_level=data["receive_level"],
                definition=data["definition"],
                note=data["note"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Version %(v)d of %(title)s is published; new periods are filled with it.")
                % {"v": template.version, "title": template.title},
            )
            return redirect("reports:template", key=template.key, version=template.version)
    return render(
        request, "reports/report/templates.html", {"rows": template_rows(), "form": form}, status=400
    )
