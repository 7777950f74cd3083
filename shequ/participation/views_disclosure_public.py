"""The public disclosure board (公开栏, no sign-in) and the residents' pages.

* the board of a community: its published items by kind, newest first, and the answered questions
  with the askers masked; one item with its text, attachments and disclosed list (masked as stored);
  an attachment of a published item;
* residents (phone shell, elderly mode): their communities' boards and their own questions with the
  answers; asking a question or challenging an entry (optionally one row) of an item of their own
  community.
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from shequ.core import guards
from shequ.core.forms import apply_service_errors
from shequ.core.models import User
from shequ.participation import selectors_disclosure as sel
from shequ.participation.forms_disclosure import AskForm
from shequ.participation.models import DisclosureItem, DisclosureKind
from shequ.participation.services.disclosure import items as item_services
from shequ.participation.services.disclosure import questions as question_services
from shequ.participation.services.disclosure import rules
from shequ.participation.views_disclosure import file_response

FORBIDDEN = "participation/disclosure/forbidden_resident.html"
resident_page = functools.partial(guards.page, template=FORBIDDEN)
BOARD_MAX = 100


def _period(item: DisclosureItem) -> str:
    if item.kind in rules.PERIODIC and item.period_key:
        return rules.parse_period(item.kind, item.period_key).label
    return item.decided_on.isoformat() if item.decided_on else ""


@require_GET
def board(request: HttpRequest, code: str) -> HttpResponse:
    """No sign-in: what the community has made public."""
    region = sel.public_community(code)
    kind = request.GET.get("kind", "")
    if kind and kind not in DisclosureKind.values:
        raise Http404
    items = list(sel.public_items(region, kind=kind)[:BOARD_MAX])
    for item in items:
        item.period_label = _period(item)  # type: ignore[attr-defined]
    context = {
        "region": region,
        "items": items,
        "kind": kind,
        "kinds": DisclosureKind.choices,
        "answers": list(sel.recent_answers(region, limit=10)),
        "is_resident": any(r.code == region.code for r in sel.home_communities(request.user)),
    }
    return render(request, "participation/disclosure/board.html", context)


@require_GET
def board_item(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    region = sel.public_community(code)
    item = sel.get_public_item(region, pk)
    item.period_label = _period(item)  # type: ignore[attr-defined]
    context = {
        "region": region,
        "item": item,
        "files": list(sel.files_of(item)),
        "rows": list(item.rows.all()),
        "answers": list(sel.answered_questions(item)),
        "may_ask": question_services.may_ask(request.user, item),
    }
    return render(request, "participation/disclosure/board_item.html", context)


@require_GET
def public_file(request: HttpRequest, token: str) -> HttpResponse:
    row = sel.get_public_file(token)
    try:
        data = item_services.open_file(row)
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    return file_response(row, data, private=False)


@resident_page(None)
def mine(request: HttpRequest) -> HttpResponse:
    context = {
        "communities": sel.home_communities(request.user),
        "questions": list(sel.my_questions(request.user)[:100]),
    }
    return render(request, "participation/disclosure/mine.html", context)


@resident_page(None, methods=("GET", "POST"))
def ask(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    region = sel.public_community(code)
    item = sel.get_public_item(region, pk)
    user = request.user
    assert isinstance(user, User)
    if not question_services.may_ask(user, item):
        return guards.denied(
            request,
            region_code=item.region_code,
            message=_("Only residents of %(community)s can ask about its disclosure.")
            % {"community": region.name},
            template=FORBIDDEN,
        )
    rows = list(item.rows.all())
    initial = {}
    if request.GET.get("row", "").isdigit():
        initial = {"row": int(request.GET["row"]), "kind": "challenge"}
    form = AskForm(request.POST or None, rows=rows, initial=initial)
    context = {"region": region, "item": item, "form": form}
    if request.method != "POST":
        return render(request, "participation/disclosure/ask.html", context)
    if not form.is_valid():
        return render(request, "participation/disclosure/ask.html", context, status=400)
    row_pk = form.cleaned_data.get("row")
    row = next((r for r in rows if r.pk == row_pk), None) if row_pk else None
    try:
        question = question_services.question_ask(
            actor=user,
            item=item,
            kind=form.cleaned_data["kind"],
            body=form.cleaned_data["body"],
            row=row,
            request=request,
        )
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return render(request, "participation/disclosure/ask.html", context, status=400)
    messages.success(
        request,
        _("Sent. The community answers by %(due)s; you will get a message.")
        % {"due": timezone.localtime(question.due_at).strftime("%Y-%m-%d")},
    )
    return redirect("participation:disclosure_mine")
