"""Fixtures of the access tests (catalog, grants, API, access log), imported by those modules.

``shared`` builds, on top of ``world``, one row of every catalog resource in each of two sibling
communities — A (430104002001, grid 430104002001001) and B (430104002003, grid 430104002003001) —
with personal values that a mask changes, plus the police department's system account and token.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shequ.conftest import World
from shequ.core.models import Department, User
from shequ.core.validators import id_check_char
from shequ.govservice.models import Application, ServiceItem
from shequ.grid.models import Source
from shequ.grid.services import ticket_submit
from shequ.iot.models import Alert, Device, DeviceEvent, Rule
from shequ.registry import services as registry
from shequ.registry.models import Person, ResidenceType
from shequ.sharing.models import Grant
from shequ.sharing.services.access import grant_create
from shequ.sharing.services.clients import client_create

COMMUNITY_A = "430104002001"
COMMUNITY_B = "430104002003"
GRID_A = "430104002001001"
GRID_B = "430104002003001"
STREET = "430104002"


def resident_id(seq: int, birth: str = "19800101") -> str:
    first17 = f"430104{birth}{seq:03d}"
    return first17 + id_check_char(first17)


@dataclass
class Shared:
    world: World
    department: Department
    client: User
    token: str
    people: dict[str, Person] = field(default_factory=dict)

    def grant(self, resource: str, fields: Sequence[str], **extra: Any) -> Grant:
        terms: dict[str, Any] = {
            "actor": self.world["secadmin"],
            "department": self.department,
            "client": self.client,
            "resource": resource,
            "fields": list(fields),
            "unmasked": [],
            "region_codes": [COMMUNITY_A],
            "row_filters": {},
            "purpose": "核查辖区数据",
            "legal_basis": "《中华人民共和国个人信息保护法》第十三条",
            "expires_at": timezone.now() + dt.timedelta(days=30),
        }
        terms.update(extra)
        return grant_create(**terms)

    def get(self, path: str, token: str | None = None, **params: Any) -> Any:
        client = Client()
        return client.get(
            f"/api/v1/sharing/{path}", params, HTTP_AUTHORIZATION=f"Bearer {token or self.token}"
        )


@pytest.fixture(autouse=True)
def fast_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_rate_windows() -> None:
    from django.core.cache import cache

    cache.clear()


def _place(world: World, grid: str, n: int) -> Any:
    region = world.regions[grid]
    road = registry.road_create(actor=None, region=world.regions[grid[:12]], name=f"路{n}")
    building = registry.building_create(
        actor=None, region=region, data={"road": road, "door_number": str(n), "number": "1", "floors": 6}
    )
    unit = registry.unit_create(actor=None, building=building, number="1")
    return registry.house_create(
        actor=None, building=building, data={"unit": unit, "number": "301", "floor": 3, "area": "89.5"}
    )


def _build_rows(world: World, people: dict[str, Person]) -> None:
    item = ServiceItem.objects.order_by("pk").first()
    assert item is not None, "the government-service catalog is seeded by its migration"
    now = timezone.now()
    for n, (key, grid) in enumerate((("a", GRID_A), ("b", GRID_B)), start=1):
        region = world.regions[grid]
        house = _place(world, grid, n)
        person = registry.person_register(
            actor=None,
            data={
                "name": "张三丰" if key == "a" else "李四光",
                "id_number": resident_id(10 + n),
                "phone": f"1381234{n:04d}",
            },
            house=house,
        )
        people[key] = person
        registry.household_create(actor=None, head=person, number=f"HH{n}")
        registry.organization_create(
            actor=None,
            region=region,
            data={
                "name": f"岳麓商贸有限公司{n}",
                "legal_representative": "王大明",
                "contact_name": "赵小红",
                "contact_phone": f"1390000{n:04d}",
                "address": f"麓山南路{n}号",
            },
        )
        registry.key_place_create(
            actor=None,
            region=region,
            data={"name": f"岳麓小学{n}", "kind": "school", "address": f"学堂路{n}号"},
        )
        ticket_submit(
            actor=None,
            source=Source.HOTLINE,
            region=region,
            title="楼道堆放杂物",
            description="3栋2单元楼道堆满纸箱，存在消防隐患。",
            category="security.public_order",
            contact_name="钱多多",
            contact_phone=f"1370000{n:04d}",
            reporter_person=person,
        )
        device = Device.objects.create(
            code=f"door-{n}",
            name="单元门禁",
            kind="door",
            vendor="海康",
            serial=f"S{n}",
            region=region,
            region_code=region.code,
        )
        DeviceEvent.objects.create(
            device=device,
            region_code=region.code,
            channel="event",
            type="door_open",
            msg_id=f"m{n}",
            occurred_at=now,
            received_at=now,
            person_id=person.pk,
            subject_masked="粤B***12",
        )
        rule = Rule.objects.create(region=region, region_code=region.code, name="烟感报警", kind="event")
        Alert.objects.create(
            rule=rule,
            origin=f"device:{device.pk}",
            region=region,
            region_code=region.code,
            device=device,
            severity=3,
            title="烟感报警",
            first_at=now,
            last_at=now,
        )
        Application.objects.create(
            item=item,
            item_version=item.version,
            region=region,
            region_code=region.code,
            channel="counter",
            person_id=person.pk,
            applicant_name="孙悟空",
            applicant_phone=f"1360000{n:04d}",
        )
    # A floating resident of community A, for row filters.
    people["floating"] = registry.person_register(
        actor=None,
        data={
            "name": "周流动",
            "id_number": resident_id(31, birth="19700101"),
            "phone": "13712340000",
            "residence_type": ResidenceType.FLOATING,
        },
        house=people["a"].house,
    )


@pytest.fixture
def shared(world: World) -> Shared:
    department = world.department
    client, _token, raw = client_create(
        actor=world["secadmin"],
        department=department,
        username="police-system",
        display_name="派出所数据接口",
        token_name="户籍核查系统",
        expires_at=timezone.now() + dt.timedelta(days=90),
    )
    result = Shared(world=world, department=department, client=client, token=raw)
    _build_rows(world, result.people)
    return result
