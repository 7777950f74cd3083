"""Fixtures of the access-control tests: the registry's houses and people (``reg``: grid A, grid B
and the sibling community's grid C), the resident persona living at house a[1] (linked by its
mobile number, as ``registry.selectors.person_for_account`` links accounts), and gates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from shequ.conftest import PERSONAS, World
from shequ.iot.models import Device, DeviceKind
from shequ.iot.tests.conftest import register
from shequ.registry.models import Person
from shequ.registry.tests.conftest import COMMUNITY_B, GRID_A, Registry, reg  # noqa: F401 (fixture)

RESIDENT_PHONE = f"1380000{list(PERSONAS).index('resident'):04d}"


@dataclass
class Estate:
    reg: Registry
    world: World
    me: Person  # the resident persona's registry person
    gates: dict[str, Device]
    tokens: dict[str, str]


@pytest.fixture
def estate(reg: Registry, world: World) -> Estate:  # noqa: F811
    me = reg.register("赵六", reg.houses["a"][1], phone=RESIDENT_PHONE)
    gates: dict[str, Device] = {}
    tokens: dict[str, str] = {}
    for key, code, region in (("a", "gate-a", GRID_A), ("b", "gate-b", COMMUNITY_B)):
        gates[key], tokens[key] = register(world, code, DeviceKind.GATE, region=region, name=f"{key}区大门")
    return Estate(reg, world, me, gates, tokens)


def pass_times(hours: float = 4) -> dict[str, Any]:
    import datetime as dt

    from django.utils import timezone

    start = timezone.now()
    return {"valid_from": start, "valid_until": start + dt.timedelta(hours=hours)}
