"""Consultation fixtures on top of the registry's ``reg`` (three places: grid A and grid B of
community A, grid C of the sibling community B; one building with houses in each).

``consult`` adds residents whose accounts are linked to their registry records (by the mobile
number, ``registry.selectors.person_for_account``):

- ``resident`` (the shared persona, grid A) is 赵丽华 in building a;
- ``neighbour`` 钱伟 and ``third`` 孙敏 also live in building a (grid A), ``fourth`` 周杰 too;
- ``gridb`` 吴芳 lives in building b (grid B, community A);
- ``resident_b`` 郑强 lives in building c (grid C, community B: the sibling community).

``consult.topic(stage)`` opens a topic in community A (``worker_a``) and drives it through the
services to ``stage``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone

from shequ.conftest import PASSWORD, World
from shequ.core import accounts
from shequ.core.models import Role, User
from shequ.participation.models import Stage, Topic
from shequ.participation.services import consultations as services
from shequ.registry.models import Building, House, Person
from shequ.registry.tests.conftest import COMMUNITY_A, GRID_A, GRID_B, GRID_C, Registry

ORDER = [Stage.COLLECTING, Stage.MEETING, Stage.DECIDED, Stage.IMPLEMENTING, Stage.FEEDBACK, Stage.CLOSED]


@dataclass
class Consult:
    reg: Registry
    people: dict[str, Person] = field(default_factory=dict)
    extra: dict[str, User] = field(default_factory=dict)

    @property
    def world(self) -> World:
        return self.reg.world

    def __getitem__(self, persona: str) -> User:
        return self.extra.get(persona) or self.reg.world[persona]

    def building(self, key: str) -> Building:
        return self.reg.buildings[key]

    def topic(
        self,
        stage: str = Stage.COLLECTING,
        *,
        region: str = COMMUNITY_A,
        buildings: tuple[str, ...] = (),
        by: str = "",
    ) -> Topic:
        """A topic opened by staff of its community and driven to ``stage``."""
        actor = self[by or ("worker_a" if region.startswith(COMMUNITY_A) else "head_b")]
        topic = services.topic_open(
            actor=actor,
            region=self.world.regions[region],
            title="楼道堆物清理",
            description="三栋楼道长期堆放杂物，影响消防通道，请大家商量怎么清理。",
            buildings=[self.building(b) for b in buildings],
        )
        target = ORDER.index(Stage(stage))
        if target >= 1:
            topic = services.meeting_schedule(
                actor=actor, topic=topic, at=timezone.now() - dt.timedelta(hours=2), place="社区活动室"
            )
        if target >= 2:
            topic = services.meeting_record(
                actor=actor,
                topic=topic,
                participants="居民代表8人、物业1人",
                participant_count=9,
                minutes="讨论了清理时间和方式。",
            )
            topic = services.topic_decide(
                actor=actor,
                topic=topic,
                decision="本周六统一清理。",
                votes_for=7,
                votes_against=1,
                votes_abstain=1,
            )
        if target >= 3:
            topic = services.implementation_start(actor=actor, topic=topic)
        if target >= 4:
            services.progress_add(
                actor=actor, topic=topic, on=timezone.localdate(), text="已清理一、二单元。"
            )
            topic = services.feedback_open(actor=actor, topic=topic)
        if target >= 5:
            topic = services.topic_close(actor=actor, topic=topic)
        return topic


def resident_account(
    reg: Registry, username: str, name: str, house: House, grid: str, phone: str
) -> tuple[User, Person]:
    user = accounts.user_create(
        actor=None,
        username=username,
        display_name=name,
        password=PASSWORD,
        phone=phone,
        email=f"{username}@example.test",
    )
    accounts.membership_grant(actor=None, user=user, role=Role.RESIDENT, region=reg.world.regions[grid])
    return user, reg.register(name, house, phone=phone)


@pytest.fixture
def consult(reg: Registry) -> Consult:
    c = Consult(reg=reg)
    resident = reg.world["resident"]
    c.people["resident"] = reg.register("赵丽华", reg.houses["a"][1], phone=resident.phone)
    specs: list[tuple[str, str, str, str, str, Any]] = [
        ("neighbour", "钱伟", "a", GRID_A, "13900000011", 2),
        ("third", "孙敏", "a", GRID_A, "13900000012", 2),
        ("fourth", "周杰", "a", GRID_A, "13900000013", 1),
        ("gridb", "吴芳", "b", GRID_B, "13900000021", 1),
        ("resident_b", "郑强", "c", GRID_C, "13900000031", 1),
    ]
    for username, name, key, grid, phone, house in specs:
        user, person = resident_account(reg, username, name, reg.houses[key][house], grid, phone)
        c.extra[username], c.people[username] = user, person
    return c
