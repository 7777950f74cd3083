"""Warning pages: the staff list (drafts, in force, lifted), the draft form with the area drawn on
a map, one warning's page with its timeline and steps (issue, update, lift, discard), and the public
pages residents open from the SMS (no sign-in): the warnings in force, and one warning.

``/emergency/warnings/<pk>/`` is both: staff with ``emergency.view`` over the warning see the staff
page, everyone else the public one, which exists only for warnings that are or were in force
(a draft is 404). Reads go through ``selectors``, every step through ``services.warnings``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, Q, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from shequ.core import guards, maps
from shequ.core.forms import apply_service_errors
from shequ.core.models import LEVEL_BY_LENGTH, LEVEL_CODE_LENGTH, Region, RegionLevel, User
from shequ.core.permissions import Viewer, has_perm, scopes_for
from shequ.core.selectors import region_paths
from shequ.emergency import selectors
from shequ.emergency.forms_warnings import (
    LEVEL_NUMERALS,
    WarningDraftForm,
    WarningFilterForm,
    WarningLiftForm,
    WarningUpdateForm,
)
from shequ.emergency.models import Level, Warning, WarningSource, WarningStatus
from shequ.emergency.permissions import EmergencyPerm as P
from shequ.emergency.services import warnings as services

FORBIDDEN = "emergency/warnings/forbidden.html"
PAGE_SIZE = 30
AREA_CHOICES_MAX = 500
# How far below their own region an officer's area choices go: a community head picks the
# community or its grids, a street officer also its communities' grids, a county its streets and
# communities (a grid is too small a unit to list for a whole county).
AREA_DEPTH = 2
EMERGENCY_CALLS = (
    ("119", lambda: _("Fire and rescue")),
    ("110", lambda: _("Police")),
    ("120", lambda: _("Ambulance")),
)

# The core page guard with this area's 403 page: ``@warning_page(perm, methods=...)``.
warning_page = functools.partial(guards.page, template=FORBIDDEN)


# --- Words ---------------------------------------------------------------------------------------


def level_words(level: int) -> str:
    """ "红色预警（Ⅰ级）": the colour and the level in words, never the colour alone."""
    return _("%(colour)s warning (level %(n)s)") % {
        "colour": Level(level).label,
        "n": LEVEL_NUMERALS[Level(level)],
    }


def area_names(codes: list[str]) -> dict[str, str]:
    """Region code → a name a resident recognizes: a grid with its community's name."""
    paths = region_paths(codes)
    out = {}
    for code in codes:
        path = paths.get(code) or [code]
        out[code] = " ".join(path[-2:]) if len(code) == LEVEL_CODE_LENGTH[RegionLevel.GRID] else path[-1]
    return out


def reason_words(reason: Any) -> str:
    """One of the risk model's reasons in words (it stores each as a dict with its text)."""
    if isinstance(reason, dict):
        for key in ("text", "label", "why", "reason"):
            if reason.get(key):
                return str(reason[key])
        return ", ".join(f"{k}: {v}" for k, v in reason.items())
    return str(reason)


@dataclass
class WarningView:
    """A warning with what every page shows of it in words."""

    warning: Warning
    level_words: str
    areas: list[str]

    @property
    def color(self) -> str:
        return self.warning.color


def with_words(warnings: list[Warning]) -> list[WarningView]:
    names = area_names(sorted({c for w in warnings for c in (w.area_codes or [w.region_code])}))
    return [
        WarningView(w, level_words(w.level), [names[c] for c in (w.area_codes or [w.region_code])])
        for w in warnings
    ]


def area_map(warning: Warning) -> dict[str, Any]:
    """The map of a warning's area: its regions' boundaries and the zone drawn, when either exists."""
    regions = list(Region.objects.filter(code__in=warning.area_codes or [warning.region_code]))
    features = maps.region_features(regions, {r.code: {"focus": True} for r in regions})
    if not features and not warning.area_polygon:
        return {}
    return {
        **maps.map_settings(),
        "regions": {"type": "FeatureCollection", "features": features},
        "zone": warning.area_polygon,
        "color": warning.color,
    }


# --- Staff list ----------------------------------------------------------------------------------

CURRENT = [WarningStatus.DRAFT, WarningStatus.ISSUED]


@warning_page(P.VIEW)
def warning_list(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    form = WarningFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if form.is_bound and form.is_valid() else ""
    qs = selectors.warning_list(viewer=viewer, status=status)
    if not status:
        qs = qs.filter(status__in=CURRENT)
    # Those in force first, the highest level first.
    in_force_first = Case(When(status=WarningStatus.ISSUED, then=Value(0)), default=Value(1))
    qs = qs.order_by(in_force_first, "-level", "-updated_at", "-pk")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "warnings": with_words(list(page.object_list)),
        "can_warn": has_perm(viewer, P.WARN),
    }
    return render(
        request,
        "emergency/warnings/list.html",
        context,
        status=200 if form.is_valid() or not form.is_bound else 400,
    )


# --- Draft form ----------------------------------------------------------------------------------


def area_regions(viewer: Viewer) -> list[Region]:
    """The regions an officer may warn: their own and those up to ``AREA_DEPTH`` levels below,
    in code order (at most ``AREA_CHOICES_MAX``)."""
    lengths = sorted(LEVEL_CODE_LENGTH.values())
    q = Q(pk__in=[])
    for scope in scopes_for(viewer, P.WARN):
        if len(scope) not in lengths:
            continue
        below = lengths[lengths.index(len(scope)) : lengths.index(len(scope)) + AREA_DEPTH + 1]
        q |= Q(code__startswith=scope, level__in=[LEVEL_BY_LENGTH[n] for n in below])
    return list(Region.objects.filter(q).order_by("code")[:AREA_CHOICES_MAX])


def area_choices(regions: list[Region]) -> list[tuple[str, str]]:
    names = area_names([r.code for r in regions])
    out = []
    for r in regions:
        label = names[r.code]
        if r.level not in (RegionLevel.COMMUNITY, RegionLevel.GRID):
            label = _("%(name)s (all of it)") % {"name": label}
        out.append((r.code, label))
    return out


def draft_map(regions: list[Region]) -> dict[str, Any]:
    """The drawing map: the officer's regions' boundaries (each grid, else each community)."""
    features = maps.region_features(regions)
    return {
        **maps.map_settings(),
        "regions": {"type": "FeatureCollection", "features": features},
        "text": {
            "drawing": _(
                "Tap the map at each corner of the zone, then tap the first corner again to close it."
            ),
            "drawn": _("A zone is drawn; it is put in the box below."),
            "cleared": _("The zone is removed."),
        },
    }


@warning_page(P.WARN, methods=("GET", "POST"))
def warning_new(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    regions = area_regions(viewer)
    choices = area_choices(regions)
    form = WarningDraftForm(request.POST or None, areas=choices)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                warning = services.warning_draft(
                    actor=_actor(request),
                    kind=data["kind"],
                    level=data["level"],
                    title=data["title"],
                    text=data["text"],
                    area_codes=data["area_codes"],
                    area_polygon=data["area_polygon"],
                    is_drill=data["is_drill"],
                    request=request,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("The draft is saved. Check it and issue it when ready."))
                return redirect("emergency:warning", pk=warning.pk)
        status = 400
    context = {"form": form, "map": draft_map(regions), "has_areas": bool(choices)}
    return render(request, "emergency/warnings/new.html", context, status=status)


def _actor(request: HttpRequest) -> User:
    """The signed-in user of a guarded page (``warning_page`` sent anyone else to sign in)."""
    return cast(User, request.user)


# --- One warning: staff page and its steps -------------------------------------------------------


def can_warn(viewer: Viewer, warning: Warning) -> bool:
    """The services' rule: ``emergency.warn`` over every region of the area."""
    return all(has_perm(viewer, P.WARN, c) for c in (warning.area_codes or [warning.region_code]))


def callout_url(warning: Warning) -> str:
    """The call-out form for this warning (its page belongs to the call-out pages)."""
    return f"/emergency/callouts/new/?warning={warning.pk}"


def _staff_page(request: HttpRequest, warning: Warning, *, status: int = 200, **extra: Any) -> HttpResponse:
    viewer = request.user
    view = with_words([warning])[0]
    entries = list(warning.entries.select_related("actor"))
    for e in entries:
        e.level_words = level_words(e.level)  # type: ignore[attr-defined]
    acting = can_warn(viewer, warning)
    callout = (
        callout_url(warning)
        if warning.status == WarningStatus.ISSUED and has_perm(viewer, P.MOBILIZE, warning.region_code)
        else ""
    )
    context = {
        "w": view,
        "warning": warning,
        "entries": entries,
        "reasons": [reason_words(r) for r in warning.reasons or []],
        "map": area_map(warning),
        "can_act": acting,
        "update_form": extra.pop("update_form", None)
        or WarningUpdateForm(
            prefix="update", initial={"level": warning.level, "title": warning.title, "text": warning.text}
        ),
        "lift_form": extra.pop("lift_form", None) or WarningLiftForm(prefix="lift"),
        "callout_url": callout,
        "show_steps": bool(callout) or (acting and warning.status in CURRENT),
        "public_url": reverse("emergency:warning", args=[warning.pk]) + "?view=public"
        if warning.status in (WarningStatus.ISSUED, WarningStatus.LIFTED)
        else "",
        "is_manual": warning.source == WarningSource.MANUAL,
        **extra,
    }
    return render(request, "emergency/warnings/detail.html", context, status=status)


def _public_page(request: HttpRequest, warning: Warning) -> HttpResponse:
    view = with_words([warning])[0]
    context = {
        "w": view,
        "warning": warning,
        "map": area_map(warning),
        "calls": [(number, label()) for number, label in EMERGENCY_CALLS],
        "updates": max(warning.revision - 1, 0),
    }
    return render(request, "emergency/warnings/public_detail.html", context)


def _staff_warning(request: HttpRequest) -> Any:
    """The viewer when they may see warnings at all (signed in, ``emergency.view`` somewhere)."""
    user = request.user
    return user if user.is_authenticated and has_perm(user, P.VIEW) else None


@require_GET
def warning_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff over the warning: the staff page; anyone else: the public page (404 for drafts)."""
    viewer = _staff_warning(request)
    if viewer is not None and request.GET.get("view") != "public":
        try:
            warning = selectors.warning_get_for(viewer, pk)
        except Http404:
            pass
        else:
            return _staff_page(request, warning)
    return _public_page(request, selectors.public_warning_get(pk))


def _acting_on(request: HttpRequest, pk: int) -> Warning:
    """The warning of a step: 404 outside the viewer's scope, audited 403 without
    ``emergency.warn`` over its area."""
    warning = selectors.warning_get_for(request.user, pk)
    for code in warning.area_codes or [warning.region_code]:
        guards.require(request, P.WARN, code)
    return warning


@warning_page(P.VIEW, methods=("GET", "POST"))
def warning_issue(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what issuing will do (who is reached, how many); POST: issue it."""
    warning = _acting_on(request, pk)
    if warning.status != WarningStatus.DRAFT:
        return _staff_page(request, warning, status=400, failed=[_("Only a draft can be issued.")])
    if request.method == "GET":
        context = {
            "w": with_words([warning])[0],
            "warning": warning,
            "reach": selectors.warning_audience(warning),
        }
        return render(request, "emergency/warnings/issue.html", context)
    try:
        warning = services.warning_issue(actor=_actor(request), warning=warning, request=request)
    except ValidationError as exc:
        return _staff_page(request, warning, status=400, failed=exc.messages)
    messages.success(
        request,
        _("The warning is in force and is being sent to %(n)d people.") % {"n": warning.recipients},
    )
    return redirect("emergency:warning", pk=warning.pk)


@warning_page(P.VIEW, methods=("POST",))
def warning_update(request: HttpRequest, pk: int) -> HttpResponse:
    warning = _acting_on(request, pk)
    form = WarningUpdateForm(request.POST, prefix="update")
    if form.is_valid():
        data = form.cleaned_data
        try:
            warning = services.warning_update(
                actor=_actor(request),
                warning=warning,
                level=data["level"],
                title=data["title"],
                text=data["text"],
                note=data["note"],
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("The update is in force and is being sent to %(n)d people.") % {"n": warning.recipients},
            )
            return redirect("emergency:warning", pk=warning.pk)
    return _staff_page(request, warning, status=400, update_form=form, update_open=True)


@warning_page(P.VIEW, methods=("POST",))
def warning_lift(request: HttpRequest, pk: int) -> HttpResponse:
    warning = _acting_on(request, pk)
    form = WarningLiftForm(request.POST, prefix="lift")
    if form.is_valid():
        try:
            warning = services.warning_lift(
                actor=_actor(request), warning=warning, reason=form.cleaned_data["reason"], request=request
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The warning is lifted; everyone it reached is being told."))
            return redirect("emergency:warning", pk=warning.pk)
    return _staff_page(request, warning, status=400, lift_form=form, lift_open=True)


@warning_page(P.VIEW, methods=("POST",))
def warning_discard(request: HttpRequest, pk: int) -> HttpResponse:
    warning = _acting_on(request, pk)
    try:
        services.warning_discard(actor=_actor(request), warning=warning, request=request)
    except ValidationError as exc:
        return _staff_page(request, warning, status=400, failed=exc.messages)
    messages.success(request, _("The draft is discarded; nothing was sent."))
    return redirect("emergency:warnings")


# --- Public list -----------------------------------------------------------------------------------


@require_GET
def public_list(request: HttpRequest) -> HttpResponse:
    """The warnings in force, everywhere or for one region (``?region=``), for anyone."""
    code = request.GET.get("region", "").strip()
    region = None
    status = 200
    error = ""
    if code:
        region = Region.objects.filter(code=code).first() if code.isdigit() and len(code) <= 15 else None
        if region is None:
            error = _("There is no region with the code %(code)s.") % {"code": code[:20]}
            status = 400
    qs = selectors.warnings_in_force(region_code=region.code if region else "")
    context = {
        "region": region,
        "error": error,
        "warnings": with_words(list(qs[:100])),
        "calls": [(number, label()) for number, label in EMERGENCY_CALLS],
    }
    return render(request, "emergency/warnings/public_list.html", context, status=status)
