"""The counter (窗口) and home visits (上门): staff take an application for a resident in three steps.

1. Find the resident (``counter``, posted: an ID number never lands in an address or a log) by ID
   number, mobile number or name within the viewer's area (``registry.search.person_search``,
   scoped and masked), or take a walk-in who is not in the registry by name and mobile number.
2. Choose the service (the same page, with the person chosen).
3. ``counter_take``: the materials the registry fills (masked), a tick "received on paper" and
   scans for the others, the item's form, the channel and, on the resident's behalf (帮办代办), how
   they agreed. One call to ``application_submit``; for 即收即办 items a second button also closes
   it on receipt (if that fails, the application stays accepted and the page says why).
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from shequ.core import guards
from shequ.core.forms import apply_service_errors
from shequ.core.models import Region, RegionLevel
from shequ.core.permissions import Viewer, codes_q, has_perm, scopes_for
from shequ.govservice import forms_counter as forms
from shequ.govservice import materials as material_kinds
from shequ.govservice import selectors
from shequ.govservice.models import Channel, Domain, ServiceItem
from shequ.govservice.permissions import GovPerm as P
from shequ.govservice.services import applications as services
from shequ.registry import prefill
from shequ.registry import selectors as registry_selectors
from shequ.registry.models import Person
from shequ.registry.search import person_search

FORBIDDEN = "govservice/staff/forbidden.html"
counter_page = functools.partial(guards.page, template=FORBIDDEN)
SEARCH_LIMIT = 20
REGIONS_MAX = 200


def _person(request: HttpRequest) -> Person | None:
    """The resident chosen in step 1 (``?person=<pk>``), scoped (404 outside the viewer's area)."""
    pk = request.GET.get("person") or request.POST.get("person") or ""
    if not pk:
        return None
    return registry_selectors.get_person_for(request.user, pk)


def _walkin_regions(viewer: Viewer) -> list[tuple[str, str]]:
    """The communities whose counter the viewer keeps (a walk-in applies at one of them)."""
    scopes = scopes_for(viewer, P.HANDLE)
    if not scopes:
        return []
    rows = Region.objects.filter(codes_q(scopes, "code"), level=RegionLevel.COMMUNITY).order_by("code")
    return [(r.code, r.name) for r in rows[:REGIONS_MAX]]


def _query(person: Person | None, walkin: bool) -> str:
    if person is not None:
        return f"?person={person.pk}"
    return "?walkin=1" if walkin else ""


@counter_page(P.ASSIST, methods=("GET", "POST"))
def counter(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    person = _person(request) if request.method == "GET" else None
    walkin = request.GET.get("walkin") == "1" and bool(_walkin_regions(viewer))
    search = forms.PersonSearchForm(request.POST if request.method == "POST" else None)
    hits: list[Any] = []
    searched = False
    if request.method == "POST" and search.is_valid():
        searched = True
        try:
            hits = person_search(
                viewer=viewer, q=search.cleaned_data["q"], page_size=SEARCH_LIMIT, request=request
            ).items
        except ValidationError as exc:
            apply_service_errors(search, exc)
    items_form = forms.ItemSearchForm(request.GET if "item_q" in request.GET else None)
    items: list[ServiceItem] = []
    if person is not None or walkin:
        q = items_form.cleaned_data.get("item_q", "") if items_form.is_bound and items_form.is_valid() else ""
        # The catalog's order of domains (elderly care first), each domain's own order within.
        order = {d: i for i, d in enumerate(Domain.values)}
        items = sorted(
            selectors.item_list(q=q), key=lambda i: (order.get(i.domain, 99), i.sort_order, i.code)
        )
    context = {
        "search": search,
        "hits": hits,
        "searched": searched,
        "person": person,
        "facts": prefill.facts_of(person) if person is not None else None,
        "walkin": walkin,
        "can_walkin": bool(_walkin_regions(viewer)),
        "items_form": items_form,
        "items": items,
        "query": _query(person, walkin),
    }
    status = 400 if search.errors else 200
    return render(request, "govservice/staff/counter.html", context, status=status)


def _channels(viewer: Viewer, place: str) -> list[str]:
    """Counter first for those who keep the counter there; at home for whoever assists."""
    channels = []
    if has_perm(viewer, P.HANDLE, place):
        channels.append(Channel.COUNTER.value)
    if has_perm(viewer, P.ASSIST, place):
        channels.append(Channel.HOME.value)
    return channels or [Channel.HOME.value]


@counter_page(P.ASSIST, methods=("GET", "POST"))
def counter_take(request: HttpRequest, code: str) -> HttpResponse:
    viewer = request.user
    item = selectors.get_item(code)
    person = _person(request)
    regions = _walkin_regions(viewer)
    walkin = person is None
    if walkin and not regions:
        raise Http404  # a walk-in needs a counter the viewer keeps; a grid worker finds the resident
    facts = prefill.facts_of(person) if person is not None else None
    rows = services.plan_materials(item, facts)
    uploadable = [r for r in rows if r["how"] != services.REGISTRY]
    place = facts.region_code if facts is not None else (regions[0][0] if regions else "")
    form = forms.TakeForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        item=item,
        uploadable=uploadable,
        walkin=walkin,
        channels=_channels(viewer, place),
        regions=regions,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if person is not None:
            applicant = services.Applicant(facts=facts)
            region = person.region
        else:
            applicant = services.Applicant(name=data["applicant_name"], phone=data["applicant_phone"])
            region = Region.objects.get(code=data["region"])
        try:
            application = services.application_submit(
                actor=viewer,
                item=item,
                channel=data["channel"],
                region=region,
                applicant=applicant,
                answers=form.answers(),
                files=form.uploads(),
                paper=form.paper(),
                on_behalf=bool(data.get("on_behalf")),
                consent=data.get("consent") or "",
                consent_note=data.get("consent_note") or "",
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Application %(number)s taken and accepted.") % {"number": application.number},
            )
            if request.POST.get("finish") == "instant":
                try:
                    services.application_close_on_receipt(
                        actor=viewer, application=application, request=request
                    )
                except ValidationError as exc:
                    messages.warning(
                        request,
                        _("It could not be closed on receipt, so it stays accepted: %(why)s")
                        % {"why": " ".join(exc.messages)},
                    )
                else:
                    messages.success(request, _("Closed on receipt: hand the result over now."))
            return redirect(reverse("govservice:application", args=[application.pk]) + "?receipt=1")
    context = {
        "item": item,
        "person": person,
        "facts": facts,
        "rows": rows,
        "registry_rows": [
            {**r, "label": material_kinds.label(dict(r))} for r in rows if r["how"] == services.REGISTRY
        ],
        "form": form,
        "walkin": walkin,
        "query": _query(person, walkin),
    }
    return render(request, "govservice/staff/take.html", context, status=400 if form.errors else 200)
