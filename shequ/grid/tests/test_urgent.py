"""Urgent tickets in minutes: every intake path marks a life-safety text urgent (and only such a
text), the on-duty person is alerted at once by SMS and in-app with an acknowledgement, an
unacknowledged alert climbs to the community head and then the street after the setting (fake
clock), the reporter is told whom to call, and a false alarm is cleared only with a reason, audited."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from shequ.conftest import World
from shequ.core import messaging, outbox
from shequ.core.models import AuditEntry, AuditResult, Channel, Delivery, Message
from shequ.core.tests.api_helpers import _fresh_rate_limits, bearer, issue
from shequ.core.tests.fakes import SmsGateway
from shequ.grid import hotline, lifesafety, services
from shequ.grid.models import AlertLevel, AlertState, Source, Ticket, Urgency, UrgentAlert
from shequ.grid.tests.conftest import COMMUNITY_A, GRID_A
from shequ.grid.tests.open311_helpers import POINT_A, building, make_key

__all__ = ["_fresh_rate_limits"]
pytestmark = pytest.mark.django_db

GAS = "3栋2单元楼道里好大的煤气味，头都晕了，快来人"
ORDINARY = "燃气费在哪里交，燃气卡充值点搬到哪里去了"
STREET = "430104002"
LOCAL = timezone.get_fixed_timezone(8 * 60)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, second, tzinfo=LOCAL)


@pytest.fixture
def sms(settings: Any) -> Iterator[SmsGateway]:
    with SmsGateway() as gateway:
        settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_TOKEN = gateway.url, gateway.token
        yield gateway


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[dt.datetime], None]:
    """The grid's clock (the deadline engine's): intake, the alert's climb and whom it reaches."""

    def set_to(when: dt.datetime) -> None:
        monkeypatch.setattr(services._common, "_now", lambda: when)

    return set_to


def roster(world: World) -> None:
    """枇杷塘社区: grid_a on the day shift, worker_a on the night shift of 7–8 December; the head is
    the fallback. Rows made directly: the roster's own services are tested in core."""
    from shequ.core.models import DutyFallback, DutyShift

    community = world.regions[COMMUNITY_A]
    for user, start, end in (
        (world["grid_a"], at(7, 8, 30), at(7, 17, 30)),
        (world["worker_a"], at(7, 17, 30), at(8, 8, 30)),
    ):
        DutyShift.objects.create(
            region=community, region_code=COMMUNITY_A, user=user, starts_at=start, ends_at=end
        )
    DutyFallback.objects.create(region=community, region_code=COMMUNITY_A, user=world["head_a"])


# --- Every intake path ------------------------------------------------------------------------


def via_resident_page(world: World, text: str) -> Ticket:
    client = Client()
    client.force_login(world["resident"])
    response = client.post(reverse("grid:report"), {"description": text, "region": GRID_A})
    assert response.status_code == 302, response.content[:500]
    return Ticket.objects.get(source=Source.RESIDENT)


def via_staff_page(world: World, text: str) -> Ticket:
    client = Client()
    client.force_login(world["grid_a"])
    response = client.post(
        reverse("grid:new"),
        {"source": "patrol", "region": GRID_A, "urgency": "normal", "title": text[:20], "description": text},
    )
    assert response.status_code == 302, response.content[:500]
    return Ticket.objects.get(source=Source.PATROL)


def via_open311(world: World, text: str) -> Ticket:
    building(world, GRID_A, POINT_A, "岳麓区桃子湖路1号")
    response = Client().post(
        "/open311/v2/requests.json",
        {
            "api_key": make_key(world, "head_a"),
            "service_code": "other.other",
            "lat": str(POINT_A[0]),
            "long": str(POINT_A[1]),
            "description": text,
        },
    )
    assert response.status_code == 200, response.content[:500]
    return Ticket.objects.get(source=Source.OPEN311)


def via_hotline(world: World, text: str) -> Ticket:
    content = (
        "受理编号,受理时间,诉求人,来电号码,问题描述,事发地点,分类,社区,缓急程度\n"
        f"GD-0099,2026/12/1 3:15,张三,13912345678,{text},5栋,,枇杷塘社区,一般\n"
    ).encode("gb18030")
    result = hotline.commit(content=content, filename="12345.csv", actor=world["worker_a"])
    assert result.status == "committed", result.report.problems
    return Ticket.objects.get(source=Source.HOTLINE)


def via_api(world: World, text: str) -> Ticket:
    response = Client().post(
        "/api/v1/grid/tickets",
        data=json.dumps({"region_code": GRID_A, "title": text[:20], "description": text}),
        content_type="application/json",
        **bearer(issue(world, "resident")),
    )
    assert response.status_code == 201, response.content[:500]
    return Ticket.objects.get(pk=response.json()["id"])


def via_sensor(world: World, text: str) -> Ticket:
    # The platform says "normal": the words decide.
    response = Client().post(
        "/api/v1/grid/sensor-alerts",
        data=json.dumps(
            {
                "alert_id": "S-1",
                "region_code": GRID_A,
                "title": "设备告警",
                "description": text,
                "urgency": "normal",
            }
        ),
        content_type="application/json",
        **bearer(issue(world, "street", scopes=["grid_sensor:write"])),
    )
    assert response.status_code == 201, response.content[:500]
    return Ticket.objects.get(source=Source.SENSOR)


def via_iot(world: World, text: str) -> Ticket:
    # The IoT pipeline's event, as its alert rules emit it: a warning, below "major" (which alone
    # would make the ticket urgent), so the words decide; the grid's handler makes the ticket.
    from django.db import transaction

    from shequ.iot.events import AlertRaised
    from shequ.iot.models import Severity

    with transaction.atomic():
        outbox.emit(
            AlertRaised(
                alert_id=9001,
                rule_kind="threshold",
                severity=Severity.WARNING,
                region_code=GRID_A,
                title=text[:100],
                detail="",
                ticket_category="other.other",
                device_code="gas-7",
            )
        )
    outbox.run_pending()
    return Ticket.objects.get(source=Source.SENSOR, external_ref="iot-9001")


PATHS = [via_resident_page, via_staff_page, via_open311, via_hotline, via_api, via_sensor, via_iot]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__)
def test_every_intake_path_marks_a_life_safety_text_urgent(world: World, path: Any) -> None:
    ticket = path(world, GAS)
    assert ticket.urgency == Urgency.URGENT
    alert = UrgentAlert.objects.get(ticket=ticket)
    assert alert.life_safety and alert.kind == "gas" and alert.state == AlertState.OPEN
    assert any(r["by"] == "rule" and "煤气" in r["phrase"] for r in alert.reasons)
    # An urgent ticket runs on the category's urgent hours (1 h without a category), not 24.
    assert ticket.response_due_at is not None
    assert ticket.response_due_at - ticket.submitted_at <= dt.timedelta(hours=2)
    # The reason is on the ticket's timeline, and the alert is queued for the on-duty person.
    assert ticket.actions.filter(action="urgent_raised").exists()
    assert outbox.OutboxTask.objects.filter(event_type="grid.urgent_alert_raised").exists()


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__)
def test_an_ordinary_text_stays_in_the_normal_queue(world: World, path: Any) -> None:
    ticket = path(world, ORDINARY)
    assert ticket.urgency == Urgency.NORMAL
    assert not UrgentAlert.objects.filter(ticket=ticket).exists()


@pytest.mark.parametrize(
    "text",
    [
        "没有人受伤，就是车被刮了",
        "上次着火的那栋楼已经修好了，想问外墙什么时候刷",
        "上个月漏气的事想问下赔偿",
    ],
)
def test_negations_and_past_events_do_not_raise_an_alert(world: World, text: str) -> None:
    ticket = via_staff_page(world, text)
    assert ticket.urgency == Urgency.NORMAL and not UrgentAlert.objects.filter(ticket=ticket).exists()


def test_a_reporter_marking_it_urgent_also_alerts_the_person_on_duty(world: World) -> None:
    client = Client()
    client.force_login(world["resident"])
    client.post(reverse("grid:report"), {"description": "路口的红绿灯坏了", "region": GRID_A, "urgent": "on"})
    alert = UrgentAlert.objects.get()
    assert not alert.life_safety and alert.kind == "" and alert.ticket.urgency == Urgency.URGENT


# --- Whom it reaches, and when ---------------------------------------------------------------


def messages_for(world: World, persona: str) -> list[Message]:
    return list(Message.objects.filter(recipient=world[persona], topic="grid.urgent"))


def test_the_night_person_is_alerted_at_3am_and_it_climbs_after_the_setting(
    world: World, clock: Callable[[dt.datetime], None], sms: SmsGateway, settings: Any
) -> None:
    settings.URGENT_ACK_MINUTES = 10
    roster(world)
    clock(at(8, 3, 0))
    ticket = services.ticket_submit(
        actor=world["grid_a"],
        source=Source.PATROL,
        region=world.regions[GRID_A],
        title="煤气",
        description=GAS,
    )
    outbox.run_pending()
    alert = UrgentAlert.objects.get(ticket=ticket)
    # The night shift, not the day person nor the fallback: by SMS and in the app, asking to acknowledge.
    [night] = messages_for(world, "worker_a")
    assert night.requires_ack and "紧急" in night.subject and "燃气泄漏" in night.subject
    assert not messages_for(world, "grid_a") and not messages_for(world, "head_a")
    assert Delivery.objects.get(message=night, channel=Channel.SMS).status == "sent"
    assert any("10 分钟" in r["text"] or "10分钟" in r["text"] for r in sms.state.received)
    assert alert.reached[0]["level"] == AlertLevel.ON_DUTY and alert.reached[0]["why"] == "shift"
    # Nine minutes on: nothing climbs.
    clock(at(8, 3, 9, 59))
    assert services.escalate_unacknowledged() == 0
    # After ten: the community head.
    clock(at(8, 3, 10, 1))
    assert services.escalate_unacknowledged() == 1
    outbox.run_pending()
    [head] = messages_for(world, "head_a")
    assert head.requires_ack and "10" in head.body
    # Ten more: the street.
    clock(at(8, 3, 20, 2))
    assert services.escalate_unacknowledged() == 1
    outbox.run_pending()
    assert messages_for(world, "street")
    alert.refresh_from_db()
    assert alert.level == AlertLevel.STREET and alert.ack_due_at is None
    # The top climbs no further.
    clock(at(8, 4, 0))
    assert services.escalate_unacknowledged() == 0
    # The street officer presses "Acknowledge" in the inbox: the alert is acknowledged, the others told.
    messaging.acknowledge(user=world["street"], message=messages_for(world, "street")[0])
    outbox.run_pending()
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.acknowledged_by == world["street"]
    told = Message.objects.filter(topic="grid.urgent_ack")
    assert {m.recipient.username for m in told if m.recipient} >= {"worker_a", "head_a"}
    assert ticket.actions.filter(action="urgent_ack").exists()


def test_the_person_on_duty_acknowledges_by_replying_to_the_sms(
    world: World, clock: Callable[[dt.datetime], None], sms: SmsGateway, settings: Any
) -> None:
    from shequ.core import inbound
    from shequ.core.models import InboundOutcome

    roster(world)
    clock(at(8, 3, 0))
    ticket = services.ticket_submit(
        actor=world["grid_a"],
        source=Source.PATROL,
        region=world.regions[GRID_A],
        title="煤气",
        description=GAS,
    )
    outbox.run_pending()
    [night] = [r for r in sms.state.received if r["to"] == world["worker_a"].phone]
    assert "回复1" in night["text"]
    # Someone not reached by the alert replying "1" acknowledges nothing (and gets the generic answer).
    [stranger] = inbound.receive([inbound.Incoming("mo-1", world["head_b"].phone, "1", timezone.now())])
    assert stranger.outcome == InboundOutcome.NOTHING_OPEN
    assert UrgentAlert.objects.get(ticket=ticket).state == AlertState.OPEN
    # A text that is no acknowledgement is not taken as one.
    [chat] = inbound.receive(
        [inbound.Incoming("mo-2", world["worker_a"].phone, "在路上了吗", timezone.now())]
    )
    assert chat.handled_by == "" and UrgentAlert.objects.get(ticket=ticket).state == AlertState.OPEN
    # The night person replies "收到": acknowledged as with the button, the reporter side told.
    [reply] = inbound.receive([inbound.Incoming("mo-3", world["worker_a"].phone, "收到", timezone.now())])
    assert reply.outcome == InboundOutcome.ANSWERED and reply.handled_by == "grid.urgent"
    assert f"#{ticket.pk}" in reply.reply
    alert = UrgentAlert.objects.get(ticket=ticket)
    assert alert.state == AlertState.ACKNOWLEDGED and alert.acknowledged_by == world["worker_a"]
    assert ticket.actions.get(action="urgent_ack").params["via"] == "sms"


def test_a_gap_in_the_roster_reaches_the_fallback_and_an_empty_roster_the_head(
    world: World, clock: Callable[[dt.datetime], None]
) -> None:
    roster(world)
    clock(at(9, 12, 0))  # after the last shift: the fallback
    services.ticket_submit(
        actor=None, source=Source.HOTLINE, region=world.regions[GRID_A], title="煤气", description=GAS
    )
    outbox.run_pending()
    assert messages_for(world, "head_a")
    alert = UrgentAlert.objects.get()
    assert alert.reached[0]["why"] == "fallback"


def test_no_roster_at_all_goes_straight_to_the_head(world: World) -> None:
    services.ticket_submit(
        actor=None, source=Source.HOTLINE, region=world.regions[GRID_A], title="煤气", description=GAS
    )
    outbox.run_pending()
    alert = UrgentAlert.objects.get()
    assert alert.level == AlertLevel.COMMUNITY_HEAD and alert.reached[0]["why"] == "community_head"
    [head] = messages_for(world, "head_a")
    assert alert.ack_due_at is not None
    # Why them: nobody is on duty (not "nobody acknowledged within 0 minutes").
    assert "没有值班人员" in head.body and "分钟内未确认" not in head.body


def test_the_resident_is_told_whom_to_call(world: World) -> None:
    ticket = via_resident_page(world, GAS)
    client = Client()
    client.force_login(world["resident"])
    page = client.get(reverse("grid:report_done", args=[ticket.pk])).content.decode()
    assert 'href="tel:119"' in page and 'href="tel:110"' in page and 'href="tel:120"' in page
    assert page.index("tel:119") < page.index("tel:110")  # gas: 119 first
    assert "不要" in page  # the advice: no switches, no flames
    outbox.run_pending()
    told = Message.objects.get(recipient=world["resident"], topic="grid.urgent_reporter")
    assert "119 / 110 / 120" in told.subject and "社区已收到" in told.body
    # No roster here: the box says nobody is on duty, not that the person on duty was too slow.
    box = client.get(reverse("core:message", args=[told.pk])).content.decode()
    assert "此刻社区无人值班，已通知社区负责人" in box and "未及时确认" not in box
    # An ordinary report's page has no such box.
    Ticket.objects.all().delete()
    ordinary = via_resident_page(world, ORDINARY)
    page = client.get(reverse("grid:report_done", args=[ordinary.pk])).content.decode()
    assert "tel:119" not in page


# --- Acknowledging and clearing ------------------------------------------------------------------


def test_acknowledging_on_the_ticket_page_stops_the_climb(world: World, clock: Any) -> None:
    roster(world)
    clock(at(8, 3, 0))
    ticket = via_staff_page(world, GAS)
    outbox.run_pending()
    client = Client()
    client.force_login(world["worker_a"])
    page = client.get(reverse("grid:ticket", args=[ticket.pk])).content.decode()
    assert "煤气" in page and "urgent-ack" in page
    response = client.post(
        reverse("grid:ticket_urgent_ack", args=[ticket.pk]), {"urgent_ack-confirm": "True"}
    )
    assert response.status_code == 302
    alert = UrgentAlert.objects.get()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.ack_due_at is None
    clock(at(8, 4, 0))
    assert services.escalate_unacknowledged() == 0


def test_clearing_a_false_alarm_needs_a_reason_and_is_audited(world: World) -> None:
    ticket = via_staff_page(world, GAS)
    alert = UrgentAlert.objects.get()
    before = (alert.state, ticket.urgency)
    for reason in ("", "  ", "误报"):
        with pytest.raises(ValidationError):
            services.alert_clear(actor=world["head_a"], alert=alert, reason=reason)
    alert.refresh_from_db()
    ticket.refresh_from_db()
    assert (alert.state, ticket.urgency) == before
    # A grid worker may acknowledge but not clear: refused, audited.
    with pytest.raises(PermissionDenied):
        services.alert_clear(actor=world["grid_a"], alert=alert, reason="是煮中药的味道，不是煤气")
    assert AuditEntry.objects.filter(action="grid.urgent_clear", result=AuditResult.DENIED).exists()
    services.alert_clear(actor=world["head_a"], alert=alert, reason="是煮中药的味道，不是煤气")
    alert.refresh_from_db()
    ticket.refresh_from_db()
    assert alert.state == AlertState.CLEARED and alert.cleared_by == world["head_a"]
    assert ticket.urgency == Urgency.NORMAL
    # Back to the category's normal answer time from the submission.
    assert ticket.response_due_at is not None
    assert ticket.response_due_at - ticket.submitted_at >= dt.timedelta(hours=20)
    entry = AuditEntry.objects.get(action="grid.urgent_clear", result=AuditResult.SUCCESS)
    assert entry.actor_id == world["head_a"].pk and entry.detail["reason"] == "是煮中药的味道，不是煤气"
    # Cleared once is cleared.
    with pytest.raises(ValidationError):
        services.alert_clear(actor=world["head_a"], alert=alert, reason="再清一次试试")
    # The cleared text is an ordinary example for the next training.
    assert (f"{ticket.title}\n{ticket.description}", lifesafety.ORDINARY) in lifesafety.ticket_samples()


def test_sibling_staff_cannot_acknowledge_or_clear(world: World) -> None:
    ticket = via_staff_page(world, GAS)
    for persona in ("head_b", "outsider"):
        client = Client()
        client.force_login(world[persona])
        for step in ("urgent_ack", "urgent_clear"):
            url = reverse(f"grid:ticket_{step}", args=[ticket.pk])
            assert (
                client.post(url, {f"{step}-reason": "不是煤气", f"{step}-confirm": "True"}).status_code == 404
            )
    assert UrgentAlert.objects.get().state == AlertState.OPEN


def test_the_queue_puts_unacknowledged_alerts_on_top_and_home_counts_them(world: World) -> None:
    via_staff_page(world, GAS)
    client = Client()
    client.force_login(world["head_a"])
    page = client.get(reverse("grid:queue")).content.decode()
    assert page.index("alerts-heading") < page.index("ticket-list")
    from shequ.grid.selectors import home_counts

    assert home_counts(world["head_a"])["urgent_open"] == 1
    assert home_counts(world["head_b"])["urgent_open"] == 0


def test_statistics_count_urgent_tickets_acknowledgement_times_and_false_alarms(
    world: World, clock: Callable[[dt.datetime], None]
) -> None:
    from shequ.grid import stats

    roster(world)
    made = []
    for minute in (0, 1, 2):
        clock(at(8, 3, minute))
        made.append(
            services.ticket_submit(
                actor=None, source=Source.HOTLINE, region=world.regions[GRID_A], title="煤气", description=GAS
            )
        )
    outbox.run_pending()
    alerts = [UrgentAlert.objects.get(ticket=t) for t in made]
    clock(at(8, 3, 4))  # 4 min after the first
    services.alert_acknowledge(actor=world["worker_a"], alert=alerts[0])
    clock(at(8, 3, 9))  # 8 min after the second
    services.alert_acknowledge(actor=world["worker_a"], alert=alerts[1])
    services.alert_clear(actor=world["head_a"], alert=alerts[2], reason="核实为下水道返味，不是煤气")
    clock(at(8, 3, 15))
    services.escalate_unacknowledged()
    query = stats.StatsQuery(region_code=COMMUNITY_A, start=dt.date(2026, 12, 8), end=dt.date(2026, 12, 8))
    figures = stats.urgent(query)
    assert (figures.alerts, figures.life_safety, figures.acknowledged) == (3, 3, 2)
    assert figures.ack_median_minutes in (4.0, 8.0) and figures.ack_p90_minutes == 8.0
    assert (figures.cleared, figures.waiting, figures.escalated) == (1, 0, 0)
    # Another community's figures hold none of them.
    other = stats.StatsQuery(region_code="430104002003", start=query.start, end=query.end)
    assert stats.urgent(other).alerts == 0
    client = Client()
    client.force_login(world["head_a"])
    page = client.get(
        reverse("grid:stats"), {"region": COMMUNITY_A, "start": "2026-12-08", "end": "2026-12-08"}
    )
    assert page.status_code == 200 and "urgent-heading" in page.content.decode()
    # The export has them on a sheet of their own.
    export = client.post(
        reverse("grid:stats_export"), {"region": COMMUNITY_A, "start": "2026-12-08", "end": "2026-12-08"}
    )
    sheet = load_workbook(io.BytesIO(export.content))["紧急工单"]
    values = [row for row in sheet.iter_rows(values_only=True) if row and isinstance(row[0], int)]
    assert values and values[0][:3] == (3, 3, 2) and values[0][-1] == 1


def test_open311_tells_the_client_app_whom_to_call(world: World) -> None:
    building(world, GRID_A, POINT_A, "岳麓区桃子湖路1号")
    response = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").post(
        "/open311/v2/requests.json",
        {
            "api_key": make_key(world, "head_a"),
            "service_code": "other.other",
            "lat": str(POINT_A[0]),
            "long": str(POINT_A[1]),
            "description": GAS,
        },
    )
    notice = response.json()[0]["service_notice"]
    assert notice.startswith("如有人身危险，请立即拨打119") and "不要开关电灯" in notice


def test_the_api_says_whom_to_call_and_tells_staff_why(world: World) -> None:
    ticket = via_api(world, GAS)

    def detail(persona: str) -> Any:
        response = Client().get(f"/api/v1/grid/tickets/{ticket.pk}", **bearer(issue(world, persona)))
        assert response.status_code == 200
        return response.json()["urgent"]

    mine = detail("resident")
    assert mine["life_safety"] and mine["kind"] == "gas" and mine["call"][0] == "119"
    assert mine["state"] == "open" and mine["advice"] and mine["reasons"] == []  # no reasons for residents
    staff = detail("worker_a")
    assert any(r["by"] == "rule" and "煤气" in r["phrase"] for r in staff["reasons"])
    ordinary = via_staff_page(world, ORDINARY)
    response = Client().get(f"/api/v1/grid/tickets/{ordinary.pk}", **bearer(issue(world, "worker_a")))
    assert response.json()["urgent"] is None


# --- Drills, the accept step, the reporter's message, retraining -------------------------------


def help_requested(world: World, *, is_drill: bool, recipient_id: int) -> Ticket:
    """A person called out answers "need help" (the emergency app's event, through the outbox)."""
    from django.db import transaction

    from shequ.emergency.events import HelpRequested

    with transaction.atomic():
        outbox.emit(
            HelpRequested(
                recipient_id=recipient_id,
                mobilization_id=1,
                region_code=GRID_A,
                person_name="张三",
                place="3栋",
                location="家里",
                note="一楼进水了，老人出不来",
                title="防汛演练" if is_drill else "防汛",
                is_drill=is_drill,
            )
        )
    outbox.run_pending()
    return Ticket.objects.get(source=Source.EMERGENCY, external_ref=f"emergency-{recipient_id}")


def test_a_drills_call_for_help_wakes_nobody_whatever_its_words(
    world: World, clock: Callable[[dt.datetime], None]
) -> None:
    roster(world)
    clock(at(8, 3, 0))
    drill = help_requested(world, is_drill=True, recipient_id=501)
    assert drill.title.startswith("【演练】")
    assert drill.urgency == Urgency.NORMAL and not UrgentAlert.objects.filter(ticket=drill).exists()
    assert not Message.objects.filter(topic="grid.urgent").exists()
    # The same words in a real call-out do wake the person on duty.
    real = help_requested(world, is_drill=False, recipient_id=502)
    assert real.urgency == Urgency.URGENT and UrgentAlert.objects.filter(ticket=real).exists()
    assert messages_for(world, "worker_a")


def test_accepting_an_urgent_ticket_as_normal_is_clearing_its_alarm_with_a_reason(
    world: World, clock: Callable[[dt.datetime], None]
) -> None:
    from shequ.grid import stats

    roster(world)
    clock(at(8, 3, 0))
    ticket = via_staff_page(world, GAS)
    outbox.run_pending()
    client = Client()
    client.force_login(world["head_a"])
    url = reverse("grid:ticket_accept", args=[ticket.pk])
    # The accept form asks for the reason beside the urgency while the alarm is live.
    page = client.get(reverse("grid:ticket", args=[ticket.pk])).content.decode()
    assert 'name="accept-clear_reason"' in page
    # Lowered without a reason: refused with a word about clearing, and nothing changed.
    form = {"accept-category": "safety.gas", "accept-urgency": "normal", "accept-comment": ""}
    response = client.post(url, form)
    assert "紧急警报仍在生效" in response.content.decode()
    with pytest.raises(ValidationError) as refused:
        services.ticket_accept(actor=world["head_a"], ticket=ticket, category="safety.gas", urgency="normal")
    assert "clear_reason" in refused.value.error_dict
    with pytest.raises(ValidationError) as refused:  # too short to say anything: as "Clear a false alarm"
        services.ticket_accept(
            actor=world["head_a"], ticket=ticket, category="safety.gas", urgency="normal", clear_reason="误报"
        )
    assert list(refused.value.error_dict) == ["clear_reason"]
    ticket.refresh_from_db()
    alert = UrgentAlert.objects.get(ticket=ticket)
    assert (ticket.status, ticket.urgency, alert.state) == ("submitted", Urgency.URGENT, AlertState.OPEN)
    # With the reason: accepted as normal, the alarm cleared through the audited clearing.
    response = client.post(url, {**form, "accept-clear_reason": "现场核实是煮中药的味道"})
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket.refresh_from_db()
    alert.refresh_from_db()
    assert ticket.status == "accepted" and ticket.urgency == Urgency.NORMAL
    assert alert.state == AlertState.CLEARED and alert.clear_reason == "现场核实是煮中药的味道"
    entry = AuditEntry.objects.get(action="grid.urgent_clear", result=AuditResult.SUCCESS)
    assert entry.detail["reason"] == "现场核实是煮中药的味道" and entry.actor_id == world["head_a"].pk
    # It no longer climbs, counts as a false alarm, and is an ordinary text for the next training.
    clock(at(8, 3, 11))
    assert services.escalate_unacknowledged() == 0
    assert not messages_for(world, "head_a")
    query = stats.StatsQuery(region_code=COMMUNITY_A, start=dt.date(2026, 12, 8), end=dt.date(2026, 12, 8))
    assert stats.urgent(query).cleared == 1
    assert (f"{ticket.title}\n{ticket.description}", lifesafety.ORDINARY) in lifesafety.ticket_samples()


def test_accepting_a_normal_ticket_as_urgent_alerts_the_person_on_duty(
    world: World, clock: Callable[[dt.datetime], None]
) -> None:
    roster(world)
    clock(at(8, 3, 0))
    ticket = via_staff_page(world, "路口的红绿灯全灭了，车都堵在一起")
    assert ticket.urgency == Urgency.NORMAL and not UrgentAlert.objects.exists()
    client = Client()
    client.force_login(world["head_a"])
    page = client.get(reverse("grid:ticket", args=[ticket.pk])).content.decode()
    assert 'name="accept-clear_reason"' not in page
    clock(at(8, 3, 2))
    response = client.post(
        reverse("grid:ticket_accept", args=[ticket.pk]),
        {"accept-category": "safety.gas", "accept-urgency": "urgent", "accept-comment": ""},
    )
    assert response.status_code == 302
    alert = UrgentAlert.objects.get(ticket=ticket)
    assert alert.state == AlertState.OPEN and alert.raised_at == at(8, 3, 2)
    outbox.run_pending()
    # As at intake: the night person, asked to acknowledge; unacknowledged, it climbs to the head.
    [night] = messages_for(world, "worker_a")
    assert night.requires_ack
    clock(at(8, 3, 13))
    assert services.escalate_unacknowledged() == 1
    outbox.run_pending()
    assert messages_for(world, "head_a")


def test_accepting_as_urgent_after_a_clearing_raises_the_alarm_afresh(
    world: World, clock: Callable[[dt.datetime], None]
) -> None:
    roster(world)
    clock(at(8, 3, 0))
    ticket = via_staff_page(world, GAS)
    outbox.run_pending()
    alert = UrgentAlert.objects.get(ticket=ticket)
    services.alert_clear(actor=world["head_a"], alert=alert, reason="以为是误报，核实后确有泄漏")
    clock(at(8, 3, 5))
    services.ticket_accept(actor=world["head_a"], ticket=ticket, category="safety.gas", urgency="urgent")
    alert.refresh_from_db()
    ticket.refresh_from_db()
    assert ticket.urgency == Urgency.URGENT and alert.state == AlertState.OPEN
    assert alert.level == AlertLevel.ON_DUTY and alert.ack_due_at == at(8, 3, 15) and not alert.clear_reason
    outbox.run_pending()
    assert len(messages_for(world, "worker_a")) == 2  # the first alert and the renewed one


def test_the_reporters_message_has_the_call_box_and_goes_by_sms(
    world: World, clock: Callable[[dt.datetime], None], sms: SmsGateway
) -> None:
    roster(world)
    clock(at(8, 3, 0))
    ticket = via_resident_page(world, GAS)
    outbox.run_pending()
    told = Message.objects.get(recipient=world["resident"], topic="grid.urgent_reporter")
    print("\n--- the resident's urgent notice ---\n" + told.subject + "\n" + told.body)
    # Nothing claims more than happened: staff were alerted, the community has it.
    assert "社区已收到" in told.body and "119" in told.subject and "120" in told.subject
    client = Client()
    client.force_login(world["resident"])
    page = client.get(reverse("core:message", args=[told.pk])).content.decode()
    assert 'href="tel:119"' in page and 'href="tel:110"' in page and 'href="tel:120"' in page
    assert page.index('href="tel:119"') < page.index('href="tel:110"')  # gas: 119 first
    assert page.count('class="call-now"') == 1
    # By SMS too, to the phone of the resident's account, with the numbers to tap.
    to_resident = [r for r in sms.state.received if r["to"] == world["resident"].phone]
    assert len(to_resident) == 1 and "119 / 110 / 120" in to_resident[0]["text"]
    assert Delivery.objects.get(message=told, channel=Channel.SMS).status == "sent"
    assert ticket.pk


def test_a_caller_without_an_account_is_told_by_sms_at_the_contact_phone(
    world: World, clock: Callable[[dt.datetime], None], sms: SmsGateway
) -> None:
    clock(at(8, 3, 0))  # no roster: it goes straight to the community head
    via_hotline(world, GAS)
    outbox.run_pending()
    told = Message.objects.get(topic="grid.urgent_reporter")
    assert told.recipient is None and told.contact_ref.startswith("grid.ticket:")
    print("\n--- the 12345 caller's SMS ---\n" + told.subject + "\n" + told.body)
    [text] = [r["text"] for r in sms.state.received if r["to"] == "13912345678"]
    assert "119 / 110 / 120" in text and "值班人员已" not in text and "社区负责人" in text
    assert Delivery.objects.get(message=told, channel=Channel.SMS).status == "sent"
    # A walk-in entered by staff without a phone gets nothing (and nothing fails).
    services.ticket_submit(
        actor=world["grid_a"],
        source=Source.STAFF,
        region=world.regions[GRID_A],
        title="煤气",
        description=GAS,
    )
    outbox.run_pending()
    assert Message.objects.filter(topic="grid.urgent_reporter").count() == 1


def test_the_reason_names_the_rule_and_statistics_tell_a_roster_gap_from_a_late_acknowledgement(
    world: World, clock: Callable[[dt.datetime], None]
) -> None:
    from shequ.grid import stats

    clock(at(8, 3, 0))  # no roster yet: straight to the head
    gap = services.ticket_submit(
        actor=None, source=Source.HOTLINE, region=world.regions[GRID_A], title="煤气", description=GAS
    )
    outbox.run_pending()
    roster(world)
    late = services.ticket_submit(
        actor=None, source=Source.HOTLINE, region=world.regions[GRID_A], title="煤气", description=GAS
    )
    outbox.run_pending()
    query = stats.StatsQuery(region_code=COMMUNITY_A, start=dt.date(2026, 12, 8), end=dt.date(2026, 12, 8))
    # The first went to the head at once: a roster gap, not a late acknowledgement.
    figures = stats.urgent(query)
    assert (figures.alerts, figures.nobody_on_duty, figures.escalated) == (2, 1, 0)
    clock(at(8, 3, 11))
    assert services.escalate_unacknowledged() == 2  # nobody acknowledged either: both climb
    figures = stats.urgent(query)
    assert (figures.alerts, figures.nobody_on_duty, figures.escalated) == (2, 1, 2)
    client = Client()
    client.force_login(world["head_a"])
    page = client.get(reverse("grid:ticket", args=[late.pk])).content.decode()
    rule = next(r["rule"] for r in UrgentAlert.objects.get(ticket=late).reasons if r["by"] == "rule")
    assert f'<code class="rule-name">{rule}</code>' in page
    assert gap.pk


def test_an_empty_model_phrase_shows_the_rules_words(world: World) -> None:
    from shequ.grid.views_urgent import reasons

    alert = UrgentAlert(
        reasons=[
            {"kind": "gas", "phrase": "煤气味", "by": "rule", "rule": "gas_smell"},
            {"kind": "fire", "phrase": "着火", "by": "rule", "rule": "fire", "set_aside": "past"},
            {"kind": "gas", "phrase": "", "by": "model", "score": 0.9},
        ]
    )
    shown = reasons(alert)
    assert [r.phrase for r in shown] == ["煤气味", "着火", "煤气味"]
    assert shown[0].rule == "gas_smell" and shown[2].rule == ""


def test_the_api_accepts_as_normal_only_with_the_reason(world: World) -> None:
    from shequ.core.tests.api_helpers import assert_error

    ticket = via_staff_page(world, GAS)
    token = bearer(issue(world, "head_a"))
    url = f"/api/v1/grid/tickets/{ticket.pk}/accept"

    def accept(**extra: str) -> Any:
        body = {"category": "safety.gas", "urgency": "normal", **extra}
        return Client().post(url, data=json.dumps(body), content_type="application/json", **token)

    refused = assert_error(accept(), 400)
    assert [e["field"] for e in refused["details"]["errors"]] == ["clear_reason"], refused
    assert UrgentAlert.objects.get().state == AlertState.OPEN
    response = accept(clear_reason="现场核实是煮中药的味道")
    assert response.status_code == 200, response.content[:500]
    assert response.json()["urgency"] == "normal" and UrgentAlert.objects.get().state == AlertState.CLEARED
