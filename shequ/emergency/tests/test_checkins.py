"""Daily check-ins (epidemic mode): a campaign sends one round a day at its time (never two), the
previous day's round closes and its silent or unwell people become one task per grid; scope and
bad input at the service and on the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from shequ.core import inbound, outbox
from shequ.core.models import AuditEntry, Message
from shequ.emergency.models import (
    Answer,
    CheckInCampaign,
    Mobilization,
    MobilizationKind,
    MobilizationStatus,
    Recipient,
    Response,
)
from shequ.emergency.services import checkins
from shequ.emergency.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_A, Registry
from shequ.grid.models import Source, Ticket

pytestmark = pytest.mark.django_db

COVERED = {"emergency:checkins", "emergency:checkin_new", "emergency:checkin", "emergency:checkin_stop"}


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A local time of ``day``."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def start(town: Registry, **extra: Any) -> CheckInCampaign:
    today = timezone.localdate()
    data: dict[str, Any] = {
        "actor": town.world["head_a"],
        "title": "每日健康打卡",
        "question": "今天您和家人身体是否正常？有发热、咳嗽请回复2。",
        "targets": [{"kind": "residents", "region": COMMUNITY_A}],
        "starts_on": today,
        "ends_on": today + dt.timedelta(days=6),
        "send_at": "08:00",
    }
    data.update(extra)
    return checkins.campaign_start(**data)


def sms(phone: str, text: str, n: int) -> list[inbound.Incoming]:
    return [inbound.Incoming(f"mo-checkin-{phone}-{n}", phone, text, timezone.now())]


def test_one_round_a_day_at_its_time_and_the_silent_become_grid_tasks(town: Registry) -> None:
    campaign = start(town)
    entry = AuditEntry.objects.get(action="emergency.campaign_start")
    assert (
        entry.object_id == str(campaign.pk) and entry.detail["people"] == 3
    )  # 张三, 赵六, 李四 (孙七: no number)
    assert campaign.region_code == COMMUNITY_A and campaign.send_at == dt.time(8, 0)
    today = timezone.localdate()
    # Before its time: nothing; at its time: one round; run again: still one.
    assert checkins.rounds_due(now=at(today, 7, 59)) == {"closed": 0, "sent": 0}
    assert checkins.rounds_due(now=at(today, 8, 1)) == {"closed": 0, "sent": 1}
    assert checkins.rounds_due(now=at(today, 8, 6)) == {"closed": 0, "sent": 0}
    first = Mobilization.objects.get(campaign=campaign)
    assert (first.kind, first.response, first.round_date) == (
        MobilizationKind.CHECKIN,
        Response.CHECKIN,
        today,
    )
    assert first.total == 3 and first.body == campaign.question
    text = Message.objects.filter(topic="emergency.mobilization", topic_ref=str(first.pk)).first()
    assert text is not None and text.subject.startswith("【报平安】")
    # 张三 answers "something wrong" by SMS; 赵六 (grid A) and 李四 (grid B) stay silent.
    inbound.receive(sms("13811112222", "2 发烧38度", 1))
    zhang = Recipient.objects.get(mobilization=first, person_id=town.people["a"].pk)
    assert zhang.answer == Answer.ABNORMAL
    # The next morning: yesterday's round closes (one task per grid: grid A has one missing and
    # one unwell, grid B one missing), today's round goes out.
    assert checkins.rounds_due(now=at(today + dt.timedelta(days=1), 8, 2)) == {"closed": 1, "sent": 1}
    first.refresh_from_db()
    assert first.status == MobilizationStatus.CLOSED
    assert Mobilization.objects.filter(campaign=campaign).count() == 2
    outbox.run_pending()
    task = Ticket.objects.get(source=Source.EMERGENCY, external_ref=f"checkin-{first.pk}-{GRID_A}")
    assert task.region_code == GRID_A and "每日健康打卡" in task.title
    assert Ticket.objects.filter(source=Source.EMERGENCY).count() == 2


def test_a_stopped_or_finished_campaign_sends_nothing(town: Registry) -> None:
    today = timezone.localdate()
    campaign = start(town, ends_on=today)
    checkins.rounds_due(now=at(today, 9))
    assert checkins.rounds_due(now=at(today + dt.timedelta(days=1), 9)) == {"closed": 1, "sent": 0}
    other = start(town, title="隔离人员健康监测")
    stopped = checkins.campaign_stop(actor=town.world["head_a"], campaign=other)
    assert not stopped.active
    assert AuditEntry.objects.filter(action="emergency.campaign_stop", result="success").count() == 1
    assert checkins.rounds_due(now=at(today, 9)) == {"closed": 0, "sent": 0}
    with pytest.raises(ValidationError):
        checkins.campaign_stop(actor=town.world["head_a"], campaign=other)
    assert Mobilization.objects.filter(campaign=campaign).count() == 1


def test_scope_a_community_head_cannot_check_in_another_community(town: Registry) -> None:
    with pytest.raises(PermissionDenied):
        start(town, targets=[{"kind": "residents", "region": COMMUNITY_B}])
    with pytest.raises(PermissionDenied):
        start(town, actor=town.world["grid_a"])  # grid workers do not mobilize
    assert not CheckInCampaign.objects.exists()
    assert AuditEntry.objects.filter(action="emergency.mobilize", result="denied").count() == 2
    campaign = start(town)
    with pytest.raises(PermissionDenied):
        checkins.campaign_stop(actor=town.world["head_b"], campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.active
    assert AuditEntry.objects.filter(action="emergency.campaign_stop", result="denied").exists()


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("title", {"title": "  "}),
        ("question", {"question": ""}),
        ("question", {"question": "问" * 201}),
        ("starts_on", {"starts_on": "2020-01-01"}),
        ("starts_on", {"starts_on": "2026-13-01"}),
        ("ends_on", {"ends_on": "not a date"}),
        ("send_at", {"send_at": "25:00"}),
        ("targets", {"targets": []}),
        ("targets", {"targets": [{"kind": "everyone", "region": COMMUNITY_A}]}),
    ],
)
def test_bad_campaigns_are_refused_and_change_nothing(
    town: Registry, field: str, change: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError) as caught:
        start(town, **change)
    assert field in caught.value.message_dict
    assert (
        not CheckInCampaign.objects.exists()
        and not AuditEntry.objects.filter(action="emergency.campaign_start").exists()
    )


def test_dates_in_the_wrong_order_or_too_long_are_refused(town: Registry) -> None:
    today = timezone.localdate()
    with pytest.raises(ValidationError) as caught:
        start(town, starts_on=today + dt.timedelta(days=2), ends_on=today + dt.timedelta(days=1))
    assert "ends_on" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        start(town, ends_on=today + dt.timedelta(days=checkins.DAYS_MAX))
    assert "ends_on" in caught.value.message_dict
    assert not CheckInCampaign.objects.exists()


# Pages -----------------------------------------------------------------------------------------


def client_of(town: Registry, persona: str) -> Client:
    client = Client()
    client.force_login(town.world[persona])
    return client


def form_data(**extra: str) -> dict[str, str]:
    today = timezone.localdate()
    data = {
        "title": "每日健康打卡",
        "question": "今天身体是否正常？",
        "kind": "residents",
        "region": COMMUNITY_A,
        "starts_on": today.isoformat(),
        "ends_on": (today + dt.timedelta(days=3)).isoformat(),
        "send_at": "08:30",
    }
    data.update(extra)
    return data


def test_every_checkin_route_is_covered_here() -> None:
    for p in get_resolver().url_patterns:
        if isinstance(p, URLResolver) and p.namespace == "emergency":
            names = {f"emergency:{q.name}" for q in p.url_patterns if isinstance(q, URLPattern) and q.name}
            assert {n for n in names if n.startswith("emergency:checkin")} == COVERED
            return
    raise AssertionError("the emergency URLs are not mounted")


def test_an_officer_starts_a_check_in_and_follows_its_rounds(town: Registry) -> None:
    head = client_of(town, "head_a")
    page = head.get("/emergency/checkins/")
    assert page.status_code == 200 and "每日报平安" in page.text and "/emergency/checkins/new/" in page.text
    assert head.get("/emergency/checkins/new/").status_code == 200
    answer = head.post("/emergency/checkins/new/", form_data())
    campaign = CheckInCampaign.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/emergency/checkins/{campaign.pk}/"
    assert campaign.send_at == dt.time(8, 30) and campaign.created_by == town.world["head_a"]
    today = timezone.localdate()
    checkins.rounds_due(now=at(today, 9))
    inbound.receive(sms("13811112222", "1", 2))
    round_ = Mobilization.objects.get(campaign=campaign)
    detail = head.get(f"/emergency/checkins/{campaign.pk}/")
    assert detail.status_code == 200
    assert f'href="/emergency/callouts/{round_.pk}/"' in detail.text
    assert "1 / 3" in detail.text  # one of three answered, two missing
    # The sibling community's head sees none of it.
    other = client_of(town, "head_b")
    assert "每日健康打卡" not in other.get("/emergency/checkins/").text
    assert other.get(f"/emergency/checkins/{campaign.pk}/").status_code == 404
    assert other.post(f"/emergency/checkins/{campaign.pk}/stop/", {"confirm": "on"}).status_code == 404
    # The community worker sees it but may not stop it or start one; a grid worker sees the
    # campaigns of their grid only (as with call-outs).
    worker = client_of(town, "worker_a")
    assert worker.get(f"/emergency/checkins/{campaign.pk}/").status_code == 200
    assert worker.post(f"/emergency/checkins/{campaign.pk}/stop/", {"confirm": "on"}).status_code == 403
    assert worker.get("/emergency/checkins/new/").status_code == 403
    assert client_of(town, "grid_a").get(f"/emergency/checkins/{campaign.pk}/").status_code == 404
    assert client_of(town, "resident").get("/emergency/checkins/").status_code == 403
    assert client_of(town, "outsider").get(f"/emergency/checkins/{campaign.pk}/").status_code == 404
    campaign.refresh_from_db()
    assert campaign.active
    # Stopping needs the box ticked; then it stops.
    assert head.post(f"/emergency/checkins/{campaign.pk}/stop/", {}).status_code == 400
    assert head.post(f"/emergency/checkins/{campaign.pk}/stop/", {"confirm": "on"}).status_code == 302
    campaign.refresh_from_db()
    assert not campaign.active


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"ends_on": "2020-01-01"}, "最后一天"),
        ({"region": COMMUNITY_B}, "不在您的管辖范围内"),
        ({"send_at": "8点"}, "时间"),
        ({"title": ""}, "必填"),
    ],
)
def test_the_form_refuses_bad_input_and_says_why(town: Registry, change: dict[str, str], words: str) -> None:
    page = client_of(town, "head_a").post("/emergency/checkins/new/", form_data(**change))
    assert page.status_code == 400 and words in page.text
    assert not CheckInCampaign.objects.exists()
