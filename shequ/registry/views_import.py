"""Pages to import ledgers (upload → dry-run report → commit → result), download the templates and
the marked error workbook, and export people, houses and organizations.

Thin views: forms parse input, ``imports`` and ``exports`` decide, check scope and audit. An upload
belongs to its uploader: anyone else gets 404, like an object outside their scope.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shequ.core import audit, excel, guards
from shequ.core.forms import SPREADSHEET_ACCEPT, PlatformForm, clean_spreadsheet
from shequ.core.models import Region, RegionLevel
from shequ.core.permissions import Perm, Viewer, has_perm, scopes_for
from shequ.registry import exports, imports, selectors
from shequ.registry.models import (
    HouseUse,
    ImportBatch,
    ImportKind,
    ImportStatus,
    OrganizationStatus,
    PersonStatus,
    ResidenceType,
    Sex,
)
from shequ.registry.permissions import RegistryPerm as P

PROBLEMS_PER_PAGE = 200


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=excel.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _region_choices(user: Viewer, perm: str, levels: tuple[str, ...] | None) -> Any:
    codes = scopes_for(user, perm)
    if not codes:
        return Region.objects.none()
    q = Q()
    for code in codes:
        q |= Q(code__startswith=code)
    qs = Region.objects.filter(q)
    if levels:
        qs = qs.filter(level__in=levels)
    return qs.order_by("code")


class RegionField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.code}）"


# --- Import -------------------------------------------------------------------------------------


class ImportForm(PlatformForm):
    kind = forms.ChoiceField(label=gettext_lazy("The file holds"), choices=ImportKind.choices)
    region = RegionField(
        label=gettext_lazy("Import into"),
        queryset=Region.objects.none(),
        to_field_name="code",
        help_text=gettext_lazy("People and organizations without a house are registered here."),
    )
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "Excel (.xlsx, .xls) or CSV, at most 20 MB; the header may be on any of the first rows."
        ),
    )

    def __init__(self, *args: Any, user: Viewer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["region"]
        field.queryset = _region_choices(user, P.IMPORT, (RegionLevel.GRID, RegionLevel.COMMUNITY))
        self.fields["file"].widget.attrs["accept"] = SPREADSHEET_ACCEPT

    def clean_file(self) -> Any:
        return clean_spreadsheet(self.cleaned_data["file"])


@login_required
@require_http_methods(["GET", "POST"])
def import_start(request: HttpRequest) -> HttpResponse:
    guards.require(request, P.IMPORT)
    posted = request.method == "POST"
    form = ImportForm(request.POST if posted else None, request.FILES if posted else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        batch = imports.batch_create(
            actor=request.user,
            kind=form.cleaned_data["kind"],
            region=form.cleaned_data["region"],
            filename=upload.name or "upload",
            content=upload.read(),
            request=request,
        )
        return redirect("registry:import_report", pk=batch.pk)
    recent = ImportBatch.objects.filter(created_by_id=request.user.pk).select_related("region")[:10]
    return render(
        request,
        "registry/import/start.html",
        {"form": form, "recent": recent, "kinds": ImportKind.choices},
        status=400 if form.errors else 200,
    )


@login_required
@require_GET
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    batch = imports.batch_for(request.user, pk)
    report = imports.batch_report(batch)
    page = Paginator(report.problems, PROBLEMS_PER_PAGE).get_page(request.GET.get("page"))
    can_commit = (
        batch.status == ImportStatus.CHECKED and report.ok and report.valid_count > 0 and bool(batch.content)
    )
    return render(
        request,
        "registry/import/report.html",
        {
            "batch": batch,
            "report": report,
            "page": page,
            "can_commit": can_commit,
            "kind_label": imports.kind_label(batch.kind),
            "error_rows": len(report.error_rows),
            "imported_columns": [c for c in report.columns if c["field"]],
            "ignored_columns": [c for c in report.columns if not c["field"]],
            "notes": [s for s in report.skipped if s["why"] == "note"],
            "examples": [s for s in report.skipped if s["why"] == "example"],
            "plan": [(_created_labels().get(k, k), n) for k, n in report.plan.items() if n],
        },
    )


@login_required
@require_GET
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    """The rows with problems as a workbook, the bad cells marked (the user's own data, audited)."""
    batch = imports.batch_for(request.user, pk)
    report = imports.batch_report(batch)
    if not report.problems:
        raise Http404
    content = imports.error_workbook(content=imports.batch_file(batch), report=report, actor=request.user)
    audit.record(
        "registry.import_errors",
        request=request,
        region_code=batch.region_code,
        object_type="registry.importbatch",
        object_id=batch.pk,
        detail={"rows": len(report.error_rows)},
    )
    return _xlsx(content, f"import-{batch.pk}-problems.xlsx")


@login_required
@require_POST
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    batch = imports.batch_for(request.user, pk)
    try:
        expect = int(request.POST.get("expect", ""))
    except ValueError:
        expect = -1
    result = imports.batch_commit(actor=request.user, batch=batch, expect_count=expect, request=request)
    if result.status == "committed":
        return redirect("registry:import_result", pk=batch.pk)
    messages.error(request, result.message)
    return redirect("registry:import_report", pk=batch.pk)


def _created_labels() -> dict[str, str]:
    return {
        "people": _("People registered"),
        "residences": _("Links to their houses"),
        "houses": _("Houses"),
        "buildings": _("New buildings"),
        "units": _("New units"),
        "roads": _("New roads"),
        "organizations": _("Organizations"),
    }


@login_required
@require_GET
def import_result(request: HttpRequest, pk: int) -> HttpResponse:
    batch = imports.batch_for(request.user, pk)
    if batch.status != ImportStatus.COMMITTED:
        return redirect("registry:import_report", pk=batch.pk)
    report = imports.batch_report(batch)
    created = (batch.result or {}).get("created", {})
    labels = _created_labels()
    return render(
        request,
        "registry/import/result.html",
        {
            "batch": batch,
            "report": report,
            "created": [(labels.get(k, k), n) for k, n in created.items()],
            "kind_label": imports.kind_label(batch.kind),
            "skipped": len(report.error_rows),
        },
    )


@login_required
@require_GET
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    guards.require(request, P.IMPORT)
    if kind not in imports.COLUMNS:
        raise Http404
    return _xlsx(imports.template_workbook(kind), f"{kind}-import-template.xlsx")


# --- Export -------------------------------------------------------------------------------------


def _tag_choices(user: Viewer) -> list[tuple[str, str]]:
    return [("", _("Any"))] + [(c.code, c.label) for c in selectors.tag_category_list(viewer=user)]


class ExportForm(PlatformForm):
    region = RegionField(
        label=gettext_lazy("Region"),
        queryset=Region.objects.none(),
        to_field_name="code",
        required=False,
        empty_label=gettext_lazy("All of my regions"),
    )
    reveal = forms.BooleanField(
        label=gettext_lazy("Full ID and phone numbers"),
        required=False,
        help_text=gettext_lazy("Only with the reveal right over the whole region; the reason is audited."),
    )
    reason = forms.CharField(label=gettext_lazy("Reason for full numbers"), required=False, max_length=500)

    def __init__(self, *args: Any, user: Viewer, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["region"]
        field.queryset = _region_choices(user, P.EXPORT, None)
        if kind == "people":
            self.fields["status"] = forms.ChoiceField(
                label=_("Status"),
                required=False,
                initial=PersonStatus.ACTIVE,
                choices=[("", _("Any")), *PersonStatus.choices],
            )
            self.fields["residence_type"] = forms.ChoiceField(
                label=_("Residence type"), required=False, choices=[("", _("Any")), *ResidenceType.choices]
            )
            self.fields["sex"] = forms.ChoiceField(
                label=_("Sex"), required=False, choices=[("", _("Any")), *Sex.choices]
            )
            self.fields["tag"] = forms.ChoiceField(label=_("Tag"), required=False, choices=_tag_choices(user))
            self.fields["age_min"] = forms.IntegerField(
                label=_("Age from"), required=False, min_value=0, max_value=150
            )
            self.fields["age_max"] = forms.IntegerField(
                label=_("Age to"), required=False, min_value=0, max_value=150
            )
        elif kind == "houses":
            self.fields["use"] = forms.ChoiceField(
                label=_("Use"), required=False, choices=[("", _("Any")), *HouseUse.choices]
            )
        else:
            self.fields["status"] = forms.ChoiceField(
                label=_("Status"), required=False, choices=[("", _("Any")), *OrganizationStatus.choices]
            )
        if kind == "houses" or not has_perm(user, Perm.REVEAL_PERSONAL_DATA):
            del self.fields["reveal"]
            del self.fields["reason"]
        else:  # keep the reveal fields last
            self.order_fields(
                [f for f in self.fields if f not in ("reveal", "reason")] + ["reveal", "reason"]
            )


EXPORT_TITLES = {
    "people": gettext_lazy("Export people"),
    "houses": gettext_lazy("Export houses"),
    "organizations": gettext_lazy("Export organizations"),
}


def _export(request: HttpRequest, kind: str) -> HttpResponse:
    guards.require(request, P.EXPORT)
    form = ExportForm(request.POST if request.method == "POST" else None, user=request.user, kind=kind)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            region = data.pop("region", None)
            params: dict[str, Any] = {k: val for k, val in data.items() if val not in ("", None)}
            if not params.pop("reveal", False):
                params.pop("reason", None)
            else:
                params["reveal"] = True
            if kind == "people" and "status" not in params:
                params["status"] = ""
            try:
                file = exports.EXPORTERS[kind](
                    viewer=request.user, region_code=region.code if region else "", request=request, **params
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for name, errors in exc.message_dict.items():
                        form.add_error(name if name in form.fields else None, errors)
                else:
                    form.add_error(None, exc.messages)
            else:
                return _xlsx(file.content, file.filename)
        status = 400
    return render(
        request,
        "registry/import/export.html",
        {"form": form, "title": EXPORT_TITLES[kind], "kind": kind, "cap": exports.EXPORT_MAX_ROWS},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def export_people(request: HttpRequest) -> HttpResponse:
    return _export(request, "people")


@login_required
@require_http_methods(["GET", "POST"])
def export_houses(request: HttpRequest) -> HttpResponse:
    return _export(request, "houses")


@login_required
@require_http_methods(["GET", "POST"])
def export_organizations(request: HttpRequest) -> HttpResponse:
    return _export(request, "organizations")
