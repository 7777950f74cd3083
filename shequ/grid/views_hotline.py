"""Pages of the 12345 hotline import: upload → dry-run report (every problem by row and column,
the rows with problems as a workbook with the bad cells marked) → commit → the tickets made.

Thin views: ``hotline`` checks, keeps the upload for its uploader only (anyone else gets 404, like
an object outside their scope), commits and audits.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shequ.core import audit, excel, guards
from shequ.core.forms import SPREADSHEET_ACCEPT, PlatformForm, clean_spreadsheet
from shequ.core.models import Region
from shequ.core.permissions import scopes_for
from shequ.grid import hotline
from shequ.grid.models import Ticket
from shequ.grid.permissions import GridPerm as P

PROBLEMS_PER_PAGE = 200
TICKETS_SHOWN = 50


class HotlineUploadForm(PlatformForm):
    file = forms.FileField(
        label=gettext_lazy("12345 export"),
        help_text=gettext_lazy(
            "Excel (.xlsx, .xls) or CSV as the hotline centre exports it, at most 20 MB; the header "
            "may be on any of the first rows."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = SPREADSHEET_ACCEPT

    def clean_file(self) -> Any:
        return clean_spreadsheet(self.cleaned_data["file"])


@login_required
@require_http_methods(["GET", "POST"])
def hotline_import(request: HttpRequest) -> HttpResponse:
    guards.require(request, P.IMPORT)
    posted = request.method == "POST"
    form = HotlineUploadForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        upload = form.cleaned_data["file"]
        token = hotline.upload_check(
            actor=request.user, filename=upload.name or "upload", content=upload.read(), request=request
        )
        return redirect("grid:hotline_report", token=token)
    areas = Region.objects.filter(code__in=scopes_for(request.user, P.IMPORT)).order_by("code")
    return render(
        request,
        "grid/hotline/import.html",
        {"form": form, "areas": areas, "columns": hotline.COLUMNS},
        status=400 if form.errors else 200,
    )


def _plan_labels() -> dict[str, str]:
    return {
        "tickets": _("Tickets"),
        "categorised": _("with their category"),
        "suggested": _("with a suggested category"),
        "uncategorised": _("category left to the community"),
        "urgent": _("urgent"),
    }


@login_required
@require_GET
def hotline_report(request: HttpRequest, token: str) -> HttpResponse:
    upload = hotline.load_upload(actor=request.user, token=token)
    report = upload.report
    page = Paginator(report.problems, PROBLEMS_PER_PAGE).get_page(request.GET.get("page"))
    tickets: list[Ticket] = []
    if upload.committed:
        tickets = list(
            Ticket.objects.filter(pk__in=upload.committed[:TICKETS_SHOWN]).select_related(
                "category", "region"
            )
        )
    labels = _plan_labels()
    return render(
        request,
        "grid/hotline/report.html",
        {
            "upload": upload,
            "report": report,
            "page": page,
            "can_commit": upload.committed is None and report.ok and report.valid_count > 0,
            "error_rows": len(report.error_rows),
            "imported_columns": [c for c in report.columns if c["field"]],
            "ignored_columns": [c for c in report.columns if not c["field"]],
            "notes": [s for s in report.skipped if s["why"] == "note"],
            "plan": [(labels.get(k, k), n) for k, n in report.plan.items() if n],
            "tickets": tickets,
            "more_tickets": len(upload.committed or []) - len(tickets),
        },
    )


@login_required
@require_GET
def hotline_errors(request: HttpRequest, token: str) -> HttpResponse:
    """The rows with problems as a workbook, the bad cells marked (the user's own data, audited)."""
    upload = hotline.load_upload(actor=request.user, token=token)
    if not upload.report.error_rows or not upload.content:
        raise Http404
    content = hotline.error_workbook(upload=upload, actor=request.user)
    audit.record(
        "grid.hotline_errors",
        request=request,
        object_type="grid.hotline_upload",
        object_id=token,
        detail={"rows": len(upload.report.error_rows)},
    )
    response = HttpResponse(content, content_type=excel.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="hotline-{token[:8]}-problems.xlsx"'
    return response


@login_required
@require_POST
def hotline_commit(request: HttpRequest, token: str) -> HttpResponse:
    upload = hotline.load_upload(actor=request.user, token=token)
    try:
        expect = int(request.POST.get("expect", ""))
    except ValueError:
        expect = -1
    result = hotline.upload_commit(actor=request.user, upload=upload, expect_count=expect, request=request)
    if result.status == "committed":
        n = len(result.tickets)
        messages.success(
            request,
            ngettext(
                "%(n)d ticket was imported from the 12345 file.",
                "%(n)d tickets were imported from the 12345 file.",
                n,
            )
            % {"n": n},
        )
    else:
        messages.error(request, result.message)
    return redirect("grid:hotline_report", token=token)
