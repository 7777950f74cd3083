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

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.utils import timezone

from shequ.iot.simulator.fleet import (
    BEIJING,
    HOUR,
    MINUTE,
    Fleet,
    Holder,
    Outgoing,
    Silence,
    SimDevice,
    card_number,
    credential_value,
    plate_number,
    visitor_plate,
)
from shequ.iot.simulator.scenarios import SCENARIOS, Incident, Scenarios
from shequ.iot.simulator.traffic import HEARTBEAT_MINUTES, Traffic
from shequ.iot.simulator.transports import (
    DirectTransport,
    HttpTransport,
    MqttTransport,
    Stats,
    Transport,
    broker_answers,
    device_tokens,
    tokens_path,
    write_tokens,
)

__all__ = [
    "BEIJING",
    "HEARTBEAT_MINUTES",
    "HOUR",
    "MINUTE",
    "SCENARIOS",
    "DirectTransport",
    "Fleet",
    "Holder",
    "HttpTransport",
    "Incident",
    "MqttTransport",
    "Outgoing",
    "Scenarios",
    "Silence",
    "SimDevice",
    "Simulator",
    "Stats",
    "Traffic",
    "Transport",
    "broker_answers",
    "card_number",
    "credential_value",
    "device_tokens",
    "live_start",
    "parse_scenarios",
    "plate_number",
    "tokens_path",
    "visitor_plate",
    "write_tokens",
]


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
