"""The alert console (open alerts first, by severity; refreshed every 15 s), one alert's page with
its steps (acknowledge, clear with a reason, open a ticket: ``iot.alert``), and a house's door
activity for welfare checks (``iot.access``; the read is audited). Both name the residents of the
house concerned (the living-alone person of a welfare check, the household of an SOS button) to
those who may see the registry's people there, phones masked; each such read is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit, guards
from shequ.core.permissions import has_perm
from shequ.iot import labels, selectors, services
from shequ.iot.forms import AlertFilterForm, ClearForm
from shequ.iot.ingest import DOOR_ACTIVITY
from shequ.iot.models import Alert, DeviceKind, Rule, RuleKind
from shequ.iot.permissions import IotPerm as P
from shequ.iot.views_console import event_rows, iot_page, page_of, with_alert_words
from shequ.registry import selectors as registry_selectors

REFRESH_SECONDS = 15
HOUSE_DAYS = 7


@iot_page(P.VIEW)
def alert_list(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    form = AlertFilterForm(request.GET or None)
    state = "open"
    if form.is_bound and form.is_valid():
        state = form.cleaned_data["state"] or "open"
    qs = selectors.alert_list(viewer=viewer, state=state).select_related(
        "device__house", "device__building", "device__key_place"
    )
    page = page_of(request, qs)
    # ?auto=0 stops the refresh (WCAG 2.2.2: moving content can be paused).
    auto = request.GET.get("auto") != "0" and page.number == 1
    params = request.GET.copy()
    params["auto"] = "1" if not auto else "0"
    context = {
        "form": form,
        "page": page,
        "alerts": with_alert_words(list(page.object_list)),
        "auto": auto,
        "refresh_seconds": REFRESH_SECONDS,
        "toggle_url": "?" + params.urlencode(),
        "checked_at": timezone.now(),
    }
    # htmx's refresh asks for the list alone.
    fragment = bool(request.headers.get("HX-Request"))
    return render(request, "iot/console/_alert_list.html" if fragment else "iot/console/alerts.html", context)


def ticket_url(ticket_id: int | None) -> str:
    """The grid's ticket page, when the grid app is installed (iot does not import it)."""
    if ticket_id is None:
        return ""
    try:
        return reverse("grid:ticket", args=[ticket_id])
    except NoReverseMatch:
        return ""


def watched_tag(rule: Rule) -> str:
    """The population tag an absence rule watches (its welfare checks are about those people)."""
    return str(rule.params.get("tag") or "") if rule.kind == RuleKind.ABSENCE else ""


def residents_read(
    request: HttpRequest, house_id: int, region_code: str, tag: str, **detail: Any
) -> list[registry_selectors.Resident]:
    """The house's residents the viewer may see (those with ``tag`` first), the read audited as
    access records are: who read which people of which house."""
    residents = registry_selectors.house_residents(viewer=request.user, house_id=house_id, tag=tag)
    if residents:
        audit.record(
            "iot.resident_read",
            actor=request.user,
            request=request,
            region_code=region_code,
            object_type="registry.house",
            object_id=house_id,
            fields=["residents"],
            detail={"people": [r.person_id for r in residents], **detail},
        )
    return residents


def _alert_page(request: HttpRequest, alert: Alert, *, status: int = 200, **extra: Any) -> HttpResponse:
    viewer = request.user
    with_alert_words([alert])
    rule = alert.rule
    house_id = alert.house_id or (alert.device.house_id if alert.device is not None else None)
    residents = (
        residents_read(request, house_id, alert.region_code, watched_tag(rule), alert=alert.pk)
        if house_id
        else []
    )
    house_url = ""
    if alert.house_id and has_perm(viewer, P.ACCESS, alert.region_code):
        house_url = reverse("iot:house", args=[alert.house_id])
    context = {
        "alert": alert,
        "rule": rule,
        "rule_words": labels.params_in_words(rule.kind, rule.device_kind, rule.params),
        "can_act": has_perm(viewer, P.ALERT, alert.region_code),
        "clear_form": extra.pop("clear_form", None) or ClearForm(prefix="clear"),
        "ticket_url": ticket_url(alert.ticket_id),
        "house_url": house_url,
        "welfare": rule.kind == RuleKind.ABSENCE,
        "residents": residents,
        **extra,
    }
    return render(request, "iot/console/alert.html", context, status=status)


@iot_page(P.VIEW)
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _alert_page(request, selectors.get_alert_for(request.user, pk))


def _step(request: HttpRequest, pk: int) -> Alert:
    """The alert of a step: 404 outside the viewer's scope, audited 403 without ``iot.alert``."""
    alert = selectors.get_alert_for(request.user, pk)
    guards.require(request, P.ALERT, alert.region_code)
    return alert


@iot_page(P.VIEW, methods=("POST",))
def alert_ack(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _step(request, pk)
    try:
        services.alert_acknowledge(actor=request.user, alert=alert, request=request)
    except ValidationError as exc:
        return _alert_page(request, alert, status=400, failed=exc.messages)
    messages.success(request, _("Alert acknowledged."))
    return redirect("iot:alert", pk=alert.pk)


@iot_page(P.VIEW, methods=("POST",))
def alert_clear(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _step(request, pk)
    form = ClearForm(request.POST, prefix="clear")
    if form.is_valid():
        try:
            services.alert_clear(
                actor=request.user, alert=alert, reason=form.cleaned_data["reason"], request=request
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                form.add_error("reason", exc.message_dict.get("reason", exc.messages))
            else:
                form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Alert cleared."))
            return redirect("iot:alert", pk=alert.pk)
    return _alert_page(request, alert, status=400, clear_form=form, clear_open=True)


@iot_page(P.VIEW, methods=("POST",))
def alert_ticket(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _step(request, pk)
    if not alert.open:
        return _alert_page(request, alert, status=400, failed=[_("This alert is already cleared.")])
    try:
        services.alert_request_ticket(actor=request.user, alert=alert, request=request)
    except ValidationError as exc:
        return _alert_page(request, alert, status=400, failed=exc.messages)
    messages.success(request, _("A ticket is being made for the grid worker; it is linked here once made."))
    return redirect("iot:alert", pk=alert.pk)


# --- A house's door activity (welfare checks) ---------------------------------------------------


def day_strips(events: list[Any], now: dt.datetime, days: int = HOUSE_DAYS) -> list[dict[str, Any]]:
    """Door activity per local day (newest first) and hour: counts, first and last time."""
    zone = ZoneInfo(settings.TIME_ZONE)
    today = now.astimezone(zone).date()
    out: dict[dt.date, dict[str, Any]] = {}
    for i in range(days):
        day = today - dt.timedelta(days=i)
        out[day] = {"day": day, "hours": [0] * 24, "count": 0, "first": None, "last": None}
    for e in events:
        local = e.occurred_at.astimezone(zone)
        row = out.get(local.date())
        if row is None:
            continue
        row["hours"][local.hour] += 1
        row["count"] += 1
        row["first"] = local if row["first"] is None or local < row["first"] else row["first"]
        row["last"] = local if row["last"] is None or local > row["last"] else row["last"]
    for row in out.values():
        row["cells"] = [
            {"hour": h, "n": n, "level": 0 if n == 0 else 1 if n == 1 else 2 if n <= 3 else 3}
            for h, n in enumerate(row["hours"])
        ]
    return list(out.values())


@iot_page(P.ACCESS)
def house_activity(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request.user
    house = registry_selectors.get_house_for(viewer, pk)
    guards.require(request, P.ACCESS, house.region_code)
    now = timezone.now()
    start = now - dt.timedelta(days=HOUSE_DAYS)
    events = selectors.event_list(viewer=viewer, house_id=house.pk, start=start, request=request)
    kinds = dict(
        selectors.device_list(viewer=viewer)
        .filter(pk__in={e.device_id for e in events})
        .values_list("pk", "kind")
    )
    # The list: every door and gate event (refused and forced entries too); the strip: activity.
    door = [e for e in events if kinds.get(e.device_id) in (DeviceKind.DOOR, DeviceKind.GATE)]
    alerts = list(selectors.alert_list(viewer=viewer).filter(house_id=house.pk).select_related("rule")[:20])
    tag = next((watched_tag(a.rule) for a in alerts if watched_tag(a.rule)), "")
    residents = registry_selectors.house_residents(viewer=viewer, house_id=house.pk, tag=tag)
    audit.record(
        "iot.access_read",
        actor=viewer,
        request=request,
        region_code=house.region_code,
        object_type="registry.house",
        object_id=house.pk,
        fields=["door_activity", *(["residents"] if residents else [])],
        detail={"people": [r.person_id for r in residents]} if residents else None,
    )
    activity = selectors.house_activity(viewer=viewer, house_id=house.pk)
    context = {
        "house": house,
        "activity": activity,
        "activity_ago": labels.ago(activity.last_at, now) if activity else "",
        "strips": day_strips([e for e in door if e.type in DOOR_ACTIVITY], now),
        "events": event_rows(door[:100], kinds),
        "alerts": with_alert_words(alerts),
        "residents": residents,
        "days": HOUSE_DAYS,
    }
    return render(request, "iot/console/house.html", context)
