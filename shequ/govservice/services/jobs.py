"""The periodic deadline jobs: a reminder at 80 % of an application's time and again when it is
overdue; the same for rectifications."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from shequ.core.outbox import emit
from shequ.govservice import events
from shequ.govservice.models import OPEN_STATUSES, Application, Rectification, RectStatus
from shequ.govservice.services import _common as c


def warn_applications(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Each open application past 80 % of its deadline (once per clock), then past it (once)."""
    now = now or c.now()
    done = 0
    near = Application.objects.filter(
        status__in=OPEN_STATUSES, warn_at__lte=now, due_at__gt=now, warned_at__isnull=True
    ).values_list("pk", flat=True)[:limit]
    late = Application.objects.filter(
        status__in=OPEN_STATUSES, due_at__lte=now, overdue_at__isnull=True
    ).values_list("pk", flat=True)[:limit]
    for overdue, ids in ((False, list(near)), (True, list(late))):
        for pk in ids:
            with transaction.atomic():
                app = Application.objects.select_for_update().get(pk=pk)
                if app.due_at is None or app.status not in OPEN_STATUSES:
                    continue
                if overdue:
                    if app.overdue_at is not None or app.due_at > now:
                        continue
                    app.overdue_at = now
                    app.warned_at = app.warned_at or now
                else:
                    if app.warned_at is not None or app.warn_at is None or app.warn_at > now:
                        continue
                    app.warned_at = now
                app.save(update_fields=["warned_at", "overdue_at"])
                emit(
                    events.ApplicationWarned(
                        actor_id=None, application_id=app.pk, region_code=app.region_code, overdue=overdue
                    )
                )
                done += 1
    return done


def warn_rectifications(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    now = now or c.now()
    done = 0
    ids = list(
        Rectification.objects.filter(
            status=RectStatus.OPEN, warn_at__lte=now, warned_at__isnull=True
        ).values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        with transaction.atomic():
            rect = Rectification.objects.select_for_update().get(pk=pk)
            if rect.warned_at is not None or rect.status != RectStatus.OPEN:
                continue
            rect.warned_at = now
            rect.save(update_fields=["warned_at"])
            emit(
                events.RectificationChanged(
                    actor_id=None, rectification_id=rect.pk, region_code=rect.region_code, action="warn"
                )
            )
            done += 1
    return done
