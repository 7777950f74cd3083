"""Staff pages of the disclosure area (居务公开): the items of the viewer's communities, writing a draft
with its attachments and its disclosed list (typed or imported from Excel, masked at entry),
publishing, withdrawing with a reason, and each community's expected-items schedule (what is due,
published, overdue). Views stay thin: forms parse, services decide, selectors read in scope.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from shequ.core import audit, guards
from shequ.core.forms import apply_service_errors
from shequ.core.models import Region, User
from shequ.core.permissions import has_perm
from shequ.participation import selectors_disclosure as sel
from shequ.participation.forms_disclosure import (
    ItemFilterForm,
    ItemForm,
    ListImportForm,
    ListPasteForm,
    RegionForm,
    WithdrawForm,
)
from shequ.participation.models import DisclosureItem, DisclosureStatus
from shequ.participation.permissions import PartPerm as P
from shequ.participation.services.disclosure import items as item_services
from shequ.participation.services.disclosure import lists, rules

FORBIDDEN = "participation/disclosure/forbidden.html"
staff_page = functools.partial(guards.page, template=FORBIDDEN)
LIST_MAX = 200
STAFF = (P.VIEW, P.SUPERVISE)

STATE_WORDS = {
    rules.State.PUBLISHED: (pgettext_lazy("disclosure schedule", "Published on time"), "ok"),
    rules.State.LATE: (pgettext_lazy("disclosure schedule", "Published late"), "warn"),
    rules.State.UPCOMING: (pgettext_lazy("disclosure schedule", "Period still running"), ""),
    rules.State.OPEN: (pgettext_lazy("disclosure schedule", "Due later"), ""),
    rules.State.SOON: (pgettext_lazy("disclosure schedule", "Due soon"), "warn"),
    rules.State.OVERDUE: (pgettext_lazy("disclosure schedule", "Overdue"), "bad"),
}
STATUS_TONE = {
    DisclosureStatus.DRAFT: "",
    DisclosureStatus.PUBLISHED: "ok",
    DisclosureStatus.WITHDRAWN: "warn",
}


def state_words(state: str) -> tuple[str, str]:
    words, tone = STATE_WORDS.get(state, ("", ""))
    return str(words), tone


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _present(item: DisclosureItem) -> DisclosureItem:
    item.tone = STATUS_TONE.get(DisclosureStatus(item.status), "")  # type: ignore[attr-defined]
    if item.kind in rules.PERIODIC and item.period_key:
        item.period_label = rules.parse_period(item.kind, item.period_key).label  # type: ignore[attr-defined]
    else:
        item.period_label = item.decided_on.isoformat() if item.decided_on else ""  # type: ignore[attr-defined]
    return item


# --- Items ---------------------------------------------------------------------------------------------


@staff_page(STAFF)
def item_list(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    form = ItemFilterForm(request.GET or None)
    ok = form.is_valid() if request.GET else True
    data = form.cleaned_data if request.GET and ok else {}
    rows = [
        _present(i)
        for i in sel.item_list(viewer=viewer, kind=data.get("kind", ""), status=data.get("status", ""))[
            :LIST_MAX
        ]
    ]
    communities = sel.communities_for(viewer, P.VIEW)[:20]
    context = {
        "form": form,
        "items": rows,
        "limited": len(rows) >= LIST_MAX,
        "may_write": has_perm(viewer, P.DISCLOSE),
        "communities": communities,
    }
    return render(request, "participation/disclosure/items.html", context, status=200 if ok else 400)


def _item_page(
    request: HttpRequest,
    item: DisclosureItem,
    *,
    withdraw_form: WithdrawForm | None = None,
    status: int = 200,
) -> HttpResponse:
    viewer = request.user
    may_write = has_perm(viewer, P.DISCLOSE, item.region_code)
    _present(item)
    context = {
        "item": item,
        "files": list(sel.files_of(item)),
        "rows": list(item.rows.all()[: lists.MAX_ROWS]),
        "questions": list(item.questions.select_related("row").order_by("status", "due_at")),
        "may_write": may_write,
        "is_draft": item.status == DisclosureStatus.DRAFT,
        "withdraw_form": withdraw_form or (WithdrawForm() if may_write and item.is_published else None),
        "state": state_words(
            rules.state_of(
                published_at=item.published_at, due_at=item.due_at, warn_at=item.warn_at, now=timezone.now()
            )
        )
        if item.due_at and item.status != DisclosureStatus.WITHDRAWN
        else None,
    }
    return _no_store(render(request, "participation/disclosure/item.html", context, status=status))


@staff_page(STAFF)
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _item_page(request, sel.get_item_for(request.user, pk))


def _form_page(
    request: HttpRequest, form: ItemForm, *, item: DisclosureItem | None = None, status: int = 200
) -> HttpResponse:
    context = {"form": form, "item": item}
    return _no_store(render(request, "participation/disclosure/edit.html", context, status=status))


def _writable_communities(request: HttpRequest) -> list[Region]:
    return sel.communities_for(request.user, P.DISCLOSE)


@staff_page(P.DISCLOSE, methods=("GET", "POST"))
def item_new(request: HttpRequest) -> HttpResponse:
    communities = _writable_communities(request)
    form = ItemForm(request.POST or None, request.FILES or None, communities=communities)
    if request.method != "POST":
        return _form_page(request, form)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    data = form.cleaned_data
    try:
        item = item_services.item_create(
            actor=_user(request),
            region_code=data["region"],
            kind=data["kind"],
            title=data["title"],
            body=data["body"],
            period_key=data.get("period") or "",
            decided_on=data.get("decided_on"),
            files=data.get("attachments") or [],
            request=request,
        )
    except ValidationError as exc:
        apply_service_errors(form, exc, {"files": "attachments", "period_key": "period"})
        return _form_page(request, form, status=400)
    messages.success(request, _("Draft saved. Check it, add a list if it has one, then publish it."))
    return redirect("participation:disclosure_item", pk=item.pk)


@staff_page(P.DISCLOSE, methods=("GET", "POST"))
def item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = sel.get_item_for(request.user, pk)
    guards.require(request, P.DISCLOSE, item.region_code)
    if item.status != DisclosureStatus.DRAFT:
        messages.error(
            request,
            _("A published or withdrawn item cannot be changed: withdraw it and publish a corrected one."),
        )
        return redirect("participation:disclosure_item", pk=item.pk)
    communities = [item.region]
    initial = {
        "region": item.region_code,
        "kind": item.kind,
        "period": item.period_key,
        "decided_on": item.decided_on,
        "title": item.title,
        "body": item.body,
    }
    form = ItemForm(request.POST or None, request.FILES or None, communities=communities, initial=initial)
    if request.method != "POST":
        return _form_page(request, form, item=item)
    if not form.is_valid():
        return _form_page(request, form, item=item, status=400)
    data = form.cleaned_data
    try:
        item_services.item_update(
            actor=_user(request),
            item=item,
            kind=data["kind"],
            title=data["title"],
            body=data["body"],
            period_key=data.get("period") or "",
            decided_on=data.get("decided_on"),
            files=data.get("attachments") or [],
            request=request,
        )
    except ValidationError as exc:
        apply_service_errors(form, exc, {"files": "attachments", "period_key": "period"})
        return _form_page(request, form, item=item, status=400)
    messages.success(request, _("Draft saved."))
    return redirect("participation:disclosure_item", pk=item.pk)


@staff_page(P.DISCLOSE, methods=("POST",))
def item_publish(request: HttpRequest, pk: int) -> HttpResponse:
    item = sel.get_item_for(request.user, pk)
    try:
        item = item_services.item_publish(actor=_user(request), item=item, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("participation:disclosure_item", pk=item.pk)
    messages.success(request, _("Published on the community's disclosure board."))
    return redirect("participation:disclosure_item", pk=item.pk)


@staff_page(P.DISCLOSE, methods=("POST",))
def item_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    item = sel.get_item_for(request.user, pk)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        return _item_page(request, item, withdraw_form=form, status=400)
    try:
        item_services.item_withdraw(
            actor=_user(request), item=item, reason=form.cleaned_data["reason"], request=request
        )
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return _item_page(request, item, withdraw_form=form, status=400)
    messages.success(request, _("Withdrawn from the board. Publish a corrected item if one is due."))
    return redirect("participation:disclosure_item", pk=item.pk)


@staff_page(P.DISCLOSE, methods=("POST",))
def item_delete(request: HttpRequest, pk: int) -> HttpResponse:
    item = sel.get_item_for(request.user, pk)
    try:
        item_services.item_delete_draft(actor=_user(request), item=item, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("participation:disclosure_item", pk=item.pk)
    messages.success(request, _("Draft deleted."))
    return redirect("participation:disclosure_items")


# --- The disclosed list ------------------------------------------------------------------------------


def _list_page(
    request: HttpRequest,
    item: DisclosureItem,
    *,
    paste: ListPasteForm | None = None,
    upload: ListImportForm | None = None,
    report: Any = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "item": _present(item),
        "rows": list(item.rows.all()[: lists.MAX_ROWS]),
        "paste": paste or ListPasteForm(),
        "upload": upload or ListImportForm(),
        "report": report,
        "problems": report.problems[:200] if report is not None else [],
        "phone_ignored": [s["text"] for s in report.skipped if s.get("why") == "phone"]
        if report is not None
        else [],
        "is_draft": item.status == DisclosureStatus.DRAFT,
    }
    return _no_store(render(request, "participation/disclosure/list.html", context, status=status))


@staff_page(P.DISCLOSE, methods=("GET", "POST"))
def item_list_rows(request: HttpRequest, pk: int) -> HttpResponse:
    item = sel.get_item_for(request.user, pk)
    guards.require(request, P.DISCLOSE, item.region_code)
    if request.method != "POST":
        return _list_page(request, item)
    how = request.POST.get("how", "")
    try:
        if how == "paste":
            paste = ListPasteForm(request.POST)
            if not paste.is_valid():
                return _list_page(request, item, paste=paste, status=400)
            count, report = lists.list_paste(
                actor=_user(request), item=item, text=paste.cleaned_data["rows"], request=request
            )
        elif how == "file":
            upload = ListImportForm(request.POST, request.FILES)
            if not upload.is_valid():
                return _list_page(request, item, upload=upload, status=400)
            file = upload.cleaned_data["file"]
            count, report = lists.list_import(
                actor=_user(request),
                item=item,
                content=file.read(),
                filename=file.name or "",
                request=request,
            )
        else:
            raise Http404
    except lists.ListRejected as exc:
        paste_form = ListPasteForm(request.POST) if how == "paste" else None
        if paste_form is not None:
            paste_form.is_valid()
        return _list_page(request, item, paste=paste_form, report=exc.report, status=400)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _list_page(request, item, status=400)
    ignored = [s["text"] for s in report.skipped if s.get("why") == "phone"]
    note = _("%(n)d rows saved, names and ID numbers masked.") % {"n": count}
    if ignored:
        note += " " + _("The phone column (%(cols)s) was not read.") % {"cols": "、".join(ignored)}
    messages.success(request, note)
    return redirect("participation:disclosure_item", pk=item.pk)


# --- Attachments ---------------------------------------------------------------------------------------


@staff_page(STAFF)
def item_file(request: HttpRequest, token: str) -> HttpResponse:
    row = sel.get_file_for(request.user, token)
    try:
        data = item_services.open_file(row)
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    audit.record(
        "participation.disclosure_file_read",
        actor=request.user,
        request=request,
        region_code=row.item.region_code,
        object_type="participation.disclosureitem",
        object_id=row.item_id,
        detail={"file": row.pk},
    )
    return file_response(row, data, private=True)


def file_response(row: Any, data: bytes, *, private: bool) -> HttpResponse:
    ext = ".pdf" if row.content_type == "application/pdf" else "." + row.content_type.rsplit("/", 1)[-1]
    response = HttpResponse(data, content_type=row.content_type)
    response["Content-Disposition"] = f'inline; filename="disclosure-{row.item_id}-{row.pk}{ext}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store" if private else "public, max-age=300"
    return response


# --- The expected-items schedule ----------------------------------------------------------------------


@staff_page(STAFF)
def schedule(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    form = RegionForm(request.GET or None)
    communities = sel.communities_for(viewer, P.VIEW) or sel.communities_for(viewer, P.SUPERVISE)
    code = form.cleaned_data.get("region", "") if form.is_valid() else ""
    if code:
        region = next((r for r in communities if r.code == code), None)
        if region is None:
            raise Http404
    elif communities:
        region = communities[0]
    else:
        raise Http404
    entries = sel.community_schedule(region)
    for entry in entries:
        entry.words, entry.tone = state_words(entry.state)  # type: ignore[attr-defined]
    context = {
        "region": region,
        "communities": communities,
        "entries": entries,
        "overdue": sum(1 for e in entries if e.state == rules.State.OVERDUE),
        "days": {str(k.label): rules.due_working_days(k) for k in rules.K},
        "may_write": has_perm(viewer, P.DISCLOSE, region.code),
    }
    return render(request, "participation/disclosure/schedule.html", context)
