"""SMS that people send to the platform: the gateway's callback (/api/v1/sms/inbound), its token,
bad bodies answered 400 with nothing stored, redeliveries stored once, reply routers, answers going
back by SMS, and messages to contacts without an account."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from django.test import Client

from shequ.core import inbound, messaging, outbox
from shequ.core.inbound import Received, Routed
from shequ.core.models import Delivery, DeliveryStatus, InboundOutcome, InboundSms, Message
from shequ.core.tests.fakes import SmsGateway

URL = "/api/v1/sms/inbound"
TOKEN = "callback-token"


@pytest.fixture
def gateway(settings: Any) -> Any:
    with SmsGateway() as fake:
        settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_TOKEN = fake.url, fake.token
        settings.SMS_CALLBACK_TOKEN = TOKEN
        yield fake


@pytest.fixture
def echo_router() -> Any:
    """A router that claims SMS starting with "echo" (as an app's router would claim its own)."""

    def route(batch: Sequence[Received]) -> dict[int, Routed]:
        return {
            sms.id: Routed(InboundOutcome.ANSWERED, f"got {sms.text[4:].strip()}")
            for sms in batch
            if sms.text.startswith("echo")
        }

    inbound.register_reply_router("test.echo", route)
    yield
    del inbound._ROUTERS["test.echo"]


def post(client: Client, body: Any, token: str = TOKEN) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(URL, data=raw, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


def sms(n: int = 1, phone: str = "+86 139 1234 5678", text: str = "echo hi") -> dict[str, Any]:
    return {"id": f"mo-{n}", "from": phone, "text": text, "received_at": "2026-07-01T08:00:00+08:00"}


@pytest.mark.django_db
def test_the_gateway_delivers_a_batch_and_each_sender_is_answered(
    client: Client, gateway: SmsGateway, echo_router: None
) -> None:
    answer = post(client, {"messages": [sms(1), sms(2, "13700001111", "what?")]})
    assert answer.status_code == 200 and answer.json() == {"received": 2, "answered": 1}
    first, second = InboundSms.objects.order_by("provider_id")
    assert first.phone == "13912345678"  # +86 and spaces taken off, kept sealed
    assert first.phone_index == inbound.phone_index("13912345678")
    assert (first.outcome, first.handled_by, first.reply) == (InboundOutcome.ANSWERED, "test.echo", "got hi")
    assert second.outcome == InboundOutcome.NOTHING_OPEN and "110" in second.reply
    # The answers go back by SMS to the senders' numbers, through the normal delivery path.
    outbox.run_pending()
    sent = {m["to"]: m["text"] for m in gateway.received}
    assert sent["13912345678"].startswith("got hi") and "没有需要回复的通知" in sent["13700001111"]
    message = Message.objects.get(contact_ref=f"core.inbound_sms:{first.pk}")
    assert message.recipient_id is None and message.deliveries.get().status == DeliveryStatus.SENT
    # A redelivery of the same ids stores nothing and answers nobody again.
    again = post(client, {"messages": [sms(1), sms(2, "13700001111", "what?")]})
    assert again.json() == {"received": 0, "answered": 0} and InboundSms.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"not json", "JSON"),
        ({"messages": []}, "messages"),
        ({"messages": "x"}, "messages"),
        ({"messages": [sms(1), "x"]}, "SMS 2"),
        ({"messages": [sms(1), {**sms(2), "from": "12345"}]}, "SMS 2"),
        ({**sms(1), "id": ""}, "'id'"),
        ({**sms(1), "text": "x" * 501}, "'text'"),
        ({**sms(1), "received_at": "yesterday"}, "'received_at'"),
        ({**sms(1), "received_at": "2026-07-01T08:00:00"}, "'received_at'"),
    ],
)
def test_bad_bodies_are_refused_and_store_nothing(
    client: Client, gateway: SmsGateway, body: Any, words: str
) -> None:
    answer = post(client, body)
    assert answer.status_code == 400
    assert answer.json()["code"] in ("bad_sms", "bad_json")
    assert (
        words.replace("SMS 2", "第 2 条短信") in answer.json()["message"] or words in answer.json()["message"]
    )
    assert not InboundSms.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db
def test_the_callback_needs_the_gateways_token(client: Client, gateway: SmsGateway, settings: Any) -> None:
    assert post(client, sms(), token="wrong").status_code == 401
    assert client.post(URL, data=json.dumps(sms()), content_type="application/json").status_code == 401
    settings.SMS_CALLBACK_TOKEN = ""
    assert post(client, sms()).status_code == 401  # replies not taken: no token is right
    assert not InboundSms.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_real_gateway_post_over_http(live_server: Any, gateway: SmsGateway, echo_router: None) -> None:
    status, body = gateway.deliver_replies(f"{live_server.url}{URL}", TOKEN, [("13912345678", "echo 1")])
    assert (status, body) == (200, {"received": 1, "answered": 1})


@pytest.mark.django_db
def test_a_router_that_fails_stores_nothing(client: Client, gateway: SmsGateway) -> None:
    def broken(batch: Sequence[Received]) -> dict[int, Routed]:
        raise RuntimeError("router bug")

    inbound.register_reply_router("test.broken", broken)
    try:
        with pytest.raises(RuntimeError):
            inbound.receive(inbound.clean(sms()))
    finally:
        del inbound._ROUTERS["test.broken"]
    assert not InboundSms.objects.exists()  # the gateway retries; nothing half-written


@pytest.mark.django_db
def test_contacts_are_reached_by_sms_only_with_their_current_number(gateway: SmsGateway) -> None:
    numbers = {"7": "13611112222"}
    messaging.register_contacts("test.people", lambda ids: {i: numbers[i] for i in ids if i in numbers})
    try:
        [message] = messaging.notify(
            sender=None,
            recipients=[],
            contacts=[messaging.Contact(ref="test.people:7", name="王奶奶")],
            subject="停水通知",
            body="明天8点到12点停水。",
            link="/x/{token}/",
            channels=["inbox", "sms"],
        )
        assert [d.channel for d in Delivery.objects.filter(message=message)] == ["sms"]
        numbers["7"] = "13633334444"  # changed since: the number at send time is used
        outbox.run_pending()
        [sent] = gateway.received
        assert sent["to"] == "13633334444" and messaging.message_token(message.pk) in sent["text"]
        roll = messaging.roll_call(topic="", topic_ref="")
        assert roll.total == 1 and roll.entries[0].recipient_name == "王奶奶" and roll.entries[0].delivered
        with pytest.raises(ValueError):
            messaging.notify(
                sender=None,
                recipients=[],
                contacts=[messaging.Contact(ref="nobody.kind:1")],
                subject="x",
                body="",
                channels=["sms"],
            )
        with pytest.raises(ValueError):  # contacts have no inbox
            messaging.notify(
                sender=None,
                recipients=[],
                contacts=[messaging.Contact(ref="test.people:7")],
                subject="x",
                body="",
            )
    finally:
        del messaging._CONTACTS["test.people"]


@pytest.mark.django_db
def test_message_tokens_name_one_message_and_cannot_be_forged() -> None:
    from shequ.core.models import User

    user = User.objects.create(username="u1")
    [message] = messaging.notify(sender=None, recipients=[user], subject="s", body="", link="/a/{token}/")
    token = messaging.message_token(message.pk)
    assert messaging.message_link(message) == f"/a/{token}/"
    assert messaging.message_from_token(token) == message
    other = messaging.message_token(message.pk + 1)
    assert other != token
    for forged in (token[:-2], token.replace(str(message.pk), str(message.pk + 1), 1), "", "abc", "1-", "-x"):
        assert messaging.message_from_token(forged) is None
