"""Urgent tickets in minutes, not hours: the alert raised at intake, its acknowledgement, the
clearing of a false alarm, and the climb of an unacknowledged alert (on-duty person → community
head → street) that the deadline sweep runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core.models import User
from shequ.core.outbox import emit
from shequ.core.permissions import has_perm
from shequ.grid import events
from shequ.grid.lifesafety import FORMAT, Triage
from shequ.grid.models import (
    AlertLevel,
    AlertState,
    Clock,
    Ticket,
    Urgency,
    UrgentAlert,
)
from shequ.grid.permissions import GridPerm as P
from shequ.grid.permissions import can_acknowledge
from shequ.grid.services import _common
from shequ.grid.services._common import (
    _CLOCK_FIELDS,
    _community_code,
    _lock,
    _record,
    _refuse,
    _save,
    _start_clock,
    _text,
    response_due,
)

CLEAR_REASON_MIN = 4
CLEAR_REASON_MAX = 500
TOP_LEVEL = AlertLevel.STREET


def urgent_ack_window() -> dt.timedelta:
    return dt.timedelta(minutes=float(settings.URGENT_ACK_MINUTES))


def alert_raise(ticket: Ticket, triage: Triage, *, actor: User | None, now: dt.datetime) -> UrgentAlert:
    """Inside the ticket's submission: the alert row, a timeline step that says why, and the event
    that tells the on-duty person. Staff raising a ticket whose earlier alarm they cleared (at
    accept) start that alert afresh: one alert per ticket."""
    alert, _created = UrgentAlert.objects.update_or_create(
        ticket=ticket,
        defaults={
            "community_code": _community_code(ticket.region_code),
            "life_safety": triage.urgent,
            "kind": triage.kind,
            "reasons": triage.reasons(),
            "probability": triage.probability,
            "detector_version": f"{FORMAT}",
            "raised_at": now,
            "ack_due_at": now + urgent_ack_window(),
            "state": AlertState.OPEN,
            "level": AlertLevel.ON_DUTY,
            "reached": [],
            "acknowledged_at": None,
            "acknowledged_by": None,
            "cleared_at": None,
            "cleared_by": None,
            "clear_reason": "",
        },
    )
    _record(
        ticket,
        actor=None,
        action="urgent_raised",
        from_status=ticket.status,
        params={"life_safety": triage.urgent, "kind": triage.kind},
        audit_detail={"alert": alert.pk, "life_safety": triage.urgent, "kind": triage.kind},
    )
    emit(
        events.UrgentAlertRaised(
            actor_id=getattr(actor, "pk", None),
            ticket_id=ticket.pk,
            region_code=ticket.region_code,
            alert_id=alert.pk,
            level=AlertLevel.ON_DUTY,
        )
    )
    return alert


def alert_acknowledge(
    *, actor: User, alert: UrgentAlert, via: str = "page", request: HttpRequest | None = None
) -> UrgentAlert:
    """ "I have it": stops the climb. Idempotent; the first acknowledgement counts."""
    if not can_acknowledge(actor, alert):
        _refuse(actor, alert.ticket, "urgent_ack", "not reached and no grid role here", request=request)
    with transaction.atomic():
        alert = UrgentAlert.objects.select_for_update().select_related("ticket").get(pk=alert.pk)
        if alert.state != AlertState.OPEN:
            return alert
        now = _common._now()
        alert.state = AlertState.ACKNOWLEDGED
        alert.acknowledged_at = now
        alert.acknowledged_by = actor
        alert.ack_due_at = None
        alert.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "ack_due_at"])
        ticket = alert.ticket
        _record(
            ticket,
            actor=actor,
            action="urgent_ack",
            from_status=ticket.status,
            request=request,
            params={"via": via, "minutes": round((now - alert.raised_at).total_seconds() / 60, 1)},
        )
        emit(
            events.UrgentAlertAcknowledged(
                actor_id=actor.pk, ticket_id=ticket.pk, region_code=ticket.region_code, alert_id=alert.pk
            )
        )
    return alert


def alert_clear(
    *, actor: User, alert: UrgentAlert, reason: Any, request: HttpRequest | None = None
) -> UrgentAlert:
    """A false alarm: staff of the community (or above) say why; the ticket goes back to the normal
    queue and deadline, and the text becomes an ordinary example for the detector's next training."""
    code = alert.ticket.region_code
    if not (has_perm(actor, P.HANDLE, code) or has_perm(actor, P.SUPERVISE, code)):
        _refuse(actor, alert.ticket, "urgent_clear", "no grid.handle or grid.supervise here", request=request)
    reason = _text(reason, "reason", CLEAR_REASON_MAX, required=True, label=_("The reason"))
    if len(reason) < CLEAR_REASON_MIN:
        raise ValidationError(
            {
                "reason": _("Say in a few words why this is not urgent (at least %(n)d characters).")
                % {"n": CLEAR_REASON_MIN}
            }
        )
    with transaction.atomic():
        alert = UrgentAlert.objects.select_for_update().get(pk=alert.pk)
        if alert.state == AlertState.CLEARED:
            raise ValidationError({"reason": _("This alarm was already cleared.")})
        ticket = _lock(alert.ticket)
        now = _common._now()
        before = alert.state
        alert.state = AlertState.CLEARED
        alert.cleared_at = now
        alert.cleared_by = actor
        alert.clear_reason = reason
        alert.ack_due_at = None
        alert.save(update_fields=["state", "cleared_at", "cleared_by", "clear_reason", "ack_due_at"])
        ticket.urgency = Urgency.NORMAL
        fields = ["urgency"]
        if ticket.clock == Clock.RESPONSE and ticket.responded_at is None:
            # Back to the category's normal answer time, counted from the submission.
            due = response_due(ticket.category, Urgency.NORMAL, ticket.submitted_at)
            ticket.response_due_at = due
            _start_clock(ticket, Clock.RESPONSE, ticket.submitted_at, due)
            fields += ["response_due_at", *_CLOCK_FIELDS]
        _save(ticket, *fields)
        _record(
            ticket,
            actor=actor,
            action="urgent_clear",
            from_status=ticket.status,
            comment=reason,
            request=request,
            params={"was": before},
            audit_detail={"alert": alert.pk, "reason": reason},
        )
    return alert


def escalate_unacknowledged(now: dt.datetime | None = None) -> int:
    """Climb every open alert whose acknowledgement time has passed one level (the deadline sweep
    runs this); returns how many climbed. Each climb is its own transaction with the row locked, so
    two workers never climb one alert twice."""
    now = now or _common._now()
    due = list(
        UrgentAlert.objects.filter(state=AlertState.OPEN, ack_due_at__lte=now)
        .order_by("ack_due_at")
        .values_list("pk", flat=True)[:500]
    )
    climbed = 0
    for pk in due:
        with transaction.atomic():
            alert = (
                UrgentAlert.objects.select_for_update()
                .select_related("ticket")
                .filter(pk=pk, state=AlertState.OPEN, ack_due_at__lte=now)
                .first()
            )
            if alert is None:
                continue
            alert.level = min(alert.level + 1, TOP_LEVEL)
            # At the top the alert stays open (and on every page) but climbs no further.
            alert.ack_due_at = now + urgent_ack_window() if alert.level < TOP_LEVEL else None
            alert.save(update_fields=["level", "ack_due_at"])
            ticket = alert.ticket
            emit(
                events.UrgentAlertRaised(
                    actor_id=None,
                    ticket_id=ticket.pk,
                    region_code=ticket.region_code,
                    alert_id=alert.pk,
                    level=alert.level,
                )
            )
            climbed += 1
    return climbed


def alert_reached(*, alert_id: int, level: int, users: list[User], why: str, at: dt.datetime) -> None:
    """Note whom a level reached (the handler that notified them calls it, in its transaction)."""
    alert = UrgentAlert.objects.select_for_update().filter(pk=alert_id).first()
    if alert is None:
        return
    if any(step.get("level") == level for step in alert.reached):
        return  # a retried handler: already noted
    alert.reached = [
        *alert.reached,
        {"level": level, "at": at.isoformat(), "users": [u.pk for u in users], "why": why},
    ]
    alert.save(update_fields=["reached"])
