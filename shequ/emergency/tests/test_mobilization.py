"""Call-outs end to end at the service level: who is reached, what is queued, how answers arrive
(page, SMS reply, inbox), re-sending and escalation, closing, and the scope of each step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from shequ.core import inbound, messaging, outbox
from shequ.core.models import AuditEntry, Delivery, DeliveryStatus, InboundOutcome, Message, OutboxTask
from shequ.core.tests.fakes import SmsGateway
from shequ.emergency.models import Answer, Mobilization, MobilizationStep, Recipient, Response, Via
from shequ.emergency.services import answers, mobilization
from shequ.emergency.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_A, Registry
from shequ.grid.models import Source, Ticket, Urgency

pytestmark = pytest.mark.django_db


def call_out(town: Registry, *, response: str = Response.STATUS, **extra: object) -> Mobilization:
    data = {
        "actor": town.world["head_a"],
        "title": "暴雨转移",
        "body": "今晚有特大暴雨，低洼处住户请做好转移准备。",
        "response": response,
        "targets": [{"kind": "residents", "region": COMMUNITY_A}, {"kind": "staff", "region": COMMUNITY_A}],
    }
    data.update(extra)
    return mobilization.mobilization_start(**data)  # type: ignore[arg-type]


def sms_from(phone: str, text: str, n: int = 1) -> list[inbound.Incoming]:
    return [inbound.Incoming(f"mo-{phone}-{n}", phone, text, timezone.now())]


def test_a_call_out_reaches_residents_by_sms_and_staff_in_app(town: Registry) -> None:
    call = call_out(town)
    people = {r.name: r for r in Recipient.objects.filter(mobilization=call)}
    # Residents of the community with a number (孙七 has none), and its staff except the sender.
    assert {"张三", "赵六", "李四"} <= set(people) and "孙七" not in people and "王五" not in people
    assert {"grid_a", "grid_b", "worker_a"} <= set(people) and "head_a" not in people
    assert people["张三"].region_code == GRID_A and people["张三"].place
    assert call.total == len(people)
    # Registry people get one SMS each (no inbox); accounts get the inbox and an SMS.
    contact = Message.objects.get(topic=answers.TOPIC, contact_ref=f"registry.person:{town.people['a'].pk}")
    assert [d.channel for d in contact.deliveries.all()] == ["sms"]
    assert "{token}" in contact.link and "回复1" in contact.body
    # Deliveries are queued in batches: a few outbox tasks, not one per person.
    tasks = OutboxTask.objects.filter(event_type="core.deliveries_queued")
    queued = Delivery.objects.filter(status=DeliveryStatus.QUEUED).count()
    assert tasks.count() == 1 and len(tasks[0].payload["delivery_ids"]) == queued
    # One audit entry for the call-out, with its targets and counts.
    entry = AuditEntry.objects.get(action="emergency.mobilize")
    assert entry.detail["recipients"] == len(people) and entry.detail["targets"][0]["kind"] == "residents"


def test_the_sms_carries_a_link_that_opens_the_persons_own_answer(town: Registry, sms: SmsGateway) -> None:
    call = call_out(town)
    outbox.run_pending()
    texts = {m["to"]: m["text"] for m in sms.received}
    text = texts["13811112222"]
    assert text.startswith("【应急动员】暴雨转移") and "/emergency/answer/" in text
    message = Message.objects.get(topic=answers.TOPIC, contact_ref=f"registry.person:{town.people['a'].pk}")
    assert messaging.message_token(message.pk) in text
    found = messaging.message_from_token(messaging.message_token(message.pk))
    assert found == message
    assert messaging.message_from_token(messaging.message_token(message.pk)[:-1] + "x") is None
    recipient = answers.recipient_for_message(message)
    assert recipient is not None and recipient.person_id == town.people["a"].pk
    answers.answer_on_page(recipient=recipient, answer=Answer.HELP, location="5栋楼顶")
    recipient.refresh_from_db()
    assert (recipient.answer, recipient.via, recipient.location) == (Answer.HELP, Via.PAGE, "5栋楼顶")
    message.refresh_from_db()
    assert message.acknowledged_at is not None
    # The person's own act, in the audit log under their registry reference.
    act = AuditEntry.objects.get(action="emergency.answer")
    assert act.actor_name == f"registry.person:{town.people['a'].pk}" and act.detail["answer"] == "help"
    # "Need help" becomes an urgent ticket of the person's grid.
    outbox.run_pending()
    ticket = Ticket.objects.get(source=Source.EMERGENCY)
    assert ticket.urgency == Urgency.URGENT and ticket.region_code == GRID_A and "张三" in ticket.title
    recipient.refresh_from_db()
    assert recipient.ticket_ref == str(ticket.pk)
    assert call.entries.filter(step=MobilizationStep.HELP).exists()


def test_sms_replies_answer_and_bad_ones_change_nothing(town: Registry, sms: SmsGateway) -> None:
    call = call_out(town)
    rows = inbound.receive(sms_from("13811112222", "１ 在亲戚家"))  # full-width digit
    assert rows[0].outcome == InboundOutcome.ANSWERED and rows[0].handled_by == "emergency"
    zhang = Recipient.objects.get(mobilization=call, person_id=town.people["a"].pk)
    assert (zhang.answer, zhang.via, zhang.location) == (Answer.SAFE, Via.SMS, "在亲戚家")
    # A reply that is no keyword: nothing recorded, the keywords are explained.
    rows = inbound.receive(sms_from("13811113333", "好的知道了"))
    assert rows[0].outcome == InboundOutcome.MALFORMED and "回复1" in rows[0].reply
    assert Recipient.objects.get(mobilization=call, person_id=town.people["a2"].pk).answer == Answer.PENDING
    # A place with a control character is refused whole, not half-recorded.
    rows = inbound.receive(sms_from("13811113333", "2 楼\x07上", 3))
    assert rows[0].outcome == InboundOutcome.MALFORMED
    assert Recipient.objects.get(mobilization=call, person_id=town.people["a2"].pk).answer == Answer.PENDING
    # "收到" does not answer a call-out asking safe-or-help.
    rows = inbound.receive(sms_from("13811113333", "收到", 2))
    assert rows[0].outcome == InboundOutcome.MALFORMED
    # An unknown number: told there is nothing to answer, once in a while.
    first = inbound.receive(sms_from("13900000000", "1"))
    again = inbound.receive(sms_from("13900000000", "1", 2))
    assert first[0].outcome == InboundOutcome.NOTHING_OPEN and first[0].reply and not again[0].reply
    # The gateway's redelivery of one SMS is stored once.
    assert inbound.receive(sms_from("13811112222", "1 在亲戚家")) == []
    # Every answer goes back by SMS to the sender.
    outbox.run_pending()
    replies = [m for m in sms.received if m["to"] in ("13811112222", "13811113333", "13900000000")]
    assert any("已记录" in m["text"] for m in replies if m["to"] == "13811112222")
    assert sum(m["to"] == "13900000000" for m in replies) == 1


def test_silent_people_are_sent_again_then_passed_to_their_grid_worker(town: Registry) -> None:
    call = call_out(
        town,
        resend_after_minutes=5,
        escalate_after_minutes=15,
        targets=[{"kind": "residents", "region": COMMUNITY_A}, {"kind": "staff", "region": GRID_A}],
    )
    inbound.receive(sms_from("13811112222", "1"))
    later = timezone.now() + timedelta(minutes=6)
    assert mobilization.resend_due(call, now=later) == call.total - 1
    assert mobilization.resend_due(call, now=later) == 0  # once per round
    zhao = Recipient.objects.get(mobilization=call, person_id=town.people["a2"].pk)
    assert zhao.sends == 2
    # The re-sent message is a second message; answering it answers the person.
    assert (
        Message.objects.filter(topic=answers.TOPIC, contact_ref=f"registry.person:{zhao.person_id}").count()
        == 2
    )
    escalated = mobilization.escalate_due(call, now=timezone.now() + timedelta(minutes=16))
    assert escalated == call.total - 1
    # grid_a was called out too and is silent: grid A's names go to the community's staff instead.
    assert not Message.objects.filter(topic="emergency.escalation", recipient=town.world["grid_a"]).exists()
    told = Message.objects.filter(
        topic="emergency.escalation", recipient=town.world["worker_a"], region_code=GRID_A
    ).get()
    assert "赵六" in told.body and "张三" not in told.body and "未应答" in told.subject
    # grid B's silent resident goes to grid B's worker.
    told_b = Message.objects.get(topic="emergency.escalation", recipient=town.world["grid_b"])
    assert "李四" in told_b.body
    assert mobilization.escalate_due(call, now=timezone.now() + timedelta(minutes=30)) == 0


def test_the_inbox_button_acknowledges_an_ack_call_out(town: Registry) -> None:
    call = call_out(town, response=Response.ACK, targets=[{"kind": "staff", "region": COMMUNITY_A}])
    message = Message.objects.get(topic=answers.TOPIC, recipient=town.world["grid_a"])
    messaging.acknowledge(user=town.world["grid_a"], message=message)
    outbox.run_pending()
    grid_a = Recipient.objects.get(mobilization=call, user=town.world["grid_a"])
    assert (grid_a.answer, grid_a.via) == (Answer.ACK, Via.INBOX)


def test_a_community_head_cannot_call_out_another_community(town: Registry) -> None:
    with pytest.raises(PermissionDenied):
        call_out(town, targets=[{"kind": "residents", "region": COMMUNITY_B}])
    assert not Mobilization.objects.exists() and not Message.objects.exists()
    assert AuditEntry.objects.filter(action="emergency.mobilize", result="denied").exists()
    with pytest.raises(PermissionDenied):
        call_out(town, actor=town.world["grid_a"])  # grid workers do not mobilize


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("title", {"title": " "}),
        ("body", {"body": "x" * 401}),
        ("response", {"response": "maybe"}),
        ("targets", {"targets": []}),
        ("targets", {"targets": [{"kind": "everyone", "region": COMMUNITY_A}]}),
        ("targets", {"targets": [{"kind": "residents", "region": "4301049"}]}),
        ("resend_after_minutes", {"resend_after_minutes": 0}),
    ],
)
def test_bad_call_outs_are_refused_and_send_nothing(
    town: Registry, field: str, change: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError) as caught:
        call_out(town, **change)
    assert field in caught.value.message_dict
    assert not Mobilization.objects.exists() and not Message.objects.exists()


def test_closed_call_outs_take_no_answers(town: Registry) -> None:
    call = call_out(town)
    mobilization.mobilization_close(actor=town.world["head_a"], mobilization=call)
    recipient = Recipient.objects.filter(mobilization=call, person_id__isnull=False).first()
    assert recipient is not None
    with pytest.raises(ValidationError):
        answers.answer_on_page(recipient=recipient, answer=Answer.SAFE)
    rows = inbound.receive(sms_from("13811112222", "1"))
    assert rows[0].outcome == InboundOutcome.NOTHING_OPEN


def test_the_roll_call_counts_per_grid_and_names_the_silent(town: Registry) -> None:
    from shequ.emergency import selectors

    call = call_out(town)
    inbound.receive(sms_from("13811112222", "2 楼下进水"))
    view = selectors.roll_call(mobilization=call, viewer=town.world["head_a"])
    assert view.total == call.total and view.answered == 1
    grid_a = next(g for g in view.grids if g.region_code == GRID_A)
    assert grid_a.help == 1 and "赵六" in [r.name for r in grid_a.pending_names]
    assert [r.name for r in view.help_needed] == ["张三"]
    # A grid worker sees the people of their own grid only.
    mine = selectors.roll_call(mobilization=call, viewer=town.world["grid_b"])
    assert {g.region_code for g in mine.grids} <= {"430104002001002"}
