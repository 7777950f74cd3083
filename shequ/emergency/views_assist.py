"""Risk and the evacuation-assistance list (一对一包保).

* the risk page (``emergency.view``): the communities and grids of the viewer's regions with the
  risk model's score, level and reasons, the drafts the platform proposed, and (``emergency.warn``)
  a button that drafts a warning from an assessment;
* the assistance list (``emergency.assist``; every opening audited with the count), of a warning or
  of all the viewer's regions, with its Excel export (audited too);
* a person's helpers (``emergency.helpers``): assign an account or a family member/neighbour with a
  mobile number, remove.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import excel, guards
from shequ.core.forms import apply_service_errors
from shequ.core.models import Region, RegionLevel
from shequ.core.permissions import has_perm, scopes_for
from shequ.emergency import assistance, proposals, risk
from shequ.emergency.forms_assist import DraftForm, HelperForm
from shequ.emergency.models import WarningSource, WarningStatus
from shequ.emergency.permissions import EmergencyPerm as P
from shequ.emergency.selectors import warning_list
from shequ.emergency.services import helpers

FORBIDDEN = "emergency/assist/forbidden.html"
assist_page = functools.partial(guards.page, template=FORBIDDEN)
COMMUNITY_LENGTH = 12
REGIONS_MAX = 300  # a street's communities and grids; a wider scope shows its communities
EXPORT_MAX = 5000


def warning_url(pk: int) -> str:
    """The warning's own page, when the warnings pages are mounted."""
    try:
        return reverse("emergency:warning", args=[pk])
    except NoReverseMatch:
        return ""


def risk_regions(viewer: Any) -> list[Region]:
    """The communities of the viewer's regions and, for a community or grid scope, their grids."""
    regions: list[Region] = []
    for code in scopes_for(viewer, P.VIEW):
        if len(code) >= COMMUNITY_LENGTH:
            qs = Region.objects.filter(
                code__startswith=code, level__in=[RegionLevel.COMMUNITY, RegionLevel.GRID]
            )
        else:
            qs = Region.objects.filter(code__startswith=code, level=RegionLevel.COMMUNITY)
        regions += list(qs.order_by("code")[:REGIONS_MAX])
    return regions[:REGIONS_MAX]


@assist_page(P.VIEW)
def risk_page(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    regions = risk_regions(viewer)
    assessed = risk.assess_regions([r.code for r in regions])
    cards: list[dict[str, Any]] = []
    for region in regions:
        found = assessed.get(region.code)
        if found is None:
            continue
        cards.append(
            {
                "region": region,
                "assessment": found,
                "is_grid": region.level == RegionLevel.GRID,
                "can_warn": has_perm(viewer, P.WARN, region.code),
            }
        )
    cards.sort(key=lambda c: (-(c["assessment"].level or 0), -c["assessment"].score, c["region"].code))
    drafts = list(
        warning_list(viewer=viewer, status=WarningStatus.DRAFT)
        .filter(source__in=[WarningSource.RISK_MODEL, WarningSource.IOT])
        .order_by("-level", "-updated_at")[:50]
    )
    for d in drafts:
        d.url = warning_url(d.pk)  # type: ignore[attr-defined]
    context = {
        "cards": cards,
        "drafts": drafts,
        "checked_at": timezone.now(),
        "trend_hours": risk.TREND_HOURS,
        "ticket_days": risk.TICKET_DAYS,
    }
    return render(request, "emergency/assist/risk.html", context)


@assist_page(P.VIEW, methods=("POST",))
def risk_draft(request: HttpRequest) -> HttpResponse:
    """Draft a warning from the risk model's assessment of a region (the staff member's draft)."""
    form = DraftForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a region and a type of warning from the list."))
        return redirect("emergency:risk")
    code, kind = form.cleaned_data["region"], form.cleaned_data["kind"]
    if not has_perm(request.user, P.VIEW, code):
        raise Http404
    guards.require(request, P.WARN, code)
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise Http404
    assessment = risk.assess_regions([code])[code]
    found = assessment.for_type(kind)
    if found is None or found.level is None:
        messages.error(
            request,
            _("The risk model sees no %(kind)s risk here now.") % {"kind": risk.WarningType(kind).label},
        )
        return redirect("emergency:risk")
    live = proposals.live_proposal(proposals.source_ref(code, kind))
    draft = None
    if live is None:
        try:
            draft = proposals.propose(
                assessment=assessment, kind=kind, region_name=region.name, actor=request.user, request=request
            )
        except IntegrityError:  # proposed by the platform a moment ago
            live = proposals.live_proposal(proposals.source_ref(code, kind))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("emergency:risk")
    target = draft or live
    if draft is not None:
        messages.success(request, _("Warning drafted with the risk model's reasons: check it and issue it."))
    else:
        messages.info(request, _("A draft of this warning is already waiting: check it and issue it."))
    url = warning_url(target.pk) if target is not None else ""
    return redirect(url or reverse("emergency:risk"))


# --- The evacuation-assistance list ----------------------------------------------------------------


def _list_context(request: HttpRequest, rows: list[assistance.AssistanceRow], **extra: Any) -> dict[str, Any]:
    viewer = request.user
    return {
        "rows": rows,
        "without_helper": sum(1 for r in rows if not r.own_helpers),
        "items": [{"row": r, "manage": has_perm(viewer, P.HELPERS, r.region_code)} for r in rows],
        **extra,
    }


def _export(request: HttpRequest, rows: list[assistance.AssistanceRow], title: str) -> HttpResponse:
    now = timezone.localtime()
    sheet = excel.Sheet(
        name=_("Assistance list"),
        title=title,
        info=_("Exported by %(who)s · %(at)s · personal data, keep it safe")
        % {
            "who": request.user.name,  # type: ignore[union-attr]
            "at": now.strftime("%Y-%m-%d %H:%M"),
        },
        columns=[
            excel.Column(_("Name"), 10),
            excel.Column(_("Grid"), 12),
            excel.Column(_("Address"), 36),
            excel.Column(_("Born"), 8, text=False),
            excel.Column(_("Needs"), 28),
            excel.Column(_("Helpers (一对一包保)"), 36),
            excel.Column(_("Own helper"), 10),
        ],
        rows=[
            [
                r.name,
                r.grid_name,
                r.place,
                r.birth_year or "",
                "；".join(r.need_words),
                "；".join(
                    f"{h.name}（{h.relation_label}{' ' + h.phone if h.phone else ''}）" for h in r.helpers
                ),
                _("Yes") if r.own_helpers else _("No"),
            ]
            for r in rows[:EXPORT_MAX]
        ],
    )
    response = HttpResponse(
        excel.workbook_bytes([sheet]),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="assistance-{now:%Y%m%d-%H%M}.xlsx"'
    response["Cache-Control"] = "no-store"
    return response


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@assist_page(P.ASSIST)
def assistance_page(request: HttpRequest) -> HttpResponse:
    """The standing list of the viewer's regions (helpers are named before the storm)."""
    export = request.GET.get("format") == "xlsx"
    rows = assistance.assistance_list_for(
        viewer=request.user, request=request, export="xlsx" if export else ""
    )
    if export:
        return _export(request, rows, _("Evacuation-assistance list"))
    context = _list_context(request, rows, warning=None, export_url="?format=xlsx")
    return _no_store(render(request, "emergency/assist/list.html", context))


@assist_page(P.ASSIST)
def warning_assistance(request: HttpRequest, pk: int) -> HttpResponse:
    warning = assistance.assist_warning_get_for(request.user, pk)
    export = request.GET.get("format") == "xlsx"
    rows = assistance.assistance_list_for(
        viewer=request.user, warning=warning, request=request, export="xlsx" if export else ""
    )
    if export:
        return _export(request, rows, _("Evacuation-assistance list: %(title)s") % {"title": warning.title})
    context = _list_context(
        request, rows, warning=warning, warning_url=warning_url(warning.pk), export_url="?format=xlsx"
    )
    return _no_store(render(request, "emergency/assist/list.html", context))


# --- Helpers (一对一包保) --------------------------------------------------------------------------


def _helpers_page(
    request: HttpRequest, person: assistance.AssistanceRow, form: HelperForm, status: int = 200
) -> HttpResponse:
    context = {"person": person, "form": form, "back": request.GET.get("back", "")}
    return _no_store(render(request, "emergency/assist/helpers.html", context, status=status))


def _back(request: HttpRequest, person_id: int) -> str:
    return reverse("emergency:helpers", args=[person_id])


@assist_page(P.HELPERS, methods=("GET", "POST"))
def person_helpers(request: HttpRequest, person_id: int) -> HttpResponse:
    person = assistance.assistance_person_for(request.user, person_id)
    accounts = helpers.helper_accounts(person.region_code)
    form = HelperForm(request.POST or None, accounts=accounts)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                helpers.helper_add(
                    actor=request.user,  # type: ignore[arg-type]
                    person_id=person.person_id,
                    relation=data["relation"],
                    helper_user_id=data.get("helper_user") or None,
                    helper_name=data.get("helper_name", ""),
                    helper_phone=data.get("helper_phone", ""),
                    note=data.get("note", ""),
                    request=request,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Helper assigned."))
                return redirect(_back(request, person.person_id))
        return _helpers_page(request, person, form, status=400)
    return _helpers_page(request, person, form)


@assist_page(P.HELPERS, methods=("POST",))
def helper_remove(request: HttpRequest, person_id: int, link_id: int) -> HttpResponse:
    person = assistance.assistance_person_for(request.user, person_id)
    link = assistance.helper_link_for(person, link_id)
    try:
        helpers.helper_remove(actor=request.user, link=link, request=request)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Helper removed."))
    return redirect(_back(request, person.person_id))
