"""The periodic reminders: a community's staff are told when an expected item is due soon (past 80 %
of its time) and again when it is overdue — a period of the periodic kinds not yet published, a
decided matter's draft not yet published; and the same for unanswered questions (overdue ones also
reach the street's supervisors, through the handler).

A period is the same for every community, so the job asks, per period past its warning point, which
communities have published nothing for it and have not been told: a few queries whatever the number
of communities. Periods whose deadline passed more than ``LOOKBACK`` ago are left alone (a new
installation does not send a year of overdue notices).
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from shequ.core.models import Region, RegionLevel
from shequ.core.outbox import emit
from shequ.grid import deadlines
from shequ.participation.models import (
    DisclosureItem,
    DisclosureQuestion,
    DisclosureReminder,
    DisclosureStatus,
    QuestionStatus,
    ReminderStage,
)
from shequ.participation.services.disclosure import _common as c
from shequ.participation.services.disclosure import events, rules

LOOKBACK = dt.timedelta(days=45)


def remind_periods(*, now: dt.datetime | None = None, months: int = 3) -> int:
    now = now or c.now()
    calendar = deadlines.Calendar.load()
    sent = 0
    communities = list(Region.objects.filter(level=RegionLevel.COMMUNITY).values_list("code", flat=True))
    for kind, periods in rules.expected_periods(now, months).items():
        for period in periods:
            warn_at, due_at = rules.clock(kind, period.end, calendar)
            if now < warn_at or now - due_at > LOOKBACK:
                continue
            stage = ReminderStage.OVERDUE if now > due_at else ReminderStage.SOON
            done = set(
                DisclosureItem.objects.filter(
                    kind=kind, period_key=period.key, status=DisclosureStatus.PUBLISHED
                ).values_list("region_code", flat=True)
            )
            told = set(
                DisclosureReminder.objects.filter(kind=kind, period_key=period.key, stage=stage).values_list(
                    "region_code", flat=True
                )
            )
            for code in communities:
                if code in done or code in told:
                    continue
                try:
                    with transaction.atomic():
                        DisclosureReminder.objects.create(
                            region_code=code, kind=kind, period_key=period.key, stage=stage, sent_at=now
                        )
                        emit(
                            events.DisclosureDue(
                                actor_id=None,
                                region_code=code,
                                kind=kind,
                                period_key=period.key,
                                due_at=due_at,
                                overdue=stage == ReminderStage.OVERDUE,
                            )
                        )
                except IntegrityError:
                    continue  # another worker told them
                sent += 1
    return sent


def remind_drafts(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Drafts of decided matters past their warning point, then past their due date (once each)."""
    now = now or c.now()
    sent = 0
    drafts = DisclosureItem.objects.filter(status=DisclosureStatus.DRAFT, due_at__isnull=False)
    near = drafts.filter(warn_at__lte=now, due_at__gt=now, warned_at__isnull=True).values_list(
        "pk", flat=True
    )
    late = drafts.filter(due_at__lte=now, overdue_at__isnull=True).values_list("pk", flat=True)
    for overdue, ids in ((False, list(near[:limit])), (True, list(late[:limit]))):
        for pk in ids:
            with transaction.atomic():
                item = DisclosureItem.objects.select_for_update().get(pk=pk)
                if item.status != DisclosureStatus.DRAFT or item.due_at is None:
                    continue
                if overdue:
                    if item.overdue_at is not None:
                        continue
                    item.overdue_at = now
                    item.warned_at = item.warned_at or now
                elif item.warned_at is not None:
                    continue
                else:
                    item.warned_at = now
                item.save(update_fields=["warned_at", "overdue_at"])
                emit(
                    events.DisclosureDue(
                        actor_id=None,
                        region_code=item.region_code,
                        kind=item.kind,
                        period_key=item.period_key,
                        item_id=item.pk,
                        due_at=item.due_at,
                        overdue=overdue,
                    )
                )
                sent += 1
    return sent


def remind_questions(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    now = now or c.now()
    sent = 0
    open_ = DisclosureQuestion.objects.filter(status=QuestionStatus.OPEN)
    near = open_.filter(warn_at__lte=now, due_at__gt=now, warned_at__isnull=True).values_list("pk", flat=True)
    late = open_.filter(due_at__lte=now, overdue_at__isnull=True).values_list("pk", flat=True)
    for overdue, ids in ((False, list(near[:limit])), (True, list(late[:limit]))):
        for pk in ids:
            with transaction.atomic():
                question = DisclosureQuestion.objects.select_for_update().get(pk=pk)
                if question.status != QuestionStatus.OPEN:
                    continue
                if overdue:
                    if question.overdue_at is not None:
                        continue
                    question.overdue_at = now
                    question.warned_at = question.warned_at or now
                elif question.warned_at is not None:
                    continue
                else:
                    question.warned_at = now
                question.save(update_fields=["warned_at", "overdue_at"])
                emit(
                    events.DisclosureQuestionChanged(
                        actor_id=None,
                        question_id=question.pk,
                        region_code=question.region_code,
                        action="overdue" if overdue else "warn",
                    )
                )
                sent += 1
    return sent


def run(*, now: dt.datetime | None = None) -> int:
    return remind_periods(now=now) + remind_drafts(now=now) + remind_questions(now=now)
