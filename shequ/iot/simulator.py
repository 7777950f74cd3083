"""Device traffic for the demo street: what ``shequ simulate-devices`` publishes and what the demo's
history is made of (``iot.demo``).

``Traffic`` makes the background: door openings that follow the day (a morning and an evening peak,
quiet nights), barrier-gate passes, cars crossing the fire lane, heartbeats, environment readings,
meter readings and the square's people count. ``Scenarios`` add the incidents, each timed from
the run's start against the rules of the region: an elderly resident whose door stops opening
(welfare check), a gathering at the square, a smoke alarm, a car left in the fire lane, devices going
silent. Everything is seeded: the random events of an hour are drawn from ``(seed, device, day of
the run, hour of the day)``, so the same span gives the same messages whatever the time of day it
starts.

Transports: ``direct`` (the ingestion pipeline in this process, with the time-based rules checked
on the simulated clock: no broker, no server), ``http`` (``POST /api/v1/iot/ingest/...`` with the
device tokens of ``var/demo-device-tokens.json``) and ``mqtt`` (QoS 1 on the topic scheme, through a
broker that ``shequ ingest`` reads).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import http.client
import json
import logging
import math
import random
import time
import urllib.parse
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shequ.core import crypto, outbox
from shequ.iot import handlers, rules
from shequ.iot.ingest import Message, Pipeline, Result
from shequ.iot.models import AccessCredential, Alert, Channel, Device, DeviceKind, HouseActivity, RuleKind
from shequ.iot.payloads import topic_for
from shequ.iot.services.devices import device_token_reset, token_hash

log = logging.getLogger(__name__)

BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")
SCENARIOS = ("welfare", "smoke", "gathering", "parking", "offline")
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)

# Share of a day's door openings in each hour (Beijing time): quiet nights, a morning peak when
# people leave for work and school, lunch, and a longer evening peak when they come home.
DOOR_RHYTHM = (
    0.4, 0.2, 0.1, 0.1, 0.2, 0.8, 3.0, 7.5, 8.5, 5.0, 4.0, 4.0,
    5.0, 4.0, 3.5, 3.5, 4.5, 7.0, 9.0, 8.0, 6.5, 4.5, 2.5, 1.2,
)  # fmt: skip
# An elderly person living alone: up early, out in the morning (market) and a walk after dinner.
ELDER_RHYTHM = (
    0, 0, 0, 0, 0, 0.5, 2.0, 3.0, 2.5, 1.5, 1.0, 1.5,
    1.0, 0.5, 0.5, 1.0, 1.5, 1.0, 2.0, 1.5, 0.5, 0.2, 0, 0,
)  # fmt: skip
# People at the square: morning exercise, and 广场舞 after dinner (under the gathering rule's limit).
SQUARE_COUNT = (
    2, 1, 0, 0, 1, 6, 28, 22, 10, 8, 9, 12,
    10, 8, 9, 11, 14, 18, 25, 55, 48, 20, 8, 4,
)  # fmt: skip
DAILY_OPENINGS = {"entrance": 140.0, "home": 8.0, "gate": 160.0, "fire_lane": 16.0}
# Minutes between readings in the background traffic.
TELEMETRY_MINUTES = {
    DeviceKind.ENVIRONMENT: 10,
    DeviceKind.PEOPLE_COUNTER: 5,
    DeviceKind.METER: 60,
    DeviceKind.SMOKE: 60,
    DeviceKind.GAS: 60,
    DeviceKind.WATER_LEAK: 60,
}
HEARTBEAT_MINUTES = 5
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I and O on Chinese plates
HUNAN_CITIES = "AAAAAAAABCDEFHKLMN"  # 湘A (Changsha) most often
TOKENS_FILE = "demo-device-tokens.json"


# --- Demo credentials ---------------------------------------------------------------------------
# The demo's residents' card numbers and plates are derived from the person's id, so the demo
# stores only their blind index and masked form (as a real registration does) and the simulator
# can still present the same card at the door.


def _digest(*parts: object) -> bytes:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()


def card_number(person_id: int) -> str:
    """A 10-digit card number (the decimal UID printed on Mifare cards)."""
    return str(3_000_000_000 + int.from_bytes(_digest("card", person_id)[:8]) % 999_999_999)


def plate_number(person_id: int) -> str:
    """A Hunan plate, e.g. 湘A5K2Q7 (new-energy plates have six characters after the letter)."""
    d = _digest("plate", person_id)
    city = HUNAN_CITIES[d[0] % len(HUNAN_CITIES)]
    chars = PLATE_LETTERS + "0123456789" * 3
    length = 6 if d[1] % 5 == 0 else 5
    return "湘" + city + "".join(chars[b % len(chars)] for b in d[2 : 2 + length])


def credential_value(kind: str, person_id: int) -> str:
    return card_number(person_id) if kind == "card" else plate_number(person_id)


def visitor_plate(rng: random.Random) -> str:
    province = rng.choice("湘湘湘湘湘湘粤鄂赣贵")
    return (
        province
        + rng.choice(PLATE_LETTERS[:12])
        + "".join(rng.choice("0123456789ABCDEFGHJK") for _ in range(5))
    )


# --- The fleet ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimDevice:
    id: int
    code: str
    name: str
    kind: str
    region_code: str
    house_id: int | None
    building_id: int | None
    no_parking: bool
    online: bool = True

    @property
    def role(self) -> str:
        """What its traffic looks like: a building entrance, a home's door, an estate gate …"""
        if self.kind == DeviceKind.DOOR:
            return "home" if self.house_id else "entrance"
        if self.kind == DeviceKind.GATE:
            return "gate"
        if self.kind == DeviceKind.CAMERA and self.no_parking:
            return "fire_lane"
        return self.kind

    def topic(self, channel: str) -> str:
        return topic_for(self.region_code, self.kind, self.code, channel)


@dataclass(frozen=True)
class Holder:
    """A registered resident's card or plate whose value the simulator can present."""

    kind: str
    value: str
    house_id: int | None
    building_id: int | None
    community: str


@dataclass
class Fleet:
    devices: list[SimDevice]
    cards: dict[int, list[Holder]]  # building id → its residents' cards
    plates: dict[str, list[Holder]]  # community code → its residents' plates
    rules: list[rules.RuleSpec]

    @classmethod
    def load(cls, region_code: str) -> Fleet:
        devices = [
            SimDevice(
                d.pk, d.code, d.name, d.kind, d.region_code, d.house_id, d.building_id, d.no_parking, d.online
            )
            for d in Device.objects.filter(region_code__startswith=region_code, active=True).order_by("code")
        ]
        cards: dict[int, list[Holder]] = {}
        plates: dict[str, list[Holder]] = {}
        rows = (
            AccessCredential.objects.filter(region_code__startswith=region_code, active=True)
            .order_by("pk")
            .values_list("kind", "value_index", "person_id", "house_id", "house__building_id", "region_code")
        )
        for kind, index, person_id, house_id, building_id, code in rows:
            value = credential_value(kind, person_id)
            if crypto.blind_index(value, f"iot_{kind}") != index:
                continue  # registered by hand: its value is not derivable here
            holder = Holder(kind, value, house_id, building_id, code[:12])
            if kind == "card" and building_id is not None:
                cards.setdefault(building_id, []).append(holder)
            elif kind == "plate":
                plates.setdefault(code[:12], []).append(holder)
        covering = [r for r in rules.load() if r.region_code.startswith(region_code[:9])]
        return cls(devices, cards, plates, covering)

    def by_role(self, role: str) -> list[SimDevice]:
        return [d for d in self.devices if d.role == role]

    def rule_param(self, kind: str, device: SimDevice | None, key: str, default: float) -> float:
        """A parameter of the first enabled rule of ``kind`` that covers ``device``."""
        for rule in self.rules:
            if rule.kind != kind:
                continue
            if device is not None and not (
                device.region_code.startswith(rule.region_code)
                and (not rule.device_kind or rule.device_kind == device.kind)
            ):
                continue
            return float(rule.params.get(key, default))
        return default


# --- Messages -----------------------------------------------------------------------------------


@dataclass
class Outgoing:
    at: dt.datetime
    device: SimDevice
    channel: str
    body: dict[str, Any]
    msg_id: str = ""
    holder: Holder | None = None  # the resident whose card or plate it shows (to silence a house)

    def payload(self) -> bytes:
        ms = int(self.at.timestamp() * 1000)
        msg_id = self.msg_id or f"{ms:x}-{_short(self.channel, self.body)}"
        return json.dumps(
            {"v": 1, "id": msg_id, "ts": ms, **self.body}, ensure_ascii=False, separators=(",", ":")
        ).encode()

    def message(self, transport: str = "mqtt", token: str | None = None) -> Message:
        return Message(self.device.topic(self.channel), self.payload(), transport=transport, token=token)


def _short(channel: str, body: dict[str, Any]) -> str:
    return hashlib.blake2s(f"{channel}{sorted(body.items())}".encode(), digest_size=4).hexdigest()


@dataclass(frozen=True)
class Silence:
    """A device (or a house's residents' cards) sending nothing in [start, end), or only nothing on
    one channel (a door that stays shut still sends its heartbeats)."""

    start: dt.datetime
    end: dt.datetime
    device_id: int | None = None
    house_id: int | None = None
    channel: str = ""

    def covers(self, message: Outgoing) -> bool:
        return self.start <= message.at < self.end and (not self.channel or self.channel == message.channel)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:  # normal approximation
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _floor_hour(at: dt.datetime) -> dt.datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _ticks(t0: dt.datetime, t1: dt.datetime, minutes: float, phase: float) -> Iterable[dt.datetime]:
    """The instants ``phase + k·minutes`` (in seconds since the epoch) in [t0, t1)."""
    period = minutes * 60
    start = math.ceil((t0.timestamp() - phase) / period)
    k = start
    while (at := k * period + phase) < t1.timestamp():
        yield dt.datetime.fromtimestamp(at, tz=dt.UTC)
        k += 1


class Traffic:
    """The background messages of a fleet between two instants (see the module docstring)."""

    def __init__(
        self,
        fleet: Fleet,
        *,
        seed: int,
        anchor: dt.datetime,
        rate: float = 1.0,
        heartbeat_minutes: float = HEARTBEAT_MINUTES,
        telemetry_scale: float = 1.0,
    ) -> None:
        self.fleet = fleet
        self.seed = seed
        self.anchor = _floor_hour(anchor)
        self.rate = rate
        self.heartbeat_minutes = heartbeat_minutes
        self.telemetry_scale = telemetry_scale  # > 1: fewer readings (the demo's history)
        self.silences: list[Silence] = []
        self._hours: dict[tuple[int, dt.datetime], list[Outgoing]] = {}
        # Meter readings grow from a per-device base, so a restarted simulator never goes back.
        self._epoch = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def silent(self, m: Outgoing) -> bool:
        for s in self.silences:
            if not s.covers(m):
                continue
            if s.device_id == m.device.id:
                return True
            if s.house_id is not None and m.holder is not None and m.holder.house_id == s.house_id:
                return True
        return False

    def between(self, t0: dt.datetime, t1: dt.datetime) -> list[Outgoing]:
        out: list[Outgoing] = []
        for device in self.fleet.devices:
            out.extend(self._periodic(device, t0, t1))
            hour = _floor_hour(t0) - HOUR  # a car that came in the last hour may leave in this one
            while hour < t1:
                out.extend(m for m in self._hour(device, hour) if t0 <= m.at < t1)
                hour += HOUR
        out = [m for m in out if not self.silent(m)]
        out.sort(key=lambda m: (m.at, m.device.code))
        for key in [k for k in self._hours if k[1] < _floor_hour(t0) - 2 * HOUR]:
            del self._hours[key]
        return out

    def _rng(self, device: SimDevice, *parts: object) -> random.Random:
        return random.Random(_digest(self.seed, device.code, *parts))

    # --- periodic: heartbeats and readings ---------------------------------------------------

    def _periodic(self, device: SimDevice, t0: dt.datetime, t1: dt.datetime) -> list[Outgoing]:
        phase = int.from_bytes(_digest(device.code)[:4]) % 300
        out = [
            Outgoing(at, device, Channel.HEARTBEAT, self._heartbeat(device, at))
            for at in _ticks(t0, t1, self.heartbeat_minutes, phase)
        ]
        minutes = TELEMETRY_MINUTES.get(device.kind)  # type: ignore[call-overload]
        if minutes:
            for at in _ticks(t0, t1, minutes * self.telemetry_scale, phase + 17):
                body = self._reading(device, at)
                if body:
                    out.append(Outgoing(at, device, Channel.TELEMETRY, body))
        return out

    def _heartbeat(self, device: SimDevice, at: dt.datetime) -> dict[str, Any]:
        rng = self._rng(device, "hb", at.timestamp())
        body: dict[str, Any] = {"rssi": -rng.randint(55, 95)}
        if device.kind in (DeviceKind.SMOKE, DeviceKind.GAS, DeviceKind.WATER_LEAK, DeviceKind.SOS) or (
            device.role == "home"
        ):
            age_days = (at - self._epoch).total_seconds() / 86400
            body["battery"] = round(max(15.0, 98.0 - age_days * 0.05 - (device.id % 7)), 1)
        return body

    def _reading(self, device: SimDevice, at: dt.datetime) -> dict[str, Any]:
        rng = self._rng(device, "t", at.timestamp())
        local = at.astimezone(BEIJING)
        hour = local.hour + local.minute / 60
        if device.kind == DeviceKind.ENVIRONMENT:
            # Changsha in winter: 4–12 °C, damp, PM2.5 higher in the morning and evening.
            temperature = 8 + 4 * math.sin((hour - 9) / 24 * 2 * math.pi) + rng.uniform(-0.6, 0.6)
            pm25 = 45 + 20 * math.cos((hour - 8) / 12 * 2 * math.pi) + rng.uniform(-8, 8)
            noise = 38 + 18 * (DOOR_RHYTHM[local.hour] / 9) + rng.uniform(-3, 3)
            return {
                "temperature": round(temperature, 1),
                "humidity": round(
                    min(99.0, 78 - 10 * math.sin((hour - 9) / 24 * 2 * math.pi) + rng.uniform(-4, 4)), 1
                ),
                "pm25": round(max(5.0, pm25), 1),
                "pm10": round(max(10.0, pm25 * 1.6 + rng.uniform(-5, 5)), 1),
                "noise": round(noise, 1),
            }
        if device.kind == DeviceKind.PEOPLE_COUNTER:
            base = SQUARE_COUNT[local.hour]
            count = max(0, round(base * rng.uniform(0.75, 1.2) + rng.uniform(-2, 2)))
            return {
                "count": count,
                "entered": round(count * rng.uniform(0.3, 0.6)),
                "left": round(count * rng.uniform(0.2, 0.5)),
            }
        if device.kind == DeviceKind.METER:
            water = "水" in device.name
            hours = (at - self._epoch).total_seconds() / 3600
            base = int.from_bytes(_digest("meter", device.code)[:2]) % 500
            per_hour = 0.012 if water else 0.35
            return {"reading": round(base + hours * per_hour, 2), "unit": "m3" if water else "kWh"}
        if device.kind == DeviceKind.GAS:
            return {"level": round(rng.uniform(0, 2.5), 1)}
        if device.kind == DeviceKind.SMOKE:
            return {"level": round(rng.uniform(0, 0.4), 2)}
        if device.kind == DeviceKind.WATER_LEAK:
            return {"level": 0.0}
        return {}

    # --- random events of an hour ------------------------------------------------------------

    def _hour(self, device: SimDevice, hour: dt.datetime) -> list[Outgoing]:
        key = (device.id, hour)
        found = self._hours.get(key)
        if found is None:
            found = self._hours[key] = self._draw_hour(device, hour)
        return found

    def _draw_hour(self, device: SimDevice, hour: dt.datetime) -> list[Outgoing]:
        role = device.role
        daily = DAILY_OPENINGS.get(role)
        if daily is None:
            return []
        local = hour.astimezone(BEIJING)
        rhythm = ELDER_RHYTHM if role == "home" else DOOR_RHYTHM
        share = rhythm[local.hour] / sum(rhythm)
        day = int((hour - self.anchor).total_seconds() // 86400)
        rng = self._rng(device, day, local.hour)
        count = _poisson(rng, daily * share * self.rate)
        out: list[Outgoing] = []
        for n in range(count):
            at = hour + dt.timedelta(seconds=rng.uniform(0, 3600))
            out.extend(self._opening(device, at, rng, n))
        return out

    def _opening(self, device: SimDevice, at: dt.datetime, rng: random.Random, n: int) -> list[Outgoing]:
        role = device.role
        if role == "home":
            return [
                Outgoing(at, device, Channel.EVENT, {"type": "open", "direction": rng.choice(["in", "out"])})
            ]
        if role == "entrance":
            holders = self.fleet.cards.get(device.building_id or 0, [])
            draw = rng.random()
            if holders and draw < 0.78:
                holder = rng.choice(holders)
                body: dict[str, Any] = {
                    "type": "open",
                    "direction": "in",
                    "credential": {"kind": "card", "value": holder.value},
                }
                return [Outgoing(at, device, Channel.EVENT, body, holder=holder)]
            if draw < 0.84:
                unknown = str(rng.randint(1_000_000_000, 2_999_999_999))
                body = {"type": "denied", "direction": "in", "credential": {"kind": "card", "value": unknown}}
            elif draw < 0.92:
                body = {
                    "type": "open",
                    "direction": "in",
                    "credential": {"kind": rng.choice(["password", "remote"])},
                }
            elif draw < 0.995:
                body = {"type": "open", "direction": "out"}
            else:
                body = {"type": "held_open"}
            return [Outgoing(at, device, Channel.EVENT, body)]
        if role == "gate":
            plates = self.fleet.plates.get(device.region_code[:12], [])
            kind = "enter" if rng.random() < 0.5 else "exit"
            if plates and rng.random() < 0.65:
                holder = rng.choice(plates)
                body = {"type": kind, "credential": {"kind": "plate", "value": holder.value}}
                return [Outgoing(at, device, Channel.EVENT, body, holder=holder)]
            body = {"type": kind, "credential": {"kind": "plate", "value": visitor_plate(rng)}}
            return [Outgoing(at, device, Channel.EVENT, body)]
        if role == "fire_lane":
            # A car crossing (or stopping to unload) leaves within a few minutes.
            plate = visitor_plate(rng)
            leave = at + dt.timedelta(seconds=rng.uniform(20, 300))
            return [
                Outgoing(at, device, Channel.EVENT, {"type": "vehicle_enter", "plate": plate}),
                Outgoing(leave, device, Channel.EVENT, {"type": "vehicle_leave", "plate": plate}),
            ]
        return []


# --- Scenarios ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incident:
    """What a scenario does and when its alert is due (for the log and the tests)."""

    scenario: str
    rule_kind: str
    due: dt.datetime
    device: SimDevice | None = None
    house_id: int | None = None

    def line(self) -> str:
        where = self.device.name if self.device else f"house {self.house_id}"
        due = timezone.localtime(self.due).strftime("%m-%d %H:%M")
        return f"{self.scenario}: {where}; {self.rule_kind} alert due about {due}"


class Scenarios:
    """The incidents of a run, timed from ``start`` by the rules that cover their devices."""

    def __init__(
        self, fleet: Fleet, names: Iterable[str], *, start: dt.datetime, seed: int, traffic: Traffic
    ) -> None:
        self.fleet = fleet
        self.start = start
        self.rng = random.Random(_digest(seed, "scenarios"))
        self.traffic = traffic
        self.messages: list[Outgoing] = []
        self.incidents: list[Incident] = []
        self.used: set[int] = set()
        for name in names:
            getattr(self, f"_{name}")()
        self.messages.sort(key=lambda m: (m.at, m.device.code))

    def between(self, t0: dt.datetime, t1: dt.datetime) -> list[Outgoing]:
        return [m for m in self.messages if t0 <= m.at < t1]

    def _pick(self, devices: Sequence[SimDevice]) -> SimDevice | None:
        for d in devices:
            if d.id not in self.used:
                self.used.add(d.id)
                return d
        return None

    def _silence(self, device: SimDevice, start: dt.datetime, end: dt.datetime) -> None:
        self.traffic.silences.append(Silence(start, end, device_id=device.id))

    def _at(self, minutes: float) -> dt.datetime:
        return self.start + dt.timedelta(minutes=minutes)

    def _welfare(self) -> None:
        """A living-alone resident's door stops opening: the house whose last activity is the oldest
        (and has no open welfare alert yet) goes silent; the absence rule asks for a check once the
        silence reaches its hours. A house never seen gets one opening now, so its clock starts."""
        homes = self.fleet.by_role("home")
        if not homes:
            return
        alerted = set(
            Alert.objects.filter(open=True, rule__kind=RuleKind.ABSENCE).values_list("house_id", flat=True)
        )
        seen: dict[int | None, dt.datetime] = dict(
            HouseActivity.objects.filter(house_id__in=[d.house_id for d in homes]).values_list(
                "house_id", "last_at"
            )
        )
        candidates = [d for d in homes if d.house_id not in alerted and d.id not in self.used] or homes
        far = self.start + dt.timedelta(days=365)
        target = min(candidates, key=lambda d: (seen.get(d.house_id, far), d.code))
        self.used.add(target.id)
        hours = self.fleet.rule_param(RuleKind.ABSENCE, None, "hours", 24)
        last = seen.get(target.house_id)
        if last is None or last > self.start:
            last = self._at(1)
            self.messages.append(Outgoing(last, target, Channel.EVENT, {"type": "open", "direction": "in"}))
        self.traffic.silences += [
            Silence(last + MINUTE, far, device_id=target.id, channel=Channel.EVENT),
            Silence(last + MINUTE, far, house_id=target.house_id),
        ]
        self.incidents.append(
            Incident("welfare", RuleKind.ABSENCE, last + dt.timedelta(hours=hours), target, target.house_id)
        )

    def _smoke(self) -> None:
        device = self._pick(self.fleet.by_role(DeviceKind.SMOKE))
        if device is None:
            return
        self.messages += [
            Outgoing(self._at(2), device, Channel.TELEMETRY, {"level": 8.4}),
            Outgoing(self._at(2.2), device, Channel.EVENT, {"type": "alarm", "level": 12.6}),
            Outgoing(self._at(12), device, Channel.EVENT, {"type": "clear", "level": 0.3}),
        ]
        self.incidents.append(Incident("smoke", RuleKind.EVENT, self._at(2.2), device))

    def _gathering(self) -> None:
        """More people at the square than the gathering rule allows, for longer than its minutes;
        the counter reports every minute meanwhile (its usual readings are held back)."""
        device = self._pick(self.fleet.by_role(DeviceKind.PEOPLE_COUNTER))
        if device is None:
            return
        over = self.fleet.rule_param(RuleKind.COUNT, device, "over", 80)
        minutes = self.fleet.rule_param(RuleKind.COUNT, device, "minutes", 15)
        begin, length = 3, int(minutes) + 10
        self._silence(device, self._at(begin), self._at(begin + length + 1))
        for n in range(length + 1):
            crowd = over * (1.15 + 0.5 * math.sin(n / length * math.pi)) if n < length else over * 0.4
            count = round(crowd + self.rng.uniform(-3, 3))
            entered = max(0, round(count * 0.2))
            self.messages.append(
                Outgoing(
                    self._at(begin + n),
                    device,
                    Channel.TELEMETRY,
                    {"count": count, "entered": entered, "left": max(0, entered - 2)},
                )
            )
        self.incidents.append(Incident("gathering", RuleKind.COUNT, self._at(begin + minutes), device))

    def _parking(self) -> None:
        device = self._pick(self.fleet.by_role("fire_lane"))
        if device is None:
            return
        minutes = self.fleet.rule_param(RuleKind.DWELL, device, "minutes", 15)
        plate = visitor_plate(self.rng)
        self.messages += [
            Outgoing(self._at(1), device, Channel.EVENT, {"type": "vehicle_enter", "plate": plate}),
            Outgoing(
                self._at(minutes + 30), device, Channel.EVENT, {"type": "vehicle_leave", "plate": plate}
            ),
        ]
        self.incidents.append(Incident("parking", RuleKind.DWELL, self._at(1 + minutes), device))

    def _offline(self) -> None:
        """Two devices go silent (a flat battery, a cut cable): an environment monitor and a
        building entrance's controller."""
        minutes = self.fleet.rule_param(RuleKind.OFFLINE, None, "minutes", 30)
        for role in (DeviceKind.ENVIRONMENT, "entrance"):
            devices = list(reversed(self.fleet.by_role(role)))
            device = self._pick([d for d in devices if d.online] or devices)
            if device is None:
                continue
            # After one heartbeat at least: a device never seen is not missed.
            quiet = HEARTBEAT_MINUTES + 1
            self._silence(device, self._at(quiet), self.start + dt.timedelta(days=365))
            due = self._at(quiet + max(minutes, settings.IOT_OFFLINE_MINUTES))
            self.incidents.append(Incident("offline", RuleKind.OFFLINE, due, device))


# --- Transports ---------------------------------------------------------------------------------


@dataclass
class Stats:
    sent: int = 0
    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    alerts: int = 0
    errors: int = 0

    def line(self) -> str:
        return (
            f"sent {self.sent}, stored {self.stored}, duplicates {self.duplicates}, "
            f"refused {self.refused}, new alerts {self.alerts}, errors {self.errors}"
        )


class Transport(Protocol):
    name: str
    stats: Stats

    def send(self, batch: Sequence[Outgoing], now: dt.datetime) -> None: ...

    def tick(self, now: dt.datetime) -> None: ...

    def close(self) -> None: ...


class DirectTransport:
    """The ingestion pipeline in this process; the time-based rules (absence, dwell, offline) are
    checked on the simulated clock, and with ``work`` the outbox runs too (tickets, notices), as
    ``shequ worker`` would."""

    name = "direct"
    BATCH = 2000

    def __init__(
        self,
        *,
        checks: bool = True,
        work: bool = False,
        check_every: dt.timedelta = MINUTE,
    ) -> None:
        self.pipeline = Pipeline()
        self.stats = Stats()
        self.checks = checks
        self.work = work
        self.check_every = check_every
        self.checked_at: dt.datetime | None = None

    def send(self, batch: Sequence[Outgoing], now: dt.datetime) -> None:
        for i in range(0, len(batch), self.BATCH):
            # Simulated hours may pass in milliseconds: the pipeline's per-device write throttle
            # counts real seconds and would hold back the devices' last-seen time.
            self.pipeline.touched.clear()
            result = self.pipeline.process([m.message() for m in batch[i : i + self.BATCH]], now=now)
            self._count(result)
        self.stats.sent += len(batch)

    def _count(self, result: Result) -> None:
        self.stats.stored += result.stored
        self.stats.duplicates += result.duplicates
        self.stats.refused += sum(result.dead.values())
        self.stats.alerts += result.alerts

    def tick(self, now: dt.datetime) -> None:
        if self.checks and (self.checked_at is None or now - self.checked_at >= self.check_every):
            self.stats.alerts += handlers.check_absence(now) + handlers.check_dwell(now)
            self.stats.alerts += handlers.check_offline(now)
            self.checked_at = now
        if self.work:
            outbox.run_pending()

    def close(self) -> None:
        return None


def tokens_path() -> Path:
    return Path(settings.VAR_DIR) / TOKENS_FILE


def device_tokens(fleet: Fleet, *, path: Path | None = None) -> dict[str, str]:
    """The demo devices' tokens from ``var/demo-device-tokens.json``, each checked against the
    device's stored hash; a device missing there, or whose token no longer matches (reset since, or
    the file written for another database), gets a new one (its old token stops working) and the
    file is written again (readable by its owner only)."""
    path = path or tokens_path()
    known: dict[str, str] = {}
    if path.exists():
        with contextlib.suppress(ValueError, AttributeError):
            known = {str(k): str(v) for k, v in json.loads(path.read_text()).items()}
    hashes = dict(Device.objects.filter(pk__in=[d.id for d in fleet.devices]).values_list("pk", "token_hash"))
    stale = [
        d.id for d in fleet.devices if d.code not in known or token_hash(known[d.code]) != hashes.get(d.id)
    ]
    if stale:
        with transaction.atomic():
            for device in Device.objects.filter(pk__in=stale):
                known[device.code] = device_token_reset(actor=None, device=device)
        write_tokens(known, path)
    return known


def write_tokens(tokens: dict[str, str], path: Path | None = None) -> Path:
    path = path or tokens_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps(dict(sorted(tokens.items())), indent=1) + "\n")
    return path


class HttpTransport:
    """``POST /api/v1/iot/ingest/<device>/<channel>`` with each device's bearer token, one message a
    request on a kept-alive connection (as a device without MQTT does)."""

    name = "http"

    def __init__(self, url: str, tokens: dict[str, str], *, timeout: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.https = parts.scheme == "https"
        self.prefix = parts.path.rstrip("/")
        self.tokens = tokens
        self.timeout = timeout
        self.stats = Stats()
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self.conn = cls(self.host, self.port, timeout=self.timeout)
        return self.conn

    def post(self, m: Outgoing) -> int:
        path = f"{self.prefix}/api/v1/iot/ingest/{urllib.parse.quote(m.device.code)}/{m.channel}"
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.tokens.get(m.device.code, '')}",
        }
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request("POST", path, body=m.payload(), headers=headers)
                response = conn.getresponse()
                response.read()
                return response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def send(self, batch: Sequence[Outgoing], now: dt.datetime) -> None:
        for m in batch:
            try:
                status = self.post(m)
            except (OSError, http.client.HTTPException) as exc:
                self.stats.errors += 1
                log.warning("simulator: %s: %s", m.device.code, exc)
                continue
            self.stats.sent += 1
            if status == 202:
                self.stats.stored += 1
            elif 400 <= status < 500:
                self.stats.refused += 1
            else:
                self.stats.errors += 1

    def tick(self, now: dt.datetime) -> None:
        return None  # the server's worker checks the time-based rules

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class MqttTransport:
    """QoS 1 publishes with gmqtt (MQTT 5) on the topic scheme; ``close`` waits until the broker has
    acknowledged every message. gmqtt runs its event loop in a thread of its own, so the rest of the
    simulator (and Django's database calls in ``direct``) stays synchronous."""

    name = "mqtt"
    MAX_IN_FLIGHT = 5000

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str = "",
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        import threading

        from gmqtt import Client
        from gmqtt.mqtt.constants import MQTTv50
        from gmqtt.storage import PersistentStorage

        self.stats = Stats()
        self.storage = PersistentStorage()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="simulator-mqtt", daemon=True)
        self.thread.start()
        self.client = Client(client_id or f"shequ-sim-{time.time_ns():x}", persistent_storage=self.storage)
        if username:
            self.client.set_auth_credentials(username, password)
        self._call(self.client.connect(host, port, version=MQTTv50, keepalive=30), timeout=10)

    def _call(self, coro: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _publish(self, messages: list[tuple[str, bytes]]) -> None:
        for topic, payload in messages:
            self.client.publish(topic, payload, qos=1)
            if len(self.storage.get_all()) >= self.MAX_IN_FLIGHT:
                await self.storage.wait_empty()

    def send(self, batch: Sequence[Outgoing], now: dt.datetime) -> None:
        self._call(self._publish([(m.device.topic(m.channel), m.payload()) for m in batch]))
        self.stats.sent += len(batch)

    def tick(self, now: dt.datetime) -> None:
        return None  # the ingester stores, the worker checks the time-based rules

    def flush(self, timeout: float = 30.0) -> None:
        self._call(asyncio.wait_for(self.storage.wait_empty(), timeout))

    def close(self) -> None:
        try:
            self.flush()
            self._call(self.client.disconnect(), timeout=5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)


def broker_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# --- The run ------------------------------------------------------------------------------------


@dataclass
class Simulator:
    """Background traffic plus scenarios, sent through a transport on a simulated clock."""

    fleet: Fleet
    transport: Transport
    start: dt.datetime
    seed: int = 2026
    rate: float = 1.0
    scenarios: Sequence[str] = SCENARIOS
    heartbeat_minutes: float = HEARTBEAT_MINUTES
    traffic: Traffic = field(init=False)
    plan: Scenarios = field(init=False)
    clock: dt.datetime = field(init=False)

    def __post_init__(self) -> None:
        self.traffic = Traffic(
            self.fleet,
            seed=self.seed,
            anchor=self.start,
            rate=self.rate,
            heartbeat_minutes=self.heartbeat_minutes,
        )
        self.plan = Scenarios(
            self.fleet, self.scenarios, start=self.start, seed=self.seed, traffic=self.traffic
        )
        self.clock = self.start
        # A message the scenarios date before the start (a house's last opening) goes out first.
        early = [m for m in self.plan.messages if m.at < self.start]
        if early:
            self.transport.send(early, self.start)

    def add(self, messages: Iterable[Outgoing]) -> None:
        """Scripted messages of the caller's own (the demo's history incidents)."""
        self.plan.messages.extend(messages)
        self.plan.messages.sort(key=lambda m: (m.at, m.device.code))

    def advance(self, to: dt.datetime) -> int:
        """Send what happens between the clock and ``to``; the clock moves to ``to``."""
        if to <= self.clock:
            return 0
        batch = self.traffic.between(self.clock, to) + self.plan.between(self.clock, to)
        batch.sort(key=lambda m: (m.at, m.device.code))
        if batch:
            self.transport.send(batch, to)
        self.transport.tick(to)
        self.clock = to
        return len(batch)

    def run_until(self, end: dt.datetime, *, step: dt.timedelta = MINUTE) -> None:
        """Fake clock: advance in ``step``s to ``end`` without waiting (tests, the demo's history)."""
        while self.clock < end:
            self.advance(min(end, self.clock + step))

    def run_live(
        self,
        *,
        duration: float | None,
        speed: float = 1.0,
        tick: float = 1.0,
        stop: Callable[[], bool] = lambda: False,
        report: Callable[[str], None] | None = None,
        report_every: float = 60.0,
    ) -> None:
        """Real time (× ``speed``): every ``tick`` seconds, what happened since the last one."""
        began = time.monotonic()
        reported = began
        while not stop():
            elapsed = time.monotonic() - began
            done = duration is not None and elapsed >= duration
            if done:
                elapsed = duration or 0.0
            self.advance(self.start + dt.timedelta(seconds=elapsed * speed))
            if report and time.monotonic() - reported >= report_every:
                report(self.transport.stats.line())
                reported = time.monotonic()
            if done:
                return
            time.sleep(max(0.0, tick - (time.monotonic() - began - elapsed)))


def live_start(*, speed: float, duration: float | None, now: dt.datetime | None = None) -> dt.datetime:
    """Where the simulated clock starts: now, or (faster than real time) far enough back that it
    reaches now when the run ends, so no device reports a time in the future."""
    now = now or timezone.now()
    if speed <= 1 or duration is None:
        return now
    return now - dt.timedelta(seconds=duration * (speed - 1))


def parse_scenarios(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or names == ["all"]:
        return list(SCENARIOS)
    if names == ["none"]:
        return []
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario {', '.join(unknown)} (all, none, {', '.join(SCENARIOS)})")
    return names
