"""Registry fixtures on top of ``world``: one building with houses in each of three places —
grid 430104002001001 (grid_a's), grid 430104002001002 (grid_b's), both in community
430104002001 (worker_a, head_a), and grid 430104002003001 of the sibling community 430104002003
(head_b) — with one person living in each. Also helpers to make valid ID numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from shequ.conftest import World
from shequ.core.validators import id_check_char
from shequ.registry import services
from shequ.registry.models import Building, House, Person, Road

GRID_A = "430104002001001"
GRID_B = "430104002001002"
COMMUNITY_A = "430104002001"
COMMUNITY_B = "430104002003"
GRID_C = "430104002003001"


def resident_id(birth: str = "19900101", seq: int = 123, county: str = "430104") -> str:
    """A valid 18-character ID number (odd ``seq`` = male)."""
    first17 = f"{county}{birth}{seq:03d}"
    return first17 + id_check_char(first17)


def person_data(name: str = "张三", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name, "id_number": resident_id(), "phone": "13812345678"}
    data.update(extra)
    return data


@dataclass
class Registry:
    world: World
    roads: dict[str, Road] = field(default_factory=dict)
    buildings: dict[str, Building] = field(default_factory=dict)
    houses: dict[str, list[House]] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    _seq: int = 1

    def region(self, code: str) -> Any:
        return self.world.regions[code]

    def next_id(self, birth: str = "19800101") -> str:
        self._seq += 2
        return resident_id(birth=birth, seq=self._seq)

    def register(self, name: str, house: House, *, birth: str = "19800101", **data: Any) -> Person:
        payload = {"name": name, "id_number": self.next_id(birth), **data}
        return services.person_register(actor=None, data=payload, house=house)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    """Argon2 costs about half a second per persona; these tests are not about password storage."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def reg(world: World) -> Registry:
    r = Registry(world=world)
    r.roads["a"] = services.road_create(actor=None, region=world.regions[COMMUNITY_A], name="麓山南路")
    r.roads["b"] = services.road_create(actor=None, region=world.regions[COMMUNITY_B], name="桃子湖路")
    spots = {
        "a": (GRID_A, r.roads["a"], "12", "3"),
        "b": (GRID_B, r.roads["a"], "14", "5"),
        "c": (GRID_C, r.roads["b"], "8", "1"),
    }
    for key, (grid, road, door, number) in spots.items():
        building = services.building_create(
            actor=None,
            region=world.regions[grid],
            data={"road": road, "door_number": door, "number": number, "floors": 6},
        )
        unit = services.unit_create(actor=None, building=building, number="2")
        r.buildings[key] = building
        r.houses[key] = [
            services.house_create(
                actor=None,
                building=building,
                data={"unit": unit, "number": n, "floor": int(n[0]), "area": "89.5"},
            )
            for n in ("301", "302", "401")
        ]
    r.people["a"] = r.register("张三", r.houses["a"][0], phone="13811112222")
    r.people["b"] = r.register("李四", r.houses["b"][0])
    r.people["c"] = r.register("王五", r.houses["c"][0])
    return r
