"""Answers to call-outs: from the phone page, by SMS reply (``replies.route``), from the inbox's
acknowledge button, or recorded by staff for someone they reached by phone or at the door.

``record`` takes a batch (an SMS callback may carry hundreds): one UPDATE per answer kind, the
messages acknowledged in bulk, one audit entry per person in their own name written with one
INSERT, and one urgent task per person newly asking for help.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit, messaging, outbox
from shequ.core.models import Message, User
from shequ.core.permissions import has_perm
from shequ.core.text import clean_text
from shequ.emergency.events import HelpRequested
from shequ.emergency.models import (
    Answer,
    Mobilization,
    MobilizationEntry,
    MobilizationStep,
    Recipient,
    Response,
    Via,
)
from shequ.emergency.permissions import EmergencyPerm

TOPIC = "emergency.mobilization"
LOCATION_MAX = 200


@dataclass(frozen=True)
class Given:
    recipient: Recipient
    answer: str
    via: str
    location: str = ""
    note: str = ""
    form: dict[str, str] | None = None
    at: datetime | None = None
    ip: str | None = None


def allowed(mobilization: Mobilization) -> list[str]:
    """The answers this call-out takes."""
    if mobilization.response == Response.CHECKIN:
        return [Answer.NORMAL, Answer.ABNORMAL]
    if mobilization.response == Response.STATUS:
        return [Answer.SAFE, Answer.HELP]
    return [Answer.ACK, Answer.HELP]


def confirmation(mobilization: Mobilization, answer: str) -> str:
    """What the person is told once their answer is recorded (the page and the SMS reply)."""
    if answer == Answer.HELP:
        return _(
            "Your call for help is recorded and passed to your grid worker now. If you are in danger, "
            "call 110, 119 or 120."
        )
    if answer == Answer.ABNORMAL:
        return _("Recorded: something is wrong. Your grid worker will contact you today.")
    if answer in (Answer.SAFE, Answer.NORMAL):
        return _("Recorded: you are safe. Thank you. Reply 2 at any time if you need help.")
    return _("Recorded: you received the call-out “%(title)s”. Thank you.") % {"title": mobilization.title}


def short_text(value: str | None, max_length: int, field: str) -> str:
    """One line of at most ``max_length`` characters, or ValidationError keyed by ``field``."""
    text = " ".join(clean_text(value, field=field).split())
    if len(text) > max_length:
        message = _("At most %(n)d characters, please.") % {"n": max_length}
        raise ValidationError({field: message})
    return text


def clean_given(given: Given) -> Given:
    mobilization = given.recipient.mobilization
    if not mobilization.is_open:
        raise ValidationError(_("This call-out is closed; answers are no longer taken."))
    if given.answer not in allowed(mobilization):
        raise ValidationError({"answer": _("Choose one of the answers offered.")})
    location = short_text(given.location, LOCATION_MAX, "location")
    note = short_text(given.note, 200, "note")
    return Given(given.recipient, given.answer, given.via, location, note, given.form, given.at, given.ip)


def record(batch: Sequence[Given]) -> list[Recipient]:
    """Record answers (the last one counts while the call-out is open; a repeated answer changes
    nothing). Bad input raises ValidationError and records none of the batch."""
    cleaned = [clean_given(g) for g in batch]
    if not cleaned:
        return []
    now = timezone.now()
    changed: list[tuple[Given, bool]] = []
    with transaction.atomic():
        for given in cleaned:
            recipient = given.recipient
            if (recipient.answer, recipient.location, recipient.note) == (
                given.answer,
                given.location,
                given.note,
            ):
                continue
            newly_help = given.answer == Answer.HELP and recipient.answer != Answer.HELP
            recipient.answer, recipient.via = given.answer, given.via
            recipient.answered_at = given.at or now
            recipient.location, recipient.note = given.location, given.note
            recipient.form = given.form or {}
            changed.append((given, newly_help))
        if not changed:
            return []
        _save_answers([g.recipient for g, _new in changed])
        _acknowledge_messages([g.recipient for g, _new in changed], now)
        audit.record_many(
            "emergency.answer",
            (
                audit.Act(
                    actor=g.recipient.user,
                    actor_name="" if g.recipient.user_id else f"registry.person:{g.recipient.person_id}",
                    region_code=g.recipient.region_code,
                    object_id=g.recipient.mobilization_id,
                    at=g.recipient.answered_at,
                    ip=g.ip,
                    detail={"answer": g.answer, "via": g.via, "recipient": g.recipient.pk},
                )
                for g, _new in changed
            ),
            object_type="emergency.mobilization",
        )
        helped = [g.recipient for g, new in changed if new]
        if helped:
            _ask_for_help(helped)
    return [g.recipient for g, _new in changed]


def _save_answers(recipients: Sequence[Recipient]) -> None:
    """One UPDATE per distinct answer (an SMS batch's answers mostly differ only in who), then each
    person's own answer time in one ``UPDATE … FROM (VALUES …)``. Django's ``bulk_update`` builds a
    CASE per column and row instead, which cost ~5 s per 500 answers in bench/mobilize.py."""
    groups: dict[tuple[str, str, str, str, str], list[int]] = {}
    for r in recipients:
        key = (r.answer, r.via, r.location, r.note, json.dumps(r.form, sort_keys=True))
        groups.setdefault(key, []).append(r.pk)
    for (answer, via, location, note, form), ids in groups.items():
        Recipient.objects.filter(pk__in=ids).update(
            answer=answer, via=via, location=location, note=note, form=json.loads(form)
        )
    _save_times([(r.pk, r.answered_at) for r in recipients if r.answered_at is not None])


def _save_times(times: Sequence[tuple[int, datetime]], chunk: int = 500) -> None:
    """``answered_at`` of each recipient, ``chunk`` rows a statement (PostgreSQL and SQLite both
    take ``UPDATE … FROM``; SQLite names a VALUES list's columns column1, column2)."""
    table = connection.ops.quote_name(Recipient._meta.db_table)
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        for start in range(0, len(times), chunk):
            part = times[start : start + chunk]
            params: list[Any] = []
            for pk, at in part:
                params += [pk, connection.ops.adapt_datetimefield_value(at)]
            if postgres:
                rows = ", ".join(["(%s, %s::timestamptz)"] * len(part))
                sql = (
                    f"UPDATE {table} AS r SET answered_at = v.at "  # noqa: S608 - quoted name, bound values
                    f"FROM (VALUES {rows}) AS v(id, at) WHERE r.id = v.id"
                )
            else:
                rows = ", ".join(["(%s, %s)"] * len(part))
                sql = (
                    f"UPDATE {table} SET answered_at = v.column2 FROM (VALUES {rows}) AS v "  # noqa: S608
                    f"WHERE {table}.id = v.column1"
                )
            cursor.execute(sql, params)


def _acknowledge_messages(recipients: Sequence[Recipient], at: datetime) -> None:
    """Every message of these people's call-outs counts as acknowledged (a re-send is a second
    message; answering either answers both)."""
    by_mobilization: dict[int, tuple[list[int], list[str]]] = {}
    for r in recipients:
        users, contacts = by_mobilization.setdefault(r.mobilization_id, ([], []))
        if r.user_id is not None:
            users.append(r.user_id)
        elif r.person_id is not None:
            contacts.append(f"registry.person:{r.person_id}")
    ids: list[int] = []
    for mobilization_id, (users, contacts) in by_mobilization.items():
        ids += Message.objects.filter(
            Q(recipient_id__in=users) | Q(contact_ref__in=contacts),
            topic=TOPIC,
            topic_ref=str(mobilization_id),
        ).values_list("pk", flat=True)
    messaging.acknowledged_elsewhere(message_ids=ids, at=at)


def _ask_for_help(recipients: Sequence[Recipient]) -> None:
    outbox.emit_many(
        HelpRequested(
            recipient_id=r.pk,
            mobilization_id=r.mobilization_id,
            region_code=r.region_code,
            person_name=r.name,
            place=r.place,
            location=r.location,
            note=r.note,
            title=r.mobilization.title,
            is_drill=r.mobilization.is_drill,
        )
        for r in recipients
    )
    counts: dict[int, int] = {}
    for r in recipients:
        counts[r.mobilization_id] = counts.get(r.mobilization_id, 0) + 1
    MobilizationEntry.objects.bulk_create(
        MobilizationEntry(mobilization_id=m, step=MobilizationStep.HELP, count=n) for m, n in counts.items()
    )


def answer_on_page(
    *,
    recipient: Recipient,
    answer: str,
    location: str = "",
    note: str = "",
    request: HttpRequest | None = None,
) -> Recipient:
    """The person's own answer from the page their link opened."""
    ip = audit.client_ip(request) if request is not None else None
    record([Given(recipient, answer, Via.PAGE, location, note, ip=ip)])
    recipient.refresh_from_db()
    return recipient


def answer_by_staff(
    *, actor: User, recipient: Recipient, answer: str, note: str, request: HttpRequest | None = None
) -> Recipient:
    """A grid worker records an answer they got by phone or at the door (audited in their name)."""
    mobilization = recipient.mobilization
    if not has_perm(actor, EmergencyPerm.VIEW, recipient.region_code):
        audit.record(
            "emergency.answer_by_staff",
            actor=actor,
            request=request,
            region_code=recipient.region_code,
            object_type="emergency.mobilization",
            object_id=mobilization.pk,
            result="denied",
        )
        raise PermissionDenied(_("You may not answer for people outside your regions."))
    note = short_text(note, 200, "note")
    if not note:
        raise ValidationError({"note": _("Say how you reached the person (by phone, at the door …).")})
    with transaction.atomic():
        record([Given(recipient, answer, Via.STAFF, recipient.location, note)])
        audit.record(
            "emergency.answer_by_staff",
            actor=actor,
            request=request,
            region_code=recipient.region_code,
            object_type="emergency.mobilization",
            object_id=mobilization.pk,
            reason=note,
            detail={"recipient": recipient.pk, "answer": answer},
        )
    recipient.refresh_from_db()
    return recipient


def recipient_for_message(message: Message) -> Recipient | None:
    """The person a call-out message (opened from its token link) was sent to."""
    if message.topic != TOPIC or not message.topic_ref.isdigit():
        return None
    qs = Recipient.objects.select_related("mobilization").filter(mobilization_id=int(message.topic_ref))
    if message.recipient_id is not None:
        return qs.filter(user_id=message.recipient_id).first()
    kind, _sep, person_id = message.contact_ref.partition(":")
    if kind != "registry.person" or not person_id.isdigit():
        return None
    return qs.filter(person_id=int(person_id)).first()


def recipient_link_ticket(*, recipient_id: int, ticket_ref: str) -> None:
    """The grid made a task of a help answer: remember which (idempotent)."""
    Recipient.objects.filter(pk=recipient_id, ticket_ref="").update(ticket_ref=ticket_ref[:32])
