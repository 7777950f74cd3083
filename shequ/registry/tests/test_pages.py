"""The registry pages for each persona: browsing grid → building → house → person, what the pages
show (masked numbers, the house grid by use, restricted tags only with a grant), the audited
reveal, and bounded query counts on the list pages. Forms are in ``test_pages_forms.py``; who may
open which page is in ``test_registry_scope_matrix.py``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shequ.core.models import AuditEntry, AuditResult
from shequ.registry import services
from shequ.registry.models import HouseUse
from shequ.registry.tests.conftest import COMMUNITY_A, GRID_A, GRID_B, Registry

pytestmark = pytest.mark.django_db


def signed_in(reg: Registry, persona: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(reg.world[persona])
    return client


def html(response: Any) -> str:
    return response.content.decode()


def assert_page_shape(response: Any) -> None:
    body = html(response)
    assert response.status_code == 200, response.status_code
    assert body.count("<h1") == 1
    assert " style=" not in body and not re.search(r"<script(?![^>]*\bsrc=)", body)  # the CSP forbids them
    assert response["Cache-Control"] == "no-store"
    # Every form field has a label.
    for field_id in re.findall(
        r'<(?:input|select|textarea)(?![^>]*type="(?:hidden|submit)")[^>]*\bid="([^"]+)"', body
    ):
        assert f'for="{field_id}"' in body, field_id


def test_grid_worker_walks_from_the_grid_to_a_person(reg: Registry) -> None:
    client = signed_in(reg, "grid_a")
    start = client.get("/registry/")
    assert start.status_code == 302 and start["Location"] == f"/registry/regions/{GRID_A}/"
    grid = client.get(start["Location"])
    assert_page_shape(grid)
    building = reg.buildings["a"]
    assert f"/registry/buildings/{building.pk}/" in html(grid)
    assert f"/registry/buildings/{reg.buildings['b'].pk}/" not in html(grid)  # grid_b's

    page = client.get(f"/registry/buildings/{building.pk}/")
    assert_page_shape(page)
    body = html(page)
    house = reg.houses["a"][0]
    assert f'href="/registry/houses/{house.pk}/"' in body
    assert "Unit 2" in body and "3F" in body and "4F" in body

    page = client.get(f"/registry/houses/{house.pk}/")
    assert_page_shape(page)
    person = reg.people["a"]
    assert f'href="/registry/people/{person.pk}/"' in html(page) and "张三" in html(page)

    page = client.get(f"/registry/people/{person.pk}/")
    assert_page_shape(page)
    body = html(page)
    assert "zhangsan" in body
    assert person.masked_id_number in body and person.id_number not in body
    assert "138****2222" in body and "13811112222" not in body
    assert "Registered at" in body  # the timeline
    # A grid worker may not reveal: no reveal form is offered.
    assert "/reveal/" not in body


def test_community_page_counts_its_grids(reg: Registry) -> None:
    page = signed_in(reg, "worker_a").get(f"/registry/regions/{COMMUNITY_A}/")
    assert_page_shape(page)
    rows = re.findall(
        r"<tr>\s*<th scope=\"row\"><a href=\"/registry/regions/(\d+)/\">[^<]+</a></th>(.*?)</tr>",
        html(page),
        re.S,
    )
    counts = {code: re.findall(r"<td>(\d+)</td>", cells) for code, cells in rows}
    assert counts == {GRID_A: ["1", "3", "1"], GRID_B: ["1", "3", "1"]}


def test_building_shows_houses_by_use_with_a_legend(reg: Registry) -> None:
    rented = reg.houses["a"][1]
    services.house_update(actor=None, house=rented, changes={"use": HouseUse.RENTED})
    body = html(signed_in(reg, "grid_a").get(f"/registry/buildings/{reg.buildings['a'].pk}/"))
    cell = re.search(
        rf'<a class="house-cell use-(\w+)" href="/registry/houses/{rented.pk}/">(.*?)</a>', body, re.S
    )
    assert cell is not None and cell.group(1) == "rented"
    assert "Rented, 0 residents" in re.sub(r"\s+", " ", cell.group(2))  # not by colour alone
    legend = re.search(r'<ul class="legend".*?</ul>', body, re.S)
    assert legend is not None
    assert re.sub(r"\s+", " ", legend.group(0)).count("(1)") == 1 and "Owner-occupied (2)" in re.sub(
        r"\s+", " ", legend.group(0)
    )


def test_reveal_shows_the_full_number_once_with_a_reason_and_is_audited(reg: Registry) -> None:
    person = reg.people["a"]
    client = signed_in(reg, "head_a")
    page = html(client.get(f"/registry/people/{person.pk}/"))
    assert "/reveal/" in page and person.id_number not in page

    refused = client.post(f"/registry/people/{person.pk}/reveal/", {"field": "id_number", "reason": ""})
    assert refused.status_code == 400 and person.id_number not in html(refused)
    assert not AuditEntry.objects.filter(action="personal.reveal").exists()

    shown = client.post(f"/registry/people/{person.pk}/reveal/", {"field": "id_number", "reason": "核对身份"})
    assert shown.status_code == 200 and person.id_number in html(shown)
    entry = AuditEntry.objects.get(action="personal.reveal")
    assert (
        entry.result == AuditResult.SUCCESS and entry.reason == "核对身份" and entry.fields == ["id_number"]
    )
    assert entry.actor_id == reg.world["head_a"].pk
    # Once: the next visit of the page is masked again.
    assert person.id_number not in html(client.get(f"/registry/people/{person.pk}/"))


def test_reveal_without_the_right_is_refused_and_audited(reg: Registry) -> None:
    person = reg.people["a"]
    response = signed_in(reg, "grid_a").post(
        f"/registry/people/{person.pk}/reveal/", {"field": "phone", "reason": "想看看"}
    )
    assert response.status_code == 403 and "13811112222" not in html(response)
    entry = AuditEntry.objects.get(action="personal.reveal")
    assert entry.result == AuditResult.DENIED and entry.actor_id == reg.world["grid_a"].pk


def test_restricted_tags_hidden_without_a_grant_shown_and_audited_with_one(reg: Registry) -> None:
    person = reg.people["a"]
    services.tag_add(actor=None, person=person, category="community_correction")
    services.tag_add(actor=None, person=person, category="disabled")
    label = "Under community correction"

    client = signed_in(reg, "worker_a")
    page = html(client.get(f"/registry/people/{person.pk}/"))
    assert "Person with a disability" in page and label not in page
    search = client.get("/registry/people/", {"tag": "community_correction"})
    assert search.status_code == 400 and label not in html(search)  # not even a filter option
    api = client.get(f"/api/v1/registry/people/{person.pk}").json()
    assert [t["category"] for t in api["tags"]] == ["disabled"]
    assert not AuditEntry.objects.filter(action="registry.tag_view").exists()

    services.tag_grant(
        actor=reg.world["secadmin"],
        user=reg.world["head_a"],
        region=reg.world.regions[COMMUNITY_A],
        expires_at=timezone.now() + timedelta(days=30),
        reason="社区矫正工作",
        category="community_correction",
    )
    client = signed_in(reg, "head_a")
    page = html(client.get(f"/registry/people/{person.pk}/"))
    assert label in page
    views = AuditEntry.objects.filter(action="registry.tag_view", actor_id=reg.world["head_a"].pk)
    assert views.count() >= 1 and all("community_correction" in e.fields for e in views.all())
    before = views.count()
    found = client.get("/registry/people/", {"tag": "community_correction"})
    assert found.status_code == 200 and f"/registry/people/{person.pk}/" in html(found)
    assert views.count() == before + 1  # the filtered list reveals the tag: audited


def test_search_by_pinyin_initials_id_and_phone(reg: Registry) -> None:
    person = reg.people["a"]
    client = signed_in(reg, "worker_a")
    for query in ("zhang", "zs", "张", person.id_number, "138 1111 2222", "301"):
        page = client.get("/registry/people/", {"q": query})
        assert page.status_code == 200, query
        assert f"/registry/people/{person.pk}/" in html(page), query
    assert_page_shape(client.get("/registry/people/", {"q": "zs"}))
    # Scoped: head_b does not find community A's people.
    other = signed_in(reg, "head_b").get("/registry/people/", {"q": "zhang"})
    assert f"/registry/people/{person.pk}/" not in html(other)
    # Filters: age range and residence type.
    assert f"/registry/people/{person.pk}/" not in html(client.get("/registry/people/", {"age_min": "60"}))
    bad = client.get("/registry/people/", {"age_min": "abc"})
    assert bad.status_code == 400 and "Enter a whole number" in html(bad)


def test_search_page_filters_go_through_person_search(reg: Registry) -> None:
    """The page has no query of its own: the address, residence type and tag filters are the
    search's (``search.person_search``), so a restricted tag stays hidden without a grant."""
    a, b = reg.people["a"], reg.people["b"]
    client = signed_in(reg, "worker_a")

    def found(params: dict[str, str]) -> set[int]:
        page = client.get("/registry/people/", params)
        assert page.status_code == 200, (params, page.status_code)
        return {int(pk) for pk in re.findall(r'href="/registry/people/(\d+)/"', html(page))}

    # Part of an address, in Chinese: the box reads Chinese as a name, the filter as the address.
    assert found({"address": "麓山南路12号"}) == {a.pk}
    assert found({"address": "麓山南路"}) == {a.pk, b.pk}
    assert found({"q": "张", "address": "麓山南路14号"}) == set()
    services.person_correct(actor=None, person=b, changes={"residence_type": "floating"}, reason="核对")
    assert found({"residence_type": "floating"}) == {b.pk}
    assert found({"age_max": "10"}) == set()
    services.tag_add(actor=None, person=a, category="drug_user")
    hidden = client.get("/registry/people/", {"tag": "drug_user"})
    assert hidden.status_code == 400 and f"/registry/people/{a.pk}/" not in html(hidden)


def test_household_organization_and_key_place_pages(reg: Registry) -> None:
    person = reg.people["a"]
    household = services.household_create(actor=None, head=person, number="H001")
    org = services.organization_create(
        actor=None, data={"name": "岳麓超市", "house": reg.houses["a"][1], "contact_phone": "13700001111"}
    )
    place = services.key_place_create(
        actor=None, data={"name": "农贸市场", "kind": "market", "organization": org}
    )
    client = signed_in(reg, "grid_a")
    page = client.get(f"/registry/households/{household.pk}/")
    assert_page_shape(page)
    assert "张三" in html(page) and "Head of household" in html(page) and "Household created" in html(page)
    page = client.get(f"/registry/organizations/{org.pk}/")
    assert_page_shape(page)
    assert "137****1111" in html(page) and "13700001111" not in html(page) and "农贸市场" in html(page)
    page = client.get(f"/registry/key-places/{place.pk}/")
    assert_page_shape(page)
    assert "岳麓超市" in html(page)
    assert_page_shape(client.get("/registry/organizations/"))
    assert_page_shape(client.get("/registry/key-places/", {"kind": "market"}))


def test_my_grid_shows_care_list_with_last_visit_and_overdue_follow_ups(reg: Registry) -> None:
    house = reg.houses["a"][2]
    elder = reg.register("刘奶奶", house, birth="19400305")
    young = reg.register("刘小明", house, birth="20000101")
    services.tag_add(actor=None, person=young, category="disabled")
    visit = services.visit_record(
        actor=reg.world["grid_a"],
        person=elder,
        visited_at=timezone.now() - timedelta(days=20),
        follow_up_date=timezone.localdate() - timedelta(days=3),
    )
    client = signed_in(reg, "grid_a")
    page = client.get("/registry/my-grid/")
    assert_page_shape(page)
    body = html(page)
    care = body[body.index('id="care-heading"') :]
    assert "刘奶奶" in care and "刘小明" in care and "张三" not in care.split('id="buildings-heading"')[0]
    assert "Person with a disability" in care and "never visited" in care and "last visit" in care
    assert care.index("刘小明") < care.index("刘奶奶")  # never visited comes first
    assert f"/registry/buildings/{reg.buildings['a'].pk}/" in body

    follow = client.get("/registry/follow-ups/")
    assert_page_shape(follow)
    assert f"/registry/visits/{visit.pk}/follow-up-done/" in html(follow)
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert "/registry/follow-ups/" in html(home)
    # Other grids do not see it.
    assert "刘奶奶" not in html(signed_in(reg, "grid_b").get("/registry/follow-ups/"))


def test_my_grid_reads_the_overdue_follow_ups_once(reg: Registry) -> None:
    """The overdue list and its count come from one query (the care test is the slow part)."""
    house = reg.houses["a"][2]
    elder = reg.register("刘奶奶", house, birth="19400305")
    for days in range(1, 8):
        services.visit_record(
            actor=reg.world["grid_a"],
            person=elder,
            visited_at=timezone.now() - timedelta(days=20 + days),
            follow_up_date=timezone.localdate() - timedelta(days=days),
        )
    client = signed_in(reg, "grid_a")
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/registry/my-grid/")
    overdue_reads = [q["sql"] for q in queries.captured_queries if '"follow_up_done_at" IS NULL' in q["sql"]]
    assert len(overdue_reads) == 1, overdue_reads
    body = html(page)
    assert '<span class="badge">7</span>' in body and body.count('<span class="meta">due ') == 5
    assert "All overdue follow-ups" in body


def test_forbidden_page_for_roles_without_the_right(reg: Registry) -> None:
    response = signed_in(reg, "street").get(f"/registry/people/{reg.people['a'].pk}/correct/")
    assert response.status_code == 403
    assert response.content.decode().count("<h1") == 1 and "Not allowed" in html(response)
    assert AuditEntry.objects.filter(action="access.denied", result=AuditResult.DENIED).exists()


@pytest.fixture
def crowded(reg: Registry) -> Registry:
    """Many buildings, houses, people, visits and tags in grid A (to show query counts stay flat)."""
    region = reg.world.regions[GRID_A]
    building = reg.buildings["a"]
    unit = building.units.get()
    for n in range(30):
        services.building_create(
            actor=None,
            region=region,
            data={"road": reg.roads["a"], "door_number": f"{20 + n}", "number": "1"},
        )
    for n in range(40):
        house = services.house_create(
            actor=None, building=building, data={"unit": unit, "number": f"{n + 5}01", "floor": n + 5}
        )
        person = reg.register(
            f"居民{'甲乙丙丁戊己庚辛壬癸'[n % 10]}{'子丑寅卯辰'[n // 10]}",
            house,
            birth="19450101" if n % 2 else "19900101",
        )
        if n % 3 == 0:
            services.tag_add(actor=None, person=person, category="disabled")
        services.visit_record(
            actor=reg.world["grid_a"],
            person=person,
            visited_at=timezone.now() - timedelta(days=10),
            follow_up_date=timezone.localdate() - timedelta(days=1),
        )
    return reg


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        (f"/registry/regions/{COMMUNITY_A}/", 16),
        (f"/registry/regions/{GRID_A}/", 14),
        ("/registry/buildings/{building}/", 18),
        ("/registry/my-grid/", 18),
        ("/registry/follow-ups/", 13),
        ("/registry/people/?q=ju", 13),
        ("/registry/people/?age_min=60", 13),
        ("/registry/organizations/", 11),
        ("/registry/key-places/", 11),
    ],
)
def test_list_pages_take_a_bounded_number_of_queries(
    crowded: Registry, django_assert_max_num_queries: Any, path: str, limit: int
) -> None:
    client = signed_in(crowded, "worker_a")
    url = path.format(building=crowded.buildings["a"].pk)
    client.get(url)  # warm the session and the permission caches like a real second visit
    with django_assert_max_num_queries(limit):
        response = client.get(url)
    assert response.status_code == 200


def test_property_manager_sees_places_but_no_people(reg: Registry) -> None:
    from shequ.core import accounts
    from shequ.core.models import Department, DepartmentKind, Role
    from shequ.core.tests.api_helpers import bearer, issue

    manager = accounts.user_create(
        actor=None, username="property", display_name="物业", password="Pm-Pass-2024!x"
    )
    company = Department.objects.create(
        code="wuye",
        name="岳麓物业",
        kind=DepartmentKind.PROPERTY,
        region=reg.world.regions[COMMUNITY_A],
        region_code=COMMUNITY_A,
    )
    accounts.membership_grant(
        actor=None,
        user=manager,
        role=Role.PROPERTY_MANAGER,
        region=reg.world.regions[COMMUNITY_A],
        department=company,
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(manager)
    house = reg.houses["a"][0]
    page = client.get(f"/registry/houses/{house.pk}/")
    assert_page_shape(page)
    assert "张三" not in html(page) and "Residents" not in html(page)
    assert client.get(f"/registry/people/{reg.people['a'].pk}/").status_code == 403
    building = html(client.get(f"/registry/buildings/{reg.buildings['a'].pk}/"))
    assert "resident" not in building  # no counts of people either
    token = issue(reg.world, manager)
    detail = client.get(f"/api/v1/registry/houses/{house.pk}", **bearer(token)).json()
    assert detail["residents"] is None
    timeline = client.get(f"/api/v1/registry/timeline/house/{house.pk}", **bearer(token)).json()
    assert [e["action"] for e in timeline] == ["place.create"] and "张三" not in str(timeline)
