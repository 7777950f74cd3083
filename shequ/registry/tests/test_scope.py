"""The scope matrix: every selector over sibling grids (430104002001001 vs …002), a sibling
community (430104002003) and a sibling street, for every persona of ``world``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.http import Http404
from django.utils import timezone

from shequ.registry import selectors, services
from shequ.registry.tests.conftest import GRID_A, GRID_B, GRID_C, Registry

REGION = {"a": GRID_A, "b": GRID_B, "c": GRID_C}

# persona → which of the three places (a: grid A, b: grid B, c: community B) it sees.
SEES = {
    "grid_a": {"a"},
    "grid_b": {"b"},
    "worker_a": {"a", "b"},
    "head_a": {"a", "b"},
    "head_b": {"c"},
    "street": {"a", "b", "c"},
    "dept": {"a", "b", "c"},
    "outsider": set(),
    "resident": set(),
    "nobody": set(),
    "sysadmin": set(),
    "secadmin": set(),
    "auditor": set(),
}


@pytest.fixture
def full(reg: Registry) -> dict[str, dict[str, Any]]:
    """One of each object per place."""
    objects: dict[str, dict[str, Any]] = {}
    for key in "abc":
        person = reg.people[key]
        house = reg.houses[key][0]
        grid_worker = {"a": "grid_a", "b": "grid_b", "c": "head_b"}[key]
        services.tag_add(actor=None, person=person, category="veteran")
        objects[key] = {
            "person": person,
            "house": house,
            "building": reg.buildings[key],
            "household": services.household_create(actor=None, head=person),
            "organization": services.organization_create(
                actor=None, data={"name": f"单位{key}", "house": reg.houses[key][1]}
            ),
            "key_place": services.key_place_create(
                actor=None, data={"name": f"场所{key}", "kind": "market", "house": house}
            ),
            "visit": services.visit_record(
                actor=reg.world[grid_worker],
                person=person,
                visited_at=timezone.now() - timedelta(days=30),
                follow_up_date=timezone.localdate() - timedelta(days=10),
                purpose="care",
            ),
        }
    return objects


LISTS = {
    "person": lambda v: selectors.person_list(viewer=v, status=None),
    "house": lambda v: selectors.house_list(viewer=v),
    "building": lambda v: selectors.building_list(viewer=v),
    "household": lambda v: selectors.household_list(viewer=v, current=False),
    "organization": lambda v: selectors.organization_list(viewer=v),
    "key_place": lambda v: selectors.key_place_list(viewer=v, active=None),
    "visit": lambda v: selectors.visit_list(viewer=v),
}
GETS = {
    "person": selectors.get_person_for,
    "house": selectors.get_house_for,
    "building": selectors.get_building_for,
    "household": selectors.get_household_for,
    "organization": selectors.get_organization_for,
    "key_place": selectors.get_key_place_for,
    "visit": selectors.get_visit_for,
}


@pytest.mark.parametrize("persona", list(SEES))
@pytest.mark.parametrize("kind", list(LISTS))
def test_lists_and_details(full: dict[str, dict[str, Any]], reg: Registry, persona: str, kind: str) -> None:
    viewer = reg.world[persona]
    listed = LISTS[kind](viewer)
    assert set(listed.values_list("region_code", flat=True)) == {REGION[key] for key in SEES[persona]}
    for key in "abc":
        obj = full[key][kind]
        assert listed.filter(pk=obj.pk).exists() == (key in SEES[persona])
        if key in SEES[persona]:
            assert GETS[kind](viewer, obj.pk) == obj
        else:
            with pytest.raises(Http404):
                GETS[kind](viewer, obj.pk)


@pytest.mark.parametrize("persona", list(SEES))
def test_timelines_tags_residences_and_units(
    full: dict[str, dict[str, Any]], reg: Registry, persona: str
) -> None:
    viewer = reg.world[persona]
    for key in "abc":
        visible = key in SEES[persona]
        for object_type in ("person", "house", "household", "organization", "key_place", "building"):
            obj = full[key][object_type]
            if visible:
                assert selectors.timeline_for(viewer=viewer, object_type=object_type, object_id=obj.pk)
            else:
                with pytest.raises(Http404):
                    selectors.timeline_for(viewer=viewer, object_type=object_type, object_id=obj.pk)
        person = full[key]["person"]
        assert bool(selectors.person_tag_list(viewer=viewer, person=person)) == visible
        assert selectors.residence_list(viewer=viewer, person=person).exists() == visible
        assert selectors.unit_list(viewer=viewer, building=full[key]["building"]).exists() == visible
        assert (
            selectors.household_member_list(viewer=viewer, household=full[key]["household"]).exists()
            == visible
        )
        assert (selectors.household_of(viewer=viewer, person=person) is not None) == visible
    assert selectors.tag_counts(viewer=viewer).get("veteran", 0) == len(SEES[persona])
    assert selectors.overdue_follow_ups(viewer=viewer).count() == (
        len(SEES[persona]) if persona in ("grid_a", "grid_b", "worker_a", "head_a", "head_b") else 0
    )


def test_roads_are_seen_by_the_grids_of_their_community(reg: Registry) -> None:
    w = reg.world
    assert {r.name for r in selectors.road_list(viewer=w["grid_a"])} == {"麓山南路"}
    assert {r.name for r in selectors.road_list(viewer=w["head_b"])} == {"桃子湖路"}
    assert {r.name for r in selectors.road_list(viewer=w["street"])} == {"麓山南路", "桃子湖路"}
    assert not selectors.road_list(viewer=w["outsider"]).exists()
    with pytest.raises(Http404):
        selectors.get_road_for(w["head_b"], reg.roads["a"].pk)


@pytest.mark.parametrize("junk", ["abc", "", None, "1; DROP TABLE x", 10**30, -1, "1.5"])
def test_junk_ids_are_not_found(reg: Registry, junk: Any) -> None:
    for get in GETS.values():
        with pytest.raises(Http404):
            get(reg.world["street"], junk)
    with pytest.raises(Http404):
        selectors.timeline_for(viewer=reg.world["street"], object_type="person", object_id=junk)
    with pytest.raises(Http404):
        selectors.timeline_for(viewer=reg.world["street"], object_type="user", object_id=1)


def test_filters_do_not_widen_the_scope(reg: Registry) -> None:
    w = reg.world
    assert not selectors.person_list(viewer=w["grid_a"], region_code="430104002003").exists()
    assert (
        not selectors.house_list(viewer=w["grid_a"], region_code="43")
        .exclude(region_code__startswith="430104002001001")
        .exists()
    )
    assert selectors.person_list(viewer=w["street"], region_code="430104002001002").get() == reg.people["b"]
