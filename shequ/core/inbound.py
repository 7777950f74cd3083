"""SMS that people send to the platform's number (mobile-originated messages), as the SMS gateway's
callback delivers them (``views_inbound``; the protocol is in ``docs/api.md``).

Each SMS is stored once (the gateway's id makes a redelivery a no-op), then offered to the reply
routers that apps registered (``register_reply_router``): the emergency app reads "1"/"安全" as an
answer to a call-out, for instance. A router claims the SMS it understands and says what to answer;
an SMS nobody claims gets a short answer that there is nothing to reply to. Every answer goes back
by SMS through ``messaging.notify`` to the sender's number (a contact of kind ``core.inbound_sms``),
at most one unclaimed answer per number per ``QUIET_MINUTES`` so that an auto-responder on the other
side cannot start an endless exchange.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from shequ.core import crypto, messaging
from shequ.core.models import Channel, InboundOutcome, InboundSms
from shequ.core.validators import clean_phone

TEXT_MAX = 500
QUIET_MINUTES = 10
REPLY_TOPIC = "core.sms_reply"


@dataclass(frozen=True)
class Incoming:
    """One SMS as the gateway sent it (before it is stored)."""

    provider_id: str
    phone: str
    text: str
    received_at: datetime


@dataclass(frozen=True)
class Received:
    """A stored SMS offered to the routers: no number, only its blind index."""

    id: int
    phone_index: str
    text: str
    received_at: datetime


@dataclass(frozen=True)
class Routed:
    """A router's verdict on one SMS it claims: the outcome and the answer to send back ("" none)."""

    outcome: str
    reply: str


ReplyRouter = Callable[[Sequence[Received]], dict[int, Routed]]
_ROUTERS: dict[str, ReplyRouter] = {}


def register_reply_router(name: str, router: ReplyRouter) -> None:
    """Let an app read the SMS people send (called from AppConfig.ready). A router gets a batch and
    returns a verdict for each SMS it claims (a number it is waiting for an answer from); it writes
    its own rows in the caller's transaction."""
    _ROUTERS[name] = router


def clean(raw: object) -> list[Incoming]:
    """The gateway's JSON body (one SMS or {"messages": [...]}) as SMS, or ValidationError saying
    what is wrong with which item (nothing is stored then)."""
    items = raw.get("messages") if isinstance(raw, dict) and "messages" in raw else [raw]
    if not isinstance(items, list) or not items:
        raise ValidationError(_("Expected an SMS object or a non-empty list in 'messages'."))
    if len(items) > 1000:
        raise ValidationError(_("At most 1000 SMS per callback."))
    out: list[Incoming] = []
    for n, item in enumerate(items, start=1):
        where = _("SMS %(n)d: ") % {"n": n}
        if not isinstance(item, dict):
            raise ValidationError(where + _("not an object."))
        provider_id, phone, text, at = (
            item.get("id"),
            item.get("from"),
            item.get("text"),
            item.get("received_at"),
        )
        if not isinstance(provider_id, str) or not provider_id.strip() or len(provider_id) > 100:
            raise ValidationError(where + _("'id' must be the gateway's message id (1–100 characters)."))
        if not isinstance(phone, str):
            raise ValidationError(where + _("'from' must be the sender's mobile number."))
        try:
            phone = mobile(phone)
        except ValidationError:
            raise ValidationError(where + _("'from' is not a mainland mobile number.")) from None
        if not isinstance(text, str) or len(text) > TEXT_MAX:
            raise ValidationError(
                where + _("'text' must be a string of at most %(n)d characters.") % {"n": TEXT_MAX}
            )
        received = timezone.now()
        if at is not None:
            parsed = _parse_time(at)
            if parsed is None:
                raise ValidationError(where + _("'received_at' must be an ISO 8601 time with a time zone."))
            received = parsed
        out.append(Incoming(provider_id.strip(), phone, text.strip(), received))
    return out


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def receive(items: Sequence[Incoming]) -> list[InboundSms]:
    """Store the SMS not seen before, let the routers claim them and answer each sender; all in one
    transaction (a router's failure stores nothing, and the gateway's retry brings them again)."""
    with transaction.atomic():
        seen = set(
            InboundSms.objects.filter(provider_id__in=[i.provider_id for i in items]).values_list(
                "provider_id", flat=True
            )
        )
        fresh = list({i.provider_id: i for i in items if i.provider_id not in seen}.values())
        if not fresh:
            return []
        rows = InboundSms.objects.bulk_create(
            [
                InboundSms(
                    provider_id=i.provider_id,
                    phone=i.phone,
                    text=i.text,
                    received_at=i.received_at,
                    outcome=InboundOutcome.NOTHING_OPEN,
                )
                for i in fresh
            ]
        )
        pending = {row.pk: Received(row.pk, row.phone_index, row.text, row.received_at) for row in rows}
        verdicts: dict[int, tuple[str, Routed]] = {}
        for name, router in _ROUTERS.items():
            if not pending:
                break
            for sms_id, routed in router(list(pending.values())).items():
                if sms_id in pending:
                    verdicts[sms_id] = (name, routed)
                    del pending[sms_id]
        quiet_since = timezone.now() - timedelta(minutes=QUIET_MINUTES)
        recently_told = set(
            InboundSms.objects.filter(
                phone_index__in={r.phone_index for r in pending.values()},
                created_at__gte=quiet_since,
                outcome=InboundOutcome.NOTHING_OPEN,
            )
            .exclude(pk__in=list(pending))
            .exclude(reply="")
            .values_list("phone_index", flat=True)
        )
        with override("zh-hans"):
            nothing = _(
                "This number has no notice waiting for your reply. In an emergency call 110, 119 or 120."
            )
        for row in rows:
            if row.pk in verdicts:
                row.handled_by, routed = verdicts[row.pk][0], verdicts[row.pk][1]
                row.outcome, row.reply = routed.outcome, routed.reply[:TEXT_MAX]
            elif row.phone_index not in recently_told:
                row.reply = nothing
                recently_told.add(row.phone_index)
        InboundSms.objects.bulk_update(rows, ["outcome", "handled_by", "reply"])
        for row in rows:
            if row.reply:
                _answer(row)
    return rows


def _answer(row: InboundSms) -> None:
    subject = " ".join(row.reply.split())[: messaging.SUBJECT_MAX]
    messaging.notify(
        sender=None,
        recipients=(),
        contacts=[messaging.Contact(ref=f"core.inbound_sms:{row.pk}")],
        subject=subject,
        body="",
        channels=[Channel.SMS],
        topic=REPLY_TOPIC,
        topic_ref=str(row.pk),
    )


def mobile(raw: str) -> str:
    """A sender's number as gateways write it ("+86 139…", "86139…", "139…") as the registry keeps it."""
    digits = "".join(c for c in raw if c.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if not digits:
        raise ValidationError(_("No number."))
    return clean_phone(digits)


def phone_index(phone: str) -> str:
    """The blind index routers compare with (``Received.phone_index``)."""
    return crypto.blind_index(mobile(phone), "phone")
