"""Who is told what, as the recipient reads it: every notice renders in Chinese with every value
filled; the applicant hears of each step (inbox and SMS to their account, or an SMS with a rating link
when they applied at the counter without one); the counter hears of new online applications, the
department of what is forwarded to it, the unit of its bad ratings, supervisors of feedback to
review; the deadline job reminds at 80 % and when overdue, once each."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone, translation

from shequ.core import messaging, outbox
from shequ.core.models import Message, User
from shequ.core.tests.fakes import SmsGateway
from shequ.govservice import notices
from shequ.govservice.models import Application, Channel, Outcome, Rectification, Status
from shequ.govservice.notices import RATE_TOPIC
from shequ.govservice.services import applications as apps
from shequ.govservice.services import evaluations, jobs
from shequ.govservice.tests.conftest import COMMUNITY_A, Gov
from shequ.govservice.tests.test_applications import online
from shequ.registry import prefill

pytestmark = pytest.mark.django_db
GAPS = re.compile(r"%\(|\{\w*\}|None|“”|（）|：$|: $|。。|(?<![0-9])-(?![0-9])")


def clean(text: str) -> None:
    assert text and not GAPS.search(text), text


def inbox(user: User, **filters: object) -> list[Message]:
    return list(Message.objects.filter(recipient=user, **filters).order_by("pk"))


def closed(gov: Gov) -> Application:
    app = online(gov)
    apps.application_accept(actor=gov["worker_a"], application=app)
    apps.application_forward(actor=gov["worker_a"], application=app, department=gov.civil)
    apps.application_decide(actor=gov.clerk, application=app, outcome=Outcome.APPROVED, note="下月起发放")
    return apps.application_deliver(actor=gov["worker_a"], application=app, delivery="pickup")


def test_every_notice_is_filled(gov: Gov) -> None:
    app = closed(gov)
    evaluation = evaluations.evaluation_submit(
        actor=gov["resident"], application=app, stars=1, reasons=["slow"]
    )
    rect = Rectification.objects.get(evaluation=evaluation)
    rect = evaluations.rectification_feedback(
        actor=gov.clerk,
        rect=rect,
        finding="审核积压",
        measures="增派人手",
        feedback="已督促按时办理，向您致歉。",
    )
    app.refresh_from_db()
    app.missing = ["bank_card"]
    app.outcome_note = "下月起发放。"  # a note ending its own sentence: no "。。" in the notice
    app.due_at = due = timezone.now() + dt.timedelta(days=3)
    with translation.override("zh-hans"):
        rendered = [
            notices.received(app, due),
            notices.accepted(app, due),
            notices.returned(app, "卡号看不清。"),
            notices.forwarded(app, due),
            notices.decided(app),
            notices.closed(app),
            notices.rejected(app),
            notices.new_application(app, due),
            notices.to_department(app, due),
            notices.deadline(app, overdue=False),
            notices.deadline(app, overdue=True),
            notices.feedback(rect),
            *(notices.rectification(rect, a) for a in ("open", "warn", "fed_back", "sent_back", "closed")),
        ]
    for notice in rendered:
        assert all(notice.fields.values()), notice
        clean(notice.subject)
        clean(notice.body)
        assert app.number in notice.subject
        assert gov.elder.id_number not in notice.body and "138" not in notice.body
    assert "本人银行卡或社保卡" in rendered[2].body and "卡号看不清" in rendered[2].body
    assert "岳麓区民政局" in rendered[3].body
    # A step whose deadline a later step cleared says no "-": its own deadline, or none.
    with translation.override("zh-hans"):
        for notice in (
            notices.accepted(app, None),
            notices.forwarded(app, None),
            notices.to_department(app, None),
        ):
            clean(notice.body)
            assert "前" not in notice.body


def test_each_step_reaches_the_right_people(gov: Gov, sms: SmsGateway) -> None:
    app = online(gov)
    outbox.run_pending()
    assert [m.subject for m in inbox(gov["resident"])] == [f"申请已收到：{app.number} 高龄津贴申领"]
    assert inbox(gov["worker_a"], topic="govservice.new") and inbox(gov["head_a"], topic="govservice.new")
    assert not inbox(gov["head_b"]) and not inbox(gov["grid_b"])
    apps.application_accept(actor=gov["worker_a"], application=app)
    apps.application_forward(actor=gov["worker_a"], application=app, department=gov.civil)
    outbox.run_pending()
    assert inbox(gov.clerk, topic="govservice.forwarded")
    assert not inbox(gov["dept"])  # the police station is another department
    apps.application_decide(actor=gov.clerk, application=app, outcome=Outcome.DENIED, note="不符合条件")
    apps.application_deliver(actor=gov["worker_a"], application=app, delivery="pickup")
    outbox.run_pending()
    subjects = [m.subject for m in inbox(gov["resident"])]
    assert len(subjects) == 5 and "不予批准" in subjects[3]
    assert subjects[4].startswith("已办结")
    assert all(m.link == f"/govservice/mine/{app.pk}/" for m in inbox(gov["resident"]))
    texts = [m["text"] for m in sms.received if m["to"] == gov["resident"].phone]
    assert len(texts) == 5 and all(app.number in t for t in texts)
    # Retrying the outbox sends nothing twice.
    outbox.run_pending()
    assert len(inbox(gov["resident"])) == 5


def test_counter_applicant_without_account_gets_sms_with_rating_link(gov: Gov, sms: SmsGateway) -> None:
    app = apps.application_submit(
        actor=gov["worker_a"],
        item=gov.item("residence_certificate"),
        channel=Channel.COUNTER,
        region=gov.world.regions[COMMUNITY_A],
        applicant=apps.Applicant(facts=prefill.facts_of(gov.young)),
        answers={"purpose": "银行开户"},
    )
    apps.application_close_on_receipt(actor=gov["worker_a"], application=app)
    outbox.run_pending()
    rate = Message.objects.get(topic=RATE_TOPIC, topic_ref=str(app.pk))
    assert rate.recipient is None and rate.contact_ref == f"govservice.applicant:{app.pk}"
    link = messaging.message_link(rate)
    assert link.startswith("/govservice/rate/") and "{token}" not in link
    to_young = [m["text"] for m in sms.received if m["to"] == "13833335555"]
    assert len(to_young) == 2 and any("/govservice/rate/" in t for t in to_young)


def test_bad_rating_tells_the_unit_then_supervisors_then_the_applicant(gov: Gov, sms: SmsGateway) -> None:
    app = closed(gov)
    outbox.run_pending()
    evaluation = evaluations.evaluation_submit(
        actor=gov["resident"], application=app, stars=2, reasons=["slow"]
    )
    outbox.run_pending()
    assert inbox(gov.clerk, topic="govservice.rectification")  # the department decided: it answers
    assert not inbox(gov["worker_a"], topic="govservice.rectification")
    rect = Rectification.objects.get(evaluation=evaluation)
    evaluations.rectification_feedback(
        actor=gov.clerk, rect=rect, finding="积压", measures="增派人手", feedback="已整改，向您致歉。"
    )
    outbox.run_pending()
    assert inbox(gov["street"], topic="govservice.rectification") == []  # a county department: county reviews
    feedback = inbox(gov["resident"], topic="govservice.progress")[-1]
    assert "已整改，向您致歉。" in feedback.body


def test_deadline_job_reminds_once_then_when_overdue(gov: Gov) -> None:
    app = online(gov)
    assert app.warn_at is not None and app.due_at is not None
    assert jobs.warn_applications(now=app.warn_at - dt.timedelta(minutes=1)) == 0
    assert jobs.warn_applications(now=app.warn_at + dt.timedelta(minutes=1)) == 1
    assert jobs.warn_applications(now=app.warn_at + dt.timedelta(minutes=2)) == 0
    late = app.due_at + dt.timedelta(minutes=1)
    assert jobs.warn_applications(now=late) == 1
    assert jobs.warn_applications(now=late) == 0
    outbox.run_pending()
    deadline = inbox(gov["worker_a"], topic="govservice.deadline")
    assert len(deadline) == 2 and deadline[1].subject.startswith("已超期")
    assert inbox(gov["street"], topic="govservice.deadline")  # overdue: the street hears of it
    app.refresh_from_db()
    assert app.status == Status.SUBMITTED and app.overdue_at == late


def test_rectification_deadline_reminds(gov: Gov) -> None:
    app = closed(gov)
    evaluation = evaluations.evaluation_submit(
        actor=gov["resident"], application=app, stars=1, comment="态度差"
    )
    rect = Rectification.objects.get(evaluation=evaluation)
    assert rect.warn_at is not None
    assert jobs.warn_rectifications(now=timezone.now()) == 0
    assert jobs.warn_rectifications(now=rect.warn_at + dt.timedelta(minutes=1)) == 1
    assert jobs.warn_rectifications(now=rect.due_at) == 0
