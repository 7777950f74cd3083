"""Inclusion rules of every ledger on crafted data: ages at the boundaries (counted on the ledger's
date), tags valid / not yet valid / expired / ended, moved-out and deceased people left out,
households with their size, rented and vacant houses, organizations and key places, and the
restricted special-population ledger that exists only with a grant."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone, translation

from shequ.core.components import Ledger, components, ledgers_for
from shequ.registry import ledgers, services
from shequ.registry.models import HouseUse, Person, ResidenceRelation, ResidenceType
from shequ.registry.tests.conftest import COMMUNITY_A, GRID_A, GRID_B, Registry
from shequ.registry.tests.test_tags import grant

AS_OF = date(2025, 6, 15)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def names(ledger_key: str, viewer: Any, **filters: Any) -> list[str]:
    ledger = ledgers.BY_KEY[ledger_key]
    filters.setdefault("as_of", AS_OF)
    rows = ledger.query(viewer, filters)
    out = []
    for obj in rows:
        row = ledger.row(obj, filters, False)
        out.append(str(row.get("name") or row.get("head") or row.get("address")))
    return sorted(out)


def tag(person: Person, code: str, **kwargs: Any) -> Any:
    return services.tag_add(actor=None, person=person, category=code, **kwargs)


def test_every_ledger_is_declared_in_the_manifest(world: Any) -> None:
    registry = next(c for c in components() if c.name == "registry")
    keys = {ledger.key for ledger in registry.ledgers}
    assert keys == {
        "elderly_60",
        "elderly_80",
        "living_alone",
        "empty_nest",
        "disabled",
        "low_income",
        "extreme_poverty",
        "left_behind_children",
        "children_in_difficulty",
        "veterans",
        "floating_population",
        "rented_houses",
        "vacant_houses",
        "organizations",
        "key_places",
        "special_populations",
    }
    assert all(isinstance(ledger, Ledger) for ledger in registry.ledgers)
    assert [ledger.key for ledger in registry.ledgers if ledger.restricted] == ["special_populations"]
    # An ordinary community worker is offered every ledger but the restricted one.
    offered = {ledger.key for ledger in ledgers_for(world["worker_a"])} & keys  # other apps' too
    assert offered == keys - {"special_populations"}
    # A property manager's role sees places only; a resident nothing.
    assert ledgers_for(world["resident"]) == []


def test_ages_are_counted_on_the_ledger_date(reg: Registry) -> None:
    house = reg.houses["a"][1]
    reg.register("满六十", house, birth="19650615")
    reg.register("差一天", house, birth="19650616")
    reg.register("满八十", house, birth="19450615")
    reg.register("八十差一天", house, birth="19450616")
    leap = reg.register("闰日生", house, birth="19640229")
    viewer = reg.world["worker_a"]
    assert names("elderly_60", viewer) == sorted(["满六十", "满八十", "八十差一天", "闰日生"])
    assert names("elderly_80", viewer) == ["满八十"]
    # A day later the 79-year-old is 80; the ledger of an earlier day does not have them yet.
    assert names("elderly_80", viewer, as_of=AS_OF + timedelta(days=1)) == sorted(["满八十", "八十差一天"])
    assert names("elderly_60", viewer, as_of=date(2024, 2, 28), age_max=70) == []
    assert names("elderly_60", viewer, as_of=date(2024, 2, 29), age_max=70) == ["闰日生"]
    # Age range and sex filters on top of the ledger's own rule.
    assert names("elderly_60", viewer, age_min=61, age_max=79) == sorted(["八十差一天", "闰日生"])
    assert names("elderly_60", viewer, age_max=60) == ["满六十"]
    row = ledgers.BY_KEY["elderly_60"].row(leap, {"as_of": AS_OF}, False)
    assert row["age"] == 61 and row["birth_date"] == date(1964, 2, 29)
    assert row["id_number"] == leap.masked_id_number and "*" in row["id_number"]
    assert row["grid"] == "第一网格" and row["address"] == house.address


def test_moved_out_and_deceased_people_are_left_out(reg: Registry) -> None:
    house = reg.houses["a"][1]
    gone = reg.register("已迁出", house, birth="19400101")
    dead = reg.register("已去世", house, birth="19400102")
    reg.register("健在", house, birth="19400103")
    tag(gone, "living_alone", valid_from="2020-01-01")
    services.person_move_out(actor=None, person=gone, destination="广州", reason="随子女")
    services.person_record_death(actor=None, person=dead, on=timezone.localdate(), reason="病故")
    viewer = reg.world["worker_a"]
    assert names("elderly_80", viewer) == ["健在"]
    assert names("living_alone", viewer) == []


def test_tag_validity_on_the_ledger_date(reg: Registry) -> None:
    today = timezone.localdate()
    house = reg.houses["a"][1]
    running = reg.register("有效", house, birth="19400101")
    expired = reg.register("过期", house, birth="19400102")
    future = reg.register("未生效", house, birth="19400103")
    ended = reg.register("已结束", house, birth="19400104")
    tag(running, "empty_nest", valid_from="2020-01-01", valid_to=str(today + timedelta(days=30)))
    tag(expired, "empty_nest", valid_from="2020-01-01", valid_to=str(today - timedelta(days=1)))
    tag(future, "empty_nest", valid_from=str(today + timedelta(days=10)))
    ended_tag = tag(ended, "empty_nest", valid_from="2020-01-01")
    services.tag_end(actor=None, tag=ended_tag, reason="子女返乡")
    viewer = reg.world["grid_a"]
    assert names("empty_nest", viewer, as_of=today) == ["有效"]
    # Earlier, the expired and the ended tag still counted; later, the future one does.
    assert names("empty_nest", viewer, as_of=today - timedelta(days=1)) == sorted(["已结束", "有效", "过期"])
    assert names("empty_nest", viewer, as_of=today + timedelta(days=10)) == sorted(["未生效", "有效"])
    assert names("empty_nest", viewer, as_of=date(2019, 12, 31)) == []
    # The worker of the sibling grid sees none of them.
    assert names("empty_nest", reg.world["grid_b"], as_of=today) == []


def test_disabled_with_kind_and_grade(reg: Registry) -> None:
    house = reg.houses["a"][1]
    eyes = reg.register("视障者", house)
    legs = reg.register("肢残者", house)
    tag(eyes, "disabled", subtype="visual", grade="2", valid_from="2020-01-01")
    tag(legs, "disabled", subtype="肢体", grade="一级", valid_from="2020-01-01")
    viewer = reg.world["worker_a"]
    assert names("disabled", viewer) == ["肢残者", "视障者"]
    assert names("disabled", viewer, disability_type="physical") == ["肢残者"]
    assert names("disabled", viewer, disability_grade="1") == ["肢残者"]
    assert names("disabled", viewer, disability_type="visual", disability_grade="2") == ["视障者"]
    assert names("disabled", viewer, disability_type="visual", disability_grade="1") == []
    ledger = ledgers.BY_KEY["disabled"]
    rows = {p.name: ledger.row(p, {"as_of": AS_OF}, False) for p in ledger.query(viewer, {"as_of": AS_OF})}
    assert rows["视障者"]["grade"] == "2" and rows["视障者"]["subtype"] == "Visual"
    assert rows["肢残者"]["subtype"] == "Physical"


def test_care_tag_ledgers(reg: Registry) -> None:
    house = reg.houses["a"][1]
    codes = {
        "living_alone": ("living_alone", "独居者"),
        "left_behind_children": ("left_behind_child", "留守童"),
        "children_in_difficulty": ("child_in_difficulty", "困境童"),
        "veterans": ("veteran", "老兵"),
    }
    for key, (code, name) in codes.items():
        person = reg.register(name, house, birth="20150101" if "child" in key else "19600101")
        tag(person, code, valid_from="2020-01-01", subtype="类别甲")
    viewer = reg.world["head_a"]
    for key, (_code, name) in codes.items():
        assert names(key, viewer) == [name], key
        row = ledgers.BY_KEY[key].row(ledgers.BY_KEY[key].query(viewer, {"as_of": AS_OF})[0], {}, False)
        assert row["since"] == date(2020, 1, 1)
    assert ledgers.BY_KEY["veterans"].query(reg.world["head_b"], {"as_of": AS_OF}).count() == 0


def test_allowance_households_one_row_each_with_their_size(reg: Registry) -> None:
    house = reg.houses["a"][1]
    head = reg.register("户主", house)
    spouse = reg.register("配偶", house)
    child = reg.register("子女", house, birth="20100101")
    household = services.household_create(actor=None, head=head, number="H1")
    services.household_add_member(actor=None, household=household, person=spouse, relation_to_head="spouse")
    services.household_add_member(actor=None, household=household, person=child, relation_to_head="child")
    tag(spouse, "low_income", valid_from="2020-01-01")
    tag(child, "low_income", valid_from="2020-01-01")
    alone = reg.register("无户者", reg.houses["b"][1])
    tag(alone, "low_income", valid_from="2020-01-01")
    other = reg.register("特困者", house)
    tag(other, "extreme_poverty", valid_from="2020-01-01")
    ledger = ledgers.BY_KEY["low_income"]
    filters = {"as_of": AS_OF}
    rows = ledger.query(reg.world["worker_a"], filters)
    assert rows.count() == 2
    first, second = (ledger.row(o, filters, False) for o in rows)
    assert first["head"] == "户主" and first["members"] == 3 and first["receivers"] == 2
    assert first["receiver_names"] == "配偶、子女" and first["_person"] == head.pk
    assert "*" in first["id_number"]
    assert second["head"] == "无户者" and second["members"] is None and second["notes"]
    # Slicing across the two parts (what the paginator does).
    assert [ledger.row(o, filters, False)["head"] for o in rows[1:2]] == ["无户者"]
    assert names("low_income", reg.world["grid_a"]) == ["户主"]
    assert names("low_income", reg.world["grid_b"]) == ["无户者"]
    assert names("low_income", reg.world["worker_a"], region=GRID_B) == ["无户者"]
    assert names("extreme_poverty", reg.world["worker_a"]) == ["特困者"]
    # The allowance ended: the household drops out of today's ledger.
    services.tag_end(actor=None, tag=spouse.tags.get(), reason="收入超标")
    services.tag_end(actor=None, tag=child.tags.get(), reason="收入超标")
    today = {"as_of": timezone.localdate()}
    assert [ledger.row(o, today, False)["head"] for o in ledger.query(reg.world["worker_a"], today)] == [
        "无户者"
    ]


def test_floating_population(reg: Registry) -> None:
    house = reg.houses["a"][2]
    floater = reg.register(
        "外来者",
        house,
        residence_type=ResidenceType.FLOATING,
        hukou_address="湖南省邵阳市",
        work_unit="某公司",
    )
    reg.register("本地人", house)
    ledger = ledgers.BY_KEY["floating_population"]
    rows = list(ledger.query(reg.world["grid_a"], {"as_of": AS_OF}))
    assert [p.name for p in rows] == ["外来者"]
    row = ledger.row(rows[0], {"as_of": AS_OF}, False)
    assert row["hukou_address"] == "湖南省邵阳市" and row["work_unit"] == "某公司"
    assert row["arrived"] == timezone.localdate() and row["relation"] == "Family member"
    assert floater.pk == row["_person"]


def test_rented_and_vacant_houses(reg: Registry) -> None:
    rented, declared, vacant = reg.houses["a"][1], reg.houses["a"][2], reg.houses["b"][2]
    owner = reg.register("房东", reg.houses["a"][0], phone="13911112222")
    services.residence_add(actor=None, person=owner, house=rented, relation=ResidenceRelation.OWNER)
    for name, relation in (("租客甲", ResidenceRelation.TENANT), ("租客乙", ResidenceRelation.LODGER)):
        data = {"name": name, "id_number": reg.next_id()}
        services.person_register(actor=None, data=data, house=rented, relation=relation)
    services.house_update(actor=None, house=declared, changes={"use": HouseUse.RENTED}, reason="出租")
    services.house_update(actor=None, house=vacant, changes={"use": HouseUse.VACANT}, reason="空置")
    ledger = ledgers.BY_KEY["rented_houses"]
    rows = {h.pk: ledger.row(h, {}, False) for h in ledger.query(reg.world["worker_a"], {})}
    assert set(rows) == {rented.pk, declared.pk}
    row = rows[rented.pk]
    assert row["tenants"] == "租客甲\n租客乙" and row["tenant_count"] == 2 and row["owner"] == "房东"
    assert row["owner_phone"] == "139****2222" and "Registered use" in row["notes"]
    assert rows[declared.pk]["tenant_count"] == 0 and rows[declared.pk]["notes"] == "No tenant registered"
    assert ledger.query(reg.world["grid_b"], {}).count() == 0
    assert names("vacant_houses", reg.world["worker_a"]) == [vacant.address]
    assert names("vacant_houses", reg.world["grid_a"]) == []
    # Full values when the caller allows them (an export with a reveal).
    full = ledger.row(next(h for h in ledger.query(reg.world["worker_a"], {}) if h.pk == rented.pk), {}, True)
    assert full["owner_phone"] == "13911112222"


def test_organizations_and_key_places(reg: Registry) -> None:
    region = reg.region(GRID_A)
    shop = services.organization_create(
        actor=None,
        data={"name": "麓山超市", "contact_phone": "13800001111", "type": "enterprise"},
        region=region,
    )
    services.organization_create(actor=None, data={"name": "已关店", "status": "closed"}, region=region)
    services.organization_create(actor=None, data={"name": "泽盛公司"}, region=reg.region("430104002003001"))
    services.key_place_create(
        actor=None, data={"name": "麓山小学", "kind": "school", "risk_level": "medium"}, region=region
    )
    services.key_place_create(actor=None, data={"name": "农贸市场", "kind": "market"}, region=region)
    viewer = reg.world["worker_a"]
    assert names("organizations", viewer) == ["麓山超市"]
    assert names("organizations", viewer, org_status="all") == ["已关店", "麓山超市"]
    assert names("organizations", viewer, org_status="closed") == ["已关店"]
    row = ledgers.BY_KEY["organizations"].row(shop, {}, False)
    assert row["contact_phone"] == "138****1111"
    assert names("key_places", viewer) == ["农贸市场", "麓山小学"]
    assert names("key_places", viewer, place_kind="school") == ["麓山小学"]
    assert names("key_places", viewer, risk_level="medium") == ["麓山小学"]
    assert names("organizations", reg.world["head_b"]) == ["泽盛公司"]


def test_special_populations_only_with_a_grant(reg: Registry) -> None:
    w = reg.world
    person = reg.people["a"]
    grant(reg, "head_a", region=COMMUNITY_A, category="drug_user")
    tag(person, "drug_user", valid_from="2020-01-01")
    ledger = ledgers.BY_KEY["special_populations"]
    assert not ledger.is_visible_to(w["worker_a"])
    assert ledgers.ledger_for(w["worker_a"], "special_populations") is None
    assert ledger.query(w["worker_a"], {"as_of": AS_OF}).count() == 0
    assert ledger.is_visible_to(w["head_a"])
    assert ledgers.ledger_for(w["head_a"], "special_populations") is ledger
    rows = list(ledger.query(w["head_a"], {"as_of": AS_OF}))
    assert [t.person.name for t in rows] == ["张三"]
    row = ledger.row(rows[0], {"as_of": AS_OF}, False)
    assert row["category"] == "Drug user" and row["name"] == "张三"
    assert ledger.query(w["head_a"], {"as_of": AS_OF, "category": "community_correction"}).count() == 0
    # The grant covers community A only: the street officer without one sees nothing.
    assert not ledger.is_visible_to(w["street"])


def test_scope_of_people_ledgers_over_sibling_grids_and_communities(reg: Registry) -> None:
    for key in "abc":
        reg.register(f"老人{key}", reg.houses[key][1], birth="19400101")
    expected = {
        "grid_a": ["老人a"],
        "grid_b": ["老人b"],
        "worker_a": ["老人a", "老人b"],
        "head_a": ["老人a", "老人b"],
        "head_b": ["老人c"],
        "street": ["老人a", "老人b", "老人c"],
        "outsider": [],
        "resident": [],
        "sysadmin": [],
        "secadmin": [],
        "auditor": [],
    }
    for persona, seen in expected.items():
        assert names("elderly_80", reg.world[persona]) == seen, persona
    # A region filter narrows inside the scope and never widens it.
    assert names("elderly_80", reg.world["worker_a"], region=GRID_A) == ["老人a"]
    assert names("elderly_80", reg.world["grid_a"], region=COMMUNITY_A) == ["老人a"]
    assert names("elderly_80", reg.world["grid_a"], region="430104002003") == []
