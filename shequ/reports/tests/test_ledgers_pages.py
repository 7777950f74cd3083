"""Ledger pages: the index with live counts, a ledger with filters and a paginated table, scope over
sibling grids and communities, the restricted ledger that does not exist without a grant, and a
number of queries that does not grow with the rows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from shequ.core.models import AuditEntry, User
from shequ.registry import ledgers, services
from shequ.registry.models import House, HouseUse, Person, ResidenceRelation, ResidenceType
from shequ.registry.tests.conftest import (
    COMMUNITY_A,
    COMMUNITY_B,
    GRID_A,
    GRID_B,
    Registry,
)
from shequ.registry.tests.test_tags import grant

INDEX = "/reports/ledgers/"


def page(key: str) -> str:
    url = reverse("reports:ledger", args=[key])
    assert url == f"/reports/ledgers/{key}/"
    return url


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def client_for(user: User) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def html(response: Any) -> str:
    return response.content.decode()


def assert_page_shape(response: Any) -> None:
    body = html(response)
    assert body.count("<h1") == 1
    assert " style=" not in body and not re.search(r"<script(?![^>]*\bsrc=)", body)
    assert response["Cache-Control"] == "no-store"


class Populate:
    """Rows for every ledger in grid A (and grid B), ``n`` at a time."""

    def __init__(self, reg: Registry) -> None:
        self.reg = reg
        self.count = 0
        self.building = reg.buildings["a"]
        self.unit = services.unit_create(actor=None, building=self.building, number="9")
        grant(reg, "head_a", region=COMMUNITY_A, category="drug_user")

    def house(self, use: str = HouseUse.OWNER_OCCUPIED) -> House:
        self.count += 1
        return services.house_create(
            actor=None,
            building=self.building,
            data={"unit": self.unit, "number": f"9{self.count:02d}", "use": use},
        )

    def person(self, name: str, house: House, *, birth: str = "19400101", **kwargs: Any) -> Person:
        data = {"name": name, "id_number": self.reg.next_id(birth), "phone": "13912345678", **kwargs}
        relation = data.pop("relation", ResidenceRelation.FAMILY)
        return services.person_register(actor=None, data=data, house=house, relation=relation)

    def add(self, n: int) -> None:
        for _ in range(n):
            home = self.house()
            old = self.person("老人", home)
            for code, subtype, grade in (
                ("living_alone", "", ""),
                ("disabled", "visual", "1"),
                ("veteran", "", ""),
                ("drug_user", "", ""),
            ):
                services.tag_add(
                    actor=None,
                    person=old,
                    category=code,
                    valid_from="2020-01-01",
                    subtype=subtype,
                    grade=grade,
                )
            nest = self.person("空巢", home)
            services.tag_add(actor=None, person=nest, category="empty_nest", valid_from="2020-01-01")
            household = services.household_create(actor=None, head=old, house=home)
            services.household_add_member(
                actor=None, household=household, person=nest, relation_to_head="spouse"
            )
            services.tag_add(actor=None, person=nest, category="low_income", valid_from="2020-01-01")
            poor = self.person("特困", self.house())
            services.tag_add(actor=None, person=poor, category="extreme_poverty", valid_from="2020-01-01")
            for code in ("left_behind_child", "child_in_difficulty"):
                child = self.person("儿童", home, birth="20150101")
                services.tag_add(actor=None, person=child, category=code, valid_from="2020-01-01")
            self.person("流动", home, residence_type=ResidenceType.FLOATING, birth="19900101")
            rented = self.house(HouseUse.RENTED)
            self.person("租客", rented, relation=ResidenceRelation.TENANT, birth="19950101")
            services.residence_add(actor=None, person=old, house=rented, relation=ResidenceRelation.OWNER)
            self.house(HouseUse.VACANT)
            region = self.reg.region(GRID_A)
            org = services.organization_create(
                actor=None, data={"name": f"单位{self.count}", "contact_phone": "13800001111"}, region=region
            )
            services.key_place_create(
                actor=None,
                data={"name": f"场所{self.count}", "kind": "market", "organization": org},
                region=region,
            )


@pytest.fixture
def populated(reg: Registry) -> Populate:
    filler = Populate(reg)
    filler.add(1)
    return filler


def cards(body: str) -> dict[str, int]:
    found = re.findall(
        r'href="/reports/ledgers/([a-z0-9_]+)/[^"]*">[^<]*</a>\s*<span class="ledger-count">(\d+) entr', body
    )
    return {key: int(n) for key, n in found}


def test_index_counts_per_ledger_for_the_users_region(populated: Populate) -> None:
    w = populated.reg.world
    response = client_for(w["worker_a"]).get(INDEX)
    assert response.status_code == 200
    assert_page_shape(response)
    counts = cards(html(response))
    assert "special_populations" not in counts and "special populations" not in html(response).lower()
    # 老人, 空巢, 特困 (born 1940); the fixture's people were born in 1980.
    assert counts["elderly_80"] == 3 and counts["elderly_60"] == 3
    assert counts["low_income"] == 1 and counts["extreme_poverty"] == 1
    assert counts["rented_houses"] == 1 and counts["vacant_houses"] == 1
    assert counts["organizations"] == 1 and counts["key_places"] == 1
    assert counts["floating_population"] == 1 and counts["left_behind_children"] == 1
    # The sibling grid's worker counts nothing of grid A; the other community neither.
    assert set(cards(html(client_for(w["grid_b"]).get(INDEX))).values()) == {0}
    assert set(cards(html(client_for(w["head_b"]).get(INDEX))).values()) == {0}
    # With a grant, the special populations card appears with its count.
    granted = cards(html(client_for(w["head_a"]).get(INDEX)))
    assert granted["special_populations"] == 1
    # Counting reveals nobody: no tag view is audited for the index.
    assert not AuditEntry.objects.filter(action="registry.tag_view").exists()


def test_index_region_picker(populated: Populate) -> None:
    w = populated.reg.world
    client = client_for(w["worker_a"])
    body = html(client.get(INDEX))
    assert (
        f'value="{GRID_A}"' in body and f'value="{GRID_B}"' in body and f'value="{COMMUNITY_B}"' not in body
    )
    assert cards(html(client.get(INDEX, {"region": GRID_B})))["elderly_80"] == 0
    assert cards(html(client.get(INDEX, {"region": GRID_A})))["elderly_80"] == 3
    wrong = client.get(INDEX, {"region": COMMUNITY_B})
    assert wrong.status_code == 400 and "Choose a region within your area." in html(wrong)


def test_default_region_is_the_one_the_user_works_in(populated: Populate) -> None:
    client = client_for(populated.reg.world["worker_a"])
    session = client.session
    session["current_region"] = GRID_B
    session.save()
    body = html(client.get(INDEX))
    assert cards(body)["elderly_80"] == 0 and f'<option value="{GRID_B}" selected>' in body
    assert f'href="/reports/ledgers/elderly_80/?region={GRID_B}"' in body
    assert "老人" not in html(client.get(page("elderly_80")))
    # "All of my area" chosen explicitly stays all, on the ledger page and in its export form.
    everything = html(client.get(INDEX, {"region": ""}))
    assert (
        cards(everything)["elderly_80"] == 3 and 'href="/reports/ledgers/elderly_80/?region="' in everything
    )
    ledger = html(client_for(populated.reg.world["head_a"]).get(page("elderly_80"), {"region": ""}))
    assert '<input type="hidden" name="region" value="">' in ledger


def test_who_reaches_the_ledgers(populated: Populate) -> None:
    w = populated.reg.world
    assert Client().get(INDEX).status_code == 302
    for persona in ("resident", "nobody", "sysadmin", "auditor"):
        # The auditor reads the disclosure ledger (participation.view), not the registry's.
        index = client_for(w[persona]).get(INDEX)
        assert index.status_code == (200 if persona == "auditor" else 403), persona
        assert client_for(w[persona]).get(page("elderly_80")).status_code == 403, persona
    auditor = html(client_for(w["auditor"]).get(INDEX))
    assert "/reports/ledgers/disclosures/" in auditor and "/reports/ledgers/elderly_80/" not in auditor
    # Each refusal is audited: the index by the page guard, the ledger with its key.
    denied = AuditEntry.objects.filter(action="access.denied")
    assert denied.filter(object_type="page", object_id=INDEX).count() == 3
    assert denied.filter(object_type="reports.ledger", object_id="elderly_80").count() == 4
    assert client_for(w["worker_a"]).get(page("no_such_ledger")).status_code == 404


def test_ledger_page_table_filters_and_masking(populated: Populate) -> None:
    w = populated.reg.world
    client = client_for(w["worker_a"])
    response = client.get(page("elderly_80"))
    assert response.status_code == 200
    assert_page_shape(response)
    body = html(response)
    assert '<div class="table-wrap"' in body
    old = Person.objects.get(name="老人")
    assert old.masked_id_number in body and old.id_number not in body
    assert "139****5678" in body and "13912345678" not in body
    assert f'href="{reverse("registry:person", args=[old.pk])}"' in body
    # Each user is told what they may export: a worker masked numbers only (no reason field), the
    # head masked or full with a reason, department staff nothing, and why.
    assert "Download Excel (numbers masked)" in body and 'name="reason"' not in body
    assert "for the full numbers, ask the community Party secretary or director" in body
    head = html(client_for(w["head_a"]).get(page("elderly_80")))
    assert "with the full numbers if you write down why" in head and 'name="reason"' in head
    dept = html(client_for(w["dept"]).get(page("elderly_80")))
    assert "You may not export this ledger for this area" in dept and "Download Excel" not in dept
    filtered = html(client.get(page("elderly_80"), {"region": GRID_B}))
    assert "老人" not in filtered and "0 entries" in filtered
    assert "老人" in html(
        client.get(page("disabled"), {"disability_type": "visual", "disability_grade": "1"})
    )
    assert "老人" not in html(client.get(page("disabled"), {"disability_type": "hearing"}))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"region": COMMUNITY_B}, "Choose a region within your area."),
        ({"region": "43x"}, "Choose a region within your area."),
        ({"as_of": "2025-13-01"}, "Enter a valid date."),
        ({"as_of": "1850-01-01"}, "Choose a date between 1900 and one year from today."),
        ({"age_min": "70", "age_max": "60"}, "The upper age is below the lower age."),
        ({"age_min": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"sex": "other"}, "Select a valid choice."),
    ],
)
def test_bad_filters_get_a_clear_error(populated: Populate, params: dict[str, str], message: str) -> None:
    response = client_for(populated.reg.world["worker_a"]).get(page("elderly_80"), params)
    assert response.status_code == 400
    assert message in html(response) and "<table" not in html(response)


def test_restricted_ledger_hidden_from_an_ordinary_worker_everywhere(populated: Populate) -> None:
    w = populated.reg.world
    for persona in ("worker_a", "grid_a", "head_b", "street"):
        client = client_for(w[persona])
        assert "special_populations" not in html(client.get(INDEX))
        assert client.get(page("special_populations")).status_code == 404
        assert client.post(page("special_populations") + "export/").status_code == 404
    assert not AuditEntry.objects.filter(action="registry.tag_view").exists()
    # A normal ledger filtered by the tag's code does not leak it either.
    assert "Drug user" not in html(
        client_for(w["worker_a"]).get(page("elderly_80"), {"category": "drug_user"})
    )


def test_restricted_ledger_visible_and_audited_with_a_grant(populated: Populate) -> None:
    w = populated.reg.world
    client = client_for(w["head_a"])
    response = client.get(page("special_populations"))
    assert response.status_code == 200
    body = html(response)
    assert "老人" in body and "Drug user" in body and "recorded in the audit log" in body
    entry = AuditEntry.objects.get(action="registry.tag_view")
    old = Person.objects.get(name="老人")
    assert entry.actor_id == w["head_a"].pk and entry.fields == ["drug_user"]
    assert entry.detail["people"] == [old.pk] and entry.detail["context"] == "ledger:special_populations"
    assert f'value="{"drug_user"}"' in body  # the group filter offers the granted category
    assert 'value="community_correction"' not in body


def test_scope_over_sibling_grids_and_communities(reg: Registry) -> None:
    for key in "abc":
        reg.register(f"老人{key}", reg.houses[key][1], birth="19400101")
    expected = {
        "grid_a": {"老人a"},
        "grid_b": {"老人b"},
        "worker_a": {"老人a", "老人b"},
        "head_b": {"老人c"},
        "street": {"老人a", "老人b", "老人c"},
        "outsider": set(),
    }
    for persona, seen in expected.items():
        body = html(client_for(reg.world[persona]).get(page("elderly_80")))
        assert {n for n in ("老人a", "老人b", "老人c") if n in body} == seen, persona


LEDGER_KEYS = [ledger.key for ledger in ledgers.LEDGERS]


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


@pytest.mark.parametrize("key", LEDGER_KEYS)
def test_queries_do_not_grow_with_rows(
    populated: Populate, key: str, django_assert_max_num_queries: Any
) -> None:
    client = client_for(populated.reg.world["head_a"])
    client.get(page(key))  # warm caches (content types, sessions)
    few = _queries(client, page(key))
    populated.add(4)
    many = _queries(client, page(key))
    assert many == few, (key, few, many)
    with django_assert_max_num_queries(25):
        client.get(page(key))


def test_index_queries_do_not_grow_with_rows(populated: Populate, django_assert_max_num_queries: Any) -> None:
    client = client_for(populated.reg.world["head_a"])
    client.get(INDEX)
    few = _queries(client, INDEX)
    populated.add(3)
    assert _queries(client, INDEX) == few
    with django_assert_max_num_queries(60):
        client.get(INDEX)
