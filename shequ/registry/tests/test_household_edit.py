"""Editing a household from its page (issue 9, fixes from the walk): a grid worker adds a person
found by search, takes a member out, changes the head and corrects a member's relation to the
head, each through the registry services (audited, region-scoped, validated); bad input and
sibling regions change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from shequ.core.models import AuditEntry, AuditResult, User
from shequ.registry import services
from shequ.registry.models import Household, HouseholdMember, Person, RelationToHead
from shequ.registry.tests.conftest import Registry


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def client_for(user: User) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


@dataclass
class Family:
    household: Household
    head: Person
    spouse: Person
    newcomer: Person  # lives in grid A, in no household yet

    @property
    def url(self) -> str:
        return reverse("registry:household_edit", args=[self.household.pk])


@pytest.fixture
def family(reg: Registry) -> Family:
    head = reg.people["a"]
    household = services.household_create(actor=None, head=head)
    spouse = reg.register("刘芳", reg.houses["a"][0])
    services.household_add_member(actor=None, household=household, person=spouse, relation_to_head="spouse")
    newcomer = reg.register("陈小明", reg.houses["a"][1], birth="20100101")
    return Family(household, head, spouse, newcomer)


def current(household: Household) -> dict[str, str]:
    return {
        m.person.name: m.relation_to_head
        for m in HouseholdMember.objects.filter(household=household, end_date__isnull=True).select_related(
            "person"
        )
    }


def audits(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def test_the_household_page_links_to_the_edit_page_for_those_who_may_edit(
    reg: Registry, family: Family
) -> None:
    page = reverse("registry:household", args=[family.household.pk])
    assert family.url in client_for(reg.world["grid_a"]).get(page).content.decode()
    assert family.url not in client_for(reg.world["street"]).get(page).content.decode()  # reads only
    body = client_for(reg.world["grid_a"]).get(family.url).content.decode()
    assert "张三" in body and "刘芳" in body and "Change the head" in body


def test_add_a_person_found_by_search(reg: Registry, family: Family) -> None:
    client = client_for(reg.world["grid_a"])
    found = client.get(family.url, {"q": "陈小明"}).content.decode()
    pid = family.newcomer.pk
    assert f'name="add{pid}-relation_to_head"' in found
    response = client.post(family.url, {"op": "add", "person": pid, f"add{pid}-relation_to_head": "child"})
    assert response.status_code == 302
    assert current(family.household) == {"张三": "head", "刘芳": "spouse", "陈小明": "child"}
    (entry,) = audits("registry.household_add_member")[-1:]
    assert entry.actor_id == reg.world["grid_a"].pk and entry.detail == {"person": pid, "relation": "child"}
    # Searching again says they are a member now instead of offering the form.
    again = client.get(family.url, {"q": "陈小明"}).content.decode()
    assert "Already a member of this household." in again and f'name="add{pid}-relation_to_head"' not in again


@pytest.mark.parametrize(
    ("relation", "message"),
    [
        ("", "This field is required."),
        ("head", "Select a valid choice."),
        ("boss", "Select a valid choice."),
    ],
)
def test_adding_with_a_bad_relation_changes_nothing(
    reg: Registry, family: Family, relation: str, message: str
) -> None:
    pid = family.newcomer.pk
    before = AuditEntry.objects.count()
    response = client_for(reg.world["grid_a"]).post(
        family.url, {"op": "add", "person": pid, f"add{pid}-relation_to_head": relation}
    )
    assert response.status_code == 400 and message in response.content.decode()
    assert "陈小明" not in current(family.household) and AuditEntry.objects.count() == before


def test_a_person_belongs_to_one_household_at_a_time(reg: Registry, family: Family) -> None:
    other = services.household_create(actor=None, head=family.newcomer)
    client = client_for(reg.world["grid_a"])
    found = client.get(family.url, {"q": "陈小明"}).content.decode()
    assert "Belongs to the household of 陈小明" in found
    pid = family.newcomer.pk
    response = client.post(family.url, {"op": "add", "person": pid, f"add{pid}-relation_to_head": "child"})
    assert response.status_code == 400
    assert "This person already belongs to a household." in response.content.decode()
    assert "陈小明" not in current(family.household) and current(other) == {"陈小明": "head"}


def test_take_a_member_out_with_a_reason(reg: Registry, family: Family) -> None:
    client = client_for(reg.world["grid_a"])
    pid = family.spouse.pk
    refused = client.post(family.url, {"op": "remove", "person": pid, f"remove{pid}-reason": " "})
    assert refused.status_code == 400 and "This field is required." in refused.content.decode()
    assert "刘芳" in current(family.household) and audits("registry.household_remove_member") == []
    done = client.post(family.url, {"op": "remove", "person": pid, f"remove{pid}-reason": "迁入子女家"})
    assert done.status_code == 302 and current(family.household) == {"张三": "head"}
    (entry,) = audits("registry.household_remove_member")
    assert entry.reason == "迁入子女家" and entry.detail == {"person": pid}


def test_the_head_cannot_leave_while_others_remain(reg: Registry, family: Family) -> None:
    pid = family.head.pk
    response = client_for(reg.world["grid_a"]).post(
        family.url, {"op": "remove", "person": pid, f"remove{pid}-reason": "搬走"}
    )
    assert response.status_code == 400
    assert "choose a new head or move the whole household first" in response.content.decode()
    assert current(family.household) == {"张三": "head", "刘芳": "spouse"}


def test_change_the_head(reg: Registry, family: Family) -> None:
    client = client_for(reg.world["grid_a"])
    data = {"op": "head", "head-person": family.spouse.pk, "head-former_head_relation": "spouse"}
    refused = client.post(family.url, {**data, "head-reason": ""})
    assert refused.status_code == 400 and audits("registry.household_set_head") == []
    family.household.refresh_from_db()
    assert family.household.head_id == family.head.pk
    # A person outside the household is not a choice.
    outsider = client.post(family.url, {**data, "head-person": family.newcomer.pk, "head-reason": "x"})
    assert outsider.status_code == 400 and "Select a valid choice." in outsider.content.decode()
    done = client.post(family.url, {**data, "head-reason": "原户主年迈，由配偶担任"})
    assert done.status_code == 302
    family.household.refresh_from_db()
    assert family.household.head_id == family.spouse.pk
    assert current(family.household) == {"张三": "spouse", "刘芳": "head"}
    (entry,) = audits("registry.household_set_head")
    assert entry.actor_id == reg.world["grid_a"].pk and entry.reason == "原户主年迈，由配偶担任"
    assert HouseholdMember.objects.filter(household=family.household, relation_to_head="head").count() == 1


def test_correct_a_members_relation(reg: Registry, family: Family) -> None:
    client = client_for(reg.world["grid_a"])
    pid = family.spouse.pk
    done = client.post(
        family.url, {"op": "relation", "person": pid, f"relation{pid}-relation_to_head": "sibling"}
    )
    assert done.status_code == 302 and current(family.household)["刘芳"] == "sibling"
    (entry,) = audits("registry.household_set_relation")
    assert entry.detail == {"person": pid, "old": "spouse", "new": "sibling"}
    history = client.get(reverse("registry:household", args=[family.household.pk])).content.decode()
    assert "刘芳&#x27;s relation to the head is now: Brother or sister" in history
    for bad, message in (
        ("head", "Select a valid choice."),
        ("sibling", "already the member&#x27;s relation"),
    ):
        refused = client.post(
            family.url, {"op": "relation", "person": pid, f"relation{pid}-relation_to_head": bad}
        )
        assert refused.status_code == 400 and message in refused.content.decode(), bad
    head = family.head.pk
    refused = client.post(
        family.url, {"op": "relation", "person": head, f"relation{head}-relation_to_head": "child"}
    )
    assert refused.status_code == 400 and "choose a new head first" in refused.content.decode()
    assert current(family.household) == {"张三": "head", "刘芳": "sibling"}
    assert len(audits("registry.household_set_relation")) == 1


def test_the_relation_service_refuses_the_head_relation_and_non_members(
    reg: Registry, family: Family
) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.household_set_relation(
            actor=None, household=family.household, person=family.spouse, relation_to_head=RelationToHead.HEAD
        )
    with pytest.raises(ValidationError):
        services.household_set_relation(
            actor=None, household=family.household, person=family.newcomer, relation_to_head="child"
        )
    assert current(family.household) == {"张三": "head", "刘芳": "spouse"}


@pytest.mark.parametrize("persona", ["grid_b", "head_b", "outsider"])
def test_sibling_regions_cannot_see_or_change_the_household(
    reg: Registry, family: Family, persona: str
) -> None:
    client = client_for(reg.world[persona])
    assert client.get(family.url).status_code == 404
    pid = family.spouse.pk
    posts: list[dict[str, Any]] = [
        {"op": "remove", "person": pid, f"remove{pid}-reason": "x"},
        {"op": "relation", "person": pid, f"relation{pid}-relation_to_head": "child"},
        {"op": "head", "head-person": pid, "head-former_head_relation": "spouse", "head-reason": "x"},
    ]
    for data in posts:
        assert client.post(family.url, data).status_code == 404, data
    family.household.refresh_from_db()
    assert family.household.head_id == family.head.pk
    assert current(family.household) == {"张三": "head", "刘芳": "spouse"}


def test_people_outside_the_workers_grid_cannot_be_added(reg: Registry, family: Family) -> None:
    # 李四 lives in grid B, a sibling of grid_a's grid: not found by search, refused by id.
    stranger = reg.people["b"]
    client = client_for(reg.world["grid_a"])
    pid = stranger.pk
    assert f'name="add{pid}-relation_to_head"' not in client.get(family.url, {"q": "李四"}).content.decode()
    response = client.post(family.url, {"op": "add", "person": pid, f"add{pid}-relation_to_head": "child"})
    assert response.status_code == 404 and "李四" not in current(family.household)
    # The service refuses it too (audited) when the person lies outside the actor's area.
    with pytest.raises(Exception, match="may not change"):
        services.household_add_member(
            actor=reg.world["grid_a"], household=family.household, person=stranger, relation_to_head="child"
        )
    denied = audits("registry.household_add_member")[-1]
    assert denied.result == AuditResult.DENIED and "李四" not in current(family.household)


def test_readers_without_the_edit_right_are_refused(reg: Registry, family: Family) -> None:
    for persona in ("street", "dept", "resident"):
        assert client_for(reg.world[persona]).get(family.url).status_code == 403, persona


def test_unknown_changes_are_refused(reg: Registry, family: Family) -> None:
    client = client_for(reg.world["grid_a"])
    assert client.post(family.url, {"op": "drop", "person": family.spouse.pk}).status_code == 400
    assert client.post(family.url, {"op": "remove", "person": "x"}).status_code == 400
    assert current(family.household) == {"张三": "head", "刘芳": "spouse"}
