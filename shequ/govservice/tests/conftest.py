"""Government-service fixtures on top of the registry's ``reg`` (three places, one person each):

- ``gov.elder``: 刘奶奶, born 1940, living in grid A's house a[1] with a household and a disability
  tag (二级 肢体); her mobile number is the ``resident`` persona's, so that account is hers
  (``registry.selectors.person_for_account``) and she applies online as herself;
- ``gov.young``: 陈晨, born 2000, in house a[2] (too young for the old-age allowance);
- ``gov.civil``: the county civil-affairs bureau (a department of kind ``civil`` at 430104) and
  ``gov.clerk``, its staff member; ``world.department`` (the police station) stays as it is;
- ``gov.item(code)``: a seeded catalog item; the fake SMS gateway as ``sms``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from shequ.conftest import PASSWORD, World
from shequ.core import accounts
from shequ.core.models import Department, DepartmentKind, Role, User
from shequ.core.tests.fakes import SmsGateway
from shequ.govservice.models import ServiceItem
from shequ.registry import services as registry
from shequ.registry.models import Person
from shequ.registry.tests.conftest import (  # noqa: F401 (fixtures)
    COMMUNITY_A,
    COMMUNITY_B,
    GRID_A,
    GRID_B,
    GRID_C,
    Registry,
    _fast_password_hasher,
    reg,
)

COUNTY = "430104"


@dataclass
class Gov:
    reg: Registry
    elder: Person
    young: Person
    civil: Department
    clerk: User

    @property
    def world(self) -> World:
        return self.reg.world

    def __getitem__(self, persona: str) -> User:
        return self.reg.world[persona]

    def item(self, code: str) -> ServiceItem:
        return ServiceItem.objects.get(code=code)


@pytest.fixture
def sms(settings: Any) -> Iterator[SmsGateway]:
    with SmsGateway() as gateway:
        settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_TOKEN = gateway.url, gateway.token
        yield gateway


@pytest.fixture
def gov(reg: Registry) -> Gov:  # noqa: F811 (the imported fixture)
    world = reg.world
    resident = world["resident"]
    elder = reg.register(
        "刘奶奶",
        reg.houses["a"][1],
        birth="19400312",
        phone=resident.phone,
        hukou_address="湖南省长沙市岳麓区麓山南路12号",
        marital_status="widowed",
    )
    household = registry.household_create(actor=None, head=elder, number="4301040001")
    young = reg.register("陈晨", reg.houses["a"][2], birth="20000505", phone="13833335555")
    registry.household_add_member(
        actor=None, household=household, person=young, relation_to_head="grandchild"
    )
    registry.tag_add(actor=None, person=elder, category="disabled", grade="二级", subtype="肢体")
    civil = Department.objects.create(
        code="civil-yuelu",
        name="岳麓区民政局",
        kind=DepartmentKind.CIVIL,
        region=world.regions[COUNTY],
        region_code=COUNTY,
    )
    clerk = accounts.user_create(
        actor=None,
        username="clerk",
        display_name="民政局办事员",
        password=PASSWORD,
        phone="13899990000",
        email="clerk@example.test",
    )
    accounts.membership_grant(
        actor=None, user=clerk, role=Role.DEPARTMENT_STAFF, region=world.regions[COUNTY], department=civil
    )
    return Gov(reg=reg, elder=elder, young=young, civil=civil, clerk=clerk)
