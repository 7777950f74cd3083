"""The IoT app's domain events. The grid turns ``iot.alert_raised`` into a ticket for the
responsible grid worker; ``iot`` imports no app that consumes its events."""

from __future__ import annotations

from typing import ClassVar

from shequ.core.outbox import DomainEvent, register_event


@register_event
class AlertRaised(DomainEvent):
    """A new alert (not a repeat of an open one). Everything a consumer needs travels with it, so
    the grid does not read IoT tables to make its ticket."""

    name: ClassVar[str] = "iot.alert_raised"
    alert_id: int
    rule_kind: str
    severity: int
    region_code: str
    title: str
    detail: str
    ticket_category: str
    device_code: str = ""
    house_id: int | None = None
    building_id: int | None = None
    key_place_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    address: str = ""


@register_event
class AlertCleared(DomainEvent):
    name: ClassVar[str] = "iot.alert_cleared"
    alert_id: int
    region_code: str
    reason: str
