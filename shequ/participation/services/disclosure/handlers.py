"""The disclosure area's reactions and its periodic job (imported by the app's ``ready()``).

Notices go through ``core.messaging.notify``, one per person per event (keyed by the outbox event
id): the community's staff (``participation.disclose``) hear of due and overdue items and of new
questions; the asker hears of the answer (inbox and SMS); the street's supervisors hear of questions
left unanswered past their deadline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.urls import reverse
from django.utils import translation

from shequ.core import outbox
from shequ.core.messaging import Notice, notify, thread_key
from shequ.core.models import Channel, Region, User
from shequ.core.outbox import handles, periodic
from shequ.core.selectors import region_staff
from shequ.participation.models import DisclosureItem, DisclosureQuestion
from shequ.participation.permissions import PartPerm as P
from shequ.participation.services.disclosure import _common as c
from shequ.participation.services.disclosure import jobs, notices
from shequ.participation.services.disclosure.events import (
    DisclosureDue,
    DisclosureQuestionChanged,
)


def _send(
    users: Sequence[User],
    notice: Notice,
    *,
    region_code: str,
    topic: str,
    ref: str,
    link: str,
    thread: str,
    channels: Sequence[str] = (Channel.INBOX,),
) -> None:
    if not users:
        return
    notify(
        sender=None,
        recipients=users,
        subject=notice.subject,
        body=notice.body,
        link=link,
        channels=channels,
        region_code=region_code,
        topic=topic,
        topic_ref=ref,
        dedupe_key=outbox.current_event_id(),
        thread_key=thread,
    )


def community_staff(code: str) -> list[User]:
    return region_staff(code[: c.COMMUNITY_LENGTH], P.DISCLOSE)


@handles(DisclosureDue)
def tell_due(event: DisclosureDue) -> None:
    region = Region.objects.filter(code=event.region_code).first()
    if region is None:
        return
    item = DisclosureItem.objects.filter(pk=event.item_id).first() if event.item_id else None
    if event.item_id and (item is None or item.status != "draft"):
        return  # published or deleted meanwhile
    if (
        item is None
        and DisclosureItem.objects.filter(
            region_code=event.region_code, kind=event.kind, period_key=event.period_key, status="published"
        ).exists()
    ):
        return
    with translation.override("zh-hans"):
        notice = notices.due(
            community=region.name,
            kind=event.kind,
            period_key=event.period_key,
            title=item.title if item else "",
            due_at=event.due_at,
            overdue=event.overdue,
        )
        link = (
            reverse("participation:disclosure_item", args=[item.pk])
            if item
            else reverse("participation:disclosure_schedule") + f"?region={region.code}"
        )
        _send(
            community_staff(region.code),
            notice,
            region_code=region.code,
            topic="participation.disclosure_due",
            ref=f"{event.kind}:{event.period_key or event.item_id}",
            link=link,
            thread=thread_key(
                notices.THREAD_ITEM, f"{region.code}:{event.kind}:{event.period_key or event.item_id}"
            ),
        )


@handles(DisclosureQuestionChanged)
def tell_about_question(event: DisclosureQuestionChanged) -> None:
    question = (
        DisclosureQuestion.objects.select_related("item", "row", "region", "asker")
        .filter(pk=event.question_id)
        .first()
    )
    if question is None:
        return
    thread = thread_key(notices.THREAD_QUESTION, question.pk)
    staff_link = reverse("participation:disclosure_question", args=[question.pk])
    with translation.override("zh-hans"):
        if event.action == "ask":
            _send(
                community_staff(question.region_code),
                notices.asked(question),
                region_code=question.region_code,
                topic="participation.disclosure_question",
                ref=str(question.pk),
                link=staff_link,
                thread=thread,
            )
        elif event.action == "answer" and question.asker.is_active:
            _send(
                [question.asker],
                notices.answered(question),
                region_code=question.region_code,
                topic="participation.disclosure_answer",
                ref=str(question.pk),
                link=reverse("participation:disclosure_mine"),
                thread=thread,
                channels=(Channel.INBOX, Channel.SMS),
            )
        elif event.action in {"warn", "overdue"} and question.is_open:
            users = community_staff(question.region_code)
            if event.action == "overdue":
                users += region_staff(c.parent_code(question.region_code[: c.COMMUNITY_LENGTH]), P.SUPERVISE)
            _send(
                users,
                notices.question_deadline(question, overdue=event.action == "overdue"),
                region_code=question.region_code,
                topic="participation.disclosure_question",
                ref=str(question.pk),
                link=staff_link,
                thread=thread,
            )


@periodic("participation.disclosure", every=timedelta(minutes=30))
def disclosure_job() -> None:
    jobs.run()
