"""The sharing app's own domain events: a webhook delivery to send (``handlers.py`` sends it)."""

from __future__ import annotations

from typing import ClassVar

from shequ.core.outbox import DomainEvent, register_event


@register_event
class WebhookDue(DomainEvent):
    name: ClassVar[str] = "sharing.webhook_due"
    delivery_id: int
