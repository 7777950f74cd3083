"""Core's domain events (pydantic, ``extra="forbid"``); core's handlers live in ``handlers.py``."""

from __future__ import annotations

from typing import ClassVar

from shequ.core.outbox import DomainEvent, register_event


@register_event
class DeliveryQueued(DomainEvent):
    """An email or SMS delivery of a message waits to be sent (tasks queued before deliveries were
    batched; new ones are ``DeliveriesQueued``)."""

    name: ClassVar[str] = "core.delivery_queued"
    delivery_id: int
    channel: str


@register_event
class DeliveriesQueued(DomainEvent):
    """Up to ``messaging.DELIVERY_BATCH`` email or SMS deliveries of one channel wait to be sent: a
    notice to 100,000 people is 500 outbox tasks, not 100,000."""

    name: ClassVar[str] = "core.deliveries_queued"
    delivery_ids: list[int]
    channel: str


@register_event
class MessageAcknowledged(DomainEvent):
    """A recipient confirmed a message that asked for it (roll-calls react to this)."""

    name: ClassVar[str] = "core.message_acknowledged"
    message_id: int
    recipient_id: int | None  # None: a contact without an account (answered from a link or by SMS)
    topic: str
    topic_ref: str
