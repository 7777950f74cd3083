"""The registry's scope matrix (DESIGN.md rule 2, security requirement 8): every registry page and
every registry API operation, tried by every persona on objects of grid 430104002001001 (grid_a's,
in community A) and of grid 430104002003001 (in the sibling community B).

Expected outcomes are written from the personas' roles and regions below, not computed by the code
under test. A route or an operation missing from these tables fails ``test_every_registry_route_is_
in_the_matrix`` / ``test_every_registry_operation_is_in_the_matrix``. Writes are tried with input
that the services refuse after their permission check (an empty form, a date in the future), so
an allowed persona gets a 400 and nothing changes; refusals are 403 (no such right) or 404 (the
object lies outside the persona's regions, exactly like a missing one).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from shequ.conftest import PERSONAS, World
from shequ.core.tests.api_helpers import _fresh_rate_limits, bearer, issue
from shequ.registry import services
from shequ.registry.models import Building, House, Household, KeyPlace, Organization, Person, PersonTag, Visit
from shequ.registry.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_A, GRID_C, Registry

__all__ = ["_fresh_rate_limits"]  # fixture

STREET = "430104002"
# persona → (what their role allows in the registry, where). Written from shequ.conftest.PERSONAS
# and the role table in shequ/registry/permissions.py.
WORKER = frozenset({"view", "edit", "tags", "visit"})
HEAD = WORKER | {"import", "export", "verify", "reveal"}
ALLOWED: dict[str, tuple[frozenset[str], str]] = {
    "grid_a": (WORKER, GRID_A),
    "grid_b": (WORKER, "430104002001002"),
    "worker_a": (WORKER | {"import"}, COMMUNITY_A),
    "head_a": (HEAD, COMMUNITY_A),
    "head_b": (HEAD, COMMUNITY_B),
    "street": (frozenset({"view", "export"}), STREET),
    "dept": (frozenset({"view", "tags", "verify"}), STREET),
    "outsider": (HEAD, "430104003001"),
    "resident": (frozenset(), GRID_A),
    "nobody": (frozenset(), ""),
    "sysadmin": (frozenset(), "43"),
    "secadmin": (frozenset(), "43"),
    "auditor": (frozenset(), "43"),
}
assert set(ALLOWED) == set(PERSONAS)
REGION_OF = {"a": GRID_A, "c": GRID_C}


@dataclass
class Site:
    building: Building
    house: House
    other_house: House
    person: Person
    household: Household
    org: Organization
    place: KeyPlace
    tag: PersonTag
    visit: Visit


def make_site(reg: Registry, key: str, visitor: Any) -> Site:
    person = reg.people[key]
    house = reg.houses[key][0]
    household = services.household_create(actor=None, head=person)
    org = services.organization_create(actor=None, data={"name": f"商店{key}", "house": house})
    place = services.key_place_create(
        actor=None, data={"name": f"市场{key}", "kind": "market", "house": house}
    )
    tag = services.tag_add(actor=None, person=person, category="disabled")
    visit = services.visit_record(
        actor=visitor,
        person=person,
        visited_at=timezone.now() - timedelta(days=10),
        follow_up_date=timezone.localdate() + timedelta(days=30),
    )
    return Site(reg.buildings[key], house, reg.houses[key][1], person, household, org, place, tag, visit)


@pytest.fixture
def sites(reg: Registry) -> dict[str, Site]:
    return {"a": make_site(reg, "a", reg.world["grid_a"]), "c": make_site(reg, "c", reg.world["head_b"])}


def expected(persona: str, need: str, region: str | None, ok: int) -> int:
    rights, home = ALLOWED[persona]
    if need not in rights:
        return 403
    if region is None or region.startswith(home):
        return ok
    return 404


# --- Pages --------------------------------------------------------------------------------------

# route → (method, path builder (site or None → path, data), right needed, status when allowed)
PathFor = Callable[[Site], tuple[str, dict[str, Any]]]
OBJECT_PAGES: dict[str, tuple[str, PathFor, str, int]] = {
    "registry:region": ("get", lambda s: (f"/registry/regions/{s.building.region_code}/", {}), "view", 200),
    "registry:building_create": (
        "get",
        lambda s: (f"/registry/regions/{s.building.region_code}/buildings/new/", {}),
        "edit",
        200,
    ),
    "registry:building": ("get", lambda s: (f"/registry/buildings/{s.building.pk}/", {}), "view", 200),
    "registry:unit_create": (
        "post",
        lambda s: (f"/registry/buildings/{s.building.pk}/units/new/", {}),
        "edit",
        400,
    ),
    "registry:house_create": (
        "post",
        lambda s: (f"/registry/buildings/{s.building.pk}/houses/new/", {}),
        "edit",
        400,
    ),
    "registry:house": ("get", lambda s: (f"/registry/houses/{s.house.pk}/", {}), "view", 200),
    "registry:house_edit": ("post", lambda s: (f"/registry/houses/{s.house.pk}/edit/", {}), "edit", 400),
    "registry:house_use": ("post", lambda s: (f"/registry/houses/{s.house.pk}/use/", {}), "edit", 400),
    "registry:person_register": (
        "post",
        lambda s: (f"/registry/houses/{s.house.pk}/register/", {}),
        "edit",
        400,
    ),
    "registry:person_move_in": (
        "post",
        lambda s: (f"/registry/houses/{s.house.pk}/move-in/", {}),
        "edit",
        400,
    ),
    "registry:person": ("get", lambda s: (f"/registry/people/{s.person.pk}/", {}), "view", 200),
    "registry:person_correct": (
        "post",
        lambda s: (f"/registry/people/{s.person.pk}/correct/", {}),
        "edit",
        400,
    ),
    "registry:person_quick": ("post", lambda s: (f"/registry/people/{s.person.pk}/quick/", {}), "edit", 400),
    "registry:person_move": (
        "post",
        lambda s: (f"/registry/people/{s.person.pk}/move/", {"house": s.other_house.pk, "on": "2999-01-01"}),
        "edit",
        400,
    ),
    "registry:person_move_out": (
        "post",
        lambda s: (f"/registry/people/{s.person.pk}/move-out/", {"on": "2999-01-01"}),
        "edit",
        400,
    ),
    "registry:person_death": ("post", lambda s: (f"/registry/people/{s.person.pk}/death/", {}), "edit", 400),
    "registry:household_create": (
        "post",
        lambda s: (f"/registry/people/{s.person.pk}/household/", {}),
        "edit",
        400,
    ),
    "registry:tag_add": ("post", lambda s: (f"/registry/people/{s.person.pk}/tags/new/", {}), "tags", 400),
    "registry:tag_end": ("post", lambda s: (f"/registry/tags/{s.tag.pk}/end/", {}), "tags", 400),
    "registry:household": ("get", lambda s: (f"/registry/households/{s.household.pk}/", {}), "view", 200),
    # Adding the head again with no relation: refused by the form after the scope checks.
    "registry:household_edit": (
        "post",
        lambda s: (f"/registry/households/{s.household.pk}/edit/", {"op": "add", "person": s.person.pk}),
        "edit",
        400,
    ),
    "registry:organization": ("get", lambda s: (f"/registry/organizations/{s.org.pk}/", {}), "view", 200),
    "registry:key_place": ("get", lambda s: (f"/registry/key-places/{s.place.pk}/", {}), "view", 200),
    "registry:visit_record": (
        "post",
        lambda s: (f"/registry/visits/new/?person={s.person.pk}", {}),
        "visit",
        400,
    ),
    # A follow-up marked done twice is refused with a message: both answers are a redirect.
    "registry:follow_up_done": (
        "post",
        lambda s: (f"/registry/visits/{s.visit.pk}/follow-up-done/", {}),
        "visit",
        302,
    ),
    # The same for a tag verified twice.
    "registry:tag_verify": ("post", lambda s: (f"/registry/tags/{s.tag.pk}/verify/", {}), "verify", 302),
    # The map's GeoJSON of one region (shequ/registry/tests/test_maps.py checks what it holds).
    "registry:map_data": (
        "get",
        lambda s: (f"/registry/map/data.geojson?region={s.building.region_code}", {}),
        "view",
        200,
    ),
}
# Creating at a house: the form for a house the persona may change.
OBJECT_PAGES_AT_HOUSE = {
    "registry:organization_create": "/registry/organizations/new/?house={}",
    "registry:key_place_create": "/registry/key-places/new/?house={}",
}
# Pages without an object: route → (path, right needed, statuses when allowed).
LIST_PAGES: dict[str, tuple[str, str, set[int]]] = {
    "registry:index": ("/registry/", "view", {200, 302}),
    "registry:search": ("/registry/people/?q=zhang", "view", {200}),
    "registry:organization_list": ("/registry/organizations/", "view", {200}),
    "registry:key_place_list": ("/registry/key-places/", "view", {200}),
    "registry:my_grid": ("/registry/my-grid/", "visit", {200}),
    "registry:follow_ups": ("/registry/follow-ups/", "visit", {200}),
    "registry:map": ("/registry/map/", "view", {200}),
    "registry:organization_create": ("/registry/organizations/new/", "edit", {200}),
    "registry:key_place_create": ("/registry/key-places/new/", "edit", {200}),
}
# The audited reveal: the object must be visible, then the reveal right is needed there.
REVEAL_PAGES: dict[str, Callable[[Site], tuple[str, dict[str, Any]]]] = {
    "registry:person_reveal": lambda s: (
        f"/registry/people/{s.person.pk}/reveal/",
        {"field": "id_number", "reason": "scope matrix"},
    ),
    "registry:organization_reveal": lambda s: (
        f"/registry/organizations/{s.org.pk}/reveal/",
        {"field": "contact_phone", "reason": "scope matrix"},
    ),
}
# Import and export pages (written with the imports): who reaches them.
IMPORT_PAGES: dict[str, tuple[str, str]] = {
    "registry:import": ("/registry/import/", "import"),
    "registry:import_template": ("/registry/import/template/people.xlsx", "import"),
    "registry:export_people": ("/registry/export/people/", "export"),
    "registry:export_houses": ("/registry/export/houses/", "export"),
    "registry:export_organizations": ("/registry/export/organizations/", "export"),
}
# An upload belongs to its uploader (worker_a here): everyone else gets 404. Route → (method,
# path after /registry/import/<pk>/, the uploader's status).
UPLOAD_PAGES: dict[str, tuple[str, str, int]] = {
    "registry:import_report": ("get", "", 200),
    "registry:import_errors": ("get", "problems.xlsx", 200),
    "registry:import_result": ("get", "done/", 302),  # not committed yet: back to the report
    "registry:import_commit": ("post", "commit/", 302),  # a wrong expected count: refused, back
}
# The ledger pages moved to the reports app (its test_ledgers_*.py hold their scope tests); the
# registry's old addresses answer a permanent redirect there, for everyone, with their filters.
LEDGER_REDIRECTS: dict[str, tuple[str, str]] = {
    "registry:ledgers": ("/registry/ledgers/?region=430104002001", "/reports/ledgers/?region=430104002001"),
    "registry:ledger": (
        "/registry/ledgers/elderly_60/?as_of=2025-01-01",
        "/reports/ledgers/elderly_60/?as_of=2025-01-01",
    ),
}
OWNER_TESTED: dict[str, tuple[str, ...]] = {}


def registry_routes() -> set[str]:
    found: set[str] = set()

    def walk(patterns: list[Any], namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and p.name and namespace == "registry:":
                found.add(namespace + p.name)

    walk(get_resolver().url_patterns, "")
    return found


def test_every_registry_route_is_in_the_matrix() -> None:
    covered = (
        set(OBJECT_PAGES)
        | set(OBJECT_PAGES_AT_HOUSE)
        | set(LIST_PAGES)
        | set(REVEAL_PAGES)
        | set(LEDGER_REDIRECTS)
        | set(IMPORT_PAGES)
        | set(UPLOAD_PAGES)
        | set(OWNER_TESTED)
    )
    assert registry_routes() - covered == set(), "add the new registry pages to this matrix"
    assert covered - registry_routes() == set(), "remove routes that no longer exist"


def test_routes_left_to_their_owners_tests_are_named_there() -> None:
    from pathlib import Path

    here = Path(__file__).parent
    for route, files in OWNER_TESTED.items():
        name = route.split(":", 1)[1]
        assert any(name in (here / f).read_text(encoding="utf-8") for f in files if (here / f).exists()), (
            route
        )


@pytest.mark.django_db
def test_old_ledger_addresses_redirect_to_the_reports_pages(world: World) -> None:
    for client in (Client(), signed_in(world, "worker_a")):
        for old, new in LEDGER_REDIRECTS.values():
            response = client.get(old)
            assert response.status_code == 301 and response["Location"] == new, old


def signed_in(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world[persona])
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_object_pages_follow_the_persona_scope(reg: Registry, sites: dict[str, Site], persona: str) -> None:
    client = signed_in(reg.world, persona)
    for name, (method, path_for, need, ok) in OBJECT_PAGES.items():
        for key, site in sites.items():
            path, data = path_for(site)
            response = getattr(client, method)(path, data)
            want = expected(persona, need, REGION_OF[key], ok)
            assert response.status_code == want, (persona, name, key, response.status_code, want)
    for name, template in OBJECT_PAGES_AT_HOUSE.items():
        for key, site in sites.items():
            response = client.get(template.format(site.house.pk))
            want = expected(persona, "edit", REGION_OF[key], 200)
            assert response.status_code == want, (persona, name, key, response.status_code)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_nothing_changed_by_refused_or_invalid_writes(
    reg: Registry, sites: dict[str, Site], persona: str
) -> None:
    before = {
        "people": list(Person.objects.order_by("pk").values_list("pk", "region_code", "status", "house_id")),
        "houses": House.objects.count(),
        "units": sum(b.units.count() for b in Building.objects.all()),
        "tags": list(PersonTag.objects.order_by("pk").values_list("pk", "active")),
        "households": Household.objects.count(),
        "visits": Visit.objects.count(),
    }
    client = signed_in(reg.world, persona)
    for method, path_for, _need, ok in OBJECT_PAGES.values():
        if method == "post" and ok == 400:
            for site in sites.values():
                path, data = path_for(site)
                client.post(path, data)
    after = {
        "people": list(Person.objects.order_by("pk").values_list("pk", "region_code", "status", "house_id")),
        "houses": House.objects.count(),
        "units": sum(b.units.count() for b in Building.objects.all()),
        "tags": list(PersonTag.objects.order_by("pk").values_list("pk", "active")),
        "households": Household.objects.count(),
        "visits": Visit.objects.count(),
    }
    assert after == before


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_pages_without_an_object(reg: Registry, persona: str) -> None:
    client = signed_in(reg.world, persona)
    for name, (path, need, oks) in LIST_PAGES.items():
        status = client.get(path).status_code
        if need in ALLOWED[persona][0]:
            assert status in oks, (persona, name, status)
        else:
            assert status == 403, (persona, name, status)
    for name, (path, need) in IMPORT_PAGES.items():
        status = client.get(path).status_code
        assert status == (200 if need in ALLOWED[persona][0] else 403), (persona, name, status)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_an_upload_is_only_its_uploaders(reg: Registry, persona: str) -> None:
    from shequ.registry import imports
    from shequ.registry.tests.test_import import messy_ledger

    content = messy_ledger(reg.people["a"].id_number, reg.people["c"].id_number)
    batch = imports.batch_create(
        actor=reg.world["worker_a"],
        kind="people",
        region=reg.world.regions[COMMUNITY_A],
        filename="台账.xlsx",
        content=content,
    )
    client = signed_in(reg.world, persona)
    for name, (method, rest, ok) in UPLOAD_PAGES.items():
        data = {"expect": "-1"} if method == "post" else {}
        status = getattr(client, method)(f"/registry/import/{batch.pk}/{rest}", data).status_code
        assert status == (ok if persona == "worker_a" else 404), (persona, name, status)
    assert Person.objects.count() == 3  # nothing was imported


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_reveal_needs_the_object_and_the_right(reg: Registry, sites: dict[str, Site], persona: str) -> None:
    services.organization_update(
        actor=None, organization=sites["a"].org, changes={"contact_phone": "13700001111"}
    )
    services.organization_update(
        actor=None, organization=sites["c"].org, changes={"contact_phone": "13700002222"}
    )
    client = signed_in(reg.world, persona)
    rights, home = ALLOWED[persona]
    for name, path_for in REVEAL_PAGES.items():
        for key, site in sites.items():
            path, data = path_for(site)
            status = client.post(path, data).status_code
            region = REGION_OF[key]
            if "view" not in rights:
                want = 403
            elif not region.startswith(home):
                want = 404
            else:
                want = 200 if "reveal" in rights else 403
            assert status == want, (persona, name, key, status, want)


@pytest.mark.django_db
def test_anonymous_is_sent_to_login_on_every_registry_page(
    client: Client, reg: Registry, sites: dict[str, Site]
) -> None:
    site = sites["a"]
    paths = [(m, *f(site)) for m, f, _n, _o in OBJECT_PAGES.values()]
    paths += [("get", p, {}) for p, _n, _o in LIST_PAGES.values()]
    paths += [("post", *f(site)) for f in REVEAL_PAGES.values()]
    paths += [("get", p, {}) for p, _n in IMPORT_PAGES.values()]
    for method, path, data in paths:
        response = getattr(client, method)(path, data)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path


# --- The API ------------------------------------------------------------------------------------

API = "/api/v1/registry"
# operation (method, path template) → (request builder, right needed, status when allowed)
ApiFor = Callable[[Site], tuple[str, dict[str, Any] | None]]
API_OBJECT_OPS: dict[tuple[str, str], tuple[ApiFor, str, int]] = {
    ("get", "/people/{person_id}"): (lambda s: (f"/people/{s.person.pk}", None), "view", 200),
    ("post", "/people/{person_id}/correct"): (
        lambda s: (f"/people/{s.person.pk}/correct", {"changes": {}, "reason": "matrix"}),
        "edit",
        400,
    ),
    ("post", "/people/{person_id}/move"): (
        lambda s: (f"/people/{s.person.pk}/move", {"house_id": s.other_house.pk, "on": "2999-01-01"}),
        "edit",
        400,
    ),
    ("post", "/people"): (lambda s: ("/people", {"house_id": s.house.pk, "name": ""}), "edit", 400),
    ("get", "/buildings/{building_id}"): (lambda s: (f"/buildings/{s.building.pk}", None), "view", 200),
    ("get", "/houses/{house_id}"): (lambda s: (f"/houses/{s.house.pk}", None), "view", 200),
    ("get", "/households/{household_id}"): (lambda s: (f"/households/{s.household.pk}", None), "view", 200),
    ("get", "/organizations/{organization_id}"): (
        lambda s: (f"/organizations/{s.org.pk}", None),
        "view",
        200,
    ),
    ("get", "/key-places/{key_place_id}"): (lambda s: (f"/key-places/{s.place.pk}", None), "view", 200),
    ("get", "/timeline/{object_type}/{object_id}"): (
        lambda s: (f"/timeline/person/{s.person.pk}", None),
        "view",
        200,
    ),
    ("post", "/visits"): (
        lambda s: ("/visits", {"person_id": s.person.pk, "visited_at": "2100-01-01T08:00:00+08:00"}),
        "visit",
        400,
    ),
}
# List operations: (method, path) → (query, right, field giving each item's region code)
API_LIST_OPS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("get", "/people"): ("/people?status=all", "view", "region_code"),
    ("get", "/buildings"): ("/buildings", "view", "region_code"),
    ("get", "/houses"): ("/houses", "view", "region_code"),
    ("get", "/organizations"): ("/organizations", "view", "region_code"),
    ("get", "/key-places"): ("/key-places", "view", "region_code"),
    ("get", "/tag-categories"): ("/tag-categories", "view", ""),
}


def registry_operations() -> set[tuple[str, str]]:
    from shequ.api import api

    schema = api.get_openapi_schema()
    ops = set()
    for path, item in schema["paths"].items():
        if path.startswith("/api/v1/registry/"):
            for method in item:
                ops.add((method, path.removeprefix("/api/v1/registry")))
    return ops


def test_every_registry_operation_is_in_the_matrix() -> None:
    covered = set(API_OBJECT_OPS) | set(API_LIST_OPS)
    assert registry_operations() == covered


def call(client: Client, method: str, path: str, token: str, body: dict[str, Any] | None) -> Any:
    if method == "get":
        return client.get(API + path, **bearer(token))
    return client.post(
        API + path, data=json.dumps(body or {}), content_type="application/json", **bearer(token)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_api_follows_the_persona_scope(reg: Registry, sites: dict[str, Site], persona: str) -> None:
    token = issue(reg.world, persona)
    client = Client()
    rights, home = ALLOWED[persona]
    for (method, _template), (build, need, ok) in API_OBJECT_OPS.items():
        for key, site in sites.items():
            path, body = build(site)
            response = call(client, method, path, token, body)
            want = expected(persona, need, REGION_OF[key], ok)
            assert response.status_code == want, (
                persona,
                method,
                path,
                response.status_code,
                response.content[:300],
            )
            if want >= 400:
                assert set(response.json()) == {"code", "message", "details"}
    for (method, _template), (path, need, field) in API_LIST_OPS.items():
        response = call(client, method, path, token, None)
        if need not in rights:
            assert response.status_code == 403, (persona, path, response.status_code)
            continue
        assert response.status_code == 200, (persona, path, response.status_code)
        body = response.json()
        items = body["items"] if isinstance(body, dict) else body
        if field:
            if home.startswith(STREET) and path in ("/people?status=all", "/buildings", "/houses"):
                assert items, (persona, path)  # every grid has people, buildings and houses
            assert all(item[field].startswith(home) for item in items), (persona, path)
    Person.objects.filter(pk=sites["a"].person.pk).get()  # still there, unchanged by the refused writes
