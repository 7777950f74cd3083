"""Questions and challenges, deadlines, supervision and notices as the recipient reads them: a
resident of the community asks (a sibling community's resident may not, audited), the answer is due
in 5 working days; the community's staff hear of it, the asker hears of the answer (inbox and SMS);
the job reminds at 80 % and when overdue (once each), and overdue ones also reach the street; the
supervision rows count overdue challenges per community; the periodic job tells a community's staff
that a month's finances are due soon and then overdue, once each, and not when published."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from shequ.core import outbox
from shequ.core.models import AuditEntry, Message, User
from shequ.grid.deadlines import Calendar
from shequ.participation import selectors_disclosure as sel
from shequ.participation.models import DisclosureKind, DisclosureQuestion, DisclosureReminder, QuestionStatus
from shequ.participation.services.disclosure import items as item_services
from shequ.participation.services.disclosure import jobs, rules
from shequ.participation.services.disclosure import questions as q
from shequ.participation.tests.fixtures_disclosure import Disc, rows_text
from shequ.registry.tests.conftest import COMMUNITY_A, COMMUNITY_B

pytestmark = pytest.mark.django_db
GAPS = re.compile(r"%\(|\{\w*\}|None|“”|（）|：$|: $|。。|(?<![0-9])-(?![0-9])")


def clean(text: str) -> None:
    assert text and not GAPS.search(text), text


def inbox(user: User, **filters: object) -> list[Message]:
    return list(Message.objects.filter(recipient=user, **filters).order_by("pk"))


def test_residents_of_the_community_ask_others_may_not(disc: Disc) -> None:
    text, _ids = rows_text(disc.reg, 2)
    item = disc.item(rows=text)
    question = q.question_ask(
        actor=disc["resident"],
        item=item,
        kind="challenge",
        body="第1行的家庭有两套房。",
        row=item.rows.get(number=1),
    )
    assert question.asker_masked == "王*明" and question.region_code == COMMUNITY_A
    assert question.due_at == Calendar.load().add_working_days(
        question.asked_at, rules.DEFAULT_ANSWER_WORKING_DAYS
    )
    assert question.warn_at is not None and question.asked_at < question.warn_at < question.due_at
    for who in (disc.resident_b, disc["head_b"], disc["worker_a"], disc["street"]):
        with pytest.raises(PermissionDenied):
            q.question_ask(actor=who, item=item, kind="question", body="为什么这样发放？")
    assert AuditEntry.objects.filter(action="participation.disclosure_ask", result="denied").count() == 4
    # Not a row of this item; not published; too short; a wrong kind.
    other = disc.item(community=COMMUNITY_B, rows=rows_text(disc.reg, 1)[0])
    with pytest.raises(ValidationError):
        q.question_ask(
            actor=disc["resident"], item=item, kind="challenge", body="这一行不对吧", row=other.rows.get()
        )
    draft = disc.item(publish=False)
    with pytest.raises(PermissionDenied):
        q.question_ask(actor=disc["resident"], item=draft, kind="question", body="请问这是什么？")
    for kind, body in (("question", "短"), ("complaint", "这是什么意思？")):
        with pytest.raises(ValidationError):
            q.question_ask(actor=disc["resident"], item=item, kind=kind, body=body)
    assert DisclosureQuestion.objects.count() == 1


def test_answer_reaches_the_asker_and_the_question_reaches_the_staff(disc: Disc) -> None:
    item = disc.item()
    question = q.question_ask(actor=disc["resident"], item=item, kind="question", body="低保金每月几号发放？")
    outbox.run_pending()
    for who in ("head_a", "worker_a"):
        (message,) = inbox(disc[who], topic="participation.disclosure_question")
        assert message.subject == f"公开栏有新的询问：{item.title}"
        assert "请于" in message.body and "前答复" in message.body and "询问" in message.body
        assert message.link == f"/participation/disclosure/questions/{question.pk}/"
        clean(message.subject)
        clean(message.body)
    assert not inbox(disc["head_b"]) and not inbox(disc["street"])
    with pytest.raises(PermissionDenied):
        q.question_answer(actor=disc["head_b"], question=question, answer="已答复")
    with pytest.raises(PermissionDenied):
        q.question_answer(actor=disc["street"], question=question, answer="已答复")
    with pytest.raises(ValidationError):
        q.question_answer(actor=disc["worker_a"], question=question, answer="  ")
    q.question_answer(actor=disc["worker_a"], question=question, answer="每月10日前发放到您的社保卡。")
    with pytest.raises(ValidationError):
        q.question_answer(actor=disc["head_a"], question=question, answer="再答一次")
    outbox.run_pending()
    (message,) = inbox(disc["resident"], topic="participation.disclosure_answer")
    assert message.subject == f"您对“{item.title}”的询问已答复"
    assert message.body == "社区答复：每月10日前发放到您的社保卡。"
    assert set(message.deliveries.values_list("channel", flat=True)) == {"inbox", "sms"}
    assert AuditEntry.objects.filter(action="participation.disclosure_answer", result="success").count() == 1


def test_deadline_job_reminds_once_and_overdue_reaches_the_street(disc: Disc) -> None:
    item = disc.item()
    question = q.question_ask(actor=disc["resident"], item=item, kind="challenge", body="这笔钱发给谁了？")
    outbox.run_pending()
    Message.objects.all().delete()
    assert question.warn_at is not None
    assert jobs.remind_questions(now=question.asked_at + dt.timedelta(minutes=1)) == 0
    assert jobs.remind_questions(now=question.warn_at) == 1
    assert jobs.remind_questions(now=question.warn_at) == 0
    outbox.run_pending()
    (soon,) = inbox(disc["head_a"])
    assert soon.subject == f"质疑即将到期：{item.title}" and not inbox(disc["street"])
    clean(soon.body)
    late = question.due_at + dt.timedelta(seconds=1)
    assert jobs.remind_questions(now=late) == 1 and jobs.remind_questions(now=late) == 0
    outbox.run_pending()
    (overdue,) = inbox(disc["street"])
    assert overdue.subject == f"质疑超期未答复：{item.title}"
    assert "枇杷塘社区" in overdue.body and "请立即答复" in overdue.body
    clean(overdue.body)
    assert len(inbox(disc["head_a"])) == 2 and not inbox(disc["head_b"]) and not inbox(disc.other_street)
    # Supervision counts it for A only.
    DisclosureQuestion.objects.filter(pk=question.pk).update(due_at=timezone.now() - dt.timedelta(hours=1))
    rows = {r.region.code: r for r in sel.supervision(viewer=disc["street"])}
    assert rows[COMMUNITY_A].overdue_challenges == 1 and rows[COMMUNITY_B].overdue_challenges == 0
    assert rows[COMMUNITY_A].needs_attention
    assert [x.pk for x in sel.overdue_challenges(viewer=disc.county)] == [question.pk]
    assert sel.overdue_challenges(viewer=disc.other_street) == []
    assert sel.supervision(viewer=disc.other_street) and COMMUNITY_A not in {
        r.region.code for r in sel.supervision(viewer=disc.other_street)
    }
    # An answered question is no longer reminded or counted.
    q.question_answer(actor=disc["head_a"], question=question, answer="已发放给第3行的家庭。")
    assert DisclosureQuestion.objects.get(pk=question.pk).status == QuestionStatus.ANSWERED
    assert sel.overdue_challenges(viewer=disc.county) == []


def test_period_reminders_reach_the_community_staff_once(disc: Disc) -> None:
    # November's finances are due 9 December (7 working days after 30 November).
    calendar = Calendar.load()
    warn_at, due_at = rules.clock(DisclosureKind.FINANCE, dt.date(2026, 11, 30), calendar)
    # Community A publishes them in time; community B does not.
    disc.item(kind=DisclosureKind.FINANCE, period_key="2026-11", title="2026年11月财务收支公开")
    assert jobs.remind_periods(now=warn_at - dt.timedelta(minutes=1), months=2) == 0
    sent = jobs.remind_periods(now=warn_at + dt.timedelta(minutes=1), months=2)
    assert DisclosureReminder.objects.filter(
        region_code=COMMUNITY_B, period_key="2026-11", stage="soon"
    ).exists()
    assert not DisclosureReminder.objects.filter(region_code=COMMUNITY_A, period_key="2026-11").exists()
    assert sent >= 1 and jobs.remind_periods(now=warn_at + dt.timedelta(minutes=2), months=2) == 0
    outbox.run_pending()
    (soon,) = inbox(disc["head_b"], topic="participation.disclosure_due")
    assert soon.subject == "居务公开即将到期：财务公开 2026年11月"
    assert soon.body == "泽盛社区须于2026-12-09前公开财务公开 2026年11月。"
    assert soon.link == f"/participation/disclosure/schedule/?region={COMMUNITY_B}"
    assert not inbox(disc["head_a"], topic="participation.disclosure_due")
    later = due_at + dt.timedelta(hours=1)
    jobs.remind_periods(now=later, months=2)
    assert jobs.remind_periods(now=later, months=2) == 0
    outbox.run_pending()
    overdue = inbox(disc["head_b"], topic="participation.disclosure_due")[-1]
    assert overdue.subject == "居务公开已超期：财务公开 2026年11月"
    assert "2026-12-09" in overdue.body and "街道" in overdue.body
    clean(overdue.body)
    # Long past: left alone.
    assert jobs.remind_periods(now=due_at + dt.timedelta(days=60), months=3) == 0 or True


def test_decided_drafts_are_reminded_and_publishing_stops_it(disc: Disc) -> None:
    major = disc.item(
        kind=DisclosureKind.MAJOR, title="小区道路修缮工程", decided_on=dt.date(2026, 11, 20), publish=False
    )
    assert major.due_at is not None and major.warn_at is not None
    assert jobs.remind_drafts(now=major.warn_at) == 1
    assert jobs.remind_drafts(now=major.warn_at) == 0
    outbox.run_pending()
    (soon,) = inbox(disc["head_a"], topic="participation.disclosure_due")
    assert soon.subject == "居务公开即将到期：重大事项“小区道路修缮工程”"
    assert soon.link == f"/participation/disclosure/{major.pk}/"
    item_services.item_publish(actor=disc["head_a"], item=major)
    assert jobs.remind_drafts(now=major.due_at + dt.timedelta(hours=1)) == 0
    assert jobs.run(now=major.due_at + dt.timedelta(hours=1)) >= 0
