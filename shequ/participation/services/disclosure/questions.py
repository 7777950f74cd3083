"""Residents' questions (询问) and challenges (质疑) of a published item, and the community's answer.

A resident of the item's community (a resident membership there or in one of its grids) asks as
themselves; the public board shows their name masked (张*明). The community answers within
``DISCLOSURE_ANSWER_WORKING_DAYS`` working days (``participation.disclose``); the asker is told.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core.models import User
from shequ.core.outbox import emit
from shequ.core.permissions import Viewer
from shequ.core.personal import mask_name
from shequ.core.selectors import resident_regions
from shequ.grid import deadlines
from shequ.participation.models import (
    DisclosureItem,
    DisclosureListRow,
    DisclosureQuestion,
    DisclosureStatus,
    QuestionKind,
    QuestionStatus,
)
from shequ.participation.permissions import PartPerm as P
from shequ.participation.services.disclosure import _common as c
from shequ.participation.services.disclosure import events, rules

BODY_MIN = 5
BODY_MAX = 1000
ANSWER_MAX = 3000
OPEN_PER_ASKER = 20  # open questions one account may have at a time


def may_ask(user: Viewer, item: DisclosureItem) -> bool:
    """A resident of the item's community (or one of its grids), the item on the board."""
    if item.status != DisclosureStatus.PUBLISHED or not getattr(user, "is_authenticated", False):
        return False
    return any(r.code.startswith(item.region_code) for r in resident_regions(user))


def _asker_name(user: User, item: DisclosureItem) -> tuple[str, int | None]:
    from shequ.registry.selectors import person_for_account

    person = person_for_account(user, [item.region_code])
    name = person.name if person is not None else (user.display_name or user.username)
    return mask_name(name), (person.pk if person is not None else None)


def question_ask(
    *,
    actor: User,
    item: DisclosureItem,
    kind: str,
    body: Any,
    row: DisclosureListRow | None = None,
    request: HttpRequest | None = None,
) -> DisclosureQuestion:
    if not may_ask(actor, item):
        c.refuse(
            actor,
            item,
            "disclosure_ask",
            "not a resident of the community, or the item is not public",
            request=request,
        )
    if kind not in QuestionKind.values:
        raise ValidationError({"kind": _("Choose whether you ask a question or challenge an entry.")})
    text = c.text(body, "body", BODY_MAX, label=_("Your question"), required=True, multiline=True)
    if len(text) < BODY_MIN:
        raise ValidationError({"body": _("Say a little more: at least %(n)d characters.") % {"n": BODY_MIN}})
    if row is not None and row.item_id != item.pk:
        raise ValidationError({"row": _("Choose a row of this list.")})
    if DisclosureQuestion.objects.filter(asker=actor, status=QuestionStatus.OPEN).count() >= OPEN_PER_ASKER:
        raise ValidationError(
            _("You have %(n)d questions waiting for an answer: wait for some of them first.")
            % {"n": OPEN_PER_ASKER}
        )
    masked, person_id = _asker_name(actor, item)
    asked_at = c.now()
    warn_at, due_at = rules.answer_clock(asked_at, deadlines.Calendar.load())
    with transaction.atomic():
        question = DisclosureQuestion.objects.create(
            item=item,
            row=row,
            region=item.region,
            region_code=item.region_code,
            kind=kind,
            asker=actor,
            asker_person_id=person_id,
            asker_masked=masked,
            body=text,
            asked_at=asked_at,
            due_at=due_at,
            warn_at=warn_at,
        )
        c.record(
            "disclosure_ask",
            question,
            actor=actor,
            request=request,
            detail={"item": item.pk, "kind": kind, "row": row.number if row else None},
        )
        emit(
            events.DisclosureQuestionChanged(
                actor_id=actor.pk, question_id=question.pk, region_code=question.region_code, action="ask"
            )
        )
    return question


def question_answer(
    *, actor: User, question: DisclosureQuestion, answer: Any, request: HttpRequest | None = None
) -> DisclosureQuestion:
    c.require(actor, P.DISCLOSE, question, "disclosure_answer", request)
    text = c.text(answer, "answer", ANSWER_MAX, label=_("Answer"), required=True, multiline=True)
    with transaction.atomic():
        question = DisclosureQuestion.objects.select_for_update().get(pk=question.pk)
        if question.status != QuestionStatus.OPEN:
            raise ValidationError(_("This question has been answered already."))
        question.status = QuestionStatus.ANSWERED
        question.answer = text
        question.answered_at = c.now()
        question.answered_by = actor
        question.save(update_fields=["status", "answer", "answered_at", "answered_by"])
        c.record(
            "disclosure_answer",
            question,
            actor=actor,
            request=request,
            detail={"late": question.answered_at > question.due_at, "kind": question.kind},
        )
        emit(
            events.DisclosureQuestionChanged(
                actor_id=actor.pk, question_id=question.pk, region_code=question.region_code, action="answer"
            )
        )
    return question
