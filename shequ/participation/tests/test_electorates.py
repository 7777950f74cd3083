"""Electorates from the registry at a cut-off date: who lived (or owned) in the area that day,
the age on election day, households' heads, and owners' voices under the Supreme People's Court
interpretation (joint owners one voice, one buyer of several houses one voice, the developer's
unsold houses one voice)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from shequ.participation.tests.fixtures_votes import Votes, register
from shequ.registry import electorates
from shequ.registry import services as registry
from shequ.registry.models import House
from shequ.registry.tests.conftest import COMMUNITY_A

pytestmark = pytest.mark.django_db
CUT = dt.date(2026, 6, 30)


def ids(members: list[electorates.Member]) -> set[int]:
    return {m.person_id for m in members if m.person_id}


def test_the_electorate_is_who_lived_here_on_the_cut_off_date(votes: Votes) -> None:
    reg = votes.reg
    house = reg.houses["a"][1]
    before = register(reg, "早来", house, birth="19700101", since=dt.date(2026, 6, 30))
    after = register(reg, "晚来", house, birth="19700102", since=dt.date(2026, 7, 1))
    left = register(reg, "已走", house, birth="19700103", since=dt.date(2020, 1, 1))
    registry.person_move_out(actor=None, person=left, on=dt.date(2026, 7, 2), destination="长沙市天心区")
    gone = register(reg, "早走", house, birth="19700104", since=dt.date(2020, 1, 1))
    registry.person_move_out(actor=None, person=gone, on=dt.date(2026, 6, 30), destination="长沙市天心区")
    found = ids(electorates.adults_living_in(COMMUNITY_A, on=CUT))
    assert before.pk in found  # moved in on the day
    assert after.pk not in found
    assert left.pk in found  # moved out after the day
    assert gone.pk not in found  # moved out on the day
    assert votes.adults[2].pk in found and votes.minor.pk not in found


def test_age_counts_on_election_day(votes: Votes) -> None:
    reg = votes.reg
    day = dt.date(2026, 12, 20)
    turns = register(reg, "刚满", reg.houses["a"][1], birth="20081220", since=dt.date(2020, 1, 1))
    later = register(reg, "差一天", reg.houses["a"][1], birth="20081221", since=dt.date(2020, 1, 1))
    found = ids(electorates.adults_living_in(COMMUNITY_A, on=CUT, age_on=day))
    assert turns.pk in found and later.pk not in found


def test_owners_voices_and_floor_area(votes: Votes) -> None:
    reg = votes.reg
    a0, a1, a2 = reg.houses["a"]
    b1 = reg.houses["b"][1]
    husband, wife = votes.adults[2], votes.adults[3]  # living in a1 and a2, owning a0 together
    buyer = votes.adults[1]  # living in b0, owning a1 and b1
    since = dt.date(2020, 1, 1)
    for person, house in ((husband, a0), (wife, a0), (buyer, a1), (buyer, b1)):
        registry.residence_add(actor=None, person=person, house=house, relation="owner", since=since)
    House.objects.filter(pk=a1.pk).update(area=Decimal("120.25"))
    members = electorates.owners_in(COMMUNITY_A, on=CUT)
    by_houses = {m.house_ids: m for m in members}
    joint = by_houses[(a0.pk,)]
    assert set(joint.co_owner_ids) == {husband.pk, wife.pk}  # one voice for the couple
    several = by_houses[tuple(sorted((a1.pk, b1.pk)))]
    assert several.person_id == buyer.pk and several.area == Decimal("120.25") + Decimal("89.5")
    developer = [m for m in members if m.person_id is None]
    assert len(developer) == 1  # the unsold houses together: one voice
    assert developer[0].house_ids == tuple(sorted(h.pk for h in (a2, reg.houses["b"][0], reg.houses["b"][2])))
    assert sum((m.area for m in members), Decimal(0)) == Decimal("89.5") * 5 + Decimal("120.25")


def test_household_heads(votes: Votes) -> None:
    head = votes.adults[2]
    registry.household_create(actor=None, head=head, number="4301040099")
    assert ids(electorates.household_heads_in(COMMUNITY_A, on=dt.date.today())) == {head.pk}
