"""Webhook deliveries through the outbox to a real local HTTP receiver: signed, retried until the
receiver takes them, exactly once, dead after the last attempt and redelivered by hand; only the
subscription's regions, only while the grant is in force, only the granted fields (masked unless
unmasked); every delivery in the access log."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from shequ.core import outbox
from shequ.core.models import AuditEntry, OutboxStatus, OutboxTask
from shequ.registry import services as registry
from shequ.sharing.models import DeliveryState, SharedRegion, SharedSubject, SharingCall, WebhookDelivery
from shequ.sharing.services import subscriptions
from shequ.sharing.services.access import grant_revoke
from shequ.sharing.tests.reqsub_world import (  # noqa: F401 (fixtures)
    COMMUNITY_A,
    Receiver,
    Sharing,
    receiver_fixture,
    run_due,
    sharing_fixture,
)

pytestmark = pytest.mark.django_db


def subscribe(s: Sharing, receiver: Receiver, fields: list[str] | None = None, **extra: Any) -> Any:
    grant = s.grant(fields or ["name", "phone", "sex", "region_code"], **extra)
    sub, secret = subscriptions.subscription_create(
        actor=s["secadmin"],
        grant=grant,
        events=["registry.person_moved_out", "registry.person_died"],
        region_codes=[COMMUNITY_A],
        url=receiver.url,
    )
    receiver.secret = secret
    return grant, sub


def move_out(s: Sharing, key: str = "a") -> None:
    registry.person_move_out(actor=None, person=s.people[key], destination="广州", reason="工作调动")


def test_a_receiver_failing_twice_gets_exactly_one_signed_delivery(
    sharing: Sharing, receiver: Receiver
) -> None:
    grant, sub = subscribe(sharing, receiver, unmasked=["phone"])
    receiver.statuses = [500, 503]
    move_out(sharing)
    run_due()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_error) == (DeliveryState.DELIVERED, 3, "")
    assert receiver.calls == 3 and receiver.bad_signatures == 0
    [(headers, body)] = receiver.accepted
    assert headers["X-Shequ-Delivery"] == str(delivery.pk)
    assert body["event"] == "registry.person_moved_out" and body["resource"] == "people"
    assert body["region"].startswith(COMMUNITY_A) and body["occurred_at"]
    # Only the granted fields; the name masked, the phone in clear (unmasked), no ID number.
    assert set(body["data"]) == {"name", "phone", "sex", "region_code"}
    assert body["data"]["name"] != "张三丰" and body["data"]["name"].startswith("张")
    assert body["data"]["phone"] == "13812340001"
    assert "id_number" not in json.dumps(body) and "430104" + "19800101" not in json.dumps(body)
    # The access log: one call of one row, its community and its person; one audit entry.
    call = SharingCall.objects.get(grant=grant)
    assert (call.rows, call.outcome, call.query["webhook"]) == (1, "ok", delivery.pk)
    assert list(SharedSubject.objects.filter(call=call).values_list("person_id", flat=True)) == [
        sharing.people["a"].pk
    ]
    assert SharedRegion.objects.get(call=call).region_code.startswith(COMMUNITY_A)
    assert AuditEntry.objects.filter(action="sharing.call", object_id=str(call.pk)).count() == 1
    assert sub.pk == body["subscription"]


def test_the_signature_is_hmac_sha256_over_timestamp_and_body(sharing: Sharing, receiver: Receiver) -> None:
    subscribe(sharing, receiver)
    move_out(sharing)
    run_due()
    [(headers, body)] = receiver.accepted
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    expected = hmac.new(
        receiver.secret.encode(), headers["X-Shequ-Timestamp"].encode() + b"." + raw, hashlib.sha256
    ).hexdigest()
    assert headers["X-Shequ-Signature"] == "sha256=" + expected


def test_a_delivered_row_is_never_sent_again(sharing: Sharing, receiver: Receiver) -> None:
    subscribe(sharing, receiver)
    move_out(sharing)
    run_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.DELIVERED and receiver.calls == 1
    # The send handler again (a worker that lost its lease), and the fan-out handler again: nothing.
    assert subscriptions.deliver(delivery.pk) is False
    OutboxTask.objects.update(status=OutboxStatus.PENDING, attempts=0, available_at=timezone.now())
    run_due()
    assert receiver.calls == 1 and WebhookDelivery.objects.count() == 1
    assert SharingCall.objects.count() == 1


def test_an_always_failing_receiver_makes_a_dead_letter_that_can_be_redelivered(
    sharing: Sharing, receiver: Receiver
) -> None:
    subscribe(sharing, receiver)
    receiver.default = 500
    move_out(sharing)
    run_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.DEAD and delivery.attempts == outbox.MAX_ATTEMPTS
    assert delivery.last_error == "HTTP 500" and delivery.dead_at is not None
    assert receiver.accepted == [] and not SharingCall.objects.exists()
    receiver.default = 200  # the department fixed its server
    subscriptions.delivery_redeliver(actor=sharing["secadmin"], delivery=delivery)
    run_due()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == outbox.MAX_ATTEMPTS + 1
    assert len(receiver.accepted) == 1
    assert AuditEntry.objects.filter(action="sharing.delivery_redeliver").count() == 1


def test_a_network_error_is_retried(sharing: Sharing, receiver: Receiver) -> None:
    subscribe(sharing, receiver)
    receiver.server.shutdown()  # nobody listens: connection refused
    receiver.server.server_close()
    move_out(sharing)
    outbox.run_pending()
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1
    assert "URLError" in delivery.last_error or "Connection" in delivery.last_error
    task = OutboxTask.objects.get(event_type="sharing.webhook_due")
    assert task.status == OutboxStatus.PENDING and task.available_at > timezone.now()  # backoff


def test_events_outside_the_subscriptions_regions_are_not_delivered(
    sharing: Sharing, receiver: Receiver
) -> None:
    # The grant covers both communities, the subscription only A; B's resident moves out.
    subscribe(sharing, receiver, region_codes=[COMMUNITY_A, "430104002003"])
    move_out(sharing, "b")
    run_due()
    assert not WebhookDelivery.objects.exists() and receiver.calls == 0


def test_nothing_is_delivered_after_the_grant_is_revoked_or_expired(
    sharing: Sharing, receiver: Receiver
) -> None:
    grant, _sub = subscribe(sharing, receiver)
    grant_revoke(actor=sharing["secadmin"], grant=grant, reason="协议到期")
    move_out(sharing)
    run_due()
    assert not WebhookDelivery.objects.exists() and receiver.calls == 0

    # Expired: a second grant whose end has passed since the subscription was made.
    grant2, _ = subscribe(sharing, receiver)
    type(grant2).objects.filter(pk=grant2.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    registry.person_record_death(actor=None, person=sharing.people["a"], on=timezone.localdate())
    run_due()
    assert not WebhookDelivery.objects.exists() and receiver.calls == 0


def test_a_queued_delivery_is_dropped_when_the_grant_ends_before_it_is_sent(
    sharing: Sharing, receiver: Receiver
) -> None:
    grant, _sub = subscribe(sharing, receiver)
    receiver.statuses = [500]
    move_out(sharing)
    outbox.run_pending()  # fan-out, then a first failed send
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING
    grant_revoke(actor=sharing["secadmin"], grant=grant, reason="协议到期")
    run_due()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DISCARDED and receiver.accepted == []


def test_nothing_flows_once_the_department_or_its_account_is_deactivated(
    sharing: Sharing, receiver: Receiver
) -> None:
    # The API refuses such a grant; the webhooks must too (fan-out and a queued send).
    grant, _sub = subscribe(sharing, receiver)
    receiver.statuses = [500]
    move_out(sharing)
    outbox.run_pending()  # fan-out, then a first failed send
    delivery = WebhookDelivery.objects.get()
    type(grant.client).objects.filter(pk=grant.client_id).update(is_active=False)
    run_due()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DISCARDED and receiver.accepted == []

    type(grant.client).objects.filter(pk=grant.client_id).update(is_active=True)
    type(grant.department).objects.filter(pk=grant.department_id).update(is_active=False)
    registry.person_record_death(actor=None, person=sharing.people["a"], on=timezone.localdate())
    run_due()
    assert WebhookDelivery.objects.count() == 1 and receiver.accepted == []


def test_a_paused_subscription_queues_nothing(sharing: Sharing, receiver: Receiver) -> None:
    _grant, sub = subscribe(sharing, receiver)
    subscriptions.subscription_pause(actor=sharing["secadmin"], subscription=sub)
    move_out(sharing)
    run_due()
    assert not WebhookDelivery.objects.exists()


def test_the_delivery_payload_is_stored_encrypted(sharing: Sharing, receiver: Receiver) -> None:
    subscribe(sharing, receiver, unmasked=["phone"])
    receiver.default = 500
    move_out(sharing)
    outbox.run_pending()
    stored = WebhookDelivery.objects.get().payload
    assert "13812340001" not in stored and "registry.person_moved_out" not in stored


def test_a_closed_ticket_is_delivered_with_the_granted_ticket_fields(
    sharing: Sharing, receiver: Receiver
) -> None:
    from shequ.grid.models import Source
    from shequ.grid.services import ticket_close_on_spot, ticket_submit

    grant = sharing.grant(["title", "status", "contact_name"], resource="tickets")
    sub, secret = subscriptions.subscription_create(
        actor=sharing["secadmin"],
        grant=grant,
        events=["grid.ticket_closed"],
        region_codes=[COMMUNITY_A],
        url=receiver.url,
    )
    receiver.secret = secret
    ticket = ticket_submit(
        actor=None,
        source=Source.HOTLINE,
        region=sharing.world.regions["430104002001001"],
        title="楼道堆放杂物",
        description="3栋2单元楼道堆满纸箱，存在消防隐患。",
        category="security.public_order",
        contact_name="钱多多",
        contact_phone="13700000001",
    )
    run_due()
    assert receiver.calls == 0  # submitted, not closed
    ticket_close_on_spot(actor=sharing["grid_a"], ticket=ticket, result="已当场清理")
    run_due()
    [body] = receiver.bodies()
    assert body["event"] == "grid.ticket_closed" and body["subscription"] == sub.pk
    assert body["data"]["title"] == "楼道堆放杂物" and body["data"]["status"] == "closed"
    assert body["data"]["contact_name"] != "钱多多" and set(body["data"]) == {
        "title",
        "status",
        "contact_name",
    }
