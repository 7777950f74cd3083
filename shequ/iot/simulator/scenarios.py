"""Scenarios: the incidents of a run, each timed from its start by the rules of its devices."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from shequ.iot.models import Alert, Channel, DeviceKind, HouseActivity, RuleKind
from shequ.iot.simulator.fleet import MINUTE, Fleet, Outgoing, Silence, SimDevice, digest, visitor_plate
from shequ.iot.simulator.traffic import HEARTBEAT_MINUTES, Traffic

SCENARIOS = ("welfare", "smoke", "gathering", "parking", "offline")


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
        self.rng = random.Random(digest(seed, "scenarios"))
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
