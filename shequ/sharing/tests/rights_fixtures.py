"""Fixtures of the residents' rights tests, on top of the registry's ``reg`` (three places and the
personas of ``shequ.conftest``):

- ``rights.person``: 王小明 in grid A of community A, the registry person of the ``resident`` persona
  (same mobile number); ``rights.neighbour``: 赵六, next door, without an account;
- ``rights.resident_b`` / ``rights.person_b``: a resident of the sibling community B and their person;
- ``rights.call(...)``: a department's answered (or refused) sharing call that returned rows about
  the given people, written with the access log's models directly (as the API writes them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shequ.conftest import PASSWORD, World
from shequ.core import accounts
from shequ.core.models import Role, User
from shequ.registry.models import Person
from shequ.registry.tests.conftest import GRID_C, Registry
from shequ.sharing.models import CallOutcome, Grant, SharedRegion, SharedSubject, SharingCall

LEGAL_BASIS = "《社会救助暂行办法》第十一条"


@dataclass
class Rights:
    reg: Registry
    person: Person
    neighbour: Person
    resident_b: User
    person_b: Person

    @property
    def world(self) -> World:
        return self.reg.world

    def __getitem__(self, persona: str) -> User:
        return self.reg.world[persona]

    def client(self, who: str | User | None) -> Client:
        client = Client()
        if who is not None:
            client.force_login(who if isinstance(who, User) else self.world[who])
        return client

    def grant(self, *, purpose: str = "核查低保家庭人口", legal_basis: str = LEGAL_BASIS) -> Grant:
        world = self.world
        return Grant.objects.create(
            department=world.department,
            client=world["dept"],
            resource="people",
            purpose=purpose,
            legal_basis=legal_basis,
            fields=["name", "id_number", "phone"],
            unmasked=["name"],
            region_codes=["430104002"],
            expires_at=timezone.now() + dt.timedelta(days=30),
            granted_by=world["secadmin"],
            region_code="430104002",
        )

    def call(
        self, people: list[Person], *, grant: Grant | None = None, outcome: str = CallOutcome.OK, **kw: Any
    ) -> SharingCall:
        grant = grant or self.grant()
        call = SharingCall.objects.create(
            client=grant.client,
            department=grant.department,
            grant=grant,
            resource=grant.resource,
            fields=grant.fields,
            unmasked=grant.unmasked,
            rows=len(people) if outcome == CallOutcome.OK else 0,
            outcome=outcome,
            region_code="430104002",
            **kw,
        )
        if outcome == CallOutcome.OK:
            SharedSubject.objects.bulk_create(SharedSubject(call=call, person_id=p.pk) for p in people)
            SharedRegion.objects.create(call=call, region_code=people[0].region_code[:12], rows=len(people))
        return call


def account(username: str, role: str, region: Any, phone: str) -> User:
    user = accounts.user_create(
        actor=None,
        username=username,
        display_name=username,
        password=PASSWORD,
        phone=phone,
        email=f"{username}@example.test",
    )
    accounts.membership_grant(actor=None, user=user, role=role, region=region)
    return user


@pytest.fixture
def rights(reg: Registry) -> Rights:
    world = reg.world
    person = reg.register("王小明", reg.houses["a"][1], phone=world["resident"].phone, birth="19850612")
    neighbour = reg.register("赵六", reg.houses["a"][2], phone="13977778888")
    resident_b = account("resident_b", Role.RESIDENT, world.regions[GRID_C], "13966665555")
    person_b = reg.register("孙七", reg.houses["c"][1], phone=resident_b.phone)
    return Rights(reg=reg, person=person, neighbour=neighbour, resident_b=resident_b, person_b=person_b)
