"""The IoT app's entries in the resource catalog (政务信息资源目录): device events (door, gate,
smoke, gas … messages) and alerts, offered to departments through sharing grants.

Rows are read here: a region filter by code prefix, the declared dimensions as row filters, keyset
paging by primary key. Access records carry only the masked card or plate the ingester kept; the
resident behind one is a subject of the call (who used my data) but never a shared field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.components import (
    DataResource,
    Dimension,
    ResourceField,
    Sensitivity,
    SharingType,
    choice_values,
    keyset_page,
)
from shequ.iot.models import Alert, AlertState, Channel, DeviceEvent, DeviceKind, RuleKind, Severity

__all__ = ["RESOURCES"]

PUBLIC, INTERNAL, PERSONAL = Sensitivity.PUBLIC, Sensitivity.INTERNAL, Sensitivity.PERSONAL


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _events(
    region_codes: Sequence[str], filters: Mapping[str, str], after: int, limit: int
) -> list[DeviceEvent]:
    qs = DeviceEvent.objects.select_related("device")
    if "kind" in filters:
        qs = qs.filter(device__kind=filters["kind"])
    if "channel" in filters:
        qs = qs.filter(channel=filters["channel"])
    return keyset_page(qs, region_codes, after, limit)


def _event_row(event: DeviceEvent) -> dict[str, Any]:
    return {
        "device": event.device.code,
        "device_kind": event.device.kind,
        "channel": event.channel,
        "type": event.type,
        "occurred_at": _at(event.occurred_at),
        "value": event.value,
        "subject": event.subject_masked,
        "region_code": event.region_code,
    }


def _already_masked(value: Any) -> Any:
    return value  # the ingester keeps only the masked card or plate


DEVICE_EVENTS = DataResource(
    key="device_events",
    title=_("Device events"),
    description=_(
        "Messages of the area's devices: door and gate passages, smoke, gas and water-leak "
        "detections, meter and environment readings."
    ),
    owner=_("Street office (IoT platform)"),
    frequency=_("Real time"),
    sharing=SharingType.CONDITIONAL,
    fields=(
        ResourceField("device", _("Device code"), PUBLIC),
        ResourceField("device_kind", _("Device kind"), PUBLIC),
        ResourceField("channel", _("Channel"), PUBLIC),
        ResourceField("type", _("Event type"), PUBLIC),
        ResourceField("occurred_at", _("Time"), PUBLIC),
        ResourceField("value", _("Value"), INTERNAL),
        ResourceField("subject", _("Card or plate (masked)"), PERSONAL, _already_masked),
        ResourceField("region_code", _("Community or grid code"), PUBLIC),
    ),
    rows=_events,
    row=_event_row,
    region_code=lambda event: event.region_code,
    subjects=lambda event: (event.person_id,) if event.person_id else (),
    dimensions=(
        Dimension("kind", _("Device kind"), choice_values(DeviceKind)),
        Dimension("channel", _("Channel"), choice_values(Channel)),
    ),
)


def _alerts(region_codes: Sequence[str], filters: Mapping[str, str], after: int, limit: int) -> list[Alert]:
    qs = Alert.objects.select_related("rule", "device")
    if "severity" in filters:
        qs = qs.filter(severity=int(filters["severity"]))
    if "state" in filters:
        qs = qs.filter(state=filters["state"])
    if "rule_kind" in filters:
        qs = qs.filter(rule__kind=filters["rule_kind"])
    return keyset_page(qs, region_codes, after, limit)


def _alert_row(alert: Alert) -> dict[str, Any]:
    return {
        "title": alert.title,
        "detail": alert.detail,
        "rule_kind": alert.rule.kind,
        "severity": alert.severity,
        "state": alert.state,
        "device": alert.device.code if alert.device else "",
        "value": alert.value,
        "count": alert.count,
        "first_at": _at(alert.first_at),
        "last_at": _at(alert.last_at),
        "cleared_at": _at(alert.cleared_at),
        "region_code": alert.region_code,
    }


ALERTS = DataResource(
    key="alerts",
    title=_("Device alerts"),
    description=_(
        "Alerts raised by the rules on device data (fire, gas, water leaks, welfare checks, "
        "gatherings, fire lanes), with their state."
    ),
    owner=_("Street office (IoT platform)"),
    frequency=_("Real time"),
    sharing=SharingType.CONDITIONAL,
    fields=(
        ResourceField("title", pgettext_lazy("shared field", "Title"), PUBLIC),
        ResourceField("detail", _("Detail"), INTERNAL),
        ResourceField("rule_kind", _("Rule kind"), PUBLIC),
        ResourceField("severity", _("Severity"), PUBLIC),
        ResourceField("state", _("State"), PUBLIC),
        ResourceField("device", _("Device code"), PUBLIC),
        ResourceField("value", _("Value"), INTERNAL),
        ResourceField("count", _("Repeats"), INTERNAL),
        ResourceField("first_at", _("First seen"), PUBLIC),
        ResourceField("last_at", _("Last seen"), PUBLIC),
        ResourceField("cleared_at", _("Cleared on"), PUBLIC),
        ResourceField("region_code", _("Community or grid code"), PUBLIC),
    ),
    rows=_alerts,
    row=_alert_row,
    region_code=lambda alert: alert.region_code,
    dimensions=(
        Dimension("severity", _("Severity"), choice_values(Severity)),
        Dimension("state", _("State"), choice_values(AlertState)),
        Dimension("rule_kind", _("Rule kind"), choice_values(RuleKind)),
    ),
    events=("iot.alert_raised", "iot.alert_cleared"),
)

RESOURCES: tuple[DataResource, ...] = (DEVICE_EVENTS, ALERTS)
