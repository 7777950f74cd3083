"""The government-service app's domain events. Its own handlers turn them into notices; the grid
turns ``govservice.care_concern`` into a task for the grid worker (``govservice`` imports no app
that consumes its events)."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from shequ.core.outbox import DomainEvent, register_event


@register_event
class ApplicationChanged(DomainEvent):
    """A step of an application: ``action`` as on its timeline, the status it set."""

    name: ClassVar[str] = "govservice.application_changed"
    actor_id: int | None
    application_id: int
    region_code: str
    action: str
    to_status: str
    # The deadline this step set (notices name it even when a later step cleared it meanwhile).
    due_at: dt.datetime | None = None


@register_event
class ApplicationWarned(DomainEvent):
    """An application passed 80 % of its running deadline (``overdue``: passed the deadline)."""

    name: ClassVar[str] = "govservice.application_warned"
    actor_id: int | None
    application_id: int
    region_code: str
    overdue: bool


@register_event
class RectificationChanged(DomainEvent):
    """A rectification opened, was fed back, reviewed, sent back, or is near its deadline."""

    name: ClassVar[str] = "govservice.rectification_changed"
    actor_id: int | None
    rectification_id: int
    region_code: str
    action: str


@register_event
class CareConcern(DomainEvent):
    """A meal or visit found something wrong (or nobody answered twice): the grid worker goes to
    see. Everything the task needs travels with the event."""

    name: ClassVar[str] = "govservice.care_concern"
    actor_id: int | None
    record_id: int
    region_code: str
    person_id: int
    person_name: str
    title: str
    note: str
