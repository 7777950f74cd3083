"""The reports app's domain events: a region's report submitted, returned or approved. Its own
handlers (``handlers``) tell the reviewer or the filler and refresh the aggregate of the region
above; departments may subscribe to them through the sharing app."""

from __future__ import annotations

from typing import ClassVar

from shequ.core.outbox import DomainEvent, register_event


class _InstanceEvent(DomainEvent):
    actor_id: int | None
    instance_id: int
    template_key: str
    region_code: str
    period_start: str  # ISO date
    revision: int


@register_event
class InstanceSubmitted(_InstanceEvent):
    name: ClassVar[str] = "reports.instance_submitted"


@register_event
class InstanceReturned(_InstanceEvent):
    name: ClassVar[str] = "reports.instance_returned"
    reason: str


@register_event
class InstanceApproved(_InstanceEvent):
    name: ClassVar[str] = "reports.instance_approved"


EVENT_NAMES: tuple[str, ...] = (InstanceSubmitted.name, InstanceReturned.name, InstanceApproved.name)
