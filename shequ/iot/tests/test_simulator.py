"""The device simulator: its background traffic follows the day, and each scenario raises the alert
its rule promises at the time it promises — through the pipeline (``--via direct``), on a fake
clock. The HTTP transport is checked against a live server."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from shequ.core import crypto, outbox
from shequ.iot import demo, services
from shequ.iot import simulator as sim
from shequ.iot.ingest import mask_credential
from shequ.iot.models import (
    AccessCredential,
    Alert,
    Channel,
    DeadLetter,
    Device,
    DeviceEvent,
    DeviceKind,
    RuleKind,
)
from shequ.registry import services as registry_services
from shequ.registry.tests.conftest import Registry, _fast_password_hasher, reg  # noqa: F401 (fixtures)

STREET = "430104002"
BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")


@dataclass
class Street:
    reg: Registry
    devices: dict[str, Device]
    tokens: dict[str, str]


def _register(registry: Registry, code: str, kind: str, **where: object) -> tuple[Device, str]:
    place: Any = where.get("house") or where.get("building")
    region = registry.world.regions[place.region_code]
    return services.device_register(
        actor=None,
        region=region,
        code=code,
        name=f"{code} 设备",
        kind=kind,
        vendor="海曼",
        serial=f"SN-{code}",
        **where,  # type: ignore[arg-type]
    )


@pytest.fixture
def street(reg: Registry) -> Street:  # noqa: F811
    """A living-alone resident with a door sensor at home; an entrance door where the residents of
    building a use their cards; a fire-lane camera, a smoke detector, a people counter and an
    environment monitor; the demo's rules in community A."""
    registry_services.tag_add(actor=None, person=reg.people["a"], category="living_alone")
    a, b = reg.buildings["a"], reg.buildings["b"]
    specs: list[tuple[str, str, dict[str, object]]] = [
        ("home-1", DeviceKind.DOOR, {"house": reg.houses["a"][0]}),
        ("door-1", DeviceKind.DOOR, {"building": a}),
        ("lane-1", DeviceKind.CAMERA, {"building": b, "no_parking": True}),
        ("smoke-1", DeviceKind.SMOKE, {"building": b}),
        ("counter-1", DeviceKind.PEOPLE_COUNTER, {"building": a}),
        ("env-1", DeviceKind.ENVIRONMENT, {"building": b}),
    ]
    devices, tokens = {}, {}
    for code, kind, where in specs:
        devices[code], tokens[code] = _register(reg, code, kind, **where)
    demo._rules(reg.world.regions[demo.COMMUNITY_A])
    person = reg.people["a"]
    value = sim.card_number(person.pk)
    AccessCredential.objects.create(
        kind="card",
        value_index=crypto.blind_index(value, "iot_card"),
        masked=mask_credential("card", value),
        person=person,
        house=person.house,
        region=person.region,
        region_code=person.region_code,
    )
    return Street(reg, devices, tokens)


def _alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(rule__kind=kind).select_related("rule", "device"))


def _run(names: list[str], start: dt.datetime) -> sim.Simulator:
    return sim.Simulator(sim.Fleet.load(STREET), sim.DirectTransport(), start, seed=7, scenarios=names)


def test_welfare_scenario_raises_the_absence_alert_after_the_rules_hours(street: Street) -> None:
    """The door of the living-alone resident stops opening (and their card is not used at the
    entrance either); nothing before 24 hours, a welfare check after — and the door's heartbeats
    go on, so it is not taken for an offline device."""
    start = timezone.now() - dt.timedelta(hours=26)
    run = _run(["welfare"], start)
    incident = run.plan.incidents[0]
    house = street.reg.houses["a"][0]
    assert incident.house_id == house.pk and incident.rule_kind == RuleKind.ABSENCE
    # A house never seen gets one opening at the start, so the silence has a beginning.
    assert incident.due == start + dt.timedelta(minutes=1, hours=24)
    run.run_until(incident.due - dt.timedelta(minutes=10), step=dt.timedelta(minutes=10))
    assert _alerts(RuleKind.ABSENCE) == []
    # The resident's card was presented before the silence only (it begins a minute after the last
    # opening: traffic drawn at random for that minute may still hold the card); other openings went on.
    card = DeviceEvent.objects.filter(device=street.devices["door-1"], person_id=street.reg.people["a"].pk)
    silence = incident.due - dt.timedelta(hours=24) + dt.timedelta(minutes=1)
    assert not card.filter(occurred_at__gte=silence).exists()
    run.run_until(incident.due + dt.timedelta(minutes=10), step=dt.timedelta(minutes=10))
    (alert,) = _alerts(RuleKind.ABSENCE)
    assert alert.house_id == house.pk and alert.origin == f"house:{house.pk}"
    assert "24" in alert.detail
    assert _alerts(RuleKind.OFFLINE) == []
    assert DeviceEvent.objects.filter(device=street.devices["home-1"], channel=Channel.HEARTBEAT).exists()


def test_parking_gathering_and_smoke_scenarios(street: Street) -> None:
    """A car left in the fire lane: the dwell alert after the rule's 15 minutes, not before. A crowd
    over 80 at the square: the gathering alert after 15 minutes over. A smoke alarm: an alert at
    once, and a grid ticket from the outbox."""
    start = timezone.now() - dt.timedelta(hours=2)
    run = _run(["parking", "gathering", "smoke"], start)
    due = {i.scenario: i.due for i in run.plan.incidents}
    assert due["parking"] == start + dt.timedelta(minutes=16)
    assert due["gathering"] == start + dt.timedelta(minutes=18)
    run.run_until(start + dt.timedelta(minutes=15))
    assert _alerts(RuleKind.DWELL) == [] and _alerts(RuleKind.COUNT) == []
    (smoke,) = _alerts(RuleKind.EVENT)
    assert smoke.device == street.devices["smoke-1"] and smoke.first_at >= start + dt.timedelta(minutes=2)
    run.run_until(start + dt.timedelta(minutes=17))
    (dwell,) = _alerts(RuleKind.DWELL)
    assert dwell.device == street.devices["lane-1"] and "·***" in dwell.detail
    assert _alerts(RuleKind.COUNT) == []
    run.run_until(start + dt.timedelta(minutes=19))
    (crowd,) = _alerts(RuleKind.COUNT)
    assert crowd.device == street.devices["counter-1"] and (crowd.value or 0) > 80
    # The plate is kept as a blind index and a masked form only.
    assert not DeviceEvent.objects.filter(data__has_key="plate").exists()
    outbox.run_pending()
    smoke.refresh_from_db()
    from shequ.grid.models import Ticket

    assert smoke.ticket_id is not None
    ticket = Ticket.objects.get(pk=smoke.ticket_id)
    assert ticket.category is not None and ticket.category.code == "safety.fire"
    assert DeadLetter.objects.count() == 0


def test_offline_scenario(street: Street) -> None:
    """Two devices go silent: offline alerts once the rule's 30 minutes have passed; the devices
    that keep sending heartbeats raise none."""
    start = timezone.now() - dt.timedelta(hours=1)
    run = _run(["offline"], start)
    silent = {i.device.code for i in run.plan.incidents if i.device is not None}
    assert silent == {"env-1", "door-1"}
    due = max(i.due for i in run.plan.incidents)
    assert due == start + dt.timedelta(minutes=sim.HEARTBEAT_MINUTES + 1 + 30)
    run.run_until(start + dt.timedelta(minutes=30))
    assert _alerts(RuleKind.OFFLINE) == []
    run.run_until(due + dt.timedelta(minutes=1))
    assert {a.device.code for a in _alerts(RuleKind.OFFLINE) if a.device} == silent
    online = Device.objects.filter(online=True).values_list("code", flat=True)
    assert set(online) == set(street.devices) - silent


def test_background_traffic_follows_the_day_and_is_seeded(street: Street) -> None:
    fleet = sim.Fleet.load(STREET)
    day = dt.datetime(2026, 11, 2, tzinfo=BEIJING).astimezone(dt.UTC)
    traffic = sim.Traffic(fleet, seed=3, anchor=day, rate=4)
    messages = traffic.between(day, day + dt.timedelta(days=1))
    door = [m for m in messages if m.device.code == "door-1" and m.channel == Channel.EVENT]
    by_hour = Counter(m.at.astimezone(BEIJING).hour for m in door)
    assert sum(by_hour[h] for h in (7, 8)) > 4 * sum(by_hour[h] for h in (1, 2, 3, 4))
    # Most openings show a resident's card (their blind index is registered), some are refused.
    cards = [m for m in door if m.holder is not None]
    assert len(cards) > len(door) / 2 and any(m.body["type"] == "denied" for m in door)
    # Heartbeats every 5 minutes from every device.
    beats = Counter(m.device.code for m in messages if m.channel == Channel.HEARTBEAT)
    assert set(beats.values()) == {288} and len(beats) == len(street.devices)
    # The same span gives the same messages; a day starting at another hour, the same count.
    again = sim.Traffic(fleet, seed=3, anchor=day, rate=4).between(day, day + dt.timedelta(days=1))
    assert [m.payload() for m in again] == [m.payload() for m in messages]
    later = day + dt.timedelta(hours=7)
    shifted = sim.Traffic(fleet, seed=3, anchor=later, rate=4).between(later, later + dt.timedelta(days=1))
    assert len([m for m in shifted if m.device.code == "door-1" and m.channel == Channel.EVENT]) == len(door)
    # Split into small steps, the same messages as one span.
    parts = sim.Traffic(fleet, seed=3, anchor=day, rate=4)
    stepped = [
        m.payload()
        for n in range(24 * 6)
        for m in parts.between(day + dt.timedelta(minutes=10 * n), day + dt.timedelta(minutes=10 * (n + 1)))
    ]
    assert sorted(stepped) == sorted(m.payload() for m in messages)


def test_every_simulated_message_is_accepted(street: Street) -> None:
    """A simulated day through the pipeline: every payload fits its schema (no dead letters)."""
    start = timezone.now() - dt.timedelta(days=1)
    run = sim.Simulator(sim.Fleet.load(STREET), sim.DirectTransport(checks=False), start, seed=5, rate=2)
    run.run_until(timezone.now(), step=sim.HOUR)
    assert DeadLetter.objects.count() == 0
    assert run.transport.stats.stored == run.transport.stats.sent > 500
    kinds = set(DeviceEvent.objects.values_list("type", flat=True))
    assert {"open", "heartbeat", "reading", "vehicle_enter", "vehicle_leave"} <= kinds


def test_command_runs_direct_and_checks_its_options(
    street: Street, capsys: pytest.CaptureFixture[str]
) -> None:
    import signal

    from django.core.management.base import CommandError

    before = signal.getsignal(signal.SIGTERM)
    call_command("simulate_devices", via="direct", duration=1.0, speed=600, scenario="smoke,parking")
    # The command's handlers end with it (forked children of the caller would inherit them).
    assert signal.getsignal(signal.SIGTERM) is before
    out = capsys.readouterr().out
    assert "via direct" in out and "smoke:" in out and "parking:" in out and "simulation ended" in out
    assert _alerts(RuleKind.EVENT)  # the smoke alarm, 2 simulated minutes in
    with pytest.raises(CommandError, match="unknown scenario"):
        call_command("simulate_devices", via="direct", duration=1.0, scenario="fire")
    with pytest.raises(CommandError, match="needs --duration"):
        call_command("simulate_devices", via="direct", speed=10)
    with pytest.raises(CommandError, match="No active devices"):
        call_command("simulate_devices", via="direct", duration=1.0, region="430104003")


def test_tokens_file_is_kept_and_completed(street: Street, tmp_path: object, settings: object) -> None:
    settings.VAR_DIR = tmp_path  # type: ignore[attr-defined]
    fleet = sim.Fleet.load(STREET)
    sim.write_tokens({"door-1": street.tokens["door-1"]})
    tokens = sim.device_tokens(fleet)
    assert tokens["door-1"] == street.tokens["door-1"]  # kept
    assert set(tokens) == set(street.devices)
    path = sim.tokens_path()
    assert json.loads(path.read_text()) == tokens and path.stat().st_mode & 0o777 == 0o600
    # A reset token replaces the one the registration gave.
    assert tokens["smoke-1"] != street.tokens["smoke-1"]
    # A file written for another database (or before a reset): the wrong tokens are replaced.
    sim.write_tokens({**tokens, "door-1": "dev_from_elsewhere"})
    again = sim.device_tokens(fleet)
    assert again["door-1"] not in ("dev_from_elsewhere", tokens["door-1"])
    assert {k: v for k, v in again.items() if k != "door-1"} == {
        k: v for k, v in tokens.items() if k != "door-1"
    }
    path.write_text("not json")
    assert set(sim.device_tokens(fleet)) == set(street.devices)


@pytest.mark.django_db(transaction=True)
def test_http_transport_posts_with_device_tokens(live_server: object, reg: Registry) -> None:  # noqa: F811
    """The HTTP transport against a running server: stored with the right token, refused (401) with
    a wrong one."""
    registry_services.tag_add(actor=None, person=reg.people["a"], category="living_alone")
    device, token = _register(reg, "home-9", DeviceKind.DOOR, house=reg.houses["a"][0])
    fleet = sim.Fleet.load(STREET)
    now = timezone.now()
    transport = sim.HttpTransport(live_server.url, {"home-9": token})  # type: ignore[attr-defined]
    (target,) = fleet.devices
    batch = [
        sim.Outgoing(now - dt.timedelta(minutes=2), target, Channel.EVENT, {"type": "open"}),
        sim.Outgoing(now - dt.timedelta(minutes=1), target, Channel.HEARTBEAT, {"battery": 80}),
    ]
    transport.send(batch, now)
    assert transport.stats.stored == 2 and transport.stats.errors == 0
    assert DeviceEvent.objects.filter(device=device).count() == 2
    wrong = sim.HttpTransport(live_server.url, {"home-9": "dev_wrong"})  # type: ignore[attr-defined]
    wrong.send([sim.Outgoing(now, target, Channel.EVENT, {"type": "closed"})], now)
    assert wrong.stats.refused == 1 and DeviceEvent.objects.filter(device=device).count() == 2
    transport.close()
    wrong.close()


def test_scenario_names_start_times_and_demo_credentials() -> None:
    assert sim.parse_scenarios("all") == list(sim.SCENARIOS)
    assert sim.parse_scenarios("none") == []
    assert sim.parse_scenarios("welfare, smoke") == ["welfare", "smoke"]
    now = timezone.now()
    assert sim.live_start(speed=1, duration=None, now=now) == now
    assert sim.live_start(speed=11, duration=60, now=now) == now - dt.timedelta(minutes=10)
    assert sim.plate_number(12) == sim.plate_number(12) and sim.plate_number(12)[0] == "湘"
    assert len(sim.card_number(12)) == 10 and sim.card_number(12) != sim.card_number(13)


@pytest.mark.parametrize("broker", [True, False])
def test_demo_server_starts_the_devices(
    broker: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, settings: Any
) -> None:
    """`shequ serve --with-devices` (make demo): with a broker, an ingester of its own and the
    simulator over MQTT (after the ingester subscribed); without one, the simulator over HTTP to
    the server. Both end with the server."""
    import io
    import sys

    from shequ.iot.simulator import processes as serve

    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(sim, "broker_answers", lambda host, port, timeout=0.5: broker)
    monkeypatch.setattr(serve.threading, "Timer", _ImmediateTimer)
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    started: list[list[str]] = []
    real_popen = serve.subprocess.Popen

    def popen(command: list[str], **kwargs: Any) -> Any:
        started.append(command[3:])
        return real_popen(sleeper, **kwargs)  # a child to stop instead of the command

    monkeypatch.setattr(serve.subprocess, "Popen", popen)
    out = io.StringIO()
    from shequ.iot.component import COMPONENT

    assert COMPONENT.companions is not None  # what `shequ serve --with-devices` starts
    devices = COMPONENT.companions(out)
    assert isinstance(devices, serve.DeviceProcesses)
    devices.start("http://127.0.0.1:8000")
    monkeypatch.undo()
    if broker:
        assert started == [
            ["ingest", "--client-id", "shequ-demo-ingest", "--group", "shequ-demo"],
            ["simulate-devices", "--exit-with-parent", "--via", "mqtt"],
        ]
        assert "over MQTT" in out.getvalue()
    else:
        assert started == [
            ["simulate-devices", "--exit-with-parent", "--via", "http", "--url", "http://127.0.0.1:8000"]
        ]
        assert "over HTTP" in out.getvalue()
    devices.stop()
    assert all(child.poll() is not None for child in devices.children)
    assert (tmp_path / "simulator.log").exists()


class _ImmediateTimer:
    def __init__(self, interval: float, function: Any, args: list[Any]) -> None:
        self.function, self.args = function, args
        self.daemon = False

    def start(self) -> None:
        self.function(*self.args)

    def cancel(self) -> None:
        return None


def test_a_waterlogging_gauge_reads_rising_water_that_the_schema_accepts() -> None:
    """The emergency demo's gauges (environment monitors coded ``…waterlevel…``) keep sending rising
    standing water and heavy rain while the demo runs; other environment monitors send none."""
    from shequ.iot import payloads
    from shequ.iot.simulator.fleet import SimDevice

    traffic = sim.Traffic(sim.Fleet([], {}, {}, []), seed=1, anchor=dt.datetime(2026, 12, 6, tzinfo=dt.UTC))
    gauge = SimDevice(1, "ppt-waterlevel-01", "积水监测", "environment", STREET, None, None, False)
    plain = SimDevice(2, "env-1", "环境监测", "environment", STREET, None, None, False)
    t0 = dt.datetime(2026, 12, 6, 1, tzinfo=dt.UTC)  # an hour after the simulator started
    early, later = traffic._reading(gauge, t0), traffic._reading(gauge, t0 + dt.timedelta(hours=2))
    assert 0 < early["water_level"] < later["water_level"] <= 0.6 and later["rainfall"] > 15
    payloads.parse("environment", "telemetry", json.dumps({"v": 1, "id": "m-1", "ts": 1, **later}).encode())
    assert "water_level" not in traffic._reading(plain, t0)
