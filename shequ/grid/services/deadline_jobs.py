"""The periodic deadline jobs: reminders at 80 %, escalation of overdue tickets, closing
verified tickets nobody rated."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from shequ.core import audit
from shequ.core.outbox import emit
from shequ.grid import events
from shequ.grid.models import (
    OPEN_STATUSES,
    Status,
    Ticket,
    TicketAction,
)
from shequ.grid.services import _common
from shequ.grid.services._common import RATING_WINDOW_DAYS, _record, _save

# --- Deadline jobs ------------------------------------------------------------------------------


def _next_level_code(code: str) -> str | None:
    from shequ.core.models import LEVEL_CODE_LENGTH, LEVEL_ORDER

    lengths = sorted({LEVEL_CODE_LENGTH[level] for level in LEVEL_ORDER})
    shorter = [n for n in lengths if n < len(code)]
    return code[: shorter[-1]] if shorter else None


def warn_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Remind the assignee of each ticket past 80 % of its running deadline (once per clock)."""
    now = now or _common._now()
    done = 0
    ids = list(
        Ticket.objects.filter(
            status__in=OPEN_STATUSES, warn_at__lte=now, due_at__gt=now, warned_at__isnull=True
        ).values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=pk)
            if ticket.warned_at is not None or ticket.warn_at is None or ticket.warn_at > now:
                continue
            ticket.warned_at = now
            ticket.save(update_fields=["warned_at"])
            emit(
                events.TicketWarned(
                    actor_id=None, ticket_id=ticket.pk, region_code=ticket.region_code, clock=ticket.clock
                )
            )
            done += 1
    return done


def escalate_overdue(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """督办: an overdue ticket goes up one region level, and again each time another full
    deadline span (at least a day) passes without it being done."""
    now = now or _common._now()
    done = 0
    ids = list(
        Ticket.objects.filter(status__in=OPEN_STATUSES, due_at__lt=now).values_list("pk", flat=True)[
            : limit * 4
        ]
    )
    for pk in ids:
        if done >= limit:
            break
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=pk)
            if ticket.due_at is None or ticket.due_at >= now or ticket.clock_started_at is None:
                continue
            span = max(ticket.due_at - ticket.clock_started_at, dt.timedelta(days=1))
            last = (
                ticket.escalated_at if ticket.escalated_at and ticket.escalated_at > ticket.due_at else None
            )
            if last is not None and now - last < span:
                continue
            up = _next_level_code(ticket.supervision_code)
            if up is None:
                continue
            before = ticket.supervision_code
            ticket.supervision_code = up
            ticket.escalations += 1
            ticket.escalated_at = now
            ticket.save(update_fields=["supervision_code", "escalations", "escalated_at"])
            TicketAction.objects.create(
                ticket=ticket,
                at=now,
                action="escalate",
                from_status=ticket.status,
                to_status=ticket.status,
                params={"from": before, "to": up, "clock": ticket.clock},
            )
            audit.record(
                "grid.escalate",
                region_code=ticket.region_code,
                object_type="grid.ticket",
                object_id=ticket.pk,
                detail={"from": before, "to": up},
            )
            emit(
                events.TicketEscalated(
                    actor_id=None,
                    ticket_id=ticket.pk,
                    region_code=ticket.region_code,
                    supervision_code=up,
                    escalations=ticket.escalations,
                )
            )
            done += 1
    return done


def close_unrated(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Verified tickets the reporter did not rate within the rating window close by default."""
    now = now or _common._now()
    cutoff = now - dt.timedelta(days=RATING_WINDOW_DAYS)
    ids = list(
        Ticket.objects.filter(status=Status.VERIFIED, resolved_at__lt=cutoff).values_list("pk", flat=True)[
            :limit
        ]
    )
    for pk in ids:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=pk)
            if ticket.status != Status.VERIFIED:
                continue
            ticket.status = Status.CLOSED
            ticket.closed_at = now
            _save(ticket, "status", "closed_at")
            _record(
                ticket,
                actor=None,
                action="close_unrated",
                from_status=Status.VERIFIED,
                params={"days": RATING_WINDOW_DAYS},
            )
    return len(ids)
