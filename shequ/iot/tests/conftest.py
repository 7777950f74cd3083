"""IoT fixtures: the world of shequ/conftest.py with devices, rules and a living-alone resident."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from django.utils import timezone

from shequ.conftest import World
from shequ.iot import services
from shequ.iot.ingest import Message, Pipeline
from shequ.iot.models import Device, DeviceKind, Rule, RuleKind, Severity
from shequ.iot.payloads import topic_for

GRID = "430104002001001"
COMMUNITY = "430104002001"


@dataclass
class Site:
    world: World
    devices: dict[str, Device]
    tokens: dict[str, str]
    rules: dict[str, Rule]


def payload(msg_id: str, at: dt.datetime | None = None, **fields: Any) -> bytes:
    at = at or timezone.now()
    return json.dumps({"v": 1, "id": msg_id, "ts": int(at.timestamp() * 1000), **fields}).encode()


def message(
    device: Device, channel: str, msg_id: str, at: dt.datetime | None = None, **fields: Any
) -> Message:
    return Message(
        topic_for(device.region_code, device.kind, device.code, channel), payload(msg_id, at, **fields)
    )


def register(world: World, code: str, kind: str, region: str = GRID, **extra: Any) -> tuple[Device, str]:
    return services.device_register(
        actor=None,
        region=world.regions[region],
        code=code,
        name=extra.pop("name", code),
        kind=kind,
        vendor="海康威视",
        serial=f"SN-{code}",
        **extra,
    )


@pytest.fixture
def site(world: World) -> Site:
    devices: dict[str, Device] = {}
    tokens: dict[str, str] = {}
    for code, kind in [
        ("smoke-1", DeviceKind.SMOKE),
        ("gas-1", DeviceKind.GAS),
        ("door-1", DeviceKind.DOOR),
        ("counter-1", DeviceKind.PEOPLE_COUNTER),
        ("sos-1", DeviceKind.SOS),
        ("env-1", DeviceKind.ENVIRONMENT),
    ]:
        devices[code], tokens[code] = register(world, code, kind)
    community = world.regions[COMMUNITY]
    rules = {
        "smoke": services.rule_create(
            actor=None,
            region=community,
            name="烟感报警",
            kind=RuleKind.EVENT,
            device_kind=DeviceKind.SMOKE,
            params={"types": ["alarm"]},
            severity=Severity.CRITICAL,
            ticket_category="safety.fire",
        ),
        "gas": services.rule_create(
            actor=None,
            region=community,
            name="燃气浓度超标",
            kind=RuleKind.THRESHOLD,
            device_kind=DeviceKind.GAS,
            params={"field": "level", "op": "gt", "value": 20},
            severity=Severity.MAJOR,
            ticket_category="safety.gas",
        ),
        "crowd": services.rule_create(
            actor=None,
            region=community,
            name="人员异常聚集",
            kind=RuleKind.COUNT,
            device_kind=DeviceKind.PEOPLE_COUNTER,
            params={"over": 50, "minutes": 10},
            severity=Severity.WARNING,
        ),
    }
    return Site(world, devices, tokens, rules)


T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` in a thread of its own: once a browser test has run, Playwright's session
    keeps an event loop running in the test process's main thread, where ``asyncio.run`` refuses."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(autouse=True)
def _fresh_http_pipeline() -> None:
    """The API's pipeline caches devices per process; each test has its own database rows."""
    from shequ.iot import api

    api._PIPELINE.devices, api._PIPELINE.loaded_at = {}, -1e9


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline()


# The access-control tests' places, people and gates (shequ/iot/tests/access_world.py).
from shequ.iot.tests.access_world import estate, reg  # noqa: E402, F401
