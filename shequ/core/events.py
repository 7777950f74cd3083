"""Core's domain events (pydantic, ``extra="forbid"``); core's handlers live in ``handlers.py``."""

from __future__ import annotations

from typing import ClassVar

from shequ.core.outbox import DomainEvent, register_event


@register_event
class DeliveryQueued(DomainEvent):
    """An email or SMS delivery of a message waits to be sent."""

    name: ClassVar[str] = "core.delivery_queued"
    delivery_id: int
    channel: str


@register_event
class MessageAcknowledged(DomainEvent):
    """A recipient confirmed a message that asked for it (roll-calls react to this)."""

    name: ClassVar[str] = "core.message_acknowledged"
    message_id: int
    recipient_id: int
    topic: str
    topic_ref: str
