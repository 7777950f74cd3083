"""Rules decided by time passing (absence, dwell, offline), driven by a fake clock, and the notices
an alert sends."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from shequ.core import outbox
from shequ.core.models import AuditEntry, Message, OutboxTask
from shequ.iot import handlers, services
from shequ.iot.ingest import Pipeline
from shequ.iot.models import Alert, AlertState, Device, DeviceKind, HouseActivity, RuleKind, Severity
from shequ.iot.tests.conftest import COMMUNITY, GRID, Site, message, register
from shequ.registry import services as registry
from shequ.registry.models import House


@pytest.fixture
def lonely_house(site: Site) -> House:
    """An elderly woman living alone behind a door sensor, and a welfare-check rule of 24 hours."""
    world = site.world
    road = registry.road_create(actor=None, region=world.regions[COMMUNITY], name="麓山南路")
    building = registry.building_create(
        actor=None,
        region=world.regions[GRID],
        data={"road": road, "door_number": "12", "number": "3", "floors": 6},
    )
    house = registry.house_create(
        actor=None, building=building, data={"number": "301", "floor": 3, "area": "60"}
    )
    from shequ.registry.tests.conftest import resident_id

    person = registry.person_register(
        actor=None, data={"name": "刘奶奶", "id_number": resident_id(birth="19400302", seq=122)}, house=house
    )
    registry.tag_add(actor=None, person=person, category="living_alone")
    register(world, "door-301", DeviceKind.DOOR, house=house)
    services.rule_create(
        actor=None,
        region=world.regions[COMMUNITY],
        name="独居老人门磁无活动",
        kind=RuleKind.ABSENCE,
        params={"hours": 24, "tag": "living_alone"},
        severity=Severity.MAJOR,
        ticket_category="livelihood.elderly",
    )
    return house


def test_absence_raises_a_welfare_check_after_the_hours(site: Site, lonely_house: House) -> None:
    pipeline = Pipeline()
    door = Device.objects.get(code="door-301")
    opened = timezone.now() - dt.timedelta(hours=30)
    pipeline.process([message(door, "event", "d-1", at=opened, type="open")])
    assert HouseActivity.objects.get(house_id=lonely_house.pk).last_at == opened.replace(
        microsecond=opened.microsecond // 1000 * 1000
    )
    # 20 hours after the last opening: nothing yet; 25 hours: a welfare check.
    assert handlers.check_absence(opened + dt.timedelta(hours=20)) == 0
    assert handlers.check_absence(opened + dt.timedelta(hours=25)) == 1
    alert = Alert.objects.get(house_id=lonely_house.pk)
    assert alert.title.startswith("独居老人门磁无活动") and "25" in alert.detail
    # The next run updates the same alert; the door opening again does not clear it by itself.
    assert handlers.check_absence(opened + dt.timedelta(hours=26)) == 0
    assert Alert.objects.filter(house_id=lonely_house.pk).count() == 1
    outbox.run_pending()
    from shequ.grid.models import Ticket

    ticket = Ticket.objects.get(external_ref=f"iot-{alert.pk}")
    assert ticket.house_id == lonely_house.pk and ticket.category is not None
    assert ticket.category.code == "livelihood.elderly"


def test_a_house_never_seen_is_not_watched(site: Site, lonely_house: House) -> None:
    assert handlers.check_absence(timezone.now() + dt.timedelta(days=5)) == 0


def test_a_recent_opening_keeps_the_house_quiet(site: Site, lonely_house: House) -> None:
    pipeline = Pipeline()
    door = Device.objects.get(code="door-301")
    now = timezone.now()
    pipeline.process([message(door, "event", "d-1", at=now - dt.timedelta(hours=40), type="open")])
    pipeline.process([message(door, "event", "d-2", at=now - dt.timedelta(hours=2), type="open")])
    # An old message arriving late does not move the last activity back.
    pipeline.process([message(door, "event", "d-0", at=now - dt.timedelta(hours=60), type="open")])
    assert handlers.check_absence(now) == 0


def test_dwell_in_a_fire_lane(site: Site) -> None:
    camera, _token = register(
        site.world, "cam-lane", DeviceKind.CAMERA, no_parking=True, name="消防通道摄像头"
    )
    services.rule_create(
        actor=None,
        region=site.world.regions[COMMUNITY],
        name="消防通道违停",
        kind=RuleKind.DWELL,
        params={"minutes": 15},
        ticket_category="cityscape.parking",
    )
    pipeline = Pipeline()
    start = timezone.now() - dt.timedelta(minutes=40)
    pipeline.process(
        [
            message(camera, "event", "v-1", at=start, type="vehicle_enter", plate="湘A12345"),
            message(
                camera,
                "event",
                "v-2",
                at=start + dt.timedelta(minutes=1),
                type="vehicle_enter",
                plate="湘B88888",
            ),
            message(
                camera,
                "event",
                "v-3",
                at=start + dt.timedelta(minutes=5),
                type="vehicle_leave",
                plate="湘B88888",
            ),
        ]
    )
    assert handlers.check_dwell(start + dt.timedelta(minutes=10)) == 0
    assert handlers.check_dwell(start + dt.timedelta(minutes=20)) == 1
    alert = Alert.objects.get(device=camera)
    assert "湘A·***45" in alert.detail and "湘A12345" not in alert.detail


def test_offline_devices(site: Site) -> None:
    services.rule_create(
        actor=None,
        region=site.world.regions[COMMUNITY],
        name="设备离线",
        kind=RuleKind.OFFLINE,
        device_kind=DeviceKind.SMOKE,
        params={"minutes": 60},
    )
    smoke = site.devices["smoke-1"]
    seen = timezone.now() - dt.timedelta(minutes=90)
    Pipeline().process([message(smoke, "heartbeat", "h-1", at=seen)])
    Device.objects.filter(pk=smoke.pk).update(last_seen_at=seen)
    # Silent 10 minutes: still online. 30: offline (IOT_OFFLINE_MINUTES is 15), no alert yet (the
    # rule waits 60). 61: the alert.
    assert handlers.check_offline(seen + dt.timedelta(minutes=10)) == 0
    assert Device.objects.get(pk=smoke.pk).online
    assert handlers.check_offline(seen + dt.timedelta(minutes=30)) == 0
    assert not Device.objects.get(pk=smoke.pk).online
    assert handlers.check_offline(seen + dt.timedelta(minutes=61)) == 1
    assert Alert.objects.get(device=smoke).rule.kind == RuleKind.OFFLINE


def test_an_alert_tells_the_staff_who_handle_alerts(site: Site) -> None:
    smoke = site.devices["smoke-1"]
    Pipeline().process([message(smoke, "event", "a-1", type="alarm")])
    outbox.run_pending()
    alert = Alert.objects.get()
    told = set(
        Message.objects.filter(topic="iot.alert", topic_ref=str(alert.pk)).values_list(
            "recipient__username", flat=True
        )
    )
    # The grid worker of the device's grid and the community's staff; not the sibling grid or community.
    assert {"grid_a", "worker_a", "head_a"} <= told
    assert not told & {"grid_b", "head_b", "outsider", "resident"}
    body = Message.objects.filter(topic="iot.alert").first()
    assert body is not None and body.subject == "【紧急】设备告警：烟感报警：smoke-1"
    # Read as the person who gets it: the event in words, no raw code, each place once.
    assert "情况：报警" in body.body and "alarm" not in body.body, body.body
    assert "请在告警台确认此告警" in body.body
    # A retried task sends nothing twice.
    outbox.run_pending()
    assert Message.objects.filter(topic="iot.alert", topic_ref=str(alert.pk)).count() == len(told)


# --- A clear holds until the condition restarts ------------------------------------------------------


def _raised() -> int:
    """How many alerts were announced (each becomes a grid ticket when its rule names a category)."""
    return OutboxTask.objects.filter(event_type="iot.alert_raised").values("event_id").distinct().count()


def _clear(alert: Alert, site: Site) -> None:
    services.alert_clear(actor=site.world["head_a"], alert=alert, reason="已上门查看，老人在女儿家住")


def test_a_cleared_welfare_check_holds_until_the_door_opens_and_falls_silent_again(
    site: Site, lonely_house: House
) -> None:
    door = Device.objects.get(code="door-301")
    now = timezone.now()
    Pipeline().process([message(door, "event", "d-1", at=now - dt.timedelta(hours=30), type="open")])
    assert handlers.check_absence(now) == 1
    _clear(Alert.objects.get(house_id=lonely_house.pk), site)
    announced = _raised()
    # The same silence goes on: no new alert, no new ticket, however long it lasts.
    for later in (dt.timedelta(minutes=10), dt.timedelta(hours=3), dt.timedelta(days=2)):
        assert handlers.check_absence(now + later) == 0
    assert Alert.objects.filter(house_id=lonely_house.pk).count() == 1 and _raised() == announced
    # She comes home (the door opens), then her door falls silent again for the rule's hours.
    back = now + dt.timedelta(days=2, hours=1)
    Pipeline().process([message(door, "event", "d-2", at=back, type="open")], now=back)
    assert handlers.check_absence(back + dt.timedelta(hours=23)) == 0
    assert handlers.check_absence(back + dt.timedelta(hours=25)) == 1
    assert Alert.objects.filter(house_id=lonely_house.pk, open=True).count() == 1
    assert _raised() == announced + 1


def test_a_door_opening_before_the_clear_starts_a_new_silence(site: Site, lonely_house: House) -> None:
    """The alert was raised for the silence before the door opened; the clear came after the
    opening: the next silence is a new one and raises a new alert."""
    door = Device.objects.get(code="door-301")
    now = timezone.now()
    Pipeline().process([message(door, "event", "d-1", at=now - dt.timedelta(hours=30), type="open")])
    assert handlers.check_absence(now) == 1
    opened = now + dt.timedelta(hours=1)
    Pipeline().process([message(door, "event", "d-2", at=opened, type="open")], now=opened)
    _clear(Alert.objects.get(house_id=lonely_house.pk), site)
    assert handlers.check_absence(opened + dt.timedelta(hours=25)) == 1


def test_a_cleared_offline_alert_holds_until_the_device_is_back_and_silent_again(site: Site) -> None:
    services.rule_create(
        actor=None,
        region=site.world.regions[COMMUNITY],
        name="设备离线",
        kind=RuleKind.OFFLINE,
        device_kind=DeviceKind.SMOKE,
        params={"minutes": 60},
        ticket_category="security.technical",
    )
    smoke = site.devices["smoke-1"]
    seen = timezone.now() - dt.timedelta(minutes=90)
    Pipeline().process([message(smoke, "heartbeat", "h-1", at=seen)], now=seen)
    assert handlers.check_offline(seen + dt.timedelta(minutes=61)) == 1
    _clear(Alert.objects.get(device=smoke), site)
    announced = _raised()
    # Still dead: the sweep every minute raises nothing again.
    for minutes in (62, 63, 120, 600):
        assert handlers.check_offline(seen + dt.timedelta(minutes=minutes)) == 0
    assert Alert.objects.filter(device=smoke).count() == 1 and _raised() == announced
    # Back online, then silent again for the rule's minutes: a new alert.
    back = seen + dt.timedelta(minutes=700)
    Pipeline().process([message(smoke, "heartbeat", "h-2", at=back)], now=back)
    assert handlers.check_offline(back + dt.timedelta(minutes=30)) == 0
    assert handlers.check_offline(back + dt.timedelta(minutes=61)) == 1
    assert Alert.objects.filter(device=smoke, open=True).count() == 1 and _raised() == announced + 1


def test_a_device_back_online_clears_its_offline_alert(site: Site) -> None:
    services.rule_create(
        actor=None,
        region=site.world.regions[COMMUNITY],
        name="设备离线",
        kind=RuleKind.OFFLINE,
        device_kind=DeviceKind.SMOKE,
        params={"minutes": 60},
    )
    smoke = site.devices["smoke-1"]
    seen = timezone.now() - dt.timedelta(minutes=90)
    Pipeline().process([message(smoke, "heartbeat", "h-1", at=seen)], now=seen)
    assert handlers.check_offline(seen + dt.timedelta(minutes=61)) == 1
    assert handlers.check_offline(seen + dt.timedelta(minutes=70)) == 0  # still silent: still open
    alert = Alert.objects.get(device=smoke)
    assert alert.open
    back = seen + dt.timedelta(minutes=75)
    Pipeline().process([message(smoke, "heartbeat", "h-2", at=back)], now=back)
    assert handlers.check_offline(back + dt.timedelta(minutes=1)) == 0
    alert.refresh_from_db()
    assert (alert.state, alert.open, alert.cleared_by) == (AlertState.CLEARED, False, None)
    assert alert.cleared_at is not None and alert.clear_reason == "设备已恢复在线（系统自动解除）"
    entry = AuditEntry.objects.get(action="iot.alert_clear", object_id=str(alert.pk))
    assert entry.actor_id is None and entry.actor_name == "shequ worker"
    assert entry.reason == alert.clear_reason
    assert OutboxTask.objects.filter(event_type="iot.alert_cleared").exists()
    # Cleared once: the next sweeps find nothing to clear and nothing to raise.
    assert handlers.check_offline(back + dt.timedelta(minutes=2)) == 0
    assert AuditEntry.objects.filter(action="iot.alert_clear").count() == 1
    # Silent again for the rule's minutes: a new alert.
    assert handlers.check_offline(back + dt.timedelta(minutes=61)) == 1
    assert Alert.objects.filter(device=smoke).count() == 2


def test_a_cleared_parking_alert_holds_until_a_car_enters_again(site: Site) -> None:
    camera, _token = register(
        site.world, "cam-lane", DeviceKind.CAMERA, no_parking=True, name="消防通道摄像头"
    )
    services.rule_create(
        actor=None,
        region=site.world.regions[COMMUNITY],
        name="消防通道违停",
        kind=RuleKind.DWELL,
        params={"minutes": 15},
        ticket_category="cityscape.parking",
    )
    start = timezone.now() - dt.timedelta(minutes=60)
    Pipeline().process([message(camera, "event", "v-1", at=start, type="vehicle_enter", plate="湘A12345")])
    assert handlers.check_dwell(start + dt.timedelta(minutes=20)) == 1
    _clear(Alert.objects.get(device=camera), site)
    announced = _raised()
    # The same car stays: nothing new.
    for minutes in (21, 30, 45):
        assert handlers.check_dwell(start + dt.timedelta(minutes=minutes)) == 0
    assert Alert.objects.filter(device=camera).count() == 1 and _raised() == announced
    # It leaves; a car enters again and stays the rule's minutes: a new alert.
    Pipeline().process(
        [
            message(
                camera,
                "event",
                "v-2",
                at=start + dt.timedelta(minutes=46),
                type="vehicle_leave",
                plate="湘A12345",
            ),
            message(
                camera,
                "event",
                "v-3",
                at=start + dt.timedelta(minutes=47),
                type="vehicle_enter",
                plate="湘A12345",
            ),
        ]
    )
    assert handlers.check_dwell(start + dt.timedelta(minutes=55)) == 0
    assert handlers.check_dwell(start + dt.timedelta(minutes=63)) == 1
    assert Alert.objects.filter(device=camera, open=True).count() == 1 and _raised() == announced + 1
