"""The registry API: masked people, restricted tags filtered and audited, writes through the
services with field errors in the shared error body, token scopes, OpenAPI documentation."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shequ.core.models import AuditEntry, AuditResult
from shequ.core.tests.api_helpers import _fresh_rate_limits, assert_error, bearer, issue
from shequ.registry import services
from shequ.registry.models import Person, PersonStatus, TimelineEntry, Visit
from shequ.registry.tests.conftest import COMMUNITY_A, GRID_A, GRID_C, Registry, resident_id

__all__ = ["_fresh_rate_limits"]  # fixture
pytestmark = pytest.mark.django_db
API = "/api/v1/registry"


def get(client: Client, path: str, token: str, **params: Any) -> Any:
    return client.get(API + path, params, **bearer(token))


def post(client: Client, path: str, token: str, body: dict[str, Any]) -> Any:
    return client.post(API + path, data=json.dumps(body), content_type="application/json", **bearer(token))


def test_people_are_masked_and_scoped(reg: Registry, client: Client) -> None:
    token = issue(reg.world, "worker_a")
    response = get(client, "/people", token, count="true")
    assert response.status_code == 200
    body = response.json()
    assert (
        body["total"] == 2
        and not body["has_next"]
        and {p["region_code"][:12] for p in body["items"]} == {COMMUNITY_A}
    )
    raw = response.content.decode()
    for person in Person.objects.all():
        assert person.id_number not in raw and (not person.phone or person.phone not in raw)
    first = next(p for p in body["items"] if p["id"] == reg.people["a"].pk)
    assert first["id_number_masked"] == reg.people["a"].masked_id_number
    assert first["phone_masked"] == "138****2222" and first["name"] == "张三"
    # Search: initials, exact ID number; scoped.
    assert [p["id"] for p in get(client, "/people", token, q="zs").json()["items"]] == [reg.people["a"].pk]
    by_id = get(client, "/people", token, q=reg.people["a"].id_number).json()
    assert [p["id"] for p in by_id["items"]] == [reg.people["a"].pk]
    assert get(client, "/people", token, q=reg.people["c"].id_number).json()["items"] == []
    one = get(client, "/people", token, page_size="1").json()
    assert len(one["items"]) == 1 and one["has_next"] and one["total"] is None
    assert_error(get(client, f"/people/{reg.people['c'].pk}", token), 404, "not_found")


def test_restricted_tags_filtered_and_audited(reg: Registry, client: Client) -> None:
    person = reg.people["a"]
    services.tag_add(actor=None, person=person, category="drug_user")
    services.tag_add(actor=None, person=person, category="veteran")
    worker = issue(reg.world, "worker_a")
    detail = get(client, f"/people/{person.pk}", worker).json()
    assert [t["category"] for t in detail["tags"]] == ["veteran"]
    assert "drug_user" not in {c["code"] for c in get(client, "/tag-categories", worker).json()}
    assert_error(get(client, "/people", worker, tag="drug_user"), 400, "validation_error")  # unknown to them
    timeline = get(client, f"/timeline/person/{person.pk}", worker).json()
    assert all(entry["tag"] != "drug_user" for entry in timeline)
    assert not AuditEntry.objects.filter(action="registry.tag_view").exists()

    services.tag_grant(
        actor=reg.world["secadmin"],
        user=reg.world["head_a"],
        region=reg.world.regions[COMMUNITY_A],
        expires_at=timezone.now() + timedelta(days=10),
        reason="禁毒工作",
        sensitivity="restricted",
    )
    head = issue(reg.world, "head_a")
    detail = get(client, f"/people/{person.pk}", head).json()
    assert {t["category"] for t in detail["tags"]} == {"veteran", "drug_user"}
    listed = get(client, "/people", head, tag="drug_user").json()
    assert [p["id"] for p in listed["items"]] == [person.pk]
    views = AuditEntry.objects.filter(action="registry.tag_view", actor_id=reg.world["head_a"].pk)
    assert {e.detail["context"] for e in views} == {"person", "search"}


def test_register_correct_move_and_visit(reg: Registry, client: Client) -> None:
    token = issue(reg.world, "grid_a")
    house = reg.houses["a"][1]
    before = Person.objects.count()
    bad = post(
        client,
        "/people",
        token,
        {"house_id": house.pk, "name": "钱七", "id_number": "430104198001011234", "phone": "123"},
    )
    body = assert_error(bad, 400, "validation_error")
    fields = {e["field"] for e in body["details"]["errors"]}
    assert fields == {"id_number", "phone"}
    assert Person.objects.count() == before

    made = post(
        client,
        "/people",
        token,
        {
            "house_id": house.pk,
            "name": "钱七",
            "id_number": resident_id("19600202", 51),
            "relation": "owner",
            "residence_type": "registered",
        },
    )
    assert made.status_code == 201, made.content
    person = Person.objects.get(pk=made.json()["id"])
    assert person.house_id == house.pk and made.json()["residences"][0]["relation"] == "owner"

    no_reason = post(
        client, f"/people/{person.pk}/correct", token, {"changes": {"phone": "13600001111"}, "reason": ""}
    )
    assert_error(no_reason, 400, "validation_error")
    unknown = post(client, f"/people/{person.pk}/correct", token, {"changes": {"salary": 1}, "reason": "x"})
    assert_error(unknown, 400, "validation_error")
    fixed = post(
        client,
        f"/people/{person.pk}/correct",
        token,
        {"changes": {"phone": "13600001111"}, "reason": "本人告知"},
    )
    assert fixed.status_code == 200 and fixed.json()["phone_masked"] == "136****1111"
    assert "13600001111" not in fixed.content.decode()

    other = reg.houses["a"][2]
    moved = post(client, f"/people/{person.pk}/move", token, {"house_id": other.pk, "reason": "换房"})
    assert moved.status_code == 200 and moved.json()["house_id"] == other.pk

    visit = post(
        client,
        "/visits",
        token,
        {
            "person_id": person.pk,
            "purpose": "care",
            "notes": "走访",
            "follow_up_date": str(timezone.localdate() + timedelta(days=7)),
        },
    )
    assert visit.status_code == 201 and visit.json()["visitor_name"] == "grid_a"
    assert Visit.objects.get().person_id == person.pk
    naive = post(client, "/visits", token, {"person_id": person.pk, "visited_at": "2024-01-01T08:00:00"})
    assert_error(naive, 400, "validation_error")
    nobody = post(client, "/visits", token, {"notes": "?"})
    assert_error(nobody, 400, "validation_error")
    actions = set(
        TimelineEntry.objects.filter(object_type="person", object_id=person.pk).values_list(
            "action", flat=True
        )
    )
    assert {"person.register", "person.correct", "person.move", "visit.record"} <= actions


def test_move_to_another_community_changes_who_sees_the_person(reg: Registry, client: Client) -> None:
    person = reg.people["a"]
    head_a, head_b = issue(reg.world, "head_a"), issue(reg.world, "head_b")
    moved = post(client, f"/people/{person.pk}/move", head_a, {"house_id": reg.houses["c"][2].pk})
    assert moved.status_code == 200 and moved.json()["region_code"] == GRID_C
    assert_error(get(client, f"/people/{person.pk}", head_a), 404)
    assert get(client, f"/people/{person.pk}", head_b).status_code == 200
    # The old community still sees its part of the history, ending in "moved away".
    old = get(client, f"/timeline/person/{person.pk}", head_a).json()
    assert old[0]["action"] == "person.move_away" and all(e["region_code"] == GRID_A for e in old)
    new = get(client, f"/timeline/person/{person.pk}", head_b).json()
    assert {e["action"] for e in new} >= {"person.register", "person.move_here"}


def test_writes_refused_without_the_right_or_the_scope(reg: Registry, client: Client) -> None:
    street = issue(reg.world, "street")
    refused = post(
        client, f"/people/{reg.people['a'].pk}/correct", street, {"changes": {"name": "某"}, "reason": "x"}
    )
    assert_error(refused, 403, "permission_denied")
    assert AuditEntry.objects.filter(action="api.denied", result=AuditResult.DENIED).exists()
    grid_b = issue(reg.world, "grid_b")
    assert_error(post(client, "/visits", grid_b, {"person_id": reg.people["a"].pk}), 404, "not_found")
    # A read-only token cannot write, whatever its owner may do.
    read_only = issue(reg.world, "grid_a", scopes=["registry:read"])
    assert_error(
        post(client, "/visits", read_only, {"person_id": reg.people["a"].pk}), 403, "insufficient_scope"
    )
    assert get(client, "/people", read_only).status_code == 200
    assert Person.objects.get(pk=reg.people["a"].pk).name == "张三"


def test_places_and_details(reg: Registry, client: Client) -> None:
    token = issue(reg.world, "grid_a")
    services.house_update(actor=None, house=reg.houses["a"][2], changes={"use": "vacant"})
    buildings = get(client, "/buildings", token).json()
    assert [b["id"] for b in buildings["items"]] == [reg.buildings["a"].pk]
    detail = get(client, f"/buildings/{reg.buildings['a'].pk}", token).json()
    assert detail["house_count"] == 3 and detail["houses_by_use"] == {"owner_occupied": 2, "vacant": 1}
    assert [u["number"] for u in detail["units"]] == ["2"]
    vacant = get(client, "/houses", token, use="vacant").json()
    assert [h["id"] for h in vacant["items"]] == [reg.houses["a"][2].pk]
    house = get(client, f"/houses/{reg.houses['a'][0].pk}", token).json()
    assert [r["name"] for r in house["residents"]] == ["张三"]
    assert_error(get(client, f"/houses/{reg.houses['b'][0].pk}", token), 404)
    assert_error(get(client, "/houses", token, building_id=reg.buildings["b"].pk), 404)
    household = services.household_create(actor=None, head=reg.people["a"])
    got = get(client, f"/households/{household.pk}", token).json()
    assert got["members"][0]["relation_to_head"] == "head" and got["members"][0]["name"] == "张三"


def test_openapi_documents_the_registry(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    ops = {(m, p) for p, item in schema["paths"].items() if p.startswith("/api/v1/registry/") for m in item}
    assert ("get", "/api/v1/registry/people") in ops and ("post", "/api/v1/registry/visits") in ops
    for path, item in schema["paths"].items():
        if path.startswith("/api/v1/registry/"):
            for method, op in item.items():
                assert op["x-token-scope"] == ("registry:read" if method == "get" else "registry:write"), path
                assert op.get("description") or op.get("summary"), path
    person = schema["components"]["schemas"]["PersonOut"]["properties"]
    assert "id_number_masked" in person and "id_number" not in person and "phone" not in person


def test_moved_out_and_deceased_people_by_status(reg: Registry, client: Client) -> None:
    services.person_move_out(actor=None, person=reg.people["a"])
    token = issue(reg.world, "grid_a")
    assert get(client, "/people", token).json()["items"] == []
    gone = get(client, "/people", token, status="moved_out").json()
    assert [p["status"] for p in gone["items"]] == [PersonStatus.MOVED_OUT]
    assert_error(get(client, "/people", token, status="lost"), 400, "validation_error")
    assert_error(get(client, "/people", token, page_size="1000"), 400, "validation_error")
    assert_error(get(client, "/people", token, region="43010"), 400, "validation_error")
    assert get(client, "/people", token, status="all", region=GRID_A, count="true").json()["total"] == 1
