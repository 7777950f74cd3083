"""The community's queue of residents' requests (``sharing.rights``): deadlines coloured, and the
answer to one request — generate the copy, apply the correction, record what was done, or refuse
with a reason (a deletion also with its legal ground). Requests outside the viewer's regions: 404."""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import guards
from shequ.core.forms import PlatformForm, apply_service_errors
from shequ.core.models import User
from shequ.core.personal import mask_id_number, mask_phone
from shequ.sharing import selectors_rights as sel
from shequ.sharing.forms_rights import CorrectForm, DoneForm, QueueFilterForm, RefuseForm
from shequ.sharing.models import RightsKind, RightsRequest, RightsStatus
from shequ.sharing.permissions import SharePerm as P
from shequ.sharing.services import rights as services

FORBIDDEN = "sharing/rights/forbidden.html"
staff_page = functools.partial(guards.page, template=FORBIDDEN)
LIST_MAX = 200
ACTIONS = ("copy", "correct", "done", "refuse")


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@staff_page(P.RIGHTS)
def queue(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET or None, initial={"status": RightsStatus.OPEN})
    ok = form.is_valid() if request.GET else True
    data = form.cleaned_data if request.GET and ok else {"status": RightsStatus.OPEN}
    rows = list(
        sel.request_queue(viewer=request.user, status=data.get("status", ""), kind=data.get("kind", ""))[
            :LIST_MAX
        ]
    )
    now = timezone.now()
    for row in rows:
        row.colour = sel.colour(row, now)  # type: ignore[attr-defined]
    context = {"form": form, "rows": rows, "limited": len(rows) >= LIST_MAX}
    return _no_store(render(request, "sharing/rights/queue.html", context, status=200 if ok else 400))


def _shown_value(rights_request: RightsRequest) -> str:
    if rights_request.item == "id_number":
        return mask_id_number(rights_request.value)
    if rights_request.item == "phone":
        return mask_phone(rights_request.value)
    return rights_request.value


def _forms(
    rights_request: RightsRequest, data: Any = None, action: str = ""
) -> dict[str, PlatformForm | None]:
    """The answer forms that fit the request (the posted one bound to ``data``)."""
    if not rights_request.is_open:
        return {}

    def make(name: str, cls: Any, **kw: Any) -> PlatformForm:
        return cls(data if action == name else None, prefix=name, **kw)

    out: dict[str, PlatformForm | None] = {"copy": None} if rights_request.kind == RightsKind.COPY else {}
    if rights_request.kind == RightsKind.CORRECTION and rights_request.item in services.CORRECTABLE:
        out["correct"] = make("correct", CorrectForm)
    if rights_request.kind == RightsKind.DELETION or (
        rights_request.kind == RightsKind.CORRECTION and rights_request.item == services.OTHER_ITEM
    ):
        out["done"] = make("done", DoneForm)
    if rights_request.kind != RightsKind.COPY:
        out["refuse"] = make("refuse", RefuseForm, kind=rights_request.kind)
    return out


def _detail(
    request: HttpRequest,
    rights_request: RightsRequest,
    forms: dict[str, PlatformForm | None],
    status: int = 200,
) -> HttpResponse:
    context = {
        "r": rights_request,
        "colour": sel.colour(rights_request),
        "item_label": services.item_label(rights_request.item) if rights_request.item else "",
        "value": _shown_value(rights_request),
        "proof": sel.proof_file(rights_request),
        "copy": sel.copy_file(rights_request),
        "forms": forms,
    }
    return _no_store(render(request, "sharing/rights/staff_detail.html", context, status=status))


@staff_page(P.RIGHTS, methods=("GET", "POST"))
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    rights_request = sel.get_request_for(request.user, pk)
    if request.method != "POST":
        return _detail(request, rights_request, _forms(rights_request))
    action = request.POST.get("action", "")
    forms = _forms(rights_request, request.POST, action)
    if action not in forms:
        messages.error(request, _("This answer does not fit this request."))
        return _detail(request, rights_request, forms, status=400)
    form = forms[action]
    if form is not None and not form.is_valid():
        return _detail(request, rights_request, forms, status=400)
    user = request.user
    assert isinstance(user, User)
    data = form.cleaned_data if form is not None else {}
    try:
        if action == "copy":
            services.copy_generate(actor=user, rights_request=rights_request, request=request)
        elif action == "correct":
            services.correction_apply(
                actor=user,
                rights_request=rights_request,
                value=data["value"],
                reason=data["reason"],
                request=request,
            )
        elif action == "done":
            services.request_complete(
                actor=user, rights_request=rights_request, answer=data["answer"], request=request
            )
        else:
            services.request_refuse(
                actor=user,
                rights_request=rights_request,
                reason=data["reason"],
                ground=data.get("ground", ""),
                request=request,
            )
    except ValidationError as exc:
        if form is None:
            messages.error(request, " ".join(exc.messages))
        else:
            apply_service_errors(form, exc)
        return _detail(request, rights_request, forms, status=400)
    messages.success(request, _("The answer was recorded and the resident told."))
    return redirect("sharing:rights_staff_detail", rights_request.pk)


@staff_page(P.RIGHTS)
def proof(request: HttpRequest, pk: int) -> HttpResponse:
    rights_request = sel.get_request_for(request.user, pk)
    user = request.user
    assert isinstance(user, User)
    try:
        row = services.proof_open(actor=user, rights_request=rights_request, request=request)
    except ValidationError as exc:
        raise Http404 from exc
    response = HttpResponse(services.file_bytes(row), content_type=row.content_type)
    response["Content-Disposition"] = "inline"
    return _no_store(response)
