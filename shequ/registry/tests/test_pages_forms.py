"""The registry forms through the pages: each writes through its service on good input, and on bad
input shows the service's specific error on the field and changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shequ.core.models import User
from shequ.registry import services
from shequ.registry.models import (
    Building,
    House,
    Household,
    HouseUse,
    KeyPlace,
    Organization,
    Person,
    PersonStatus,
    PersonTag,
    ResidenceType,
    TimelineEntry,
    Unit,
    Visit,
)
from shequ.registry.tests.conftest import GRID_A, GRID_C, Registry, resident_id

pytestmark = pytest.mark.django_db


def signed_in(reg: Registry, persona: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(reg.world[persona])
    return client


def html(response: Any) -> str:
    return response.content.decode()


def field_errors(response: Any, field: str) -> str:
    """The error list shown under one field (empty when none)."""
    body = html(response)
    match = re.search(rf'<label for="id_{field}".*?</div>', body, re.S)
    assert match is not None, f"no field {field}"
    errors = re.search(r'<ul class="errorlist".*?</ul>', match.group(0), re.S)
    return errors.group(0) if errors else ""


def snapshot() -> dict[str, Any]:
    return {
        "people": list(
            Person.objects.order_by("pk").values_list("pk", "name", "phone_index", "status", "house_id")
        ),
        "houses": list(House.objects.order_by("pk").values_list("pk", "use", "number", "area")),
        "buildings": Building.objects.count(),
        "units": Unit.objects.count(),
        "tags": list(PersonTag.objects.order_by("pk").values_list("pk", "active", "verified_at")),
        "orgs": Organization.objects.count(),
        "places": KeyPlace.objects.count(),
        "visits": list(Visit.objects.order_by("pk").values_list("pk", "follow_up_done_at")),
        "households": Household.objects.count(),
        "timeline": TimelineEntry.objects.count(),
    }


def test_register_refuses_a_bad_id_number_then_registers(reg: Registry) -> None:
    house = reg.houses["a"][1]
    client = signed_in(reg, "grid_a")
    url = f"/registry/houses/{house.pk}/register/"
    form = client.get(url)
    assert form.status_code == 200 and house.address in html(form)
    before = snapshot()
    bad_id = resident_id("19850615", 41)[:-1] + ("0" if resident_id("19850615", 41)[-1] != "0" else "1")
    response = client.post(
        url,
        {
            "name": "赵六",
            "id_type": "resident_id",
            "id_number": bad_id,
            "phone": "12345",
            "residence_type": "registered",
            "relation": "family",
        },
    )
    assert response.status_code == 400
    assert "check" in field_errors(response, "id_number").lower()
    assert "mobile" in field_errors(response, "phone").lower()
    assert snapshot() == before

    good = resident_id("19850615", 41)
    response = client.post(
        url,
        {
            "name": "赵六",
            "id_type": "resident_id",
            "id_number": good,
            "phone": "13912345678",
            "residence_type": "floating",
            "relation": "tenant",
            "ethnicity": "15",
        },
    )
    person = Person.objects.get(name="赵六")
    assert response.status_code == 302 and response["Location"] == f"/registry/people/{person.pk}/"
    assert person.house_id == house.pk and person.residence_type == ResidenceType.FLOATING
    assert str(person.birth_date) == "1985-06-15" and person.ethnicity == "15"

    again = client.post(
        url,
        {
            "name": "赵六",
            "id_type": "resident_id",
            "id_number": good,
            "residence_type": "registered",
            "relation": "family",
        },
    )
    assert again.status_code == 400 and "already registered" in field_errors(again, "id_number")


def test_a_person_who_moved_out_is_offered_the_move_in(reg: Registry) -> None:
    person = reg.people["a"]
    services.person_move_out(actor=None, person=person, destination="广州")
    client = signed_in(reg, "worker_a")
    house = reg.houses["b"][1]
    response = client.post(
        f"/registry/houses/{house.pk}/register/",
        {
            "name": "张三",
            "id_type": "resident_id",
            "id_number": person.id_number,
            "residence_type": "registered",
            "relation": "family",
        },
    )
    assert response.status_code == 400 and f"/registry/houses/{house.pk}/move-in/" in html(response)

    wrong = client.post(
        f"/registry/houses/{house.pk}/move-in/",
        {"id_type": "resident_id", "id_number": resident_id("19700101", 99), "relation": "family"},
    )
    assert wrong.status_code == 400 and "Nobody who moved out" in field_errors(wrong, "id_number")
    moved = client.post(
        f"/registry/houses/{house.pk}/move-in/",
        {"id_type": "resident_id", "id_number": person.id_number, "relation": "family"},
    )
    assert moved.status_code == 302
    person.refresh_from_db()
    assert person.status == PersonStatus.ACTIVE and person.house_id == house.pk


def test_correct_needs_a_reason_and_keeps_old_values_masked(reg: Registry) -> None:
    person = reg.people["a"]
    client = signed_in(reg, "grid_a")
    url = f"/registry/people/{person.pk}/correct/"
    form = html(client.get(url))
    assert person.id_number not in form and "13811112222" not in form  # never put into the page
    before = snapshot()
    no_reason = client.post(url, {"name": "张三丰", "id_type": "resident_id", "residence_type": "registered"})
    assert no_reason.status_code == 400 and "required" in field_errors(no_reason, "reason")
    bad_phone = client.post(
        url,
        {
            "name": "张三",
            "phone": "110",
            "id_type": "resident_id",
            "residence_type": "registered",
            "reason": "核对",
        },
    )
    assert bad_phone.status_code == 400 and "mobile" in field_errors(bad_phone, "phone").lower()
    assert snapshot() == before

    ok = client.post(
        url,
        {
            "name": "张三丰",
            "phone": "13999998888",
            "id_type": "resident_id",
            "residence_type": "registered",
            "reason": "身份证核对",
        },
    )
    assert ok.status_code == 302
    person.refresh_from_db()
    assert person.name == "张三丰" and person.name_pinyin == "zhangsanfeng" and person.phone == "13999998888"
    entry = TimelineEntry.objects.filter(
        object_type="person", object_id=person.pk, action="person.correct"
    ).get()
    assert entry.reason == "身份证核对"
    assert entry.changes["phone"] == {"old": "138****2222", "new": "139****8888"}
    assert set(entry.changes) == {"name", "phone"}  # only what changed


def test_the_history_shows_field_labels_and_peoples_names(reg: Registry) -> None:
    """Not "phone: …" under "grid_a": the field's label (its attribute kept as a title) and the
    name tickets show; choice codes as their labels. Older entries kept the user name: the name
    is read with the entry."""
    person = reg.people["a"]
    User.objects.filter(pk=reg.world["grid_a"].pk).update(display_name="网格员小李")
    grid_a = User.objects.get(pk=reg.world["grid_a"].pk)
    services.person_correct(
        actor=grid_a,
        person=person,
        changes={"phone": "13700007777", "residence_type": "resident"},
        reason="走访核对",
    )
    mine = TimelineEntry.objects.filter(object_id=person.pk, action="person.correct")
    assert mine.get().actor_name == "网格员小李"  # kept from now on
    mine.update(actor_name="grid_a")  # as entries kept it before
    body = html(signed_in(reg, "head_a").get(f"/registry/people/{person.pk}/"))
    assert '<span title="phone">mobile number</span>: 138****2222 → 137****7777' in body
    assert '<span title="residence_type">' in body and "→ Resident, registered elsewhere" in body
    assert "· 网格员小李" in body and "· grid_a" not in body
    mine.update(actor=None)  # the account gone
    assert "· grid_a" in html(signed_in(reg, "head_a").get(f"/registry/people/{person.pk}/"))


def test_quick_corrections_phone_residence_type_and_house_use(reg: Registry) -> None:
    person = reg.people["a"]
    client = signed_in(reg, "grid_a")
    before = snapshot()
    bad = client.post(
        f"/registry/people/{person.pk}/quick/",
        {"quick-phone": "1380000", "quick-residence_type": "floating", "quick-quick_reason": "visit"},
    )
    assert bad.status_code == 400 and "mobile" in field_errors(bad, "quick-phone").lower()
    assert snapshot() == before
    ok = client.post(
        f"/registry/people/{person.pk}/quick/",
        {"quick-phone": "13700007777", "quick-residence_type": "resident", "quick-quick_reason": "visit"},
    )
    assert ok.status_code == 302
    person.refresh_from_db()
    assert person.phone == "13700007777" and person.residence_type == ResidenceType.RESIDENT
    assert TimelineEntry.objects.filter(
        object_id=person.pk, action="person.correct", reason="Checked on a visit"
    ).exists()

    house = reg.houses["a"][1]
    same = client.post(
        f"/registry/houses/{house.pk}/use/", {"use-use": "owner_occupied", "use-quick_reason": "visit"}
    )
    assert same.status_code == 400 and "same as the current" in html(same)
    rented = client.post(
        f"/registry/houses/{house.pk}/use/",
        {"use-use": "rented", "use-quick_reason": "resident", "use-reason_text": "新租户"},
    )
    assert rented.status_code == 302
    house.refresh_from_db()
    assert house.use == HouseUse.RENTED
    assert TimelineEntry.objects.filter(object_type="house", object_id=house.pk, reason="新租户").exists()


def test_move_to_another_community_found_by_address(reg: Registry) -> None:
    person = reg.people["a"]
    target = reg.houses["c"][1]
    client = signed_in(reg, "head_a")
    url = f"/registry/people/{person.pk}/move/"
    found = client.get(url, {"q": "桃子湖路 1栋"})
    assert (
        found.status_code == 200 and "桃子湖路8号1栋2单元302室" in html(found) and "泽盛社区" in html(found)
    )
    assert "王五" not in html(found)  # addresses only, never who lives there
    before = snapshot()
    future = client.post(f"{url}?q=桃子湖路", {"house": target.pk, "on": "2999-01-01"})
    assert future.status_code == 400 and "future" in field_errors(future, "on")
    assert snapshot() == before
    moved = client.post(f"{url}?q=桃子湖路", {"house": target.pk, "reason": "购房"})
    # head_a no longer sees the person: back to the house they left.
    assert moved.status_code == 302 and moved["Location"] == f"/registry/houses/{reg.houses['a'][0].pk}/"
    person.refresh_from_db()
    assert person.region_code == GRID_C and person.house_id == target.pk
    assert client.get(f"/registry/people/{person.pk}/").status_code == 404
    assert signed_in(reg, "head_b").get(f"/registry/people/{person.pk}/").status_code == 200


def test_move_out_and_death(reg: Registry) -> None:
    a, b = reg.people["a"], reg.people["b"]
    client = signed_in(reg, "worker_a")
    response = client.post(
        f"/registry/people/{a.pk}/move-out/", {"destination": "长沙县", "reason": "工作调动"}
    )
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.status == PersonStatus.MOVED_OUT and a.house_id is None
    before = snapshot()
    no_date = client.post(f"/registry/people/{b.pk}/death/", {})
    assert no_date.status_code == 400 and "required" in field_errors(no_date, "on")
    early = client.post(f"/registry/people/{b.pk}/death/", {"on": "1970-01-01"})
    assert early.status_code == 400 and "birth" in field_errors(early, "on")
    assert snapshot() == before
    died = client.post(
        f"/registry/people/{b.pk}/death/", {"on": str(timezone.localdate()), "reason": "死亡证明"}
    )
    assert died.status_code == 302
    b.refresh_from_db()
    assert b.status == PersonStatus.DECEASED


def test_tags_add_verify_end(reg: Registry) -> None:
    person = reg.people["a"]
    worker = signed_in(reg, "worker_a")
    form = html(worker.get(f"/registry/people/{person.pk}/tags/new/"))
    assert "disabled" in form and "community_correction" not in form  # restricted: no grant
    before = snapshot()
    bad = worker.post(
        f"/registry/people/{person.pk}/tags/new/",
        {"category": "disabled", "source": "survey", "valid_from": "2024-05-01", "valid_to": "2024-01-01"},
    )
    assert bad.status_code == 400 and "before its start" in field_errors(bad, "valid_to")
    assert snapshot() == before
    added = worker.post(
        f"/registry/people/{person.pk}/tags/new/",
        {"category": "disabled", "source": "survey", "grade": "二级"},
    )
    assert added.status_code == 302
    tag = PersonTag.objects.get(person=person)
    assert tag.added_by_id == reg.world["worker_a"].pk and tag.grade == "二级"
    assert worker.post(f"/registry/tags/{tag.pk}/verify/").status_code == 403  # no verify right

    head = signed_in(reg, "head_a")
    assert f"/registry/tags/{tag.pk}/verify/" in html(head.get(f"/registry/people/{person.pk}/"))
    assert head.post(f"/registry/tags/{tag.pk}/verify/").status_code == 302
    tag.refresh_from_db()
    assert tag.verified_by_id == reg.world["head_a"].pk

    no_reason = worker.post(f"/registry/tags/{tag.pk}/end/", {})
    assert no_reason.status_code == 400 and "required" in field_errors(no_reason, "reason")
    ended = worker.post(f"/registry/tags/{tag.pk}/end/", {"reason": "康复"})
    assert ended.status_code == 302
    tag.refresh_from_db()
    assert not tag.active and tag.end_reason == "康复"


def test_create_building_unit_house(reg: Registry) -> None:
    client = signed_in(reg, "grid_a")
    url = f"/registry/regions/{GRID_A}/buildings/new/"
    form = html(client.get(url))
    assert "麓山南路" in form and "桃子湖路" not in form  # roads of the community only
    before = snapshot()
    bad = client.post(url, {"type": "residential"})
    assert bad.status_code == 400 and "Give the building a number" in html(bad)
    bad = client.post(url, {"type": "residential", "number": "9", "floors": "many"})
    assert bad.status_code == 400 and "number" in field_errors(bad, "floors").lower()
    assert snapshot() == before
    made = client.post(
        url,
        {
            "type": "residential",
            "road": reg.roads["a"].pk,
            "door_number": "30",
            "number": "9",
            "floors": "18",
        },
    )
    building = Building.objects.get(number="9")
    assert made.status_code == 302 and made["Location"] == f"/registry/buildings/{building.pk}/"
    assert building.address.endswith("麓山南路30号9栋") and building.region_code == GRID_A

    assert client.post(f"/registry/buildings/{building.pk}/units/new/", {"number": "1"}).status_code == 302
    unit = Unit.objects.get(building=building)
    dup = client.post(f"/registry/buildings/{building.pk}/units/new/", {"number": "1"})
    assert dup.status_code == 400 and "already has this unit" in field_errors(dup, "number")
    house_url = f"/registry/buildings/{building.pk}/houses/new/"
    made = client.post(
        house_url,
        {
            "unit": unit.pk,
            "floor": "5",
            "number": "501",
            "area": "76.5㎡",
            "use": "vacant",
            "property_type": "commodity",
        },
    )
    assert made.status_code == 302
    house = House.objects.get(building=building)
    assert (
        house.use == HouseUse.VACANT and str(house.area) == "76.50" and house.address.endswith("1单元501室")
    )
    before = snapshot()
    dup = client.post(
        house_url,
        {"unit": unit.pk, "floor": "5", "number": "501", "use": "vacant", "property_type": "commodity"},
    )
    assert dup.status_code == 400 and "already registered" in field_errors(dup, "number")
    edit = client.post(
        f"/registry/houses/{house.pk}/edit/", {"area": "-3", "use": "vacant", "property_type": "commodity"}
    )
    assert edit.status_code == 400 and "between" in field_errors(edit, "area")
    assert snapshot() == before


def test_create_organization_and_key_place(reg: Registry) -> None:
    house = reg.houses["a"][2]
    client = signed_in(reg, "grid_a")
    url = f"/registry/organizations/new/?house={house.pk}"
    before = snapshot()
    bad = client.post(url, {"name": "岳麓便利店", "uscc": "91430104MA4L00000X", "type": "enterprise"})
    assert bad.status_code == 400 and field_errors(bad, "uscc")
    assert snapshot() == before
    made = client.post(
        url, {"name": "岳麓便利店", "type": "individual_business", "contact_phone": "13700002222"}
    )
    org = Organization.objects.get()
    assert made.status_code == 302 and org.house_id == house.pk and org.address == house.address
    place = client.post(
        f"/registry/key-places/new/?organization={org.pk}",
        {"name": "便利店仓库", "kind": "hazardous_goods", "risk_level": "high"},
    )
    assert place.status_code == 302
    assert KeyPlace.objects.get().organization_id == org.pk
    # Without a house: a grid or community of one's own, and only those are offered.
    free = client.get("/registry/key-places/new/")
    assert f'value="{reg.world.regions[GRID_A].pk}"' in html(free)
    assert f'value="{reg.world.regions[GRID_C].pk}"' not in html(free)
    missing = client.post(
        "/registry/key-places/new/", {"name": "工地", "kind": "construction_site", "risk_level": "low"}
    )
    assert missing.status_code == 400 and "grid or community" in html(missing)


def test_organization_and_key_place_forms_ask_for_a_name_not_a_persons_name(reg: Registry) -> None:
    """In Chinese an organization or a place has a 名称; 姓名 is a person's name."""
    client = Client()  # zh-Hans, the default
    client.force_login(reg.world["grid_a"])
    for url in (f"/registry/organizations/new/?house={reg.houses['a'][2].pk}", "/registry/key-places/new/"):
        label = re.search(r'<label for="id_name"[^>]*>(.*?)</label>', html(client.get(url)), re.S)
        assert label is not None and "名称" in label.group(1) and "姓名" not in label.group(1), url


def test_visit_and_follow_up(reg: Registry) -> None:
    elder = reg.register("刘奶奶", reg.houses["a"][2], birth="19400305")
    client = signed_in(reg, "grid_a")
    url = f"/registry/visits/new/?person={elder.pk}"
    before = snapshot()
    bad = client.post(url, {"purpose": "care", "follow_up_date": "2000-01-01"})
    assert bad.status_code == 400 and "before the visit" in field_errors(bad, "follow_up_date")
    assert snapshot() == before
    earlier = timezone.localtime() - timedelta(days=10)
    made = client.post(
        url,
        {
            "purpose": "care",
            "notes": "身体尚可",
            "visited_at": earlier.strftime("%Y-%m-%dT%H:%M"),
            "follow_up_date": str(timezone.localdate() - timedelta(days=2)),
        },
    )
    assert made.status_code == 302 and made["Location"] == f"/registry/people/{elder.pk}/"
    visit = Visit.objects.get()
    assert visit.visitor_id == reg.world["grid_a"].pk and visit.notes == "身体尚可"
    assert "身体尚可" in html(client.get(f"/registry/people/{elder.pk}/"))

    overdue = html(client.get("/registry/follow-ups/"))
    assert f"follows_up={visit.pk}" in overdue
    again = client.post(
        f"/registry/visits/new/?person={elder.pk}&follows_up={visit.pk}", {"purpose": "follow_up"}
    )
    assert again.status_code == 302
    visit.refresh_from_db()
    assert visit.follow_up_done_at is not None
    assert f"follows_up={visit.pk}" not in html(client.get("/registry/follow-ups/"))


def test_mark_follow_up_done(reg: Registry) -> None:
    elder = reg.register("刘奶奶", reg.houses["a"][2], birth="19400305")
    visit = services.visit_record(
        actor=reg.world["grid_a"],
        person=elder,
        visited_at=timezone.now() - timedelta(days=9),
        follow_up_date=timezone.localdate() - timedelta(days=1),
    )
    client = signed_in(reg, "grid_a")
    done = client.post(f"/registry/visits/{visit.pk}/follow-up-done/")
    assert done.status_code == 302 and done["Location"] == "/registry/follow-ups/"
    visit.refresh_from_db()
    assert visit.follow_up_done_at is not None
    twice = client.post(f"/registry/visits/{visit.pk}/follow-up-done/", follow=True)
    assert "already been followed up" in html(twice)


def test_start_a_household(reg: Registry) -> None:
    person = reg.people["a"]
    client = signed_in(reg, "grid_a")
    made = client.post(
        f"/registry/people/{person.pk}/household/", {"household-number": "H-12", "household-kind": "family"}
    )
    household = Household.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/registry/households/{household.pk}/"
    assert household.head_id == person.pk and household.number == "H12"
    # A second person joins it when registered into the house.
    joined = client.post(
        f"/registry/houses/{person.house_id}/register/",
        {
            "name": "李梅",
            "id_type": "resident_id",
            "id_number": resident_id("19820303", 42),
            "residence_type": "registered",
            "relation": "family",
            "household": household.pk,
            "relation_to_head": "spouse",
        },
    )
    assert joined.status_code == 302
    assert household.members.filter(person__name="李梅", relation_to_head="spouse").exists()
