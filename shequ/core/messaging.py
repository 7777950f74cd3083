"""Messaging (F6): notices in the in-app inbox, by email over SMTP and by SMS through an HTTP gateway.

``notify`` writes one ``Message`` per recipient and one ``Delivery`` per channel in a single
transaction, and queues an outbox event for every email and SMS delivery; ``shequ worker`` sends
them (``handlers.send_delivery``) with retries and backoff. The inbox delivery is sent at once.
Recipients acknowledge messages that ask for it; ``roll_call`` reports who received, read and
acknowledged a topic (later issues build mobilization roll-calls on it).

Phone numbers never leave the encrypted column except in the request to the SMS gateway: delivery
records and errors carry no number, and gateway/SMTP errors are reduced to a status or error class.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from shequ.core import audit, bulk, outbox
from shequ.core.events import DeliveriesQueued, MessageAcknowledged
from shequ.core.models import (
    AuditResult,
    Channel,
    Delivery,
    DeliveryStatus,
    InboundSms,
    Membership,
    Message,
    Region,
    User,
)
from shequ.core.permissions import Perm, Viewer, has_perm, scope_q, scopes_for

SUBJECT_MAX = 200
BODY_MAX = 5000
LINK_MAX = 300
SMS_TEXT_MAX = 500
NOTICE_TOPIC = "core.notice"
EXTERNAL_CHANNELS = frozenset({Channel.EMAIL, Channel.SMS})

# Why a delivery was not attempted (kept in Delivery.last_error; shown to staff in roll-calls).
SKIP_NO_EMAIL = "no email address"
SKIP_NO_PHONE = "no mobile number"
SKIP_INACTIVE = "account disabled"
SKIP_NO_GATEWAY = "SMS gateway not configured"

# Deliveries per outbox task: big enough that 100,000 recipients are 500 tasks, small enough that a
# batch to a slow gateway (10 s timeout each) ends well inside the worker's lease.
DELIVERY_BATCH = 200
IN_CHUNK = 500


class DeliveryError(Exception):
    """A delivery could not be handed over; the text carries no personal data."""


class _Skip(Exception):
    """The delivery cannot be made at all (no address): record it as skipped, do not retry."""


# Sending -------------------------------------------------------------------------------------


def _clean_link(link: str) -> str:
    link = link.strip()
    if not link:
        return ""
    if len(link) > LINK_MAX or any(c.isspace() or ord(c) < 32 for c in link) or "\\" in link:
        raise ValidationError({"link": _("The link is not a valid address.")})
    if link.startswith("/") and not link.startswith("//"):
        return link
    parts = urlsplit(link)
    if parts.scheme in ("http", "https") and parts.netloc:
        return link
    raise ValidationError({"link": _("The link must be a path on this site or an http(s) address.")})


def _clean(*, subject: str, body: str, link: str, channels: Iterable[str]) -> tuple[str, str, str, list[str]]:
    errors: dict[str, str] = {}
    subject = (subject or "").strip()
    body = (body or "").strip()
    if not subject:
        errors["subject"] = _("A subject is required.")
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = _("The subject is too long (at most %(n)d characters).") % {"n": SUBJECT_MAX}
    elif "\n" in subject or "\r" in subject:
        errors["subject"] = _("The subject must be a single line.")
    if len(body) > BODY_MAX:
        errors["body"] = _("The text is too long (at most %(n)d characters).") % {"n": BODY_MAX}
    try:
        link = _clean_link(link or "")
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    wanted = list(dict.fromkeys(channels))
    unknown = [c for c in wanted if c not in Channel.values]
    if unknown:
        errors["channels"] = _("Unknown channel: %(names)s.") % {"names": ", ".join(map(str, unknown))}
    if errors:
        raise ValidationError(errors)
    # Every message lands in the inbox, whatever else is chosen.
    chosen = [Channel.INBOX.value] + [c for c in Channel.values if c in wanted and c != Channel.INBOX]
    return subject, body, link, chosen


# Contacts without an account ------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    """A person without an account, reached by SMS: ``ref`` is "<kind>:<id>" of a kind whose owner
    registered a phone lookup (``register_contacts``); ``name`` is shown in roll-calls."""

    ref: str
    name: str = ""


# kind → function(ids) → {id: mobile number}: the app that keeps the numbers lends them at send time,
# so a message holds no copy of a number and a number changed meanwhile is the one used.
PhoneLookup = Callable[[Sequence[str]], dict[str, str]]
_CONTACTS: dict[str, PhoneLookup] = {}


def register_contacts(kind: str, lookup: PhoneLookup) -> None:
    """Let the app owning ``kind`` contacts give their numbers (called from AppConfig.ready)."""
    _CONTACTS[kind] = lookup


def _contact_phone(ref: str) -> str:
    kind, sep, object_id = ref.partition(":")
    lookup = _CONTACTS.get(kind)
    if not sep or lookup is None:
        return ""
    return lookup([object_id]).get(object_id, "")


def _inbound_phones(ids: Sequence[str]) -> dict[str, str]:
    found = InboundSms.objects.filter(pk__in=[int(i) for i in ids if i.isdigit()])
    return {str(sms.pk): sms.phone for sms in found}


register_contacts("core.inbound_sms", _inbound_phones)


# Links that open without signing in --------------------------------------------------------------

TOKEN_PLACEHOLDER = "{token}"
_TOKEN_SALT = "shequ.core.message"


def message_token(message_id: int) -> str:
    """A signed reference to one message: a link carrying it lets its recipient answer without an
    account (a resident called out by SMS). It names the message only, so it opens nothing else."""
    return signing.Signer(salt=_TOKEN_SALT).sign(str(message_id)).replace(":", "-")


def message_from_token(token: str) -> Message | None:
    """The message a token names, or None for a forged, altered or unknown token."""
    try:
        value = signing.Signer(salt=_TOKEN_SALT).unsign(token.replace("-", ":", 1))
    except signing.BadSignature:
        return None
    if not value.isdigit():
        return None
    return Message.objects.select_related("recipient").filter(pk=int(value)).first()


def message_link(message: Message) -> str:
    """The message's link with its own token filled in (``notify(link="/x/{token}/")``)."""
    if TOKEN_PLACEHOLDER in message.link:
        return message.link.replace(TOKEN_PLACEHOLDER, message_token(message.pk))
    return message.link


def _initial_state(user: User | None, channel: str) -> tuple[str, str]:
    """(status, reason) of a new delivery (``user`` None: a contact without an account)."""
    if user is None:
        if not settings.SMS_GATEWAY_URL:
            return DeliveryStatus.SKIPPED, SKIP_NO_GATEWAY
        return DeliveryStatus.QUEUED, ""
    if channel == Channel.INBOX:
        return DeliveryStatus.SENT, ""
    if not user.is_active:
        return DeliveryStatus.SKIPPED, SKIP_INACTIVE
    if channel == Channel.EMAIL and not user.email:
        return DeliveryStatus.SKIPPED, SKIP_NO_EMAIL
    if channel == Channel.SMS:
        if not user.phone_index:  # the blind index tells whether a number exists without decrypting it
            return DeliveryStatus.SKIPPED, SKIP_NO_PHONE
        if not settings.SMS_GATEWAY_URL:
            return DeliveryStatus.SKIPPED, SKIP_NO_GATEWAY
    return DeliveryStatus.QUEUED, ""


@dataclass(frozen=True)
class Notice:
    """A notice's texts and every value put into them (apps' ``notices`` modules return these, so a
    test can render each kind with real data and fail when a value came out empty)."""

    subject: str
    body: str
    fields: dict[str, str]


def notify(
    *,
    sender: User | None,
    recipients: Iterable[User],
    subject: str,
    body: str,
    link: str = "",
    channels: Sequence[str] = (Channel.INBOX,),
    region_code: str = "",
    topic: str = "",
    topic_ref: str = "",
    requires_ack: bool = False,
    dedupe_key: str = "",
    thread_key: str = "",
    contacts: Sequence[Contact] = (),
) -> list[Message]:
    """Send a message to each recipient over ``channels`` (the inbox always included), and by SMS
    to each of ``contacts`` (people without an account). ``link`` may hold ``{token}``: each
    message's link then carries that message's own token (``message_token``).

    ``dedupe_key`` (e.g. the outbox event id, see ``outbox.current_event_id``): a recipient who
    already has a message with this key gets nothing new, so a retried task or a second handler of
    the same event never sends a notice twice; the messages returned are the new ones only.
    ``thread_key`` groups messages about one object in the inbox (``"grid.ticket:42"``).

    A platform service: it checks no permission. Pages that let a person address others use
    ``notice_send`` (or check ``can_notify``) first. Bad input raises ValidationError and writes nothing.
    """
    subject, body, link, chosen = _clean(subject=subject, body=body, link=link, channels=channels)
    if len(region_code) > 15 or len(topic) > 64 or len(topic_ref) > 64:
        raise ValidationError(_("Region code, topic or topic reference is too long."))
    if len(dedupe_key) > 100 or len(thread_key) > 64:
        raise ValidationError(_("Deduplication or thread key is too long."))
    users = list({u.pk: u for u in recipients}.values())
    if any(u.pk is None for u in users):
        raise ValueError("recipients must be saved users")
    outside = list({c.ref: c for c in contacts}.values())
    if outside and Channel.SMS not in chosen:
        raise ValueError("contacts without an account are reached by SMS only: choose the SMS channel")
    if any(c.ref.partition(":")[0] not in _CONTACTS or len(c.ref) > 64 for c in outside):
        raise ValueError("a contact's kind has no registered phone lookup")
    if dedupe_key and users:
        # The unique constraint backs this up when two workers race: the loser rolls back and retries.
        done = _already(dedupe_key, "recipient_id", [u.pk for u in users])
        users = [u for u in users if u.pk not in done]
    if dedupe_key and outside:
        done_refs = _already(dedupe_key, "contact_ref", [c.ref for c in outside])
        outside = [c for c in outside if c.ref not in done_refs]
    if not users and not outside:
        return []
    now = timezone.now()
    addressees: list[tuple[User | None, Contact | None]] = [(u, None) for u in users]
    addressees += [(None, c) for c in outside]
    with transaction.atomic():
        # COPY on PostgreSQL (core.bulk): a call-out writes 100,000 messages and their deliveries.
        messages = [
            Message(
                recipient=user,
                contact_ref=contact.ref if contact else "",
                contact_name=contact.name[:50] if contact else "",
                sender=sender,
                region_code=region_code,
                subject=subject,
                body=body,
                link=link,
                topic=topic,
                topic_ref=topic_ref,
                requires_ack=requires_ack,
                dedupe_key=dedupe_key,
                thread_key=thread_key,
                created_at=now,
            )
            for user, contact in addressees
        ]
        bulk.bulk_insert(Message, messages)
        # Deliveries as plain rows (no model instances: a call-out writes 100,000 of them).
        rows: list[dict[str, Any]] = []
        for message, (user, _contact) in zip(messages, addressees, strict=True):
            # A contact has no inbox or email: only its SMS delivery is written.
            for channel in chosen if user is not None else [Channel.SMS.value]:
                status, reason = _initial_state(user, channel)
                rows.append(
                    {
                        "message_id": message.pk,
                        "channel": channel,
                        "status": status,
                        "last_error": reason,
                        "sent_at": now if status == DeliveryStatus.SENT else None,
                    }
                )
        ids = bulk.insert_rows(Delivery, rows)
        outbox.emit_many(_batches([(pk, r["channel"], r["status"]) for pk, r in zip(ids, rows, strict=True)]))
    return messages


def _already(dedupe_key: str, field: str, values: Sequence[Any]) -> set[Any]:
    """The ``field`` values (recipients or contacts) that already have a message with this key, asked
    in chunks (SQLite refuses an IN list of 100,000 values)."""
    found: set[Any] = set()
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start : start + IN_CHUNK]
        found.update(
            Message.objects.filter(dedupe_key=dedupe_key, **{f"{field}__in": chunk}).values_list(
                field, flat=True
            )
        )
    return found


def _batches(deliveries: Sequence[tuple[int, str, str]]) -> Iterable[DeliveriesQueued]:
    """Queued deliveries ((id, channel, status) each) in outbox tasks of ``DELIVERY_BATCH``."""
    by_channel: dict[str, list[int]] = {}
    for pk, channel, status in deliveries:
        if status == DeliveryStatus.QUEUED:
            by_channel.setdefault(channel, []).append(pk)
    for channel, ids in by_channel.items():
        for start in range(0, len(ids), DELIVERY_BATCH):
            yield DeliveriesQueued(delivery_ids=ids[start : start + DELIVERY_BATCH], channel=channel)


def _absolute(path: str) -> str:
    """An address a person can open from an email or SMS (needs settings.SITE_URL for site paths)."""
    if not path.startswith("/"):
        return path
    site = getattr(settings, "SITE_URL", "").rstrip("/")
    return f"{site}{path}" if site else ""


def _outside_text(message: Message) -> str:
    parts = [message.body] if message.body else []
    link = _absolute(message_link(message))
    if not link and message.recipient_id is not None:  # a contact has no inbox to open
        link = _absolute(reverse("core:message", args=[message.pk]))
    if link:
        parts.append(_("Open: %(url)s") % {"url": link})
    return "\n\n".join(parts)


def _send_email(delivery: Delivery) -> str:
    message = delivery.message
    address = message.recipient.email if message.recipient else ""
    if not address:
        raise _Skip(SKIP_NO_EMAIL)
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    # A stable Message-ID: a resend after a lost acknowledgement can be recognised as a duplicate.
    message_id = f"<shequ-delivery-{delivery.pk}@{domain}>"
    email = EmailMessage(
        subject=message.subject,
        body=_outside_text(message),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        headers={"Message-ID": message_id},
    )
    try:
        accepted = email.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        # Not str(exc): SMTP errors may quote the recipient's address.
        code = getattr(exc, "smtp_code", None)
        raise DeliveryError(f"SMTP error {type(exc).__name__}{f' {code}' if code else ''}") from None
    if not accepted:
        raise DeliveryError("SMTP server accepted no recipient")
    return message_id


def _sms_text(message: Message) -> str:
    text = f"{message.subject}\n{_outside_text(message)}".strip()
    return text if len(text) <= SMS_TEXT_MAX else text[: SMS_TEXT_MAX - 1] + "…"


def _send_sms(delivery: Delivery) -> str:
    url = settings.SMS_GATEWAY_URL
    if not url:
        raise _Skip(SKIP_NO_GATEWAY)
    message = delivery.message
    phone = message.recipient.phone if message.recipient else _contact_phone(message.contact_ref)
    if not phone:
        raise _Skip(SKIP_NO_PHONE)
    headers = {"Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}"} if settings.SMS_GATEWAY_TOKEN else {}
    payload = {"to": phone, "text": _sms_text(delivery.message), "ref": delivery.pk}
    try:
        response = httpx.post(
            url, json=payload, headers=headers, timeout=getattr(settings, "SMS_GATEWAY_TIMEOUT", 10.0)
        )
    except httpx.HTTPError as exc:
        raise DeliveryError(f"SMS gateway unreachable ({type(exc).__name__})") from None
    if not response.is_success:
        # Not the body: gateways like to echo the number back.
        raise DeliveryError(f"SMS gateway answered HTTP {response.status_code}")
    try:
        data: Any = response.json()
    except ValueError:
        data = {}
    ref = (data.get("id") or data.get("message_id") or "") if isinstance(data, dict) else ""
    return str(ref)[:100]


_SENDERS = {Channel.EMAIL.value: _send_email, Channel.SMS.value: _send_sms}


def deliver(*, delivery_id: int) -> None:
    """Send one queued email/SMS delivery (the outbox handler). Safe to call again: a delivery that
    is no longer queued is left alone. Raises DeliveryError so that the outbox retries."""
    delivery = Delivery.objects.select_related("message__recipient").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.QUEUED:
        return
    queued = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.QUEUED)
    recipient = delivery.message.recipient
    if recipient is not None and not recipient.is_active:
        queued.update(status=DeliveryStatus.SKIPPED, last_error=SKIP_INACTIVE)
        return
    try:
        ref = _SENDERS[delivery.channel](delivery)
    except _Skip as skip:
        queued.update(status=DeliveryStatus.SKIPPED, last_error=str(skip))
        return
    except DeliveryError as exc:
        queued.update(attempts=F("attempts") + 1, last_error=outbox.scrub(str(exc))[:500])
        raise
    except Exception as exc:
        reason = f"unexpected {type(exc).__name__}: {outbox.scrub(str(exc))}"[:500]
        queued.update(attempts=F("attempts") + 1, last_error=reason)
        raise DeliveryError(reason) from None
    queued.update(
        status=DeliveryStatus.SENT,
        attempts=F("attempts") + 1,
        provider_ref=ref,
        sent_at=timezone.now(),
        last_error="",
    )


def deliver_batch(*, delivery_ids: Sequence[int]) -> None:
    """Send a batch of deliveries (the outbox handler of ``DeliveriesQueued``). Each one is tried;
    those that fail stay queued and the first error is raised at the end, so the outbox retries the
    batch later and ``deliver`` skips the ones already sent."""
    failed: DeliveryError | None = None
    for delivery_id in delivery_ids:
        try:
            deliver(delivery_id=delivery_id)
        except DeliveryError as exc:
            failed = failed or exc
    if failed is not None:
        raise failed


def delivery_give_up(*, delivery_id: int) -> None:
    """The outbox ran out of attempts: the delivery failed (its last error is already recorded)."""
    Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.QUEUED).update(status=DeliveryStatus.FAILED)


# Notices from staff ---------------------------------------------------------------------------


def can_notify(actor: Viewer | None, recipients: Iterable[User]) -> bool:
    """Whether ``actor`` holds SEND_NOTICE in a region covering a membership of every recipient."""
    ids = {u.pk for u in recipients}
    if not ids:
        return True
    if not scopes_for(actor, Perm.SEND_NOTICE):
        return False
    covered = set(
        Membership.objects.filter(user_id__in=ids, revoked_at__isnull=True)
        .filter(scope_q(actor, Perm.SEND_NOTICE))
        .values_list("user_id", flat=True)
    )
    return covered >= ids


def notice_send(
    *,
    actor: User,
    region_code: str,
    subject: str,
    body: str,
    channels: Sequence[str] = (Channel.INBOX,),
    requires_ack: bool = False,
    request: HttpRequest | None = None,
) -> list[Message]:
    """Send a notice to every active member of the region subtree ``region_code`` (audited).

    The messages share ``topic=NOTICE_TOPIC`` and a fresh ``topic_ref`` for ``roll_call``.
    """
    _clean(subject=subject, body=body, link="", channels=channels)
    if not has_perm(actor, Perm.SEND_NOTICE, region_code):
        audit.record(
            "notice.send",
            actor=actor,
            request=request,
            region_code=region_code[:15],
            object_type="region",
            object_id=region_code[:64],
            result=AuditResult.DENIED,
        )
        raise PermissionDenied(_("You may not send notices to this region."))
    if not Region.objects.filter(code=region_code).exists():
        raise ValidationError({"region_code": _("Unknown region.")})
    recipients = list(
        User.objects.filter(
            is_active=True,
            memberships__revoked_at__isnull=True,
            memberships__region_code__startswith=region_code,
        )
        .exclude(pk=actor.pk)
        .distinct()
        .order_by("pk")
    )
    if not recipients:
        raise ValidationError({"region_code": _("Nobody in this region can receive notices.")})
    if not can_notify(actor, recipients):  # the subtree rule above implies it; keep the rule in one place
        raise PermissionDenied(_("You may not send notices to this region."))
    topic_ref = get_random_string(16)
    with transaction.atomic():
        messages = notify(
            sender=actor,
            recipients=recipients,
            subject=subject,
            body=body,
            channels=channels,
            region_code=region_code,
            topic=NOTICE_TOPIC,
            topic_ref=topic_ref,
            requires_ack=requires_ack,
        )
        audit.record(
            "notice.send",
            actor=actor,
            request=request,
            region_code=region_code,
            object_type="notice",
            object_id=topic_ref,
            detail={
                "recipients": len(messages),
                "channels": sorted({Channel.INBOX.value, *channels}),
                "requires_ack": requires_ack,
            },
        )
    return messages


# Reading and acknowledging ------------------------------------------------------------------


def _own(user: Viewer, message: Message) -> None:
    if (
        not getattr(user, "is_authenticated", False)
        or message.recipient_id is None
        or message.recipient_id != user.pk
    ):
        raise PermissionDenied(_("This is not your message."))


def mark_read(*, user: User, message: Message) -> Message:
    """Mark the message read, and with it every earlier message of its thread (the person opened
    the thread and sees them all)."""
    _own(user, message)
    if message.read_at is None or message.thread_key:
        now = timezone.now()
        same = Q(pk=message.pk)
        if message.thread_key:
            same |= Q(thread_key=message.thread_key, created_at__lte=message.created_at)
        Message.objects.filter(same, recipient_id=user.pk, read_at__isnull=True).update(read_at=now)
        message.refresh_from_db(fields=["read_at"])
    return message


# Threads --------------------------------------------------------------------------------------

# kind → function(ids) → {id: state}: the app that owns the object tells what became of it.
ThreadStates = Callable[[Sequence[str]], dict[str, "ThreadState"]]
_THREAD_STATES: dict[str, ThreadStates] = {}


@dataclass(frozen=True)
class ThreadState:
    """What became of a thread's object: finished ones are shown as such, not as a call to act."""

    finished: bool
    label: str


def thread_key(kind: str, object_id: object) -> str:
    return f"{kind}:{object_id}"


def register_thread_states(kind: str, states: ThreadStates) -> None:
    """Let the app owning ``kind`` objects say which are finished (called from AppConfig.ready)."""
    _THREAD_STATES[kind] = states


def thread_states(keys: Iterable[str]) -> dict[str, ThreadState]:
    """The current state of each thread's object, by thread key (keys of unknown kinds are left out)."""
    by_kind: dict[str, list[str]] = {}
    for key in keys:
        kind, sep, object_id = key.partition(":")
        if sep and kind in _THREAD_STATES:
            by_kind.setdefault(kind, []).append(object_id)
    out: dict[str, ThreadState] = {}
    for kind, ids in by_kind.items():
        for object_id, state in _THREAD_STATES[kind](sorted(set(ids))).items():
            out[thread_key(kind, object_id)] = state
    return out


# Panels ---------------------------------------------------------------------------------------

# topic → function(message) → HTML shown under the message's body (or "" for none): the app that
# sent a topic's messages can add what plain text cannot hold (an urgent report's tap-to-call box).
MessagePanel = Callable[[Message], str]
_PANELS: dict[str, MessagePanel] = {}


def register_message_panel(topic: str, panel: MessagePanel) -> None:
    """Let the app sending ``topic`` messages add a panel to their page (called from AppConfig.ready).
    The panel is rendered for the message's own recipient only, after the page checked it is theirs."""
    _PANELS[topic] = panel


def message_panel(message: Message) -> str:
    panel = _PANELS.get(message.topic)
    return panel(message) if panel is not None else ""


def acknowledge(*, user: User, message: Message) -> Message:
    """Confirm a message that asks for it (idempotent); also marks it read."""
    _own(user, message)
    if not message.requires_ack:
        raise ValidationError(_("This message does not ask for an acknowledgement."))
    if message.acknowledged_at is None:
        now = timezone.now()
        with transaction.atomic():
            first = Message.objects.filter(pk=message.pk, acknowledged_at__isnull=True).update(
                acknowledged_at=now
            )
            if first:
                Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=now)
                outbox.emit(
                    MessageAcknowledged(
                        message_id=message.pk,
                        recipient_id=message.recipient_id,
                        topic=message.topic,
                        topic_ref=message.topic_ref,
                    )
                )
        message.refresh_from_db(fields=["read_at", "acknowledged_at"])
    return message


def acknowledged_elsewhere(*, message_ids: Sequence[int], at: datetime | None = None) -> int:
    """Record acknowledgements that the app owning the messages' topic took itself (an answer page
    opened from a link, a reply SMS), in bulk. No ``MessageAcknowledged`` is emitted: the caller is
    the one that would react. Returns how many were newly acknowledged."""
    at = at or timezone.now()
    fresh = Message.objects.filter(pk__in=list(message_ids), requires_ack=True, acknowledged_at__isnull=True)
    count = fresh.update(acknowledged_at=at)
    Message.objects.filter(pk__in=list(message_ids), read_at__isnull=True).update(read_at=at)
    return count


@dataclass(frozen=True)
class RollCallEntry:
    message_id: int
    recipient_id: int | None  # None: a contact without an account
    recipient_name: str
    channels: dict[str, str]  # channel → delivery status
    delivered: bool
    read_at: datetime | None
    acknowledged_at: datetime | None

    @property
    def read(self) -> bool:
        return self.read_at is not None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


@dataclass(frozen=True)
class RollCall:
    topic: str
    topic_ref: str
    entries: list[RollCallEntry]

    @property
    def total(self) -> int:
        return len(self.entries)

    @property
    def delivered(self) -> int:
        return sum(e.delivered for e in self.entries)

    @property
    def read(self) -> int:
        return sum(e.read for e in self.entries)

    @property
    def acknowledged(self) -> int:
        return sum(e.acknowledged for e in self.entries)


def _delivered(statuses: dict[str, str]) -> bool:
    """Reached the person: on a chosen outside channel, or in the inbox when that was the only one."""
    outside = {c: s for c, s in statuses.items() if c in EXTERNAL_CHANNELS}
    if outside:
        return any(s == DeliveryStatus.SENT for s in outside.values())
    return statuses.get(Channel.INBOX) == DeliveryStatus.SENT


def roll_call(*, topic: str, topic_ref: str, viewer: Viewer | None = None) -> RollCall:
    """Per recipient of a topic: delivered, read, acknowledged.

    With ``viewer``: only messages they sent or that lie in their SEND_NOTICE scope; without one it
    is a platform read (the calling app has checked access to the topic's object).
    """
    qs = Message.objects.filter(topic=topic, topic_ref=topic_ref)
    if viewer is not None:
        qs = qs.filter(scope_q(viewer, Perm.SEND_NOTICE) | Q(sender_id=getattr(viewer, "pk", None)))
    qs = qs.select_related("recipient").prefetch_related("deliveries").order_by("recipient__username", "pk")
    entries = []
    for message in qs:
        statuses = {d.channel: d.status for d in message.deliveries.all()}
        entries.append(
            RollCallEntry(
                message_id=message.pk,
                recipient_id=message.recipient_id,
                recipient_name=message.recipient.name if message.recipient else message.contact_name,
                channels=statuses,
                delivered=_delivered(statuses),
                read_at=message.read_at,
                acknowledged_at=message.acknowledged_at,
            )
        )
    return RollCall(topic=topic, topic_ref=topic_ref, entries=entries)
