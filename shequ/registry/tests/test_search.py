"""Search: what the box understands (names, pinyin, initials, ID and phone numbers in any width,
addresses), filters, scope over sibling grids and communities, restricted tags, paging."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from shequ.core.models import AuditEntry
from shequ.registry import services
from shequ.registry.demo import make_uscc
from shequ.registry.models import Person
from shequ.registry.search import (
    QueryKind,
    address_search,
    house_search,
    organization_search,
    person_search,
    read_query,
    resident_id_from_old,
)
from shequ.registry.tests.conftest import COMMUNITY_B, GRID_B, Registry, resident_id

STREET = "430104002"


def names(page: Any) -> list[str]:
    return [hit.name for hit in page.items]


def search(reg: Registry, persona: str, **kwargs: Any) -> list[str]:
    return names(person_search(viewer=reg.world[persona], **kwargs))


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


def birth_years_ago(years: int) -> str:
    day = timezone.localdate() - timedelta(days=int(years * 365.25) + 10)
    return f"{day:%Y%m%d}"


@pytest.fixture
def people(reg: Registry) -> dict[str, Person]:
    house_a, house_b, house_c = reg.houses["a"][1], reg.houses["b"][1], reg.houses["c"][1]
    return {
        "zxh": reg.register(
            "曾小红", house_a, phone="13900001111", id_number=resident_id(birth="19850304", seq=124)
        ),
        "zh": reg.register("曾华", house_a, birth="19700101"),
        "zhang": reg.register("张华", house_b, birth="19600505", residence_type="floating"),
        "shan": reg.register("单田芳", house_b, birth="19400606"),
        "qin": reg.register("覃小红", house_c, birth="20100101"),
    }


# --- Reading the search box ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("曾", QueryKind.NAME),
        ("曾 小红", QueryKind.NAME),
        ("zeng", QueryKind.PINYIN),
        ("Zeng Xiao", QueryKind.PINYIN),
        ("z", QueryKind.PINYIN),
        ("430104198503041234", QueryKind.ID_NUMBER),
        ("43010419850304123x", QueryKind.ID_NUMBER),
        ("430104850304123", QueryKind.ID_NUMBER),
        ("E12345678", QueryKind.ID_NUMBER),
        ("139 0000 1111", QueryKind.PHONE),
        ("+86 139-0000-1111", QueryKind.PHONE),
        ("１３９００００１１１１", QueryKind.PHONE),
        ("301", QueryKind.ADDRESS),
        ("", QueryKind.NONE),
    ],
)
def test_the_box_reads_what_was_typed(typed: str, kind: str) -> None:
    assert read_query(typed)[0] == kind


def test_old_15_digit_numbers_convert_to_the_current_form() -> None:
    current = resident_id(birth="19850304", seq=123)
    old = current[:6] + current[8:17]
    assert resident_id_from_old(old) == current


# --- People -------------------------------------------------------------------------------------


def test_pinyin_finds_zeng_by_full_pinyin_and_by_first_letter(
    reg: Registry, people: dict[str, Person]
) -> None:
    # 曾 read as a surname is "zeng", not pypinyin's default "ceng".
    assert search(reg, "street", q="zeng") == ["曾华", "曾小红"]
    assert search(reg, "street", q="ZENG xiao") == ["曾小红"]
    assert search(reg, "street", q="ceng") == []
    assert "曾小红" in search(reg, "street", q="z") and "曾华" in search(reg, "street", q="z")
    assert search(reg, "street", q="zxh") == ["曾小红"]
    assert search(reg, "street", q="shan") == ["单田芳"]  # 单 as a surname
    assert search(reg, "street", q="qin") == ["覃小红"]
    assert person_search(viewer=reg.world["street"], q="zeng").kind == QueryKind.PINYIN


def test_pinyin_lists_full_pinyin_then_initials(reg: Registry, people: dict[str, Person]) -> None:
    # "zh": 张华 and 张三 by their full pinyin (zhang…), then 曾华 by its initials (z-h); paged
    # across both parts.
    assert search(reg, "street", q="zh") == ["张华", "张三", "曾华"]
    pages = [
        person_search(viewer=reg.world["street"], q="zh", page_size=1, page=n, count=True)
        for n in (1, 2, 3, 4)
    ]
    assert [names(p) for p in pages] == [["张华"], ["张三"], ["曾华"], []]
    assert [p.has_next for p in pages] == [True, True, False, False]
    assert {p.total for p in pages} == {3}
    two = [person_search(viewer=reg.world["street"], q="zh", page_size=2, page=n) for n in (1, 2)]
    assert [names(p) for p in two] == [["张华", "张三"], ["曾华"]]


def test_chinese_name_prefix_and_contains_in_a_small_scope(reg: Registry, people: dict[str, Person]) -> None:
    assert search(reg, "street", q="曾") == ["曾华", "曾小红"]
    assert search(reg, "street", q="曾小") == ["曾小红"]
    # Within a street or smaller a given name is found too; prefix matches come first.
    assert search(reg, "street", q="小红") == ["曾小红", "覃小红"]
    assert search(reg, "grid_a", q="小红") == ["曾小红"]


def test_id_number_exact_in_any_width_with_spaces(reg: Registry, people: dict[str, Person]) -> None:
    person = people["zxh"]
    number = person.id_number
    spaced = f"{number[:6]} {number[6:14]} {number[14:]}"
    for typed in (number, spaced, full_width(spaced), number.lower()):
        assert search(reg, "worker_a", q=typed) == ["曾小红"], typed
        assert search(reg, "worker_a", id_number=typed) == ["曾小红"], typed
    assert search(reg, "worker_a", q=number[:6] + number[8:17]) == ["曾小红"]  # the old 15-digit form
    wrong_check = number[:17] + ("0" if number[17] != "0" else "1")
    assert search(reg, "worker_a", q=wrong_check) == []


def test_phone_exact_in_any_width_with_spaces_and_prefix(reg: Registry, people: dict[str, Person]) -> None:
    for typed in (
        "13900001111",
        "139 0000 1111",
        "139-0000-1111",
        full_width("139 0000 1111"),
        "+86 13900001111",
    ):
        assert search(reg, "worker_a", q=typed) == ["曾小红"], typed
        assert search(reg, "worker_a", phone=typed) == ["曾小红"], typed
    assert search(reg, "worker_a", q="13900001112") == []


def test_results_carry_masked_numbers_only(reg: Registry, people: dict[str, Person]) -> None:
    hit = person_search(viewer=reg.world["worker_a"], q="曾小红").items[0]
    person = people["zxh"]
    assert hit.masked_id_number == person.id_number[:6] + "********" + person.id_number[-4:]
    assert hit.masked_phone == "139****1111"
    assert person.id_number not in repr(hit) and "13900001111" not in repr(hit)
    assert hit.address == reg.houses["a"][1].address and hit.house_id == reg.houses["a"][1].pk


def test_scope_over_sibling_grids_and_communities(reg: Registry, people: dict[str, Person]) -> None:
    everyone = {"张三", "李四", "王五", "曾小红", "曾华", "张华", "单田芳", "覃小红"}
    assert set(search(reg, "street", page_size=50)) == everyone
    assert set(search(reg, "worker_a", page_size=50)) == {"张三", "李四", "曾小红", "曾华", "张华", "单田芳"}
    assert set(search(reg, "grid_a", page_size=50)) == {"张三", "曾小红", "曾华"}
    assert set(search(reg, "grid_b", page_size=50)) == {"李四", "张华", "单田芳"}
    assert set(search(reg, "head_b", page_size=50)) == {"王五", "覃小红"}
    assert search(reg, "outsider") == [] and search(reg, "nobody") == []
    # Exact lookups do not cross the scope either.
    number = people["zxh"].id_number
    assert search(reg, "grid_b", q=number) == [] and search(reg, "head_b", q="13900001111") == []
    assert search(reg, "grid_b", q="zxh") == [] and search(reg, "head_b", q="曾") == []
    # A region filter narrows within the scope and never widens it.
    assert set(search(reg, "worker_a", region_code=GRID_B)) == {"李四", "张华", "单田芳"}
    assert search(reg, "grid_a", region_code=GRID_B) == []
    assert search(reg, "worker_a", region_code=COMMUNITY_B) == []


def test_age_range_sex_and_residence_type(reg: Registry, people: dict[str, Person]) -> None:
    old = reg.register("田奶奶", reg.houses["a"][2], birth=birth_years_ago(80))
    assert old.birth_date is not None
    assert set(search(reg, "street", age_min=80)) == {"单田芳", "田奶奶"}
    assert set(search(reg, "street", age_min=60, age_max=70)) == {"张华"}
    assert search(reg, "street", age_max=18) == ["覃小红"]
    assert search(reg, "street", residence_type="floating") == ["张华"]
    assert search(reg, "street", q="zeng", sex="female") == ["曾小红"]  # even sequence digit
    assert search(reg, "street", q="zeng", sex="male") == ["曾华"]


def test_age_group_tag_matches_by_birth_date(reg: Registry, people: dict[str, Person]) -> None:
    assert set(search(reg, "street", tag="elderly_60")) == {"张华", "单田芳"}
    assert search(reg, "street", tag="elderly_80") == ["单田芳"]


def test_tag_filter_and_restricted_tag_hidden_without_grant(reg: Registry, people: dict[str, Person]) -> None:
    w = reg.world
    services.tag_add(actor=w["grid_a"], person=people["zxh"], category="low_income")
    services.tag_grant(
        actor=w["secadmin"],
        user=w["dept"],
        region=reg.region(STREET),
        expires_at=timezone.now() + timedelta(days=100),
        reason="禁毒工作需要",
        category="drug_user",
    )
    services.tag_add(actor=w["dept"], person=people["zh"], category="drug_user")
    assert search(reg, "worker_a", tag="low_income") == ["曾小红"]
    assert search(reg, "head_b", tag="low_income") == []
    hit = person_search(viewer=w["grid_a"], q="曾小红").items[0]
    assert hit.tags == ("low_income",)
    assert person_search(viewer=w["dept"], q="曾华").items[0].tags == ()  # badges: normal tags only

    before = AuditEntry.objects.filter(action="registry.tag_view").count()
    for persona in ("grid_a", "worker_a", "head_a", "street"):
        with pytest.raises(ValidationError) as caught:
            person_search(viewer=w[persona], tag="drug_user")
        assert set(caught.value.message_dict) == {"tag"}
    assert AuditEntry.objects.filter(action="registry.tag_view").count() == before

    assert search(reg, "dept", tag="drug_user") == ["曾华"]
    entry = AuditEntry.objects.filter(action="registry.tag_view").latest("id")
    assert entry.actor_id == w["dept"].pk and entry.fields == ["drug_user"]
    assert entry.detail["people"] == [people["zh"].pk] and entry.detail["context"] == "search"


def test_status_filter(reg: Registry, people: dict[str, Person]) -> None:
    services.person_move_out(actor=None, person=people["zh"], destination="广东省深圳市", reason="务工")
    assert search(reg, "street", q="曾") == ["曾小红"]
    assert search(reg, "street", q="曾", status="moved_out") == ["曾华"]
    assert search(reg, "street", q="曾", status="all") == ["曾华", "曾小红"]


def test_address_digits_and_words(reg: Registry, people: dict[str, Person]) -> None:
    # Houses 301 hold 张三 (grid a), 李四 (grid b), 王五 (community b).
    assert set(search(reg, "street", q="301")) == {"张三", "李四", "王五"}
    assert set(search(reg, "worker_a", address="麓山南路 14号")) == {"李四", "张华", "单田芳"}


def test_paging_without_counting(reg: Registry, people: dict[str, Person]) -> None:
    house = reg.houses["a"][2]
    for n in range(5):
        reg.register(f"欧阳{'一二三四五'[n]}", house, birth=f"19{70 + n}0101")
    viewer = reg.world["worker_a"]
    pages = [person_search(viewer=viewer, q="欧阳", page=n, page_size=2) for n in (1, 2, 3)]
    assert [names(p) for p in pages] == [["欧阳一", "欧阳三"], ["欧阳二", "欧阳五"], ["欧阳四"]]
    assert [p.has_next for p in pages] == [True, True, False]
    assert all(p.total is None for p in pages)
    assert person_search(viewer=viewer, q="ouyang", count=True).total == 5
    assert person_search(viewer=viewer, q="欧阳", page=4, page_size=2).items == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": "x"}, "page"),
        ({"page_size": 1000}, "page_size"),
        ({"age_min": -1}, "age_min"),
        ({"age_min": "old"}, "age_min"),
        ({"age_min": 70, "age_max": 60}, "age_max"),
        ({"sex": "x"}, "sex"),
        ({"residence_type": "tourist"}, "residence_type"),
        ({"status": "gone"}, "status"),
        ({"region_code": "abc"}, "region_code"),
        ({"tag": "no_such_tag"}, "tag"),
    ],
)
def test_bad_input_is_refused_by_field(reg: Registry, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        person_search(viewer=reg.world["worker_a"], **kwargs)
    assert field in caught.value.message_dict


# --- Houses, addresses, organizations -----------------------------------------------------------


def test_house_search_by_number_and_address(reg: Registry) -> None:
    street = reg.world["street"]
    assert {h.address for h in house_search(viewer=street, q="30").items} == {
        h.address for key in "abc" for h in reg.houses[key] if h.number.startswith("30")
    }
    grid_a = house_search(viewer=reg.world["grid_a"], q="301").items
    assert [h.id for h in grid_a] == [reg.houses["a"][0].pk]
    assert house_search(viewer=reg.world["head_b"], q="麓山南路").items == []
    prefix = reg.buildings["b"].address  # typed from the start: a prefix
    assert [h.id for h in house_search(viewer=street, address=prefix, q="301").items] == [
        reg.houses["b"][0].pk
    ]
    with pytest.raises(ValidationError):
        house_search(viewer=street, use="castle")


def test_address_search_finds_buildings_by_road_and_estate(reg: Registry) -> None:
    street, head_b = reg.world["street"], reg.world["head_b"]
    assert {b.id for b in address_search(viewer=street, q="麓山南路").items} == {
        reg.buildings["a"].pk,
        reg.buildings["b"].pk,
    }
    assert [b.id for b in address_search(viewer=street, q="麓山南路 14号").items] == [reg.buildings["b"].pk]
    assert address_search(viewer=head_b, q="麓山南路").items == []
    full = reg.buildings["c"].address
    assert [b.id for b in address_search(viewer=head_b, q=full).items] == [reg.buildings["c"].pk]
    with pytest.raises(ValidationError):
        address_search(viewer=street, q="  ")


def test_organization_search_by_name_and_credit_code(reg: Registry) -> None:
    uscc = make_uscc(random.Random(1), "91")
    org = services.organization_create(
        actor=None,
        data={
            "name": "长沙麓云科技有限公司",
            "uscc": uscc,
            "house": reg.houses["a"][2],
            "contact_phone": "0731-88881234",
        },
    )
    worker_a, head_b = reg.world["worker_a"], reg.world["head_b"]
    assert [o.id for o in organization_search(viewer=worker_a, q="麓云").items] == [org.pk]
    assert [o.id for o in organization_search(viewer=worker_a, q=uscc.lower()).items] == [org.pk]
    assert organization_search(viewer=worker_a, q=uscc).kind == QueryKind.USCC
    assert [o.id for o in organization_search(viewer=worker_a, uscc=uscc).items] == [org.pk]
    hit = organization_search(viewer=worker_a, q="麓云").items[0]
    assert hit.masked_contact_phone != "073188881234" and hit.masked_contact_phone.endswith("1234")
    assert organization_search(viewer=head_b, q="麓云").items == []
    with pytest.raises(ValidationError):
        organization_search(viewer=worker_a, type="castle")
