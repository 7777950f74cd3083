"""Background traffic: what the devices of a fleet send between two instants, following the day."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterable
from typing import Any

from shequ.iot.models import Channel, DeviceKind
from shequ.iot.simulator.fleet import (
    BEIJING,
    HOUR,
    Fleet,
    Outgoing,
    Silence,
    SimDevice,
    digest,
    visitor_plate,
)

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
        return random.Random(digest(self.seed, device.code, *parts))

    # --- periodic: heartbeats and readings ---------------------------------------------------

    def _periodic(self, device: SimDevice, t0: dt.datetime, t1: dt.datetime) -> list[Outgoing]:
        phase = int.from_bytes(digest(device.code)[:4]) % 300
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
        if device.kind == DeviceKind.ENVIRONMENT and "waterlevel" in device.code:
            # A waterlogging gauge (the emergency demo's rainstorm): standing water that keeps
            # rising slowly under heavy rain while the demo runs (from the simulator's start), up to 0.6 m.
            hours = max(0.0, (at - self.anchor).total_seconds() / 3600)
            start = 0.1 + (int.from_bytes(digest("gauge", device.code)[:2]) % 300) / 1000
            return {
                "water_level": round(min(0.6, start + 0.05 * hours + rng.uniform(-0.005, 0.005)), 3),
                "rainfall": round(max(0.0, 30 + 8 * math.sin(hours) + rng.uniform(-3, 3)), 1),
                "temperature": round(9 + rng.uniform(-0.5, 0.5), 1),
                "humidity": round(min(99.0, 95 + rng.uniform(-2, 2)), 1),
            }
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
            base = int.from_bytes(digest("meter", device.code)[:2]) % 500
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
