"""The registry's lists — people, buildings, a building's units and houses, a house, a household,
organizations, key places, my grid and follow-ups, and the API lists — run as many queries with 3N
rows as with N: no query per row (``core/tests/queries.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shequ.core.tests.api_helpers import get, issue
from shequ.core.tests.queries import assert_flat_queries
from shequ.registry import services
from shequ.registry.models import House, Household
from shequ.registry.tests.conftest import COMMUNITY_A, GRID_A, Registry

N = 3
_serial = count(100)
# What the newest grown row shows on the page (to check that the page really lists the rows).
shown: list[str] = []


def cn(n: int) -> str:
    """A number in Chinese digits (names hold only Chinese characters)."""
    return "".join("零一二三四五六七八九"[int(d)] for d in str(n))


def page_load(client: Client, path: str) -> Callable[[], Any]:
    def load() -> Any:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response

    return load


def add_houses(reg: Registry, k: int) -> list[House]:
    building = reg.buildings["a"]
    made = []
    for _ in range(k):
        n = next(_serial)
        unit = services.unit_create(actor=None, building=building, number=str(n))
        shown.append(f"5{n}")
        made.append(
            services.house_create(
                actor=None,
                building=building,
                data={"unit": unit, "number": f"5{n}", "floor": 5, "area": "70"},
            )
        )
    return made


def add_people(reg: Registry, k: int, household: Household | None = None) -> None:
    for house in add_houses(reg, k):
        person = reg.register(f"居民{cn(next(_serial))}", house, birth="19400101", phone="13800001111")
        shown.append(person.name)
        if household is not None:
            services.household_add_member(
                actor=None, household=household, person=person, relation_to_head="child"
            )
        services.visit_record(
            actor=reg.world["grid_a"],
            person=person,
            visited_at=timezone.now() - timedelta(days=20),
            follow_up_date=timezone.localdate() - timedelta(days=5),
            purpose="care",
            notes="需要回访",
        )
        services.visit_record(
            actor=reg.world["grid_a"],
            person=person,
            follow_up_date=timezone.localdate() + timedelta(days=3),
            purpose="care",
        )


def add_organizations(reg: Registry, k: int) -> None:
    for house in add_houses(reg, k):
        n = next(_serial)
        org = services.organization_create(actor=None, data={"name": f"麓山商店{n}", "house": house})
        shown.append(org.name)
        services.key_place_create(
            actor=None,
            data={"name": f"麓山商店{n}", "kind": "kindergarten", "organization": org, "risk_level": "low"},
        )


def add_buildings(reg: Registry, k: int) -> None:
    for _ in range(k):
        n = next(_serial)
        building = services.building_create(
            actor=None,
            region=reg.region(GRID_A),
            data={"road": reg.roads["a"], "door_number": str(n), "number": "1", "floors": 6},
        )
        unit = services.unit_create(actor=None, building=building, number="1")
        services.house_create(actor=None, building=building, data={"unit": unit, "number": "101", "floor": 1})
        shown.append(f"{n}号")


@pytest.fixture
def household(reg: Registry) -> Household:
    return services.household_create(actor=None, head=reg.people["a"])


@pytest.mark.parametrize(
    ("persona", "path", "grow"),
    [
        ("head_a", "/registry/people/?q=居民", add_people),
        ("head_a", "/registry/people/?age_min=60", add_people),
        ("head_a", f"/registry/regions/{COMMUNITY_A}/", add_buildings),
        ("head_a", f"/registry/regions/{GRID_A}/", add_buildings),
        ("head_a", "/registry/buildings/{building}/", add_houses),
        ("head_a", "/registry/buildings/{building}/", add_people),
        ("head_a", "/registry/organizations/", add_organizations),
        ("head_a", "/registry/key-places/", add_organizations),
        ("grid_a", "/registry/my-grid/", add_people),
        ("grid_a", "/registry/follow-ups/", add_people),
        ("head_a", "/reports/ledgers/elderly_60/", add_people),
        ("head_a", "/reports/ledgers/elderly_80/", add_people),
        ("head_a", "/reports/ledgers/organizations/", add_organizations),
        ("head_a", "/reports/ledgers/key_places/", add_organizations),
    ],
)
def test_registry_list_pages(
    client: Client, reg: Registry, persona: str, path: str, grow: Callable[[Registry, int], None]
) -> None:
    grow(reg, N)
    client.force_login(reg.world[persona])
    url = path.format(building=reg.buildings["a"].pk)
    assert_flat_queries(page_load(client, url), lambda: grow(reg, 2 * N), label=url)
    # (The street's page counts per grid; a building's page counts residents per house.)
    if url != f"/registry/regions/{COMMUNITY_A}/" and not ("buildings" in url and grow is add_people):
        assert shown[-1] in client.get(url).content.decode(), f"{url} does not list the rows"


def test_household_and_house_pages(client: Client, reg: Registry, household: Household) -> None:
    add_people(reg, N, household)
    client.force_login(reg.world["head_a"])
    assert_flat_queries(
        page_load(client, f"/registry/households/{household.pk}/"),
        lambda: add_people(reg, 2 * N, household),
        label="household",
    )
    house = reg.houses["a"][0]

    def move_in(k: int) -> None:
        for _ in range(k):
            reg.register(f"租客{cn(next(_serial))}", house, phone="13900002222")

    move_in(N)
    assert_flat_queries(
        page_load(client, f"/registry/houses/{house.pk}/"), lambda: move_in(2 * N), label="house"
    )


@pytest.mark.parametrize(
    ("path", "grow"),
    [
        ("/registry/people?q=居民", add_people),
        ("/registry/buildings", add_buildings),
        ("/registry/houses", add_buildings),
        ("/registry/organizations", add_organizations),
        ("/registry/key-places", add_organizations),
    ],
)
def test_registry_api_lists(
    client: Client, reg: Registry, path: str, grow: Callable[[Registry, int], None]
) -> None:
    grow(reg, N)
    raw = issue(reg.world, "head_a")

    def load() -> Any:
        response = get(client, path, raw)
        assert response.status_code == 200, (path, response.content[:300])
        return response

    assert_flat_queries(load, lambda: grow(reg, 2 * N), label=path)
    assert shown[-1] in json.dumps(load().json(), ensure_ascii=False), f"{path} does not list the rows"


def test_registry_api_timeline(client: Client, reg: Registry) -> None:
    person = reg.people["a"]
    raw = issue(reg.world, "head_a")

    def visits(k: int) -> None:
        for _ in range(k):
            services.visit_record(
                actor=reg.world["grid_a"], person=person, purpose="routine", findings="正常"
            )

    visits(N)

    def load() -> Any:
        response = get(client, f"/registry/timeline/person/{person.pk}", raw)
        assert response.status_code == 200, response.content[:300]
        return response

    assert_flat_queries(load, lambda: visits(2 * N), label="timeline")
