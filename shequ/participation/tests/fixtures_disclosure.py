"""Disclosure fixtures on top of the registry's ``reg`` (three places, the personas of
``shequ.conftest``):

- ``disc.resident``: the ``resident`` persona (grid A of community A), the account of registry person
  王小明 (same mobile number), so the board shows them as 王*明;
- ``disc.resident_b``: a resident of community B (泽盛社区), the sibling community;
- ``disc.county`` (county officer, supervises both streets) and ``disc.other_street`` (street officer
  of 桔子洲街道, the sibling street): supervisors in and out of scope;
- ``disc.item(...)``: a published (or draft) item of community A or B made through the services.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from shequ.conftest import PASSWORD, World
from shequ.core import accounts
from shequ.core.models import Role, User
from shequ.participation.models import DisclosureItem, DisclosureKind
from shequ.participation.services.disclosure import items as item_services
from shequ.participation.services.disclosure import lists
from shequ.registry.models import Person
from shequ.registry.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_C, Registry

COUNTY = "430104"
OTHER_STREET = "430104003"


@dataclass
class Disc:
    reg: Registry
    person: Person
    resident_b: User
    county: User
    other_street: User

    @property
    def world(self) -> World:
        return self.reg.world

    def __getitem__(self, persona: str) -> User:
        return self.reg.world[persona]

    def user(self, who: str | User) -> User:
        return who if isinstance(who, User) else self.world[who]

    def client(self, who: str | User | None) -> Client:
        client = Client()
        if who is not None:
            client.force_login(self.user(who))
        return client

    def item(
        self,
        *,
        community: str = COMMUNITY_A,
        kind: str = DisclosureKind.SUBSIDY,
        title: str = "2026年11月低保发放名单",
        body: str = "经社区评议、街道审核，以下家庭享受最低生活保障。",
        period_key: str = "",
        decided_on: dt.date | None = None,
        rows: str = "",
        publish: bool = True,
    ) -> DisclosureItem:
        author = self.world["head_a" if community == COMMUNITY_A else "head_b"]
        if (
            kind in {DisclosureKind.MAJOR, DisclosureKind.SUBSIDY, DisclosureKind.POLICY}
            and decided_on is None
        ):
            decided_on = dt.date(2026, 11, 20)
        item = item_services.item_create(
            actor=author,
            region_code=community,
            kind=kind,
            title=title,
            body=body,
            period_key=period_key,
            decided_on=decided_on,
        )
        if rows:
            lists.list_paste(actor=author, item=item, text=rows)
        if publish:
            item = item_services.item_publish(actor=author, item=item)
        return item


def staff(world: World, username: str, role: str, code: str) -> User:
    user = accounts.user_create(
        actor=None,
        username=username,
        display_name=username,
        password=PASSWORD,
        phone=f"1390000{abs(hash(username)) % 10000:04d}",
        email=f"{username}@example.test",
    )
    accounts.membership_grant(actor=None, user=user, role=role, region=world.regions[code])
    return user


@pytest.fixture
def disc(reg: Registry) -> Disc:
    world = reg.world
    person = reg.register("王小明", reg.houses["a"][1], phone=world["resident"].phone)
    resident_b = staff(world, "resident_b", Role.RESIDENT, GRID_C)
    assert COMMUNITY_B in GRID_C
    return Disc(
        reg=reg,
        person=person,
        resident_b=resident_b,
        county=staff(world, "county_officer", Role.COUNTY_OFFICER, COUNTY),
        other_street=staff(world, "street_c", Role.STREET_OFFICER, OTHER_STREET),
    )


def rows_text(reg: Registry, n: int = 3) -> tuple[str, list[str]]:
    """``n`` pasted lines of valid people, and their full ID numbers (to look for in the database)."""
    names = ["张三明", "李四", "欧阳小明", "赵钱孙", "周五"]
    ids = [reg.next_id("19500101") for _ in range(n)]
    lines = [f"{names[i % len(names)]}\t{ids[i]}\t{650 + i * 10}\t低保" for i in range(n)]
    return "\n".join(lines), ids


def kwargs_of(item: DisclosureItem) -> dict[str, Any]:
    return {"code": item.region_code, "pk": item.pk}
