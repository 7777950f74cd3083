"""Households: who lives together, by kind of family."""

from __future__ import annotations

import random
from dataclasses import dataclass

from shequ.registry.demo.names import MAX_AGE, _weighted, sample_age
from shequ.registry.models import (
    MaritalStatus,
    RelationToHead,
    ResidenceRelation,
    Sex,
)

# --- Households ---------------------------------------------------------------------------------


@dataclass
class Member:
    """A person to be generated, before validation."""

    age: int
    sex: str
    relation_to_head: str = RelationToHead.HEAD
    relation: str = ResidenceRelation.FAMILY
    marital: str = ""
    surname: str = ""


@dataclass
class Family:
    kind: str
    members: list[Member]
    tenants: bool = False


OWNER_FAMILIES_URBAN = (
    ("elderly_alone", 12.0),
    ("elderly_couple", 18.0),
    ("single", 7.0),
    ("couple", 8.0),
    ("nuclear", 30.0),
    ("three_generations", 20.0),
    ("single_parent", 4.0),
    ("skipped_generation", 1.0),
)
OWNER_FAMILIES_VILLAGE = (
    ("elderly_alone", 13.0),
    ("elderly_couple", 17.0),
    ("single", 3.0),
    ("couple", 5.0),
    ("nuclear", 25.0),
    ("three_generations", 28.0),
    ("single_parent", 3.0),
    ("skipped_generation", 6.0),
)
TENANT_GROUPS = (("tenant_single", 45.0), ("tenant_couple", 25.0), ("tenant_family", 30.0))


def _children(rng: random.Random, mother_age: int, count: int) -> list[Member]:
    kids = []
    for _ in range(count):
        low, high = max(0, mother_age - 42), min(30, mother_age - 20)
        if high < low:
            break
        age = sample_age(rng, low, high)
        kids.append(
            Member(
                age,
                rng.choice((Sex.MALE, Sex.FEMALE)),
                RelationToHead.CHILD,
                marital=MaritalStatus.MARRIED if age >= 27 and rng.random() < 0.3 else MaritalStatus.SINGLE,
            )
        )
    return kids


def _couple(rng: random.Random, low: int, high: int, relation: str = ResidenceRelation.OWNER) -> list[Member]:
    husband = sample_age(rng, low, high)
    wife = max(20, min(MAX_AGE, husband - rng.randint(-2, 5)))
    return [
        Member(husband, Sex.MALE, RelationToHead.HEAD, relation, MaritalStatus.MARRIED),
        Member(wife, Sex.FEMALE, RelationToHead.SPOUSE, ResidenceRelation.FAMILY, MaritalStatus.MARRIED),
    ]


def make_family(rng: random.Random, kind: str) -> Family:
    """The members of one household (or one group of tenants) of ``kind``."""
    owner = ResidenceRelation.OWNER
    if kind == "elderly_alone":
        sex = Sex.FEMALE if rng.random() < 0.65 else Sex.MALE
        marital = _weighted(
            rng,
            (
                (MaritalStatus.WIDOWED, 75),
                (MaritalStatus.DIVORCED, 10),
                (MaritalStatus.SINGLE, 5),
                (MaritalStatus.MARRIED, 10),
            ),
        )
        return Family(kind, [Member(sample_age(rng, 60, 99), sex, relation=owner, marital=marital)])
    if kind == "elderly_couple":
        return Family(kind, _couple(rng, 62, 94))
    if kind == "single":
        age = sample_age(rng, 20, 59)
        marital = MaritalStatus.SINGLE if age < 35 or rng.random() < 0.4 else MaritalStatus.DIVORCED
        return Family(
            kind, [Member(age, rng.choice((Sex.MALE, Sex.FEMALE)), relation=owner, marital=marital)]
        )
    if kind == "couple":
        return Family(kind, _couple(rng, 23, 59))
    if kind == "nuclear":
        members = _couple(rng, 26, 58)
        members += _children(rng, members[1].age, _weighted(rng, ((1, 50), (2, 42), (3, 8))))
        return Family(kind, members)
    if kind == "single_parent":
        sex = Sex.FEMALE if rng.random() < 0.75 else Sex.MALE
        age = sample_age(rng, 28, 55)
        marital = MaritalStatus.DIVORCED if rng.random() < 0.8 else MaritalStatus.WIDOWED
        members = [Member(age, sex, relation=owner, marital=marital)]
        return Family(kind, members + _children(rng, age, rng.choice((1, 1, 2))))
    if kind == "three_generations":
        members = _couple(rng, 28, 52)
        members += _children(rng, members[1].age, _weighted(rng, ((1, 55), (2, 40), (3, 5))))
        grandpa = min(MAX_AGE, members[0].age + rng.randint(22, 34))
        elders = [Member(grandpa, Sex.MALE, RelationToHead.PARENT, marital=MaritalStatus.MARRIED)]
        elders.append(Member(max(45, grandpa - rng.randint(0, 5)), Sex.FEMALE, RelationToHead.PARENT))
        if rng.random() < 0.45:  # one grandparent left
            elders = [rng.choice(elders)]
            elders[0].marital = MaritalStatus.WIDOWED
        else:
            elders[1].marital = MaritalStatus.MARRIED
        if rng.random() < 0.3:  # the wife's parents
            for elder in elders:
                elder.relation_to_head = RelationToHead.PARENT_IN_LAW
        return Family(kind, members + elders)
    if kind == "skipped_generation":  # grandparents raising grandchildren while the parents work away
        members = (
            _couple(rng, 52, 78)
            if rng.random() < 0.7
            else [Member(sample_age(rng, 55, 80), Sex.FEMALE, relation=owner, marital=MaritalStatus.WIDOWED)]
        )
        for _ in range(rng.choice((1, 1, 2))):
            members.append(
                Member(sample_age(rng, 2, 15), rng.choice((Sex.MALE, Sex.FEMALE)), RelationToHead.GRANDCHILD)
            )
        return Family(kind, members)
    tenant = ResidenceRelation.TENANT
    if kind in ("tenant_single", "tenant_rooms"):
        # Flat shares; a village floor of rooms holds more unrelated tenants.
        count = rng.choice((1, 1, 1, 2, 3)) if kind == "tenant_single" else rng.randint(2, 5)
        return Family(
            kind,
            [
                Member(
                    sample_age(rng, 18, 40),
                    rng.choice((Sex.MALE, Sex.FEMALE)),
                    relation=tenant,
                    marital=MaritalStatus.SINGLE,
                )
                for _ in range(count)
            ],
            tenants=True,
        )
    if kind == "tenant_couple":
        return Family(kind, _couple(rng, 22, 42, tenant), tenants=True)
    if kind == "tenant_family":
        members = _couple(rng, 26, 45, tenant)
        members += _children(rng, members[1].age, rng.choice((1, 1, 2)))
        for m in members[2:]:
            m.age = min(m.age, 14)
        return Family(kind, members, tenants=True)
    raise ValueError(kind)
