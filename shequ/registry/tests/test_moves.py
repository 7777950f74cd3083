"""Dynamic management: moves within and between grids and communities, moving out of the area and
back in, death, households; the history follows the person and changes who sees it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from shequ.core.models import AuditEntry, OutboxTask, User
from shequ.registry import selectors, services
from shequ.registry.models import HouseholdMember, Person, PersonStatus, PersonTag, Residence
from shequ.registry.tests.conftest import GRID_C, Registry


def actions(viewer: User, person: Person) -> list[str]:
    return [e.action for e in reversed(selectors.person_timeline(viewer, person.pk))]


def test_move_between_communities_moves_the_record_with_its_history(reg: Registry) -> None:
    w = reg.world
    person = reg.people["a"]
    services.tag_add(actor=w["grid_a"], person=person, category="low_income")
    services.person_correct(
        actor=w["grid_a"], person=person, changes={"occupation": "司机"}, reason="走访核对"
    )
    new_house = reg.houses["c"][1]
    services.person_move(actor=w["worker_a"], person=person, house=new_house, reason="购房迁居")

    person = Person.objects.get(pk=person.pk)
    assert (person.region_code, person.house_id, person.status) == (GRID_C, new_house.pk, PersonStatus.ACTIVE)
    assert PersonTag.objects.get(person=person).region_code == GRID_C  # tags follow the person

    # The new community sees the person and their whole history, made where they lived before too.
    assert selectors.get_person_for(w["head_b"], person.pk) == person
    assert actions(w["head_b"], person) == [
        "person.register",
        "tag.add",
        "person.correct",
        "person.move_away",
        "person.move_here",
    ]
    assert person in selectors.person_list(viewer=w["head_b"])
    assert selectors.person_list(viewer=w["head_b"], tag="low_income").get() == person

    # The old community and grid: "moved away", and nothing about where or what came after.
    for viewer in (w["grid_a"], w["worker_a"], w["head_a"]):
        with pytest.raises(Http404):
            selectors.get_person_for(viewer, person.pk)
        assert person not in selectors.person_list(viewer=viewer, status=None)
        seen = selectors.person_timeline(viewer, person.pk)
        assert next(e.action for e in seen) == "person.move_away"
        assert all(e.region_code.startswith("430104002001") for e in seen)
        assert "桃子湖路" not in " ".join(e.summary + str(e.changes) for e in seen)
        departures = selectors.departure_list(viewer=viewer)
        assert [(d.object_id, d.action) for d in departures] == [(person.pk, "person.move_away")]
        assert selectors.tag_counts(viewer=viewer).get("low_income", 0) == 0

    # The old house keeps the ended residence; the new one has the new resident.
    old = Residence.objects.get(person=person, house=reg.houses["a"][0])
    assert old.end_date == timezone.localdate()
    assert [r.person for r in selectors.residence_list(viewer=w["head_b"], house=new_house)] == [person]
    assert [
        r.person
        for r in selectors.residence_list(viewer=w["grid_a"], house=reg.houses["a"][0], current=False)
    ] == [person]
    house_actions = [e.action for e in selectors.house_timeline(w["grid_a"], reg.houses["a"][0].pk)]
    assert "residence.end" in house_actions
    assert OutboxTask.objects.filter(event_type="registry.person_moved").count() >= 0
    assert AuditEntry.objects.filter(action="registry.person_move", object_id=str(person.pk)).exists()


def test_move_within_a_grid_is_one_entry(reg: Registry) -> None:
    person = reg.people["a"]
    services.person_move(
        actor=reg.world["grid_a"], person=person, house=reg.houses["a"][2], relation="tenant"
    )
    entry = selectors.person_timeline(reg.world["grid_a"], person.pk)[0]
    assert entry.action == "person.move"
    assert entry.changes["house"] == {"old": reg.houses["a"][0].address, "new": reg.houses["a"][2].address}
    assert Residence.objects.get(person=person, end_date__isnull=True).relation == "tenant"


def test_move_between_grids_of_one_community(reg: Registry) -> None:
    w = reg.world
    person = reg.people["a"]
    services.person_move(actor=w["grid_a"], person=person, house=reg.houses["b"][1])
    assert selectors.get_person_for(w["grid_b"], person.pk) == person
    assert selectors.get_person_for(w["worker_a"], person.pk) == person  # the community sees both grids
    with pytest.raises(Http404):
        selectors.get_person_for(w["grid_a"], person.pk)


def test_only_the_releasing_side_moves_a_person(reg: Registry) -> None:
    """The community a person lives in records the move; another community cannot take them."""
    w = reg.world
    with pytest.raises(PermissionDenied):
        services.person_move(actor=w["head_b"], person=reg.people["a"], house=reg.houses["c"][1])
    with pytest.raises(PermissionDenied):
        services.person_move(actor=w["grid_b"], person=reg.people["a"], house=reg.houses["b"][1])
    assert Person.objects.get(pk=reg.people["a"].pk).region_code == reg.people["a"].region_code


def test_move_to_the_same_house_is_refused(reg: Registry) -> None:
    with pytest.raises(ValidationError):
        services.person_move(actor=None, person=reg.people["a"], house=reg.houses["a"][0])


def test_move_out_and_back_in_continues_the_record(reg: Registry) -> None:
    w = reg.world
    person = reg.people["a"]
    with pytest.raises(ValidationError):  # before they lived there
        services.person_move_out(
            actor=w["grid_a"], person=person, on=timezone.localdate() - timedelta(days=30)
        )
    services.person_move_out(actor=w["grid_a"], person=person, destination="广东省深圳市")
    person = Person.objects.get(pk=person.pk)
    assert (person.status, person.house_id) == (PersonStatus.MOVED_OUT, None)
    assert not Residence.objects.filter(person=person, end_date__isnull=True).exists()
    # The old community still has the record, as moved out.
    assert person in selectors.person_list(viewer=w["grid_a"], status=PersonStatus.MOVED_OUT)
    assert person not in selectors.person_list(viewer=w["grid_a"])
    # Registering the same ID number again is refused with a pointer to "move in".
    with pytest.raises(ValidationError) as exc:
        services.person_register(
            actor=w["head_b"], data={"name": "张三", "id_number": person.id_number}, house=reg.houses["c"][2]
        )
    assert exc.value.error_dict["id_number"][0].code == "moved_out"
    found = selectors.person_for_move_in(
        viewer=w["head_b"], id_type="resident_id", id_number=person.id_number
    )
    assert found == person
    assert (
        selectors.person_for_move_in(viewer=w["street"], id_type="resident_id", id_number=person.id_number)
        is None
    )
    services.person_move_in(actor=w["head_b"], person=found, house=reg.houses["c"][2], relation="tenant")
    person = Person.objects.get(pk=person.pk)
    assert (person.status, person.region_code) == (PersonStatus.ACTIVE, GRID_C)
    assert actions(w["head_b"], person) == ["person.register", "person.move_out", "person.move_in"]
    with pytest.raises(Http404):
        selectors.get_person_for(w["grid_a"], person.pk)
    assert [e.action for e in selectors.person_timeline(w["grid_a"], person.pk)] == [
        "person.move_out",
        "person.register",
    ]


def test_move_in_needs_a_person_who_moved_out(reg: Registry) -> None:
    with pytest.raises(ValidationError) as exc:
        services.person_move_in(actor=reg.world["head_b"], person=reg.people["a"], house=reg.houses["c"][2])
    assert exc.value.error_dict["status"][0].code == "wrong_status"


def test_death(reg: Registry) -> None:
    w = reg.world
    person = reg.people["a"]
    with pytest.raises(ValidationError):
        services.person_record_death(
            actor=w["grid_a"], person=person, on=timezone.localdate() + timedelta(days=1)
        )
    services.person_record_death(actor=w["grid_a"], person=person, on=timezone.localdate())
    person = Person.objects.get(pk=person.pk)
    assert person.status == PersonStatus.DECEASED and person.house_id is None
    assert person in selectors.person_list(viewer=w["grid_a"], status=PersonStatus.DECEASED)
    assert "person.death" in actions(w["grid_a"], person)
    with pytest.raises(ValidationError):
        services.person_move(actor=None, person=person, house=reg.houses["a"][1])
    with pytest.raises(ValidationError) as exc:
        services.person_register(
            actor=None, data={"name": "张三", "id_number": person.id_number}, house=reg.houses["a"][1]
        )
    assert exc.value.error_dict["id_number"][0].code == "deceased"


def test_household_head_cannot_leave_alone_but_the_household_can_move(reg: Registry) -> None:
    w = reg.world
    head = reg.people["a"]
    spouse = reg.register("李梅", reg.houses["a"][0], birth="19820202")
    household = services.household_create(actor=w["grid_a"], head=head, number="430104-0001")
    services.household_add_member(
        actor=w["grid_a"], household=household, person=spouse, relation_to_head="spouse"
    )
    with pytest.raises(ValidationError) as exc:
        services.person_move(actor=w["grid_a"], person=head, house=reg.houses["a"][1])
    assert exc.value.error_dict["household"][0].code == "household_head"
    with pytest.raises(ValidationError):
        services.person_move_out(actor=w["grid_a"], person=head)

    services.household_move(
        actor=w["worker_a"], household=household, house=reg.houses["c"][1], reason="整户迁出"
    )
    household.refresh_from_db()
    assert household.region_code == GRID_C and household.house == reg.houses["c"][1]
    for person in (head, spouse):
        person = Person.objects.get(pk=person.pk)
        assert person.region_code == GRID_C and person.house == reg.houses["c"][1]
    members = selectors.household_member_list(viewer=w["head_b"], household=household)
    assert {(m.person_id, m.relation_to_head) for m in members} == {(head.pk, "head"), (spouse.pk, "spouse")}
    assert selectors.household_member_list(viewer=w["head_a"], household=household).count() == 0
    with pytest.raises(Http404):
        selectors.get_household_for(w["head_a"], household.pk)


def test_new_head_then_former_head_may_leave(reg: Registry) -> None:
    w = reg.world
    head = reg.people["a"]
    son = reg.register("张小明", reg.houses["a"][0], birth="20050505")
    household = services.household_create(actor=w["grid_a"], head=head)
    services.household_add_member(
        actor=w["grid_a"], household=household, person=son, relation_to_head="child"
    )
    services.household_set_head(
        actor=w["grid_a"], household=household, person=son, former_head_relation="parent", reason="户主变更"
    )
    services.person_move_out(actor=w["grid_a"], person=head)
    household.refresh_from_db()
    assert household.head == son and household.end_date is None
    assert not HouseholdMember.objects.filter(person=head, end_date__isnull=True).exists()
    assert [e.action for e in selectors.household_timeline(w["grid_a"], household.pk)][:2] == [
        "household.leave",
        "household.head",
    ]


def test_last_member_leaving_closes_the_household(reg: Registry) -> None:
    household = services.household_create(actor=None, head=reg.people["a"])
    services.person_move(actor=None, person=reg.people["a"], house=reg.houses["a"][1])
    household.refresh_from_db()
    assert household.end_date is not None
    assert not selectors.household_list(viewer=reg.world["grid_a"]).filter(pk=household.pk).exists()


def test_owner_link_without_living_there(reg: Registry) -> None:
    w = reg.world
    owner = reg.people["b"]
    link = services.residence_add(actor=w["grid_a"], person=owner, house=reg.houses["a"][1], relation="owner")
    assert link.lives_here is False
    assert Person.objects.get(pk=owner.pk).house == reg.houses["b"][0]  # still lives at home
    with pytest.raises(ValidationError):
        services.residence_end(
            actor=w["grid_b"], residence=Residence.objects.get(person=owner, lives_here=True)
        )
    services.residence_end(actor=w["grid_a"], residence=link, reason="房屋出售")
    link.refresh_from_db()
    assert link.end_date is not None
