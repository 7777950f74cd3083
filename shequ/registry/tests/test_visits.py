"""Visits (走访) and the overdue follow-ups of care residents on a grid worker's home page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from shequ.core.components import tiles_for
from shequ.registry import selectors, services
from shequ.registry.models import Visit
from shequ.registry.tests.conftest import Registry


def past(days: int) -> object:
    return timezone.now() - timedelta(days=days)


def overdue_visit(reg: Registry, persona: str = "grid_a", **target: object) -> Visit:
    return services.visit_record(
        actor=reg.world[persona],
        visited_at=past(20),  # type: ignore[arg-type]
        follow_up_date=timezone.localdate() - timedelta(days=5),
        purpose="care",
        notes="老人腿脚不便",
        **target,  # type: ignore[arg-type]
    )


def test_visit_is_recorded_on_the_timelines(reg: Registry) -> None:
    person = reg.people["a"]
    household = services.household_create(actor=None, head=person)
    visit = services.visit_record(
        actor=reg.world["grid_a"], person=person, household=household, purpose="routine", findings="一切正常"
    )
    assert visit.region_code == person.region_code and visit.visitor == reg.world["grid_a"]
    assert selectors.person_timeline(reg.world["grid_a"], person.pk)[0].action == "visit.record"
    assert selectors.household_timeline(reg.world["grid_a"], household.pk)[0].action == "visit.record"
    assert "grid_a" in selectors.person_timeline(reg.world["grid_a"], person.pk)[0].summary


def test_visit_input_is_checked(reg: Registry) -> None:
    w = reg.world
    with pytest.raises(ValidationError):
        services.visit_record(actor=w["grid_a"])
    with pytest.raises(ValidationError):
        services.visit_record(
            actor=w["grid_a"], person=reg.people["a"], visited_at=timezone.now() + timedelta(days=1)
        )
    with pytest.raises(ValidationError):
        services.visit_record(
            actor=w["grid_a"], person=reg.people["a"], follow_up_date=timezone.localdate() - timedelta(days=1)
        )
    with pytest.raises(ValidationError):
        services.visit_record(actor=w["grid_a"], person=reg.people["a"], purpose="gossip")
    with pytest.raises(PermissionDenied):
        services.visit_record(actor=w["grid_b"], person=reg.people["a"])
    with pytest.raises(PermissionDenied):
        services.visit_record(actor=w["street"], person=reg.people["a"])
    assert not Visit.objects.exists()


def test_overdue_follow_ups_are_those_of_care_residents(reg: Registry) -> None:
    w = reg.world
    elderly = reg.register("刘奶奶", reg.houses["a"][1], birth="19400101")  # 80+: care by age
    tagged = reg.people["a"]
    services.tag_add(actor=None, person=tagged, category="living_alone")
    ordinary = reg.register("陈小明", reg.houses["a"][2], birth="19950101")
    child = reg.register("陈小宝", reg.houses["a"][2], birth="20150101")
    household = services.household_create(actor=None, head=ordinary)
    services.household_add_member(actor=None, household=household, person=child, relation_to_head="child")
    services.tag_add(actor=None, person=child, category="left_behind_child")

    v_elderly = overdue_visit(reg, person=elderly)
    v_tagged = overdue_visit(reg, person=tagged)
    v_household = overdue_visit(reg, household=household)  # a care child lives in it
    overdue_visit(reg, person=ordinary)  # not a care resident
    services.visit_record(  # not yet due
        actor=w["grid_a"], person=tagged, follow_up_date=timezone.localdate() + timedelta(days=3)
    )
    done = overdue_visit(reg, person=elderly)
    services.visit_follow_up_done(actor=w["grid_a"], visit=done)

    assert set(selectors.overdue_follow_ups(viewer=w["grid_a"])) == {v_elderly, v_tagged, v_household}
    assert selectors.overdue_follow_ups(viewer=w["grid_b"]).count() == 0
    assert selectors.overdue_follow_ups(viewer=w["worker_a"]).count() == 3

    # A follow-up visit closes the earlier one.
    services.visit_record(actor=w["grid_a"], person=tagged, purpose="follow_up", follows_up=v_tagged)
    assert set(selectors.overdue_follow_ups(viewer=w["grid_a"])) == {v_elderly, v_household}
    with pytest.raises(ValidationError):
        services.visit_follow_up_done(actor=w["grid_a"], visit=v_tagged)

    # Ending the tag takes the person off the list; moving out too.
    services.tag_end(actor=None, tag=child.tags.get(), reason="父母返乡")
    assert set(selectors.overdue_follow_ups(viewer=w["grid_a"])) == {v_elderly}
    services.person_move_out(actor=None, person=elderly)
    assert not selectors.overdue_follow_ups(viewer=w["grid_a"]).exists()


@translation.override("en")
def test_home_page_shows_overdue_follow_ups_to_grid_workers(reg: Registry) -> None:
    w = reg.world
    services.tag_add(actor=None, person=reg.people["a"], category="disabled")
    overdue_visit(reg, person=reg.people["a"])
    tiles = [t for t in tiles_for(w["grid_a"]) if "Follow-up" in str(t.label)]
    assert [(t.count, t.tone) for t in tiles] == [(1, "warn")]
    # An alert tile: not there without an overdue visit, nor for those who do not visit.
    assert not [t for t in tiles_for(w["grid_b"]) if "Follow-up" in str(t.label)]
    assert not [t for t in tiles_for(w["street"]) if "Follow-up" in str(t.label)]
