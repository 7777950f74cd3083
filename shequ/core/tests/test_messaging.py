"""Messaging against real components: a local SMTP server (aiosmtpd) and a local HTTP SMS gateway.

Covers notify (messages, deliveries and outbox events in one transaction), email and SMS arriving,
retries with backoff after gateway failures, failures recorded after the last attempt, skipped
deliveries, read/acknowledge, roll-calls, and the audited, permission-checked notice_send.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from pytest_django.fixtures import Settings

from shequ.conftest import World
from shequ.core import messaging, outbox, selectors
from shequ.core.events import DeliveriesQueued, DeliveryQueued, MessageAcknowledged
from shequ.core.models import (
    AuditEntry,
    AuditResult,
    Delivery,
    DeliveryStatus,
    Message,
    OutboxStatus,
    OutboxTask,
    User,
)
from shequ.core.outbox import handles
from shequ.core.tests.fakes import SmsGateway, SmtpServer, free_port, start_worker, worker_env

ALICE_PHONE = "13912345678"
ACKS: list[MessageAcknowledged] = []


@handles(MessageAcknowledged)
def _record_ack(event: MessageAcknowledged) -> None:
    ACKS.append(event)


@pytest.fixture
def smtp(settings: Settings) -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.DEFAULT_FROM_EMAIL = "Shequ <notices@shequ.example>"
        yield server


@pytest.fixture
def sms(settings: Settings) -> Iterator[SmsGateway]:
    with SmsGateway() as gateway:
        settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_TOKEN = gateway.url, gateway.token
        yield gateway


@pytest.fixture
def people(db: None) -> dict[str, User]:
    """Recipients made directly (no password: hashing is slow and not what is tested here)."""
    return {
        "alice": User.objects.create(
            username="alice", display_name="Alice", email="alice@example.test", phone=ALICE_PHONE
        ),
        "bob": User.objects.create(username="bob", display_name="Bob"),  # neither email nor phone
        "carol": User.objects.create(
            username="carol",
            display_name="Carol",
            email="carol@example.test",
            phone="13700001111",
            is_active=False,
        ),
        "dan": User.objects.create(
            username="dan", display_name="Dan", email="dan@example.test", phone="13600002222"
        ),
    }


def deliveries(user: User, channel: str) -> Delivery:
    return Delivery.objects.get(message__recipient=user, channel=channel)


def make_due() -> None:
    OutboxTask.objects.filter(status=OutboxStatus.PENDING).update(available_at=timezone.now())


def send(people: dict[str, User], *names: str, channels: tuple[str, ...], **kw: Any) -> list[Message]:
    return messaging.notify(
        sender=None,
        recipients=[people[n] for n in names],
        subject=kw.pop("subject", "Water cut tomorrow"),
        body=kw.pop("body", "No water from 9:00 to 12:00."),
        channels=channels,
        **kw,
    )


# notify ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_notify_writes_messages_deliveries_and_events_together(
    people: dict[str, User], settings: Settings
) -> None:
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/unused"
    with pytest.raises(RuntimeError), transaction.atomic():
        send(people, "alice", "dan", channels=("email", "sms"))
        raise RuntimeError("the change that notified failed")
    assert not (Message.objects.exists() or Delivery.objects.exists() or OutboxTask.objects.exists())

    messages = send(
        people, "alice", "bob", "carol", "alice", channels=("sms", "email"), topic="t", topic_ref="1"
    )
    assert [m.recipient.username for m in messages if m.recipient] == [
        "alice",
        "bob",
        "carol",
    ]  # duplicates dropped
    assert all(m.pk for m in messages)
    states = {
        (d.message.recipient.username if d.message.recipient else "", d.channel): (d.status, d.last_error)
        for d in Delivery.objects.select_related("message__recipient")
    }
    assert states == {
        ("alice", "inbox"): (DeliveryStatus.SENT, ""),
        ("alice", "email"): (DeliveryStatus.QUEUED, ""),
        ("alice", "sms"): (DeliveryStatus.QUEUED, ""),
        ("bob", "inbox"): (DeliveryStatus.SENT, ""),
        ("bob", "email"): (DeliveryStatus.SKIPPED, messaging.SKIP_NO_EMAIL),
        ("bob", "sms"): (DeliveryStatus.SKIPPED, messaging.SKIP_NO_PHONE),
        ("carol", "inbox"): (DeliveryStatus.SENT, ""),
        ("carol", "email"): (DeliveryStatus.SKIPPED, messaging.SKIP_INACTIVE),
        ("carol", "sms"): (DeliveryStatus.SKIPPED, messaging.SKIP_INACTIVE),
    }
    # One outbox event per channel's batch of queued email/SMS deliveries, nothing for the rest.
    queued = set(Delivery.objects.filter(status=DeliveryStatus.QUEUED).values_list("pk", "channel"))
    tasks = {(i, t.payload["channel"]) for t in OutboxTask.objects.all() for i in t.payload["delivery_ids"]}
    assert tasks == queued
    assert OutboxTask.objects.count() == 2  # one email batch, one SMS batch
    assert set(OutboxTask.objects.values_list("event_type", flat=True)) == {DeliveriesQueued.name}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("subject", {"subject": "  "}),
        ("subject", {"subject": "x" * 201}),
        ("subject", {"subject": "two\nlines"}),
        ("body", {"body": "x" * 5001}),
        ("link", {"link": "javascript:alert(1)"}),
        ("link", {"link": "//evil.example/phish"}),
        ("channels", {"channels": ("inbox", "pigeon")}),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    people: dict[str, User], field: str, kwargs: dict[str, Any]
) -> None:
    channels = kwargs.pop("channels", ("inbox",))
    with pytest.raises(ValidationError) as error:
        send(people, "alice", channels=channels, **kwargs)
    assert field in error.value.message_dict
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_inbox_only_and_no_sms_gateway(people: dict[str, User], settings: Settings) -> None:
    settings.SMS_GATEWAY_URL = ""
    send(people, "alice", channels=("sms",))  # the inbox is always included
    assert deliveries(people["alice"], "inbox").status == DeliveryStatus.SENT
    sms_delivery = deliveries(people["alice"], "sms")
    assert (sms_delivery.status, sms_delivery.last_error) == (
        DeliveryStatus.SKIPPED,
        messaging.SKIP_NO_GATEWAY,
    )
    assert not OutboxTask.objects.exists()


# Email -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_email_arrives_over_smtp(people: dict[str, User], smtp: SmtpServer, settings: Settings) -> None:
    settings.SITE_URL = "https://shequ.example"
    [message] = send(people, "alice", channels=("email",), link="/grid/events/7/")
    assert outbox.run_pending() == 1
    [mail] = smtp.received
    assert mail.rcpt_tos == ["alice@example.test"]
    assert mail.subject == "Water cut tomorrow"
    assert "No water from 9:00 to 12:00." in mail.text
    assert "https://shequ.example/grid/events/7/" in mail.text
    delivery = deliveries(people["alice"], "email")
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.SENT, 1, "")
    assert (
        delivery.provider_ref == mail.message["Message-ID"] == f"<shequ-delivery-{delivery.pk}@shequ.example>"
    )
    assert delivery.sent_at is not None
    assert message.pk


@pytest.mark.django_db
def test_email_is_retried_after_a_temporary_smtp_failure(people: dict[str, User], smtp: SmtpServer) -> None:
    smtp.fail_next(1)
    send(people, "alice", channels=("email",))
    outbox.run_pending()
    delivery = deliveries(people["alice"], "email")
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.QUEUED, 1)
    assert delivery.last_error == "SMTP error SMTPDataError 451"
    assert "alice@" not in delivery.last_error
    assert smtp.received == []
    make_due()
    outbox.run_pending()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.SENT, 2, "")
    assert len(smtp.to("alice@example.test")) == 1


# SMS -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sms_arrives_at_the_gateway(people: dict[str, User], sms: SmsGateway) -> None:
    send(people, "alice", channels=("sms",))
    assert outbox.run_pending() == 1
    delivery = deliveries(people["alice"], "sms")
    [request] = sms.received
    assert request["to"] == ALICE_PHONE
    assert request["ref"] == delivery.pk
    assert request["text"].startswith("Water cut tomorrow\nNo water from 9:00 to 12:00.")
    assert (delivery.status, delivery.attempts, delivery.provider_ref) == (
        DeliveryStatus.SENT,
        1,
        "fake-sms-1",
    )


@pytest.mark.django_db
def test_sms_is_retried_with_backoff_after_gateway_failures(people: dict[str, User], sms: SmsGateway) -> None:
    sms.fail_next(2)
    send(people, "alice", channels=("sms",))
    for attempt in (1, 2):
        before = timezone.now()
        assert outbox.run_pending() == 1
        after = timezone.now()
        delivery = deliveries(people["alice"], "sms")
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.QUEUED, attempt)
        assert delivery.last_error == "SMS gateway answered HTTP 503"
        task = OutboxTask.objects.get()
        assert before + outbox.backoff(attempt) <= task.available_at <= after + outbox.backoff(attempt)
        assert outbox.run_pending() == 0  # waits out its backoff
        make_due()
    assert outbox.run_pending() == 1
    delivery = deliveries(people["alice"], "sms")
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.SENT, 3, "")
    assert sms.requests == 3 and len(sms.received) == 1
    assert OutboxTask.objects.get().status == OutboxStatus.DONE


@pytest.mark.django_db
def test_sms_failure_is_recorded_after_the_last_attempt_without_the_number(
    people: dict[str, User],
    sms: SmsGateway,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(outbox, "MAX_ATTEMPTS", 3)
    sms.fail_next(10, status=502)  # the fake echoes the number in its error body
    caplog.set_level(logging.DEBUG)
    send(people, "alice", channels=("sms",))
    for _ in range(3):
        outbox.run_pending()
        make_due()
    delivery = deliveries(people["alice"], "sms")
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 3)
    assert delivery.last_error == "SMS gateway answered HTTP 502"
    task = OutboxTask.objects.get()
    assert task.status == OutboxStatus.FAILED and "HTTP 502" in task.last_error
    assert outbox.run_pending() == 0
    stored = [
        *Delivery.objects.values_list("last_error", "provider_ref"),
        *OutboxTask.objects.values_list("last_error", "payload"),
    ]
    assert ALICE_PHONE not in repr(stored)
    assert ALICE_PHONE not in caplog.text


@pytest.mark.django_db
@pytest.mark.parametrize("problem", ["wrong token", "unreachable"])
def test_sms_gateway_problems_are_failures(
    people: dict[str, User], sms: SmsGateway, settings: Settings, problem: str
) -> None:
    if problem == "wrong token":
        settings.SMS_GATEWAY_TOKEN = "not-the-token"
        expected = "SMS gateway answered HTTP 401"
    else:
        settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{free_port()}/sms"
        expected = "SMS gateway unreachable (ConnectError)"
    send(people, "alice", channels=("sms",))
    outbox.run_pending()
    delivery = deliveries(people["alice"], "sms")
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.QUEUED, 1, expected)
    assert sms.received == []


@pytest.mark.django_db
def test_delivering_twice_sends_once(people: dict[str, User], sms: SmsGateway) -> None:
    send(people, "alice", channels=("sms",))
    outbox.run_pending()
    delivery = deliveries(people["alice"], "sms")
    messaging.deliver(delivery_id=delivery.pk)  # a duplicate run of the handler
    assert sms.requests == 1


@pytest.mark.django_db
def test_recipient_disabled_before_sending_is_skipped(people: dict[str, User], sms: SmsGateway) -> None:
    send(people, "alice", channels=("sms",))
    User.objects.filter(pk=people["alice"].pk).update(is_active=False)
    outbox.run_pending()
    delivery = deliveries(people["alice"], "sms")
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.SKIPPED, messaging.SKIP_INACTIVE)
    assert sms.requests == 0


@pytest.mark.django_db(transaction=True)
def test_the_worker_process_sends_email_and_sms(
    people: dict[str, User], smtp: SmtpServer, sms: SmsGateway, tmp_path: Path
) -> None:
    send(people, "alice", "dan", channels=("email", "sms"))
    env = worker_env(
        SHEQU_EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        SHEQU_EMAIL_HOST=smtp.host,
        SHEQU_EMAIL_PORT=str(smtp.port),
        SHEQU_SMS_GATEWAY_URL=sms.url,
        SHEQU_SMS_GATEWAY_TOKEN=sms.token,
    )
    log = tmp_path / "worker.log"
    proc = start_worker("--drain", log=log, env=env)
    try:
        assert proc.wait(timeout=120) == 0, log.read_text()
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(log.read_text())
    assert sorted(r for m in smtp.received for r in m.rcpt_tos) == ["alice@example.test", "dan@example.test"]
    assert sorted(r["to"] for r in sms.received) == ["13600002222", ALICE_PHONE]
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert ALICE_PHONE not in log.read_text()


def _killed_after_handing_over(
    held: Any, env: dict[str, str], tmp_path: Path
) -> tuple[OutboxTask, subprocess.Popen[bytes]]:
    """A worker that dies after the other side has the message, before it could record that.
    Returns the task (its lease running) and a second worker, started to take the task over."""
    log = tmp_path / "killed.log"
    victim = start_worker(log=log, env=env)
    try:
        assert held.wait(60), log.read_text()  # the gateway / SMTP server has the message
    finally:
        victim.kill()
        victim.wait(timeout=60)
    task = OutboxTask.objects.get(event_type=DeliveriesQueued.name)
    assert (task.status, task.attempts) == (OutboxStatus.PENDING, 1)
    # The lease is SHEQU_OUTBOX_LEASE_SECONDS (1 s here), not a fixed 300 s.
    assert task.available_at <= timezone.now() + timedelta(seconds=1)
    return task, start_worker(log=tmp_path / "second.log", env=env)


def _finish(worker: subprocess.Popen[bytes], done: Any) -> None:
    try:
        deadline = time.monotonic() + 120
        while not done() and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.05)
        assert done()
    finally:
        worker.terminate()
        worker.wait(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_sms_resent_after_a_crash_carries_the_same_reference(
    people: dict[str, User], sms: SmsGateway, tmp_path: Path
) -> None:
    sms.hold_next(1)
    send(people, "alice", channels=("sms",))
    env = worker_env(
        SHEQU_SMS_GATEWAY_URL=sms.url, SHEQU_SMS_GATEWAY_TOKEN=sms.token, SHEQU_OUTBOX_LEASE_SECONDS="1"
    )
    task, second = _killed_after_handing_over(sms.state.holding, env, tmp_path)
    sms.release()
    delivery = deliveries(people["alice"], "sms")
    assert delivery.status == DeliveryStatus.QUEUED  # the first worker never recorded the send
    _finish(second, lambda: deliveries(people["alice"], "sms").status == DeliveryStatus.SENT)

    first, again = sms.received  # sent twice (at least once) ...
    assert first["ref"] == again["ref"] == delivery.pk  # ... under one reference the gateway can dedupe
    assert first["to"] == again["to"] == ALICE_PHONE and first["text"] == again["text"]
    task.refresh_from_db()
    assert (task.status, task.attempts) == (OutboxStatus.DONE, 2)


@pytest.mark.django_db(transaction=True)
def test_email_resent_after_a_crash_keeps_its_message_id(
    people: dict[str, User], smtp: SmtpServer, tmp_path: Path
) -> None:
    smtp.hold_next(1)
    send(people, "alice", channels=("email",))
    env = worker_env(
        SHEQU_EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        SHEQU_EMAIL_HOST=smtp.host,
        SHEQU_EMAIL_PORT=str(smtp.port),
        SHEQU_EMAIL_FROM="notices@shequ.example",
        SHEQU_OUTBOX_LEASE_SECONDS="1",
    )
    _, second = _killed_after_handing_over(smtp.holding, env, tmp_path)
    smtp.release()
    _finish(second, lambda: deliveries(people["alice"], "email").status == DeliveryStatus.SENT)

    first, again = smtp.to("alice@example.test")
    delivery = deliveries(people["alice"], "email")
    expected = f"<shequ-delivery-{delivery.pk}@shequ.example>"
    assert first.message["Message-ID"] == again.message["Message-ID"] == expected
    assert delivery.provider_ref == expected


# Reading, acknowledging, roll-calls ----------------------------------------------------------------


@pytest.mark.django_db
def test_read_and_acknowledge(people: dict[str, User]) -> None:
    ACKS.clear()
    alice, dan = people["alice"], people["dan"]
    [plain] = send(people, "alice", channels=())
    [notice] = send(people, "alice", channels=(), requires_ack=True, topic="drill", topic_ref="7")

    messaging.mark_read(user=alice, message=plain)
    first_read = plain.read_at
    assert first_read is not None
    messaging.mark_read(user=alice, message=plain)
    assert plain.read_at == first_read  # reading again keeps the first time

    with pytest.raises(ValidationError):
        messaging.acknowledge(user=alice, message=plain)  # it did not ask for one
    with pytest.raises(PermissionDenied):
        messaging.acknowledge(user=dan, message=notice)
    with pytest.raises(PermissionDenied):
        messaging.mark_read(user=dan, message=notice)
    notice.refresh_from_db()
    assert notice.read_at is None and notice.acknowledged_at is None

    messaging.acknowledge(user=alice, message=notice)
    assert notice.acknowledged_at is not None and notice.read_at == notice.acknowledged_at
    messaging.acknowledge(user=alice, message=notice)  # idempotent: one event only
    emitted = OutboxTask.objects.filter(event_type=MessageAcknowledged.name)
    assert emitted.values("event_id").distinct().count() == 1  # (each app's handler has its task)
    outbox.run_pending()
    assert [(e.message_id, e.recipient_id, e.topic, e.topic_ref) for e in ACKS] == [
        (notice.pk, alice.pk, "drill", "7")
    ]


@pytest.mark.django_db
def test_inbox_reads_are_selectors_own_messages_unread_first(people: dict[str, User]) -> None:
    """The inbox is read through ``core.selectors`` (one way for pages, API and home badges)."""
    alice, dan = people["alice"], people["dan"]
    [older] = send(people, "alice", channels=(), subject="first")
    [newer] = send(people, "alice", channels=(), subject="second")
    send(people, "dan", channels=(), subject="not Alice's")
    messaging.mark_read(user=alice, message=newer)

    assert [m.pk for m in selectors.message_list(viewer=alice)] == [older.pk, newer.pk]
    assert [m.pk for m in selectors.message_list(viewer=alice, state="unread")] == [older.pk]
    assert [m.pk for m in selectors.message_list(viewer=alice, state="read")] == [newer.pk]
    assert selectors.message_get_for(alice, older.pk) == older
    with pytest.raises(Http404):
        selectors.message_get_for(dan, older.pk)
    assert not hasattr(messaging, "message_list")  # reads live in selectors only


@pytest.mark.django_db
def test_roll_call_reports_delivered_read_and_acknowledged(people: dict[str, User], sms: SmsGateway) -> None:
    send(people, "alice", "bob", "dan", channels=("sms",), requires_ack=True, topic="flood", topic_ref="42")
    send(people, "alice", channels=(), topic="flood", topic_ref="other")  # another roll-call
    sms.fail_next(1)  # alice's SMS (first in the queue) fails once and stays queued
    outbox.run_pending()
    dan_msg = Message.objects.get(recipient=people["dan"], topic_ref="42")
    messaging.acknowledge(user=people["dan"], message=dan_msg)
    bob_msg = Message.objects.get(recipient=people["bob"], topic_ref="42")
    messaging.mark_read(user=people["bob"], message=bob_msg)

    call = messaging.roll_call(topic="flood", topic_ref="42")
    rows = {e.recipient_name: (e.channels, e.delivered, e.read, e.acknowledged) for e in call.entries}
    assert rows == {
        "Alice": ({"inbox": "sent", "sms": "queued"}, False, False, False),
        "Bob": ({"inbox": "sent", "sms": "skipped"}, False, True, False),
        "Dan": ({"inbox": "sent", "sms": "sent"}, True, True, True),
    }
    assert (call.total, call.delivered, call.read, call.acknowledged) == (3, 1, 2, 1)

    make_due()
    outbox.run_pending()  # alice's retry goes through
    assert messaging.roll_call(topic="flood", topic_ref="42").delivered == 2
    inbox_only = messaging.roll_call(topic="flood", topic_ref="other")
    assert [e.delivered for e in inbox_only.entries] == [True]


# Notices from staff --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_notice_reaches_the_region_subtree_and_is_audited(world: World) -> None:
    head = world["head_a"]
    messages = messaging.notice_send(
        actor=head, region_code="430104002001", subject="Fire drill", body="Friday 15:00", requires_ack=True
    )
    assert sorted(m.recipient.username for m in messages if m.recipient) == [
        "grid_a",
        "grid_b",
        "resident",
        "worker_a",
    ]
    assert {(m.topic, m.region_code, m.requires_ack, m.sender_id) for m in messages} == {
        (messaging.NOTICE_TOPIC, "430104002001", True, head.pk)
    }
    topic_ref = messages[0].topic_ref
    assert messaging.roll_call(topic=messaging.NOTICE_TOPIC, topic_ref=topic_ref).total == 4
    # A roll-call seen by someone: the sender sees it; a head of the sibling community does not.
    assert messaging.roll_call(topic=messaging.NOTICE_TOPIC, topic_ref=topic_ref, viewer=head).total == 4
    assert (
        messaging.roll_call(topic=messaging.NOTICE_TOPIC, topic_ref=topic_ref, viewer=world["head_b"]).total
        == 0
    )
    entry = AuditEntry.objects.filter(action="notice.send").first()
    assert entry is not None
    assert (entry.actor_id, entry.region_code, entry.object_id, entry.result) == (
        head.pk,
        "430104002001",
        topic_ref,
        AuditResult.SUCCESS,
    )
    assert entry.detail == {"recipients": 4, "channels": ["inbox"], "requires_ack": True}


DENIED = [
    ("grid_a", "430104002001001"),
    ("head_a", "430104002003"),
    ("head_a", "430104002"),
    ("outsider", "430104002001"),
    ("auditor", "43"),
]


@pytest.mark.django_db
def test_notice_outside_the_senders_scope_is_refused_and_audited(world: World) -> None:
    for persona, region in DENIED:
        with pytest.raises(PermissionDenied):
            messaging.notice_send(actor=world[persona], region_code=region, subject="Hello", body="")
    assert not Message.objects.exists()
    denied = AuditEntry.objects.filter(action="notice.send").order_by("id")
    assert [(e.actor_id, e.result, e.region_code) for e in denied] == [
        (world[persona].pk, AuditResult.DENIED, region) for persona, region in DENIED
    ]


@pytest.mark.django_db
def test_notice_with_bad_input_changes_nothing(world: World) -> None:
    head = world["head_a"]
    with pytest.raises(ValidationError):
        messaging.notice_send(actor=head, region_code="430104002001", subject="", body="x")
    with pytest.raises(ValidationError):
        messaging.notice_send(
            actor=head, region_code="430104002001", subject="Hi", body="", channels=("fax",)
        )
    with pytest.raises(ValidationError):
        messaging.notice_send(
            actor=head, region_code="430104002001999", subject="Hi", body=""
        )  # no such grid
    assert not Message.objects.exists()
    assert not AuditEntry.objects.filter(action="notice.send").exists()


@pytest.mark.django_db
def test_can_notify_needs_a_covering_region_for_every_recipient(world: World) -> None:
    assert messaging.can_notify(world["head_a"], [world["grid_a"], world["resident"]])
    assert not messaging.can_notify(world["head_a"], [world["grid_a"], world["head_b"]])
    assert messaging.can_notify(world["street"], [world["grid_a"], world["head_b"]])
    assert not messaging.can_notify(world["grid_a"], [world["resident"]])
    assert not messaging.can_notify(world["street"], [world["nobody"]])  # no membership anywhere


# One message per (recipient, dedupe key) -------------------------------------------------------


@pytest.mark.django_db
def test_notify_with_a_dedupe_key_sends_each_person_one_message(world: World) -> None:
    mei, resident = world["dept"], world["resident"]
    first = messaging.notify(
        sender=None,
        recipients=[mei],
        subject="New",
        body="b",
        dedupe_key="event-1",
        thread_key="grid.ticket:1",
    )
    again = messaging.notify(
        sender=None, recipients=[mei, resident], subject="New", body="b", dedupe_key="event-1"
    )
    assert len(first) == 1 and [m.recipient_id for m in again] == [resident.pk]
    assert Message.objects.filter(dedupe_key="event-1").count() == 2
    assert Delivery.objects.filter(message__dedupe_key="event-1").count() == 2
    # Without a key nothing is deduplicated (staff notices may repeat on purpose).
    messaging.notify(sender=None, recipients=[mei], subject="Hello", body="")
    messaging.notify(sender=None, recipients=[mei], subject="Hello", body="")
    assert Message.objects.filter(recipient=mei, subject="Hello").count() == 2


@pytest.mark.django_db
def test_the_database_refuses_a_second_message_for_the_same_event_and_person(world: World) -> None:
    """Two workers racing past the check: the unique constraint stops the second insert."""
    from django.db import IntegrityError

    messaging.notify(sender=None, recipients=[world["dept"]], subject="New", body="", dedupe_key="e")
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(recipient=world["dept"], subject="New", dedupe_key="e")


@pytest.mark.django_db
def test_handlers_see_their_event_id() -> None:
    seen: list[str] = []
    spec = outbox.HandlerSpec("test.seen", lambda event: seen.append(outbox.current_event_id()))
    outbox._HANDLERS.setdefault(DeliveryQueued.name, {})["test.seen"] = spec
    try:
        with transaction.atomic():
            outbox.emit(DeliveryQueued(delivery_id=0, channel="email"))
        task = OutboxTask.objects.get(handler="test.seen")
        outbox.run_pending()
    finally:
        del outbox._HANDLERS[DeliveryQueued.name]["test.seen"]
    assert seen == [str(task.event_id)] and outbox.current_event_id() == ""
