"""Demo IoT for 岳麓街道's two demo communities (枇杷塘, 泽盛): devices where a community would fit
them, the rules a community runs, residents' access cards and plates, and three days of device
history that went through the ingestion pipeline, so the alerts and their grid tickets came out
the normal way.

Devices: door controllers at building entrances and at the homes of elderly people living alone
(with an SOS button there), barrier gates at the estates' entrances, a camera on a fire lane
(no-parking zone), smoke and gas detectors in key places and some homes, water-leak sensors,
an environment monitor, water and electricity meters, a people counter at the square. Their
tokens are written once to ``var/demo-device-tokens.json`` (the HTTP simulator presents them).

History (``HISTORY_DAYS``, ending now): the simulator's background traffic (``iot.simulator``)
plus incidents — a smoke alarm from cooking (cleared), gas over the limit at the market (cleared),
a gathering at the square last evening (cleared), a water leak, an SOS call (acknowledged), a
welfare check, a car left in the fire lane, an environment monitor gone silent. One more
living-alone resident's door stops a quarter of an hour short of the welfare rule's hours, so the
running demo raises a welfare check by itself soon after it starts.

Deterministic for a seed (the devices, cards, events and alerts; the dates move with the day it
runs: the random events of an hour depend on the day of the run and the hour of the day, not on
the date). Idempotent: a street that already has devices is left alone.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from shequ.core import outbox
from shequ.core.models import Region, User
from shequ.core.permissions import has_perm
from shequ.iot import handlers, services
from shequ.iot import simulator as sim
from shequ.iot.models import (
    AccessCredential,
    Alert,
    Channel,
    CredentialKind,
    Device,
    DeviceEvent,
    DeviceKind,
    Rule,
    RuleKind,
    Severity,
)
from shequ.iot.permissions import IotPerm
from shequ.registry import selectors as registry

STREET = "430104002"  # 岳麓街道
COMMUNITY_A = "430104002001"  # 枇杷塘社区: the demo accounts' community
COMMUNITY_B = "430104002003"  # 泽盛社区
COMMUNITIES = {COMMUNITY_A: "ppt", COMMUNITY_B: "zs"}
HISTORY_DAYS = 3
ENTRANCES = 8  # building entrances with a door controller, per community
ELDERS = 6  # living-alone homes with a door sensor and an SOS button, per community
CARDS_PER_BUILDING = 24
PLATE_SHARE = 4  # one card holder in four has a registered car

# (vendor, model, serial prefix) by what the device does: brands a Changsha estate buys.
MODELS: dict[str, list[tuple[str, str, str]]] = {
    "entrance": [("海康威视", "DS-K1T804AMF", "K1T8"), ("大华", "DHI-ASI1201E-D", "ASI1")],
    "home": [("海曼", "HS1DS-N", "HMDS"), ("萤石", "CS-T2C", "YST2")],
    "gate": [("捷顺", "JSKT6A-Y", "JSKT"), ("海康威视", "DS-TMG4B5-LPR", "TMG4")],
    "fire_lane": [("宇视", "HIC6622-IR", "UNVH")],
    "smoke": [("海曼", "HS1SA-N", "HMSA"), ("萤石", "BS-S1", "YSBS")],
    "gas": [("海曼", "HS1CG-N", "HMCG")],
    "water_leak": [("海曼", "HS1WL-N", "HMWL")],
    "environment": [("建大仁科", "RS-ZSYB-N01", "RKZS")],
    "meter_power": [("威胜", "DDZY102-Z", "WSDD")],
    "meter_water": [("宁波水表", "LXSY-20E-NB", "NBSB")],
    "sos": [("海曼", "HS2EB-N", "HMEB")],
    "people_counter": [("海康威视", "iDS-2CD6825G0/C-IVS", "IDSC")],
}


@dataclass
class IotSummary:
    devices: int = 0
    rules: int = 0
    credentials: int = 0
    events: int = 0
    alerts: int = 0
    tickets: int = 0
    seconds: float = 0.0
    skipped: bool = False
    by_kind: Counter[str] = field(default_factory=Counter)
    tokens: Path | None = None
    now: dt.datetime | None = None  # where the history ends

    def line(self) -> str:
        if self.skipped:
            return "iot: the demo street already has devices; left alone"
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.by_kind.items()))
        return (
            f"iot: {self.devices} devices ({kinds}), {self.rules} rules, {self.credentials} cards and "
            f"plates, {self.events} events over {HISTORY_DAYS} days, {self.alerts} alerts, "
            f"{self.tickets} tickets from them in {self.seconds:.1f} s; device tokens in {self.tokens}"
        )


# --- Devices ------------------------------------------------------------------------------------


class _Fitter:
    """Registers one community's devices through the device service."""

    def __init__(self, community: Region, prefix: str, rng: random.Random, viewer: User) -> None:
        self.community = community
        self.prefix = prefix
        self.rng = rng
        self.viewer = viewer
        self.tokens: dict[str, str] = {}
        self.numbers: Counter[str] = Counter()
        self.regions: dict[str, Region] = {
            r.code: r for r in Region.objects.filter(code__startswith=community.code)
        }
        self.property = (
            registry.organization_list(viewer=viewer, region_code=community.code)
            .filter(name__contains="物业")
            .first()
        )

    def add(
        self,
        purpose: str,
        kind: str,
        name: str,
        *,
        building: Any = None,
        house: Any = None,
        key_place: Any = None,
        point: tuple[Decimal, Decimal] | None = None,
        managed: bool = False,
        no_parking: bool = False,
    ) -> Device:
        self.numbers[purpose] += 1
        number = self.numbers[purpose]
        code = f"{self.prefix}-{purpose.replace('_', '')}-{number:02d}"
        vendor, model, serial = self.rng.choice(MODELS[purpose])
        place = house or building or key_place
        region = self.regions.get(place.region_code) if place is not None else None
        located = building or (house.building if house is not None else None)
        if point is None and located is not None and located.latitude is not None:
            point = (located.latitude, located.longitude)
        device, token = services.device_register(
            actor=None,
            region=region or self.community,
            code=code,
            name=name[:100],
            kind=kind,
            vendor=vendor,
            model=model,
            serial=f"{serial}{self.prefix.upper()}{self.rng.randrange(10**8):08d}",
            location_note=(getattr(place, "address", "") or name)[-100:],
            latitude=point[0] if point else None,
            longitude=point[1] if point else None,
            building=building if house is None else None,
            house=house,
            key_place=key_place,
            organization=self.property if managed else None,
            no_parking=no_parking,
        )
        self.tokens[device.code] = token
        return device


def _label(building: Any) -> str:
    return f"{building.estate}{building.number}栋" if building.estate else f"{building.number}号楼"


def _fit_community(f: _Fitter) -> list[int]:
    """The community's devices; answers the living-alone houses fitted (in order)."""
    code = f.community.code
    buildings = list(registry.building_list(viewer=f.viewer, region_code=code).filter(latitude__isnull=False))
    homes = [b for b in buildings if b.type == "residential"] or buildings
    if not homes:
        return []  # a community without registry places (the registry demo was left out): no devices
    for b in homes[:ENTRANCES]:
        f.add("entrance", DeviceKind.DOOR, f"{_label(b)}单元门禁", building=b, managed=True)
    # The estates' entrances: a barrier gate each (two at most), and a fire lane watched by a camera.
    estates: dict[str, Any] = {}
    for b in homes:
        if b.estate and b.estate not in estates:
            estates[b.estate] = b
    entrances = list(estates.items())[:2] or [(f.community.name, homes[0])]
    for n, (estate, b) in enumerate(entrances):
        f.add(
            "gate",
            DeviceKind.GATE,
            f"{estate}{'东门' if n == 0 else '南门'}车辆道闸",
            building=b,
            managed=True,
        )
    estate, b = entrances[0]
    f.add(
        "fire_lane",
        DeviceKind.CAMERA,
        f"{estate}消防通道违停抓拍",
        building=b,
        managed=True,
        no_parking=True,
        point=_near(b, 0.0004),
    )
    # Elderly living alone: a door sensor and an SOS button at home; smoke and gas at some.
    watched = registry.houses_with_tag(region_code=code, tag_code="living_alone")
    houses = list(registry.house_list(viewer=f.viewer, region_code=code).filter(pk__in=list(watched)))
    houses.sort(key=lambda h: h.pk)
    elders = houses[:ELDERS]
    for n, h in enumerate(elders):
        f.add("home", DeviceKind.DOOR, f"{_label(h.building)}{h.number}室 独居老人门磁", house=h)
        f.add("sos", DeviceKind.SOS, f"{_label(h.building)}{h.number}室 一键呼救", house=h)
        if n % 2 == 0:
            f.add("smoke", DeviceKind.SMOKE, f"{_label(h.building)}{h.number}室 烟感", house=h)
        if n % 3 == 0:
            f.add("gas", DeviceKind.GAS, f"{_label(h.building)}{h.number}室 厨房燃气报警器", house=h)
    if elders:
        h = elders[-1]
        f.add("water_leak", DeviceKind.WATER_LEAK, f"{_label(h.building)}{h.number}室 水浸", house=h)
    # Key places: smoke everywhere, gas at the market.
    for place in registry.key_place_list(viewer=f.viewer, region_code=code)[:4]:
        f.add("smoke", DeviceKind.SMOKE, f"{place.name}烟感", key_place=place, building=place.building)
        if place.kind == "market":
            f.add("gas", DeviceKind.GAS, f"{place.name}燃气报警器", key_place=place, building=place.building)
    first = homes[0]
    f.add("water_leak", DeviceKind.WATER_LEAK, f"{_label(first)}地下水泵房水浸", building=first, managed=True)
    f.add(
        "environment",
        DeviceKind.ENVIRONMENT,
        f"{f.community.name}环境监测站",
        building=first,
        point=_near(first, -0.0005),
    )
    f.add(
        "people_counter",
        DeviceKind.PEOPLE_COUNTER,
        f"{f.community.name.removesuffix('社区')}文化广场客流计数",
        building=first,
        point=_near(first, 0.0007),
    )
    # Meters at a few ordinary homes of the first building.
    ordinary = [h for h in registry.house_list(viewer=f.viewer, building=first) if h.pk not in watched][:2]
    for h in ordinary:
        f.add("meter_power", DeviceKind.METER, f"{_label(first)}{h.number}室 智能电表", house=h)
        f.add("meter_water", DeviceKind.METER, f"{_label(first)}{h.number}室 智能水表", house=h)
    return [h.pk for h in elders]


def _near(building: Any, offset: float) -> tuple[Decimal, Decimal] | None:
    if building.latitude is None or building.longitude is None:
        return None
    step = Decimal(str(offset))
    return (building.latitude + step, building.longitude + step)


# --- Rules --------------------------------------------------------------------------------------

# (name, kind, device kind, severity, params, ticket category)
RULES: list[tuple[str, str, str, int, dict[str, Any], str]] = [
    ("烟感报警", RuleKind.EVENT, DeviceKind.SMOKE, Severity.CRITICAL, {"types": ["alarm"]}, "safety.fire"),
    (
        "燃气浓度超标",
        RuleKind.THRESHOLD,
        DeviceKind.GAS,
        Severity.MAJOR,
        {"field": "level", "op": "gt", "value": 25},
        "safety.gas",
    ),
    (
        "水浸报警",
        RuleKind.EVENT,
        DeviceKind.WATER_LEAK,
        Severity.WARNING,
        {"types": ["alarm"]},
        "livelihood.water",
    ),
    (
        "一键呼救",
        RuleKind.EVENT,
        DeviceKind.SOS,
        Severity.CRITICAL,
        {"types": ["pressed"]},
        "livelihood.elderly",
    ),
    (
        "独居老人关爱：24小时无开门",
        RuleKind.ABSENCE,
        "",
        Severity.MAJOR,
        {"hours": 24, "tag": "living_alone"},
        "livelihood.elderly",
    ),
    (
        "人员异常聚集",
        RuleKind.COUNT,
        DeviceKind.PEOPLE_COUNTER,
        Severity.WARNING,
        {"over": 80, "minutes": 15},
        "security.public_order",
    ),
    (
        "消防通道违停",
        RuleKind.DWELL,
        DeviceKind.CAMERA,
        Severity.WARNING,
        {"minutes": 15},
        "cityscape.parking",
    ),
    ("设备离线", RuleKind.OFFLINE, "", Severity.INFO, {"minutes": 30}, "security.technical"),
    # No ticket: shown on the console only.
    (
        "PM2.5 超标",
        RuleKind.THRESHOLD,
        DeviceKind.ENVIRONMENT,
        Severity.INFO,
        {"field": "pm25", "op": "gt", "value": 150},
        "",
    ),
]


def _rules(community: Region) -> int:
    for name, kind, device_kind, severity, params, category in RULES:
        services.rule_create(
            actor=None,
            region=community,
            name=name,
            kind=kind,
            device_kind=device_kind,
            severity=severity,
            params=params,
            ticket_category=category,
        )
    return len(RULES)


# --- Cards and plates ---------------------------------------------------------------------------


def _credentials(community: Region, viewer: User) -> int:
    """Residents of the buildings with a door controller get their card registered, one in four a
    plate, through the credential service (only the blind index and the masked form are kept; each
    registration audited). The values are derived from the person, so the simulator can present
    them (``simulator.card_number``)."""
    buildings = list(
        Device.objects.filter(
            region_code__startswith=community.code, kind=DeviceKind.DOOR, house__isnull=True
        ).values_list("building_id", flat=True)
    )
    people = registry.person_list(viewer=viewer, region_code=community.code).filter(
        house__building_id__in=buildings, birth_date__lte=dt.date(2012, 1, 1)
    )
    per_building: Counter[int] = Counter()
    count = 0
    for person in people.order_by("pk").select_related("house"):
        assert person.house is not None
        if per_building[person.house.building_id] >= CARDS_PER_BUILDING:
            continue
        per_building[person.house.building_id] += 1
        kinds = [CredentialKind.CARD] + ([CredentialKind.PLATE] if person.pk % PLATE_SHARE == 0 else [])
        for kind in kinds:
            services.credential_register(
                actor=None, person=person, kind=kind, value=sim.credential_value(kind, person.pk)
            )
            count += 1
    return count


# --- History ------------------------------------------------------------------------------------


def _first(fleet: sim.Fleet, role: str, community: str, nth: int = 0) -> sim.SimDevice | None:
    found = [d for d in fleet.by_role(role) if d.region_code.startswith(community)]
    return found[nth] if len(found) > nth else None


def _incidents(fleet: sim.Fleet, traffic: sim.Traffic, now: dt.datetime) -> list[sim.Outgoing]:
    """The history's incidents, dated back from now (see the module docstring): most in community A,
    where the demo's staff accounts work; the car in the fire lane in B (the simulator's goes to A's)."""
    a, b = COMMUNITY_A, COMMUNITY_B
    out: list[sim.Outgoing] = []
    ago = lambda **kw: now - dt.timedelta(**kw)  # noqa: E731
    far = now + dt.timedelta(days=365)

    home_smoke = next(
        (d for d in fleet.by_role(DeviceKind.SMOKE) if d.house_id and d.region_code.startswith(a)), None
    )
    if home_smoke:
        at = ago(days=2, hours=5)
        out += [
            sim.Outgoing(at, home_smoke, Channel.EVENT, {"type": "alarm", "level": 9.8}),
            sim.Outgoing(
                at + dt.timedelta(minutes=6), home_smoke, Channel.EVENT, {"type": "clear", "level": 0.2}
            ),
        ]
    market_gas = next((d for d in fleet.by_role(DeviceKind.GAS) if not d.house_id), None)
    if market_gas:
        at = ago(hours=26)
        out += [
            sim.Outgoing(at, market_gas, Channel.TELEMETRY, {"level": 31.5}),
            sim.Outgoing(
                at + dt.timedelta(minutes=1), market_gas, Channel.EVENT, {"type": "alarm", "level": 34.0}
            ),
            sim.Outgoing(at + dt.timedelta(minutes=25), market_gas, Channel.TELEMETRY, {"level": 3.1}),
        ]
    pump = _first(fleet, DeviceKind.WATER_LEAK, a, 1) or _first(fleet, DeviceKind.WATER_LEAK, a)
    if pump:
        out.append(
            sim.Outgoing(ago(hours=5, minutes=12), pump, Channel.EVENT, {"type": "alarm", "level": 12.0})
        )
    sos = _first(fleet, DeviceKind.SOS, a, 2)
    if sos:
        out.append(sim.Outgoing(ago(hours=3, minutes=20), sos, Channel.EVENT, {"type": "pressed"}))
    # Welfare: the first watched home silent for 30 hours; the second a quarter of an hour short.
    for nth, silent_for in ((0, dt.timedelta(hours=30)), (1, dt.timedelta(hours=23, minutes=45))):
        door = _first(fleet, "home", a, nth)
        if door is None:
            continue
        last = now - silent_for
        out.append(sim.Outgoing(last, door, Channel.EVENT, {"type": "open", "direction": "in"}))
        traffic.silences.append(sim.Silence(last + sim.MINUTE, far, device_id=door.id, channel=Channel.EVENT))
        traffic.silences.append(sim.Silence(last + sim.MINUTE, far, house_id=door.house_id))
    # The square last evening: 广场舞 grew into a crowd over the limit for forty minutes.
    counter = _first(fleet, DeviceKind.PEOPLE_COUNTER, a)
    if counter:
        # The last evening that is over (and long enough ago for the staff to have cleared it).
        evening = timezone.localtime(now - dt.timedelta(hours=14)).replace(
            hour=19, minute=30, second=0, microsecond=0
        )
        if evening > now - dt.timedelta(hours=14):
            evening -= dt.timedelta(days=1)
        traffic.silences.append(
            sim.Silence(evening, evening + dt.timedelta(minutes=42), device_id=counter.id)
        )
        for n in range(0, 42, 2):
            count = 86 + round(40 * (1 - abs(n - 20) / 20)) if n < 40 else 35
            out.append(
                sim.Outgoing(evening + dt.timedelta(minutes=n), counter, Channel.TELEMETRY, {"count": count})
            )
    camera = _first(fleet, "fire_lane", b)  # the simulator's car goes to the other one
    if camera:
        out.append(
            sim.Outgoing(
                ago(minutes=40), camera, Channel.EVENT, {"type": "vehicle_enter", "plate": "湘AD37Q5"}
            )
        )
    monitor = _first(fleet, DeviceKind.ENVIRONMENT, a)  # the simulator silences the other one
    if monitor:
        traffic.silences.append(sim.Silence(ago(hours=2), far, device_id=monitor.id))
    return out


def _history(fleet: sim.Fleet, seed: int, now: dt.datetime) -> int:
    """``HISTORY_DAYS`` of traffic through the pipeline, on a fake clock ending now."""
    start = now - dt.timedelta(days=HISTORY_DAYS)
    # Sparse heartbeats and readings in the past (the pages show the last ones), dense at the end.
    transport = sim.DirectTransport(checks=False)
    simulator = sim.Simulator(fleet, transport, start, seed=seed, scenarios=(), heartbeat_minutes=180)
    simulator.traffic.telemetry_scale = 3
    simulator.add(_incidents(fleet, simulator.traffic, now))
    dense = now - dt.timedelta(minutes=40)
    hour = start
    while hour < dense:
        hour = min(dense, hour + sim.HOUR)
        simulator.run_until(hour, step=sim.HOUR)
        handlers.check_absence(hour)
        handlers.check_dwell(hour)
    simulator.traffic.heartbeat_minutes = sim.HEARTBEAT_MINUTES
    simulator.traffic.telemetry_scale = 1
    simulator.run_until(now, step=dt.timedelta(minutes=5))
    handlers.check_absence(now)
    handlers.check_dwell(now)
    handlers.check_offline(now)
    return transport.stats.stored


def _staff_steps(now: dt.datetime) -> None:
    """What the community's staff did about the older alerts (audited by the services; the
    alerts' own times are moved back to when it happened)."""
    staff = [u for u in (User.objects.filter(username=n).first() for n in ("grid_a", "worker_a")) if u]
    alerts = Alert.objects.filter(region_code__startswith=STREET).select_related("rule")
    # The history raised its alerts in a second: they were seen when they happened.
    alerts.update(raised_at=F("first_at"))
    done = {
        "烟感报警": "厨房油烟误报，已上门核实，老人安全",
        "燃气浓度超标": "市场摊位软管老化漏气，已关阀更换，复测正常",
        "人员异常聚集": "广场舞活动人数较多，已劝导控制音量和散场时间",
    }
    for alert in alerts.order_by("pk"):
        # The grid worker where it is theirs, else the community worker (community A's only).
        actor = next((u for u in staff if has_perm(u, IotPerm.ALERT, alert.region_code)), None)
        if actor is None:
            continue
        reason = done.get(alert.rule.name)
        if reason and alert.first_at < now - dt.timedelta(hours=12):
            services.alert_acknowledge(actor=actor, alert=alert)
            services.alert_clear(actor=actor, alert=alert, reason=reason)
            Alert.objects.filter(pk=alert.pk).update(
                acknowledged_at=alert.first_at + dt.timedelta(minutes=9),
                cleared_at=alert.first_at + dt.timedelta(minutes=48),
            )
        elif alert.rule.name == "一键呼救":
            services.alert_acknowledge(actor=actor, alert=alert)
            Alert.objects.filter(pk=alert.pk).update(acknowledged_at=alert.first_at + dt.timedelta(minutes=4))


def generate_iot(
    *, seed: int = 2026, now: dt.datetime | None = None, tokens_path: Path | None = None
) -> IotSummary:
    """The demo street's IoT (needs the registry and the demo accounts of ``shequ.demo.generator``)."""
    summary = IotSummary()
    started = time.perf_counter()
    if Device.objects.filter(region_code__startswith=STREET).exists():
        summary.skipped = True
        return summary
    now = summary.now = now or timezone.now()
    rng = random.Random(seed)
    # The street officer's view of the registry: the places and people a street may see.
    viewer = User.objects.get(username="street")
    tokens: dict[str, str] = {}
    watched: list[int] = []
    with transaction.atomic():
        for code, prefix in COMMUNITIES.items():
            community = Region.objects.get(code=code)
            fitter = _Fitter(community, prefix, rng, viewer)
            watched += _fit_community(fitter)
            tokens.update(fitter.tokens)
            summary.rules += _rules(community)
            summary.credentials += _credentials(community, viewer)
        _link_resident()
    summary.tokens = sim.write_tokens(tokens, tokens_path)
    fleet = sim.Fleet.load(STREET)
    summary.events = _history(fleet, seed, now)
    _staff_steps(now)
    # The grid makes its tickets from the alerts now, as the worker would.
    outbox.run_pending()
    devices = Device.objects.filter(region_code__startswith=STREET)
    summary.devices = devices.count()
    summary.by_kind = Counter(devices.values_list("kind", flat=True))
    alerts = Alert.objects.filter(region_code__startswith=STREET)
    summary.alerts = alerts.count()
    summary.tickets = alerts.filter(ticket_id__isnull=False).count()
    summary.seconds = time.perf_counter() - started
    return summary


def _link_resident() -> None:
    """The demo resident's account belongs to a person registered at a home of her grid, so she can
    give visitor passes for that home."""
    from shequ.registry.demo.accounts import link_demo_resident

    user = User.objects.filter(username="resident").first()
    if user is not None:
        link_demo_resident(user)


def signature() -> dict[str, Any]:
    """What must come out the same for a seed (the determinism test)."""
    return {
        "devices": list(
            Device.objects.order_by("code").values_list("code", "kind", "vendor", "model", "serial")
        ),
        "rules": list(Rule.objects.order_by("pk").values_list("region_code", "name", "kind", "params")),
        "credentials": list(
            AccessCredential.objects.order_by("pk").values_list("kind", "value_index", "masked")
        ),
        "events": DeviceEvent.objects.count(),
        "by_type": sorted(Counter(DeviceEvent.objects.values_list("type", flat=True)).items()),
        "alerts": sorted(
            Alert.objects.values_list("rule__name", "device__code", "house_id", "state", "count")
        ),
    }
