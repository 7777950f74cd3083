"""Standard addresses, buildings, units, houses, organizations and key places."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from shequ.registry import addresses, selectors, services
from shequ.registry.models import Building, House, KeyPlace, Organization, Person, PersonTag, TimelineEntry
from shequ.registry.tests.conftest import COMMUNITY_A, GRID_A, GRID_B, Registry

EXAMPLE = "湖南省长沙市岳麓区岳麓街道枇杷塘社区麓山南路12号3栋2单元301室"


def test_standard_address_of_a_house(reg: Registry) -> None:
    assert reg.houses["a"][0].address == EXAMPLE
    assert House.objects.get(pk=reg.houses["a"][0].pk).address == EXAMPLE
    assert reg.buildings["a"].address == "湖南省长沙市岳麓区岳麓街道枇杷塘社区麓山南路12号3栋"
    assert (
        addresses.standard_address(
            GRID_A, road="麓山南路", door_number="12", building="3", unit="2", house="301"
        )
        == EXAMPLE
    )


@pytest.mark.parametrize(
    ("parts", "tail"),
    [
        (
            {"road": "麓山南路", "door_number": "12号", "building": "A座", "house": "1201"},
            "麓山南路12号A座1201室",
        ),
        (
            {"estate": "枇杷塘小区", "building": "12号楼", "unit": "一单元", "house": "101"},
            "枇杷塘小区12号楼一单元101室",
        ),
        ({"estate": "桃花村", "door_number": "37"}, "桃花村37号"),
    ],
)
def test_address_suffixes_only_for_bare_numbers(world: object, parts: dict[str, Any], tail: str) -> None:
    assert addresses.standard_address(COMMUNITY_A, **parts) == "湖南省长沙市岳麓区岳麓街道枇杷塘社区" + tail


def test_road_rename_rebuilds_addresses_of_buildings_houses_and_organizations(reg: Registry) -> None:
    org = services.organization_create(actor=None, data={"name": "麓山超市", "house": reg.houses["a"][2]})
    services.road_update(actor=reg.world["worker_a"], road=reg.roads["a"], name="麓山路", reason="地名变更")
    assert House.objects.get(pk=reg.houses["a"][0].pk).address == EXAMPLE.replace("麓山南路", "麓山路")
    assert House.objects.get(pk=reg.houses["b"][0].pk).address.startswith(
        "湖南省长沙市岳麓区岳麓街道枇杷塘社区麓山路14号5栋"
    )
    assert Building.objects.get(pk=reg.buildings["a"].pk).address.endswith("麓山路12号3栋")
    assert Organization.objects.get(pk=org.pk).address.endswith("麓山路12号3栋2单元401室")
    entry = TimelineEntry.objects.filter(object_type="building", object_id=reg.buildings["a"].pk).latest("pk")
    assert entry.changes == {"road": {"old": "麓山南路", "new": "麓山路"}}


def test_building_and_unit_changes_rebuild_house_addresses(reg: Registry) -> None:
    building = reg.buildings["a"]
    services.building_update(
        actor=reg.world["grid_a"], building=building, changes={"number": "3A", "floors": 7}
    )
    assert House.objects.get(pk=reg.houses["a"][0].pk).address.endswith("麓山南路12号3A栋2单元301室")
    unit = reg.houses["a"][0].unit
    assert unit is not None
    services.unit_update(actor=reg.world["grid_a"], unit=unit, number="3")
    assert House.objects.get(pk=reg.houses["a"][0].pk).address.endswith("3A栋3单元301室")
    entry = selectors.timeline_for(viewer=reg.world["grid_a"], object_type="building", object_id=building.pk)[
        0
    ]
    assert entry.changes == {"number": {"old": "3", "new": "3A"}, "floors": {"old": 6, "new": 7}}


def test_moving_a_building_to_another_grid_takes_everything_along(reg: Registry) -> None:
    w = reg.world
    building = reg.buildings["a"]
    person = reg.people["a"]
    services.tag_add(actor=None, person=person, category="veteran")
    household = services.household_create(actor=None, head=person)
    with pytest.raises(PermissionDenied):  # the grid worker cannot hand it to the other grid
        services.building_update(actor=w["grid_a"], building=building, changes={"region": reg.region(GRID_B)})
    services.building_update(actor=w["worker_a"], building=building, changes={"region": reg.region(GRID_B)})
    assert (
        House.objects.filter(building=building).values_list("region_code", flat=True).distinct().get()
        == GRID_B
    )
    assert Person.objects.get(pk=person.pk).region_code == GRID_B
    assert PersonTag.objects.get(person=person).region_code == GRID_B
    household.refresh_from_db()
    assert household.region_code == GRID_B
    assert selectors.get_person_for(w["grid_b"], person.pk) == person
    assert not selectors.house_list(viewer=w["grid_a"]).filter(building=building).exists()


def test_house_numbers_are_unique_within_building_and_unit(reg: Registry) -> None:
    unit = reg.houses["a"][0].unit
    with pytest.raises(ValidationError):
        services.house_create(actor=None, building=reg.buildings["a"], data={"unit": unit, "number": "301"})
    # Same number without a unit is another house.
    services.house_create(actor=None, building=reg.buildings["a"], data={"number": "301"})
    with pytest.raises(ValidationError):
        services.house_create(actor=None, building=reg.buildings["a"], data={"number": "301"})
    with pytest.raises(ValidationError):  # a unit of another building
        services.house_create(actor=None, building=reg.buildings["b"], data={"unit": unit, "number": "999"})


def test_house_update_records_old_and_new(reg: Registry) -> None:
    house = reg.houses["a"][1]
    services.house_update(
        actor=reg.world["grid_a"], house=house, changes={"use": "rented", "area": "90.25"}, reason="租客入住"
    )
    house.refresh_from_db()
    assert house.use == "rented" and house.area == Decimal("90.25")
    entry = selectors.house_timeline(reg.world["grid_a"], house.pk)[0]
    assert entry.changes == {
        "use": {"old": "owner_occupied", "new": "rented"},
        "area": {"old": "89.50", "new": "90.25"},
    }
    assert entry.reason == "租客入住"
    with pytest.raises(ValidationError):
        services.house_update(actor=None, house=house, changes={"use": "rented"})  # no change
    with pytest.raises(ValidationError) as exc:
        services.house_update(
            actor=None, house=house, changes={"area": "-3", "use": "palace", "colour": "red"}
        )
    assert set(exc.value.message_dict) == {"colour"}  # unknown fields are refused first
    with pytest.raises(ValidationError) as exc:
        services.house_update(actor=None, house=house, changes={"area": "-3", "use": "palace"})
    assert set(exc.value.message_dict) == {"area", "use"}


def test_building_validation(reg: Registry) -> None:
    with pytest.raises(ValidationError) as exc:
        services.building_create(
            actor=None,
            region=reg.region(GRID_A),
            data={"number": "9", "latitude": "95", "floors": "0", "type": "castle"},
        )
    assert set(exc.value.message_dict) == {"latitude", "floors", "type"}
    with pytest.raises(ValidationError):  # a road of another community
        services.building_create(
            actor=None, region=reg.region(GRID_A), data={"number": "9", "road": reg.roads["b"]}
        )
    with pytest.raises(ValidationError):  # a building needs a region below the street
        services.building_create(actor=None, region=reg.region("430104002"), data={"number": "9"})
    b = services.building_create(
        actor=None,
        region=reg.region(GRID_A),
        data={"number": "9", "latitude": "28.1827451", "longitude": "112.9401", "type": "rural_self_built"},
    )
    assert b.latitude == Decimal("28.182745") and b.longitude == Decimal("112.940100")


def test_organization_with_credit_code(reg: Registry) -> None:
    w = reg.world
    org = services.organization_create(
        actor=w["grid_a"],
        data={
            "name": "长沙麓山贸易有限公司",
            "uscc": "91350100m000100y43",
            "type": "enterprise",
            "house": reg.houses["a"][2],
            "legal_representative": "刘洋",
            "contact_phone": "0731-88881234",
            "staff_count": "12",
        },
    )
    assert org.uscc == "91350100M000100Y43" and org.region_code == GRID_A
    assert org.building == reg.buildings["a"] and org.address == reg.houses["a"][2].address
    assert org.contact_phone == "073188881234"
    with pytest.raises(ValidationError) as exc:
        services.organization_create(
            actor=None, data={"name": "另一家", "uscc": "91350100M000100Y43", "house": reg.houses["c"][2]}
        )
    assert "uscc" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.organization_create(
            actor=None, data={"name": "错码", "uscc": "91350100M000100Y44", "house": reg.houses["a"][1]}
        )
    assert exc.value.error_dict["uscc"][0].code == "uscc_checksum"
    with pytest.raises(PermissionDenied):
        services.organization_update(actor=w["grid_b"], organization=org, changes={"staff_count": 3})
    services.organization_update(
        actor=w["grid_a"], organization=org, changes={"contact_phone": "13912345678"}, reason="更换联系人"
    )
    entry = selectors.organization_timeline(w["grid_a"], org.pk)[0]
    assert entry.changes == {"contact_phone": {"old": "0731****1234", "new": "139****5678"}}
    assert selectors.get_organization_for(w["worker_a"], org.pk) == org
    assert selectors.organization_find_by_uscc(viewer=w["head_b"], uscc=org.uscc) is None


def test_key_place(reg: Registry) -> None:
    w = reg.world
    org = services.organization_create(
        actor=None, data={"name": "麓山幼儿园", "type": "public_institution", "house": reg.houses["b"][2]}
    )
    place = services.key_place_create(
        actor=w["grid_b"],
        data={"name": "麓山幼儿园", "kind": "kindergarten", "organization": org, "risk_level": "medium"},
    )
    assert (
        place.region_code == GRID_B
        and place.house == reg.houses["b"][2]
        and place.address == reg.houses["b"][2].address
    )
    services.key_place_update(
        actor=w["grid_b"], place=place, changes={"risk_level": "high", "risk_notes": "消防通道堵塞"}
    )
    place.refresh_from_db()
    assert place.risk_level == "high"
    assert list(selectors.key_place_list(viewer=w["grid_b"], kind="kindergarten")) == [place]
    assert not selectors.key_place_list(viewer=w["grid_a"]).exists()
    with pytest.raises(ValidationError):
        services.key_place_create(actor=None, data={"name": "无类型"}, region=reg.region(GRID_A))
    assert KeyPlace.objects.count() == 1


def test_nearest_building_is_the_closest_inside_the_radius(reg: Registry) -> None:
    a, b = reg.buildings["a"], reg.buildings["b"]
    Building.objects.filter(pk=a.pk).update(latitude=Decimal("28.180000"), longitude=Decimal("112.940000"))
    # About 111 m north of a.
    Building.objects.filter(pk=b.pk).update(latitude=Decimal("28.181000"), longitude=Decimal("112.940000"))
    near_b = selectors.nearest_building(Decimal("28.180900"), Decimal("112.940000"), within_metres=300)
    assert near_b is not None and near_b.pk == b.pk
    near_a = selectors.nearest_building(Decimal("28.179900"), Decimal("112.940050"), within_metres=300)
    assert near_a is not None and near_a.pk == a.pk
    # 0.01° of latitude is about 1.1 km: nothing within 300 m, though the box of 1.2 km holds both.
    assert selectors.nearest_building(Decimal("28.190000"), Decimal("112.940000"), within_metres=300) is None
    assert (
        selectors.nearest_building(Decimal("28.190000"), Decimal("112.940000"), within_metres=1_200)
        is not None
    )


def test_house_by_pk_is_the_house_with_its_region_or_none(reg: Registry) -> None:
    house = reg.houses["a"][0]
    found = selectors.house_by_pk(house.pk)
    assert found is not None and found.region.code == house.region_code
    assert selectors.house_by_pk(house.pk + 100_000) is None
