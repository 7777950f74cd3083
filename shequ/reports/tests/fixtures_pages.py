"""Fixtures of the report pages' tests, on the registry's ``reg`` (three places with one person
each): a small population report (residents by sex, the elderly, their share, one manual field),
filled for this month from the registry for every community up to the county, and a province
officer who keeps the templates.

Community 430104002001 (worker_a, head_a) has 张三 and 李四 (men born 1980) and 赵桂英 (a woman
born 1940); its sibling 430104002003 (head_b) has 王五; the other street's community (outsider)
has nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shequ.conftest import PASSWORD
from shequ.core import accounts
from shequ.core.models import Role, User
from shequ.registry.tests.conftest import COMMUNITY_A, COMMUNITY_B, Registry, resident_id
from shequ.reports.models import ReportInstance, ReportTemplate, period_of
from shequ.reports.services import fill_period

STREET = "430104002"
COUNTY = "430104"
OTHER_COMMUNITY = "430104003001"

DEFINITION: dict[str, Any] = {
    "columns": [
        {"key": "total", "title": "合计"},
        {"key": "male", "title": "男", "filters": {"gender": "male"}},
        {"key": "female", "title": "女", "filters": {"gender": "female"}},
    ],
    "rows": [
        {"key": "s1", "title": "一、人口", "heading": True},
        {"key": "residents", "title": "常住人口", "unit": "人", "stat": "registry.residents"},
        {
            "key": "elderly",
            "title": "60岁及以上",
            "unit": "人",
            "stat": "registry.residents",
            "filters": {"age": "60+"},
        },
        {"key": "elderly_ratio", "title": "老年人口占比", "unit": "%", "ratio": ["elderly", "residents"]},
        {"key": "s2", "title": "二、社区工作力量", "heading": True},
        {
            "key": "staff",
            "title": "社区工作者人数",
            "unit": "人",
            "manual": {"type": "int", "min": 0, "max": 500, "required": True},
        },
    ],
}


@dataclass
class Rep:
    reg: Registry
    template: ReportTemplate
    start: date
    province: User
    other_street: User  # 桔子洲街道's officer: reviews, but not 岳麓街道's communities

    def __getitem__(self, persona: str) -> User:
        return self.reg.world[persona]

    def client(self, who: str | User) -> Client:
        client = Client()
        client.force_login(self[who] if isinstance(who, str) else who)
        return client

    def instance(self, code: str) -> ReportInstance:
        return ReportInstance.objects.select_related("template", "region").get(
            template=self.template, region_code=code, period_start=self.start
        )

    @property
    def a(self) -> ReportInstance:
        return self.instance(COMMUNITY_A)

    @property
    def b(self) -> ReportInstance:
        return self.instance(COMMUNITY_B)

    @property
    def street(self) -> ReportInstance:
        return self.instance(STREET)


@pytest.fixture
def rep(reg: Registry) -> Rep:
    reg.register(
        "赵桂英", reg.houses["a"][1], birth="19400101", id_number=resident_id(birth="19400101", seq=124)
    )
    template = ReportTemplate.objects.create(
        key="test_population",
        version=1,
        title="人口基本情况统计表",
        number="测社统1表",
        periodicity="monthly",
        fill_level="community",
        receive_level="county",
        definition=DEFINITION,
    )
    start, _end = period_of("monthly", timezone.localdate())
    fill_period(template=template, period_start=start)
    province = accounts.user_create(
        actor=None, username="province", display_name="省民政厅", password=PASSWORD, phone="13800009999"
    )
    accounts.membership_grant(
        actor=None, user=province, role=Role.PROVINCE_OFFICER, region=reg.world.regions["43"]
    )
    other_street = accounts.user_create(
        actor=None, username="street_c", display_name="桔子洲街道", password=PASSWORD, phone="13800009998"
    )
    accounts.membership_grant(
        actor=None, user=other_street, role=Role.STREET_OFFICER, region=reg.world.regions["430104003"]
    )
    return Rep(reg=reg, template=template, start=start, province=province, other_street=other_street)
