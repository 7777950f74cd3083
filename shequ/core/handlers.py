"""Core's domain event handlers (messaging deliveries) and periodic jobs; imported by CoreConfig.ready()."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.sessions.models import Session
from django.utils import timezone

from shequ.core import audit, messaging
from shequ.core.events import DeliveriesQueued, DeliveryQueued
from shequ.core.models import UserSession
from shequ.core.outbox import handles, periodic


def _give_up(event: DeliveryQueued, error: str) -> None:
    messaging.delivery_give_up(delivery_id=event.delivery_id)


@handles(DeliveryQueued, external=True, on_give_up=_give_up)
def send_delivery(event: DeliveryQueued) -> None:
    messaging.deliver(delivery_id=event.delivery_id)


def _give_up_batch(event: DeliveriesQueued, error: str) -> None:
    for delivery_id in event.delivery_ids:
        messaging.delivery_give_up(delivery_id=delivery_id)


@handles(DeliveriesQueued, external=True, on_give_up=_give_up_batch)
def send_deliveries(event: DeliveriesQueued) -> None:
    messaging.deliver_batch(delivery_ids=event.delivery_ids)


@periodic("core.clear_sessions", every=timedelta(hours=1))
def clear_expired_sessions() -> None:
    """Drop expired sessions and the rows that tie them to users."""
    Session.objects.filter(expire_date__lt=timezone.now()).delete()
    UserSession.objects.exclude(session_key__in=Session.objects.values("session_key")).delete()


@periodic("core.audit_checkpoint_to_auditors", every=timedelta(days=1))
def audit_checkpoint_to_auditors() -> None:
    """The auditors' inbox is the checkpoints' second witness, outside the witness folder."""
    audit.send_checkpoint_to_auditors()
