"""Alerts: active → acknowledged → cleared, at most one open per rule and origin.

``raise_hits`` runs in the ingester's (or a periodic job's) transaction: a hit whose rule and
origin already have an open alert updates it (count, last time, value); a new one is created and
``iot.alert_raised`` is emitted in the same transaction, which the grid turns into a ticket.
People's steps (acknowledge, clear, ask for a ticket) are audited.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.guards import require_actor
from shequ.core.outbox import emit
from shequ.core.permissions import Viewer
from shequ.iot import labels
from shequ.iot.events import AlertCleared, AlertRaised
from shequ.iot.models import Alert, AlertState, Device, RuleKind
from shequ.iot.permissions import IotPerm as P
from shequ.iot.rules import Hit, spec_of

CLEAR_REASON_MIN = 4
# A ticket asked for from an alert whose rule names no category: technical defence (技防设施).
DEFAULT_TICKET_CATEGORY = "security.technical"
# Who the audit log names for a clear the platform makes itself (a device back online).
SYSTEM_ACTOR = "shequ worker"


def _event_for(alert: Alert, hit: Hit, *, ticket: bool) -> AlertRaised:
    device = hit.device
    with translation.override("zh-hans"):  # in words for the ticket
        detail = labels.alert_detail(alert.detail, hit.rule.kind)
    return AlertRaised(
        alert_id=alert.pk,
        rule_kind=hit.rule.kind,
        severity=alert.severity,
        region_code=alert.region_code,
        title=alert.title,
        detail=detail,
        ticket_category=hit.rule.ticket_category if ticket else "",
        device_code=device.code if device else "",
        house_id=alert.house_id,
        building_id=alert.building_id,
        key_place_id=alert.key_place_id,
        latitude=device.latitude if device else None,
        longitude=device.longitude if device else None,
        address=device.location_note if device else "",
    )


def raise_hits(
    hits: list[Hit], *, now: dt.datetime | None = None, region_ids: dict[str, int] | None = None
) -> int:
    """Turn hits into alerts (inside the caller's transaction); answers how many alerts are new."""
    now = now or timezone.now()
    new = 0
    for hit in hits:
        device = hit.device
        updated = Alert.objects.filter(rule_id=hit.rule.id, origin=hit.origin, open=True).update(
            count=F("count") + hit.count, last_at=hit.at, value=hit.value, detail=hit.detail[:500]
        )
        if updated:
            continue
        where = device.name if device else hit.place
        # Names are Chinese (rules and devices are named by their community): a full-width colon.
        title = f"{hit.rule.name}：{where}" if where else hit.rule.name
        region_id = device.region_id if device else (region_ids or {})[hit.region_code]
        alert = Alert(
            rule_id=hit.rule.id,
            origin=hit.origin,
            region_id=region_id,
            region_code=device.region_code if device else hit.region_code,
            device_id=device.id if device else None,
            house_id=hit.house_id,
            building_id=device.building_id if device else None,
            key_place_id=device.key_place_id if device else None,
            severity=hit.rule.severity,
            title=title[:100],
            detail=hit.detail[:500],
            value=hit.value,
            count=hit.count,
            first_at=hit.at,
            last_at=hit.at,
            raised_at=timezone.now(),
        )
        try:
            with transaction.atomic():  # another ingester may open the same alert at this moment
                alert.save()
        except IntegrityError:
            Alert.objects.filter(rule_id=hit.rule.id, origin=hit.origin, open=True).update(
                count=F("count") + hit.count, last_at=hit.at, value=hit.value
            )
            continue
        new += 1
        emit(_event_for(alert, hit, ticket=bool(hit.rule.ticket_category)))
    return new


def _open_alert(alert: Alert) -> Alert:
    # of=self: the device is an outer join (nullable), which PostgreSQL cannot lock.
    return Alert.objects.select_for_update(of=("self",)).select_related("rule", "device").get(pk=alert.pk)


def alert_acknowledge(*, actor: Viewer, alert: Alert, request: HttpRequest | None = None) -> Alert:
    require_actor(
        actor,
        P.ALERT,
        alert.region_code,
        action="iot.alert_ack",
        object_type="iot.alert",
        object_id=alert.pk,
        request=request,
    )
    with transaction.atomic():
        current = _open_alert(alert)
        if current.state != AlertState.ACTIVE:
            raise ValidationError(_("Only an active alert can be acknowledged."))
        current.state = AlertState.ACKNOWLEDGED
        current.acknowledged_at = timezone.now()
        current.acknowledged_by = actor  # type: ignore[assignment]
        current.save(update_fields=["state", "acknowledged_at", "acknowledged_by"])
        audit.record(
            "iot.alert_ack",
            actor=actor,
            request=request,
            region_code=current.region_code,
            object_type="iot.alert",
            object_id=current.pk,
        )
    return current


def alert_clear(*, actor: Viewer, alert: Alert, reason: str, request: HttpRequest | None = None) -> Alert:
    """Close an alert (handled, or a false alarm) with a reason; the next hit opens a new one."""
    require_actor(
        actor,
        P.ALERT,
        alert.region_code,
        action="iot.alert_clear",
        object_type="iot.alert",
        object_id=alert.pk,
        request=request,
    )
    reason = (reason or "").strip()
    if len(reason) < CLEAR_REASON_MIN:
        raise ValidationError({"reason": _("Say in a few words why the alert is cleared.")})
    with transaction.atomic():
        current = _open_alert(alert)
        if not current.open:
            raise ValidationError(_("This alert is already cleared."))
        _close(current, reason=reason, actor=actor, request=request)
    return current


def _close(
    current: Alert,
    *,
    reason: str,
    actor: Viewer | None,
    request: HttpRequest | None = None,
    actor_name: str = "",
) -> None:
    """Clear a locked open alert: recorded (who, when, why), audited and announced."""
    current.state = AlertState.CLEARED
    current.open = False
    current.cleared_at = timezone.now()
    current.cleared_by = actor  # type: ignore[assignment]
    current.clear_reason = reason[:200]
    current.save(update_fields=["state", "open", "cleared_at", "cleared_by", "clear_reason"])
    audit.record(
        "iot.alert_clear",
        actor=actor,
        actor_name=actor_name,
        request=request,
        region_code=current.region_code,
        object_type="iot.alert",
        object_id=current.pk,
        reason=reason[:200],
    )
    emit(AlertCleared(alert_id=current.pk, region_code=current.region_code, reason=reason[:200]))


def alert_clear_recovered() -> int:
    """Offline alerts whose device has sent a message since the alert was raised are cleared by
    the platform (no person; the audit entry names the worker), with the reason in words. The
    next silence raises a new alert."""
    with transaction.atomic():
        back = list(
            Alert.objects.select_for_update(of=("self",))
            .filter(open=True, rule__kind=RuleKind.OFFLINE, device__last_seen_at__gt=F("first_at"))
            .order_by("pk")
        )
        if not back:
            return 0
        with translation.override("zh-hans"):  # stored and shown as it is
            reason = _("The device is back online (cleared by the platform).")
        for alert in back:
            _close(alert, reason=reason, actor=None, actor_name=SYSTEM_ACTOR)
    return len(back)


def alert_request_ticket(
    *, actor: Viewer, alert: Alert, category: str = "", request: HttpRequest | None = None
) -> Alert:
    """Staff ask for a grid ticket from an alert whose rule makes none (the console's button). The
    grid's handler makes it; asking twice makes one ticket."""
    require_actor(
        actor,
        P.ALERT,
        alert.region_code,
        action="iot.alert_ticket",
        object_type="iot.alert",
        object_id=alert.pk,
        request=request,
    )
    with transaction.atomic():
        current = _open_alert(alert)
        if current.ticket_id is not None:
            raise ValidationError(_("A ticket was already made from this alert."))
        rule = current.rule
        chosen = category or rule.ticket_category or DEFAULT_TICKET_CATEGORY
        hit = Hit(
            rule=spec_of(rule),
            origin=current.origin,
            at=current.last_at,
            value=current.value,
            detail=current.detail,
        )
        event = _event_for(current, hit, ticket=True)
        device: Device | None = current.device
        event = event.model_copy(
            update={
                "ticket_category": chosen,
                "device_code": device.code if device else "",
                "latitude": float(device.latitude) if device and device.latitude is not None else None,
                "longitude": float(device.longitude) if device and device.longitude is not None else None,
                "address": device.location_note if device else "",
            }
        )
        emit(event)
        audit.record(
            "iot.alert_ticket",
            actor=actor,
            request=request,
            region_code=current.region_code,
            object_type="iot.alert",
            object_id=current.pk,
        )
    return current


def alert_link_ticket(*, alert_id: int, ticket_id: int) -> None:
    """The grid's handler records the ticket it made (idempotent)."""
    Alert.objects.filter(pk=alert_id, ticket_id__isnull=True).update(ticket_id=ticket_id)
