"""Two communities' devices, rules, alerts and a watched house, for the console pages' tests.

* ``a``: grid A of community A (the ``site`` fixture's devices; alerts from a smoke alarm and a gas
  reading; a door sensor of house ``a`` with door openings, one by a resident's card);
* ``b``: grid 1 of the sibling community B (a smoke detector with an alert, a rule, a house).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from shequ.conftest import World
from shequ.core import crypto
from shequ.iot import services
from shequ.iot.ingest import Pipeline
from shequ.iot.models import AccessCredential, Alert, Device, DeviceKind, Rule, RuleKind, Severity
from shequ.iot.tests.conftest import Site, message, register
from shequ.registry import services as registry_services
from shequ.registry.models import House, Person
from shequ.registry.tests.conftest import resident_id

GRID_A = "430104002001001"
COMMUNITY_A = "430104002001"
COMMUNITY_B = "430104002003"
GRID_B1 = "430104002003001"
CARD = "A1B2C3D4"


@dataclass
class Console:
    site: Site
    devices: dict[str, Device]
    alerts: dict[str, Alert]
    rules: dict[str, Rule]
    houses: dict[str, House]


def _house(world: World, grid: str, community: str, road: str) -> House:
    r = registry_services.road_create(actor=None, region=world.regions[community], name=road)
    building = registry_services.building_create(
        actor=None,
        region=world.regions[grid],
        data={"road": r, "door_number": "12", "number": "3", "floors": 6},
    )
    return registry_services.house_create(actor=None, building=building, data={"number": "301"})


def resident(house: House) -> Person:
    """An elderly resident of ``house`` (registered through the registry's service)."""
    data = {"name": "张奶奶", "id_number": resident_id(birth="19400301", seq=321)}
    return registry_services.person_register(actor=None, data=data, house=house)


def build(site: Site) -> Console:
    world = site.world
    houses = {
        "a": _house(world, GRID_A, COMMUNITY_A, "麓山南路"),
        "b": _house(world, GRID_B1, COMMUNITY_B, "桃子湖路"),
    }
    door_a, _ = register(world, "door-house-a", DeviceKind.DOOR, house=houses["a"], name="301室门磁")
    smoke_b, _ = register(
        world,
        "smoke-b",
        DeviceKind.SMOKE,
        region=GRID_B1,
        latitude="28.17",
        longitude="112.93",
        name="泽盛烟感",
    )
    Device.objects.filter(pk=site.devices["smoke-1"].pk).update(latitude="28.18", longitude="112.94")
    rule_b = services.rule_create(
        actor=None,
        region=world.regions[COMMUNITY_B],
        name="烟感报警B",
        kind=RuleKind.EVENT,
        device_kind=DeviceKind.SMOKE,
        params={"types": ["alarm"]},
        severity=Severity.CRITICAL,
    )
    now = timezone.now()
    two_ago = now - dt.timedelta(minutes=2)
    pipeline = Pipeline()
    pipeline.process(
        [
            message(site.devices["smoke-1"], "event", "s-1", now - dt.timedelta(minutes=3), type="alarm"),
            message(site.devices["gas-1"], "telemetry", "g-1", two_ago, level=30.5, battery=87),
            message(site.devices["env-1"], "telemetry", "e-1", now, temperature=23.5, humidity=61, pm25=35),
            message(smoke_b, "event", "sb-1", now - dt.timedelta(minutes=1), type="alarm"),
            message(door_a, "event", "d-1", now - dt.timedelta(hours=5), type="open"),
        ]
    )
    alerts = {
        "a": Alert.objects.get(rule=site.rules["smoke"]),
        "gas": Alert.objects.get(rule=site.rules["gas"]),
        "b": Alert.objects.get(rule=rule_b),
    }
    devices = {**site.devices, "door-house-a": door_a, "smoke-b": smoke_b}
    for d in devices.values():
        d.refresh_from_db()
    return Console(site, devices, alerts, {**site.rules, "b": rule_b}, houses)


def card_credential(world: World, house: House, person: Person) -> AccessCredential:
    return AccessCredential.objects.create(
        kind="card",
        value_index=crypto.blind_index(CARD, "iot_card"),
        masked="****C3D4",
        person=person,
        house=house,
        region=house.region,
        region_code=house.region_code,
    )


@pytest.fixture
def console(site: Site) -> Console:
    return build(site)
