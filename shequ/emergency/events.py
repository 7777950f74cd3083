"""The emergency app's domain events. The grid turns ``emergency.help_requested`` and
``emergency.checkin_followup`` into tasks (tickets) for the grid worker; ``emergency`` imports no app
that consumes its events."""

from __future__ import annotations

from typing import ClassVar

from shequ.core.outbox import DomainEvent, register_event


@register_event
class WarningIssued(DomainEvent):
    """A warning came into force or was updated (``revision`` > 1)."""

    name: ClassVar[str] = "emergency.warning_issued"
    warning_id: int
    region_code: str
    kind: str
    level: int
    revision: int
    is_drill: bool


@register_event
class WarningLifted(DomainEvent):
    name: ClassVar[str] = "emergency.warning_lifted"
    warning_id: int
    region_code: str
    is_drill: bool


@register_event
class HelpRequested(DomainEvent):
    """A person called out answered "need help": an urgent task for their grid. Everything the task
    needs travels with the event, so the grid reads no emergency table to make it."""

    name: ClassVar[str] = "emergency.help_requested"
    recipient_id: int
    mobilization_id: int
    region_code: str
    person_name: str
    place: str
    location: str
    note: str
    title: str
    is_drill: bool


@register_event
class CheckInFollowUp(DomainEvent):
    """A check-in round left people of a grid unanswered or answering "something wrong": a task for
    the grid worker to go and see (one per grid and round)."""

    name: ClassVar[str] = "emergency.checkin_followup"
    mobilization_id: int
    region_code: str
    title: str
    missing: int
    abnormal: int
    is_drill: bool
