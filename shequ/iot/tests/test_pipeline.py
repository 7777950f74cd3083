"""The ingestion pipeline on the test database: stored once, dead letters, rules and alerts."""

from __future__ import annotations

import datetime as dt
import json

from django.utils import timezone

from shequ.core.models import OutboxTask
from shequ.iot.ingest import TOUCH_SECONDS, Message, Pipeline
from shequ.iot.models import Alert, AlertState, DeadLetter, DeadLetterCount, Device, DeviceEvent
from shequ.iot.payloads import Reason
from shequ.iot.tests.conftest import Site, message


def test_events_are_stored_once_and_devices_come_online(site: Site, pipeline: Pipeline) -> None:
    door = site.devices["door-1"]
    first = message(door, "event", "m-1", type="open", credential={"kind": "card", "value": "8899001122"})
    result = pipeline.process([first, first, message(door, "heartbeat", "h-1", battery=88)])
    assert (result.stored, result.duplicates) == (2, 1)
    again = pipeline.process([first])
    assert (again.stored, again.duplicates) == (0, 1)
    assert DeviceEvent.objects.filter(device_id=door.pk).count() == 2
    stored = DeviceEvent.objects.get(msg_id="m-1")
    assert stored.subject_masked == "****1122" and len(stored.subject_ref) == 64
    assert "8899001122" not in str(stored.data)  # the card number itself is never kept
    door.refresh_from_db()
    assert door.online and door.last_seen_at is not None


def test_door_passages_follow_the_touch_pace_and_alarms_are_written_at_once(
    site: Site, pipeline: Pipeline
) -> None:
    """A device row is rewritten at most every ``TOUCH_SECONDS``, except for an event that is not
    a routine passage; what is held back is written later, with the time it was heard."""
    door, smoke = site.devices["door-1"], site.devices["smoke-1"]
    t0 = timezone.now()

    def door_row() -> tuple[object, object]:
        door.refresh_from_db()
        return door.last_values.get("last_event"), door.last_seen_at

    pipeline.process([message(door, "event", "d-1", type="open")], now=t0)
    assert door_row() == ("open", t0)  # back online: written at once
    t1 = t0 + dt.timedelta(seconds=1)
    pipeline.process([message(door, "event", "d-2", type="closed")], now=t1)
    assert door_row() == ("open", t0)  # a passage: held
    t2 = t0 + dt.timedelta(seconds=2)
    pipeline.process([message(door, "event", "d-3", type="forced")], now=t2)
    assert door_row() == ("forced", t2)  # not a passage: at once
    t3 = t0 + dt.timedelta(seconds=3)
    pipeline.process([message(door, "event", "d-4", type="open")], now=t3)
    assert door_row() == ("forced", t2)
    # TOUCH_SECONDS later the door has sent nothing more: a batch of another device's sweeps it.
    pipeline.touched[door.pk] -= TOUCH_SECONDS
    pipeline.swept_at -= TOUCH_SECONDS
    pipeline.process([message(smoke, "heartbeat", "h-1", battery=90)], now=t3 + dt.timedelta(seconds=9))
    assert door_row() == ("open", t3)
    assert not pipeline.pending and not pipeline.heard
    assert DeviceEvent.objects.filter(device_id=door.pk).count() == 4


def test_bad_messages_are_dead_lettered_with_their_reason(site: Site, pipeline: Pipeline) -> None:
    smoke = site.devices["smoke-1"]
    topic = f"shequ/{smoke.region_code}/smoke/{smoke.code}/event"
    cases = [
        (Message("nonsense/topic", b"{}"), Reason.BAD_TOPIC),
        (Message(topic, b"{not json"), Reason.BAD_JSON),
        (Message(topic, b'{"v": 2, "id": "x", "ts": 1, "type": "alarm"}'), Reason.BAD_VERSION),
        (message(smoke, "event", "x1", type="explode"), Reason.BAD_SCHEMA),
        (message(smoke, "event", "x2", type="alarm", face_image="/9j/4AAQ"), Reason.FORBIDDEN),
        (Message(topic.replace("smoke-1", "ghost"), b"{}"), Reason.UNKNOWN_DEVICE),
        (Message(topic.replace("/smoke/", "/gas/"), b"{}"), Reason.TOPIC_MISMATCH),
        (Message(topic, b"x" * 9000), Reason.OVERSIZE),
        (
            message(smoke, "event", "x3", at=timezone.now() + dt.timedelta(days=3), type="alarm"),
            Reason.BAD_TIME,
        ),
        (Message(topic, b"[]"), Reason.BAD_SCHEMA),
        (Message(topic, b'{"v":1,"id":"x","ts":1e400,"type":"alarm"}'), Reason.BAD_SCHEMA),
    ]
    result = pipeline.process([m for m, _ in cases])
    assert result.outcomes == [r for _, r in cases]
    assert result.stored == 0 and DeviceEvent.objects.count() == 0
    assert DeadLetter.objects.count() == len(cases)
    forbidden = DeadLetter.objects.get(reason=Reason.FORBIDDEN)
    assert forbidden.payload == ""  # an image is not kept in the dead letters either
    counts = dict(DeadLetterCount.objects.values_list("reason", "count"))
    assert counts[Reason.BAD_SCHEMA] == 3 and counts[Reason.BAD_TOPIC] == 1


JPEG = "/9j/4AAQSkZJRgABAQEASABIAAD"  # the start of a base64 JPEG: a face snapshot


def test_no_image_is_kept_in_the_dead_letters_whatever_the_reason(site: Site, pipeline: Pipeline) -> None:
    """The schemas refuse images and biometrics (personal_data), but a message can be refused
    earlier (too large, an unknown or retired device, a wrong topic, not JSON): its payload must
    not keep the image either."""
    smoke = site.devices["smoke-1"]
    topic = f"shequ/{smoke.region_code}/smoke/{smoke.code}/event"
    ghost = topic.replace("smoke-1", "ghost-cam")
    now_ms = int(timezone.now().timestamp() * 1000)

    def body(msg_id: str, **fields: object) -> bytes:
        return json.dumps({"v": 1, "id": msg_id, "ts": now_ms, "type": "alarm", **fields}).encode()

    cases = [
        # A real snapshot is many kB: refused for its size before the schema sees it.
        (Message(topic, body("f1", face_image=JPEG + "A" * 20000)), Reason.OVERSIZE),
        (Message(ghost, body("f2", face_image=JPEG)), Reason.UNKNOWN_DEVICE),
        (Message(topic.replace("/smoke/", "/gas/"), body("f3", Photo=JPEG)), Reason.TOPIC_MISMATCH),
        (Message(topic, body("f4", feature=[0.12, 0.5]).replace(b"}", b"")), Reason.BAD_JSON),
        # Escaped in JSON, or under a key no schema knows: still an image.
        (
            Message(ghost, body("f5").replace(b'"type"', b'"face\\u005fimage": "x", "type"')),
            Reason.UNKNOWN_DEVICE,
        ),
        (Message(ghost, body("f6", pic=JPEG).replace(b"/", b"\\/")), Reason.UNKNOWN_DEVICE),
        (Message(ghost, body("f7", pic="iVBORw0KGgoAAAANSUhEUgAA")), Reason.UNKNOWN_DEVICE),
        (Message(ghost, body("f9", pic="data:image/gif;base64,R0lGODlhAQABAIAAAP")), Reason.UNKNOWN_DEVICE),
        # A raw picture, not JSON at all (a camera posting its snapshot to the wrong place).
        (Message(ghost, b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256))), Reason.UNKNOWN_DEVICE),
        (Message(topic, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), Reason.BAD_JSON),
        # Nothing of the kind: the payload is kept for finding what a vendor sends wrong.
        (Message(ghost, body("f8", level=3)), Reason.UNKNOWN_DEVICE),
    ]
    result = pipeline.process([m for m, _ in cases])
    assert result.outcomes == [r for _, r in cases]
    letters = list(DeadLetter.objects.order_by("pk"))
    assert len(letters) == len(cases)
    for letter in letters[:-1]:
        assert letter.payload == "", letter.detail
        assert "payload not kept" in letter.detail
    assert letters[0].detail.startswith(f"{len(cases[0][0].payload)} bytes")
    assert "image or biometric" in letters[1].detail
    assert json.loads(letters[-1].payload)["level"] == 3
    # A vendor's GBK text (not UTF-8, but text) is still kept, read as well as it can be.
    gbk = '{"v":1,"位置":"三栋"'.encode("gbk")
    pipeline.process([Message(topic, gbk)])
    assert DeadLetter.objects.order_by("-pk").first().payload.startswith('{"v":1,')  # type: ignore[union-attr]


def test_smoke_alarm_raises_one_alert_and_repeats_update_it(site: Site, pipeline: Pipeline) -> None:
    smoke = site.devices["smoke-1"]
    result = pipeline.process([message(smoke, "event", "a-1", type="alarm", level=4.2)])
    assert result.alerts == 1
    alert = Alert.objects.get()
    assert alert.state == AlertState.ACTIVE and alert.device_id == smoke.pk and alert.count == 1
    assert OutboxTask.objects.filter(event_type="iot.alert_raised").count() >= 1
    again = pipeline.process(
        [message(smoke, "event", "a-2", type="alarm"), message(smoke, "event", "a-3", type="alarm")]
    )
    assert again.alerts == 0
    alert.refresh_from_db()
    assert alert.count == 3 and Alert.objects.count() == 1


def test_threshold_rule_fires_over_the_limit_only(site: Site, pipeline: Pipeline) -> None:
    gas = site.devices["gas-1"]
    pipeline.process([message(gas, "telemetry", "g-1", level=5.0)])
    assert not Alert.objects.exists()
    pipeline.process([message(gas, "telemetry", "g-2", level=35.5)])
    alert = Alert.objects.get()
    assert alert.value == 35.5 and "35.5" in alert.detail


def test_count_rule_needs_the_whole_window(site: Site, pipeline: Pipeline) -> None:
    counter = site.devices["counter-1"]
    start = timezone.now() - dt.timedelta(minutes=30)
    pipeline.process([message(counter, "telemetry", "c-0", at=start, count=10)])
    # Over 50 from minute 1 on; the alert comes once it has lasted 10 minutes.
    for minute in range(1, 10):
        pipeline.process(
            [message(counter, "telemetry", f"c-{minute}", at=start + dt.timedelta(minutes=minute), count=80)]
        )
    assert not Alert.objects.exists()
    pipeline.process([message(counter, "telemetry", "c-11", at=start + dt.timedelta(minutes=11), count=90)])
    alert = Alert.objects.get()
    assert "10" in alert.detail


def test_retired_device_is_refused(site: Site, pipeline: Pipeline) -> None:
    from shequ.iot import services

    sos = site.devices["sos-1"]
    services.device_retire(actor=None, device=sos)
    pipeline.refresh(force=True)
    result = pipeline.process([message(sos, "event", "s-1", type="pressed")])
    assert result.outcomes == [Reason.RETIRED]
    assert not Device.objects.get(pk=sos.pk).online


def test_alert_becomes_an_urgent_grid_ticket_once(site: Site, pipeline: Pipeline) -> None:
    from shequ.core import outbox
    from shequ.grid.models import Source, Ticket, Urgency

    smoke = site.devices["smoke-1"]
    pipeline.process([message(smoke, "event", "f-1", type="alarm")])
    outbox.run_pending()
    alert = Alert.objects.get()
    ticket = Ticket.objects.get(source=Source.SENSOR)
    assert alert.ticket_id == ticket.pk and ticket.external_ref == f"iot-{alert.pk}"
    assert ticket.urgency == Urgency.URGENT and ticket.category is not None
    assert ticket.category.code == "safety.fire" and ticket.region_code == smoke.region_code
    assert "烟感报警" in ticket.title
    assert "报警" in ticket.description and "alarm" not in ticket.description, ticket.description
    # The handler running again (a retried task) makes no second ticket.
    from shequ.grid.handlers import ticket_from_iot_alert
    from shequ.iot.events import AlertRaised

    task = OutboxTask.objects.filter(event_type="iot.alert_raised").first()
    assert task is not None
    ticket_from_iot_alert(AlertRaised.model_validate(task.payload))
    assert Ticket.objects.filter(source=Source.SENSOR).count() == 1


def test_alert_without_ticket_category_makes_no_ticket(site: Site, pipeline: Pipeline) -> None:
    from shequ.core import outbox
    from shequ.grid.models import Ticket

    counter = site.devices["counter-1"]
    start = timezone.now() - dt.timedelta(minutes=20)
    for minute in range(0, 15, 2):
        pipeline.process(
            [message(counter, "telemetry", f"c-{minute}", at=start + dt.timedelta(minutes=minute), count=99)]
        )
    outbox.run_pending()
    assert Alert.objects.count() == 1 and not Ticket.objects.exists()


def test_infinity_and_nan_are_a_bad_schema_not_a_refused_batch(site: Site, pipeline: Pipeline) -> None:
    """JSON parsers take Infinity, NaN and 1e999; PostgreSQL's jsonb does not, and one such value
    would make the database refuse the whole batch. The schema refuses them with the field named."""
    env = site.devices["env-1"]
    topic = f"shequ/{env.region_code}/environment/{env.code}/telemetry"
    ts = int(timezone.now().timestamp() * 1000)
    bad = [
        Message(topic, f'{{"v":1,"id":"n-{i}","ts":{ts},"temperature":{value}}}'.encode())
        for i, value in enumerate(("Infinity", "-Infinity", "NaN", "1e999"))
    ]
    good = message(env, "telemetry", "n-ok", temperature=21.5)
    result = pipeline.process([*bad, good])
    assert result.outcomes == [Reason.BAD_SCHEMA] * 4 + [""] and result.stored == 1
    assert all("temperature" in d.detail for d in DeadLetter.objects.all())
