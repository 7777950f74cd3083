"""Core's domain event handlers (messaging deliveries); imported by CoreConfig.ready()."""

from __future__ import annotations

from shequ.core import messaging
from shequ.core.events import DeliveryQueued
from shequ.core.outbox import handles


def _give_up(event: DeliveryQueued, error: str) -> None:
    messaging.delivery_give_up(delivery_id=event.delivery_id)


@handles(DeliveryQueued, external=True, on_give_up=_give_up)
def send_delivery(event: DeliveryQueued) -> None:
    messaging.deliver(delivery_id=event.delivery_id)
