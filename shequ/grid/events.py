"""The grid app's domain events. Payloads carry ids and codes only, never names or phone
numbers (the outbox table is not encrypted); handlers load what they need."""

from __future__ import annotations

from typing import ClassVar

from shequ.core.outbox import DomainEvent, register_event


class GridEvent(DomainEvent):
    actor_id: int | None
    ticket_id: int
    region_code: str


@register_event
class TicketSubmitted(GridEvent):
    name: ClassVar[str] = "grid.ticket_submitted"
    source: str
    category_id: int | None


@register_event
class TicketDispatched(GridEvent):
    """Pushed to a department: its staff are told at once (inbox, and SMS when urgent)."""

    name: ClassVar[str] = "grid.ticket_dispatched"
    dispatch_id: int
    department_id: int
    urgent: bool


@register_event
class TicketChanged(GridEvent):
    """Any other step of the workflow; the reporter and followers hear of the ones that concern them."""

    name: ClassVar[str] = "grid.ticket_changed"
    action: str
    from_status: str
    to_status: str


@register_event
class TicketClosed(GridEvent):
    """The ticket entered the closed status (emitted beside ``grid.ticket_changed``): departments
    subscribe to it through the sharing catalog without a task for every other step."""

    name: ClassVar[str] = "grid.ticket_closed"


@register_event
class TicketWarned(GridEvent):
    """80 % of the running deadline has passed: the assignee is reminded."""

    name: ClassVar[str] = "grid.ticket_warned"
    clock: str


@register_event
class TicketEscalated(GridEvent):
    """Overdue: the next region level supervises it (督办)."""

    name: ClassVar[str] = "grid.ticket_escalated"
    supervision_code: str
    escalations: int


@register_event
class UrgentAlertRaised(GridEvent):
    """An urgent ticket came in, or its alert climbed a level: the level's people are told at once
    (SMS and in-app, asking for an acknowledgement)."""

    name: ClassVar[str] = "grid.urgent_alert_raised"
    alert_id: int
    level: int


@register_event
class UrgentAlertAcknowledged(GridEvent):
    """Someone took the urgent ticket on: the reporter and the others reached hear who did."""

    name: ClassVar[str] = "grid.urgent_alert_acknowledged"
    alert_id: int
