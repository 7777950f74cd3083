"""The vote area's domain events (its own handlers turn them into notices)."""

from __future__ import annotations

from typing import ClassVar, Literal

from shequ.core.outbox import DomainEvent, register_event


@register_event
class VoteChanged(DomainEvent):
    """A step that concerns people outside the staff: a trustee named, the vote opened, closed
    (the trustees must count), decided (the result is announced)."""

    name: ClassVar[str] = "participation.vote_changed"
    vote_id: int
    region_code: str
    action: Literal["trustee_named", "opened", "closed", "decided"]
    trustee_id: int | None = None
