"""Webhook subscriptions: a department's system receives chosen domain events about a resource it
holds a grant on, signed (HMAC-SHA256, ``shequ.core.webhooks``), one ``WebhookDelivery`` per event
and subscription, retried by the outbox and kept as a dead letter after the last attempt."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.models import Department
from shequ.sharing.models.access import CODE_LENGTH, Grant

__all__ = ["DeliveryState", "Subscription", "SubscriptionState", "WebhookDelivery"]


class SubscriptionState(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    DELETED = "deleted", _("Deleted")


class Subscription(models.Model):
    # The grant decides what leaves: fields, masks, regions, row filters and until when.
    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="subscriptions")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    resource = models.CharField(_("resource"), max_length=60)
    events = models.JSONField(_("events"), default=list)  # event names the catalog lists
    region_codes = models.JSONField(_("regions"), default=list)  # within the grant's
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)  # smallest region holding them
    url = models.CharField(_("webhook address"), max_length=300)
    secret = models.TextField()  # encrypted (shequ.core.crypto), shown once
    state = models.CharField(
        max_length=8, choices=SubscriptionState.choices, default=SubscriptionState.ACTIVE
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.resource}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    DELIVERED = "delivered", _("Delivered")
    DEAD = "dead", _("Failed (dead letter)")
    DISCARDED = "discarded", _("Discarded")


class WebhookDelivery(models.Model):
    """One event for one subscription. Its id is the ``X-Shequ-Delivery`` header: receivers
    deduplicate on it (see docs: the one window where a delivery can arrive twice)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="deliveries")
    event_name = models.CharField(max_length=64)
    event_id = models.CharField(max_length=40)  # the outbox emission's id: one delivery per subscription
    object_id = models.BigIntegerField()  # the resource row the event is about
    occurred_at = models.DateTimeField()
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    payload = models.TextField()  # the JSON body, encrypted: it may hold unmasked personal data
    subject_ids = models.JSONField(default=list)  # registry people the row is about (access log)
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="one_delivery_per_event")
        ]
        indexes: ClassVar = [models.Index(fields=["state", "region_code"])]
