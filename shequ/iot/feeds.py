"""Webhook delivery of department feeds (``services/feeds.py`` decides what is sent).

Every ``FEED_EVERY`` the worker queues one ``iot.feed_due`` per active webhook feed that has events
after its cursor and no delivery already queued; the external handler sends batches (signed,
outside any database transaction) until the feed is caught up. A failed send raises: the outbox
retries with backoff (5 s, 10 s, 20 s … an hour) and, after the last attempt, the failure is on
the task; the next period queues the feed again.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import ClassVar

from django.db import transaction

from shequ.core.models import OutboxStatus, OutboxTask
from shequ.core.outbox import DomainEvent, emit_many, handles, periodic, register_event
from shequ.core.webhooks import http_post
from shequ.iot.models import DeviceEvent, FeedMode, FeedSubscription
from shequ.iot.services import feeds as feed_services

log = logging.getLogger(__name__)

FEED_EVERY = dt.timedelta(seconds=30)
# Batches one task sends before it leaves the rest to the next period (a feed far behind).
BATCHES_PER_TASK = 20


@register_event
class FeedDue(DomainEvent):
    name: ClassVar[str] = "iot.feed_due"
    feed_id: int


@handles(FeedDue, external=True)
def deliver_feed(event: FeedDue) -> None:
    for _ in range(BATCHES_PER_TASK):
        if not feed_services.deliver_once(event.feed_id, post=http_post):
            return


def queue_due_feeds() -> int:
    """One ``iot.feed_due`` per webhook feed with something to send and nothing queued."""
    last = DeviceEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    feeds = [
        feed.pk
        for feed in FeedSubscription.objects.filter(active=True, mode=FeedMode.WEBHOOK, cursor__lt=last)
        if feed_services.feed_events(feed, after=feed.cursor, limit=1)
    ]
    if not feeds:
        return 0
    queued = set(
        OutboxTask.objects.filter(event_type=FeedDue.name, status=OutboxStatus.PENDING).values_list(
            "payload__feed_id", flat=True
        )
    )
    due = [FeedDue(feed_id=pk) for pk in feeds if pk not in queued]
    if due:
        with transaction.atomic():
            emit_many(due)
    return len(due)


@periodic("iot.feeds", FEED_EVERY)
def feeds_job() -> None:
    queue_due_feeds()
