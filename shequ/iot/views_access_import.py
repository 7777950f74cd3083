"""Pages of the bulk device registration: upload → dry-run report (problems by row and column, the
rows with problems as a workbook) → commit, which answers the new devices' tokens as a workbook
(the only time they are shown) → the report then says what was registered."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy, ngettext

from shequ.core import audit, excel, guards
from shequ.core.forms import SPREADSHEET_ACCEPT, PlatformForm, clean_spreadsheet
from shequ.iot.permissions import IotPerm as P
from shequ.iot.services import imports
from shequ.iot.views_access import FORBIDDEN

PROBLEMS_PER_PAGE = 200


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=excel.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


class UploadForm(PlatformForm):
    file = forms.FileField(
        label=gettext_lazy("Device list"),
        help_text=gettext_lazy(
            "Excel (.xlsx, .xls) or CSV, at most 20 MB; the header may be on any of the first rows."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = SPREADSHEET_ACCEPT

    def clean_file(self) -> Any:
        return clean_spreadsheet(self.cleaned_data["file"])


@guards.page(P.MANAGE, methods=("GET", "POST"), template=FORBIDDEN)
def device_import(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    form = UploadForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        upload = form.cleaned_data["file"]
        token = imports.upload_check(
            actor=request.user, filename=upload.name or "upload", content=upload.read(), request=request
        )
        return redirect("iot:device_import_report", token=token)
    return render(
        request,
        "iot/access/import.html",
        {"form": form, "columns": imports.COLUMNS},
        status=400 if form.errors else 200,
    )


@guards.page(P.MANAGE, template=FORBIDDEN)
def device_import_template(request: HttpRequest) -> HttpResponse:
    return _xlsx(imports.template_workbook(), "iot-devices-template.xlsx")


@guards.page(P.MANAGE, template=FORBIDDEN)
def device_import_report(request: HttpRequest, token: str) -> HttpResponse:
    upload = imports.load_upload(actor=request.user, token=token)
    report = upload.report
    page = Paginator(report.problems, PROBLEMS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "iot/access/import_report.html",
        {
            "upload": upload,
            "report": report,
            "page": page,
            "can_commit": upload.committed is None and report.ok and report.valid_count > 0,
            "error_rows": len(report.error_rows),
            "imported_columns": [c for c in report.columns if c["field"]],
            "ignored_columns": [c for c in report.columns if not c["field"]],
        },
    )


@guards.page(P.MANAGE, template=FORBIDDEN)
def device_import_errors(request: HttpRequest, token: str) -> HttpResponse:
    upload = imports.load_upload(actor=request.user, token=token)
    if not upload.report.error_rows or not upload.content:
        raise Http404
    content = imports.error_workbook(upload=upload, actor=request.user)
    audit.record(
        "iot.device_import_check",
        request=request,
        object_type="iot.device_import",
        object_id=token,
        detail={"error_rows": len(upload.report.error_rows)},
    )
    return _xlsx(content, f"iot-devices-{token[:8]}-problems.xlsx")


@guards.page(P.MANAGE, methods=("POST",), template=FORBIDDEN)
def device_import_commit(request: HttpRequest, token: str) -> HttpResponse:
    upload = imports.load_upload(actor=request.user, token=token)
    try:
        expect = int(request.POST.get("expect", ""))
    except ValueError:
        expect = -1
    result = imports.upload_commit(actor=request.user, upload=upload, expect_count=expect, request=request)
    if result.status != "committed":
        messages.error(request, result.message)
        return redirect("iot:device_import_report", token=token)
    n = len(result.tokens)
    messages.success(
        request,
        ngettext(
            "%(n)d device was registered; its token is in the downloaded file.",
            "%(n)d devices were registered; their tokens are in the downloaded file.",
            n,
        )
        % {"n": n},
    )
    return _xlsx(
        imports.tokens_workbook(result.tokens, actor=request.user), f"iot-device-tokens-{token[:8]}.xlsx"
    )
