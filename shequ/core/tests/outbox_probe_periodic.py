"""A periodic job for the outbox tests, loaded only by worker subprocesses
(``shequ worker --import shequ.core.tests.outbox_probe_periodic``) so that it never runs in-process."""

from __future__ import annotations

from datetime import timedelta

from shequ.core.models import Message, User
from shequ.core.outbox import periodic

JOB_NAME = "test.probe_tick"
TICK_SUBJECT = "probe tick"


@periodic(JOB_NAME, every=timedelta(hours=1))
def tick() -> None:
    user = User.objects.order_by("pk").first()
    if user is not None:
        Message.objects.create(recipient=user, subject=TICK_SUBJECT, topic="test.probe")
