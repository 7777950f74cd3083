"""The resident's pages of their personal information (我的个人信息): which departments used their
data and why, which staff saw their full numbers, and their requests for a copy, a correction or a
deletion. Only the resident's own: another account's request is 404."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import guards
from shequ.core.forms import apply_service_errors
from shequ.core.models import User
from shequ.sharing import selectors_rights as sel
from shequ.sharing.forms_rights import RESIDENT_FORMS
from shequ.sharing.models import RightsKind
from shequ.sharing.services import rights as services

FORBIDDEN = "sharing/rights/forbidden.html"
resident_page = guards.page(template=FORBIDDEN)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@resident_page
def mine(request: HttpRequest) -> HttpResponse:
    resident = sel.resident_of(request.user)
    ids = [resident.person.pk] if resident else []
    context = {
        "resident": resident,
        "uses": sel.data_uses(ids),
        "reveals": sel.staff_reveals(ids),
        "requests": list(sel.my_requests(user=request.user)[:50]),
        "days": services.pipl_days(),
    }
    return _no_store(render(request, "sharing/rights/mine.html", context))


@guards.page(methods=("GET", "POST"), template=FORBIDDEN)
def request_new(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in RESIDENT_FORMS:
        raise Http404
    resident = sel.resident_of(request.user)
    if resident is None:
        raise PermissionDenied(services.NOT_LINKED)
    form_class = RESIDENT_FORMS[kind]
    form = form_class(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            user = request.user
            assert isinstance(user, User)
            data = form.cleaned_data
            try:
                made = services.request_submit(
                    actor=user,
                    kind=kind,
                    item=data.get("item", ""),
                    value=data.get("value", ""),
                    detail=data.get("detail", ""),
                    proof=data.get("proof"),
                    request=request,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                due = timezone.localtime(made.due_at).strftime("%Y-%m-%d")
                messages.success(
                    request, _("Your request was sent. The community answers by %(due)s.") % {"due": due}
                )
                return redirect("sharing:rights_mine_detail", made.pk)
        status = 400
    context = {"form": form, "kind": kind, "kind_label": RightsKind(kind).label, "resident": resident}
    return _no_store(render(request, "sharing/rights/new.html", context, status=status))


@resident_page
def mine_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rights_request = sel.get_my_request(request.user, pk)
    context = {
        "r": rights_request,
        "item_label": services.item_label(rights_request.item) if rights_request.item else "",
        "copy": sel.copy_file(rights_request),
    }
    return _no_store(render(request, "sharing/rights/mine_detail.html", context))


@resident_page
def copy_download(request: HttpRequest, pk: int) -> HttpResponse:
    rights_request = sel.get_my_request(request.user, pk)
    user = request.user
    assert isinstance(user, User)
    try:
        row = services.copy_open(actor=user, rights_request=rights_request, request=request)
    except ValidationError as exc:
        raise Http404 from exc
    response = HttpResponse(services.file_bytes(row), content_type=row.content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(row.filename)}"
    return _no_store(response)
