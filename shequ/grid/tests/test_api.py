"""The grid API: scoped lists and details with masked contacts, reporting, sensor alerts
(idempotent), every workflow step through the services (illegal steps 400, refusals 403,
out of scope 404), categories, suggestions, the department queue and routing rules."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from shequ.conftest import World
from shequ.core.models import AuditEntry, AuditResult
from shequ.core.tests.api_helpers import _fresh_rate_limits, assert_error, bearer, issue
from shequ.grid import services
from shequ.grid.models import RoutingRule, Source, Ticket
from shequ.grid.tests.conftest import GRID_A, GRID_B, new_ticket

__all__ = ["_fresh_rate_limits"]  # fixture
pytestmark = pytest.mark.django_db
API = "/api/v1/grid"
PHONE = "13912345678"


@pytest.fixture
def client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")  # messages asserted below are the English msgids


def get(client: Client, path: str, token: str, **params: Any) -> Any:
    return client.get(API + path, params, **bearer(token))


def post(client: Client, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(
        API + path, data=json.dumps(body or {}), content_type="application/json", **bearer(token)
    )


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content[:300]
    return {t["id"] for t in response.json()["items"]}


def dispatched(world: World, **extra: Any) -> Ticket:
    ticket = new_ticket(world, **extra)
    ticket = services.ticket_accept(actor=world["worker_a"], ticket=ticket)
    return services.ticket_dispatch(actor=world["worker_a"], ticket=ticket)


# --- Reads --------------------------------------------------------------------------------------


def test_lists_are_scoped_by_grid_department_and_reporter(world: World, client: Client) -> None:
    in_a = new_ticket(world, grid=GRID_A, contact_phone=PHONE, contact_name="王五")
    in_b = new_ticket(world, grid=GRID_B)
    sent = dispatched(world, grid=GRID_B)
    own = services.ticket_submit(
        actor=world["resident"],
        source=Source.RESIDENT,
        region=world.regions[GRID_A],
        title="路灯不亮",
        description="3栋旁边的路灯坏了",
    )
    assert ids(get(client, "/tickets", issue(world, "grid_a"))) == {in_a.pk, own.pk}
    assert ids(get(client, "/tickets", issue(world, "grid_b"))) == {in_b.pk, sent.pk}
    assert ids(get(client, "/tickets", issue(world, "worker_a"))) == {in_a.pk, in_b.pk, sent.pk, own.pk}
    # Department staff: only what was dispatched to them, wherever it lies.
    assert ids(get(client, "/tickets", issue(world, "dept"))) == {sent.pk}
    assert ids(get(client, "/tickets", issue(world, "resident"))) == {own.pk}
    assert ids(get(client, "/tickets", issue(world, "head_b"))) == set()
    # Filters of selectors.TicketFilters.
    worker = issue(world, "worker_a")
    assert ids(get(client, "/tickets", worker, status="dispatched")) == {sent.pk}
    assert ids(get(client, "/tickets", worker, region=GRID_B)) == {in_b.pk, sent.pk}
    assert ids(get(client, "/tickets", worker, source="resident")) == {own.pk}
    assert ids(get(client, "/tickets", worker, q=in_a.number)) == {in_a.pk}
    assert ids(get(client, "/tickets", worker, category="security")) == {in_a.pk, in_b.pk, sent.pk}
    page = get(client, "/tickets", worker, page_size="2").json()
    assert page["count"] == 4 and len(page["items"]) == 2
    assert_error(get(client, "/tickets", worker, colour="purple"), 400, "validation_error")
    # Someone with no part in tickets is refused, and the refusal audited.
    assert_error(get(client, "/tickets", issue(world, "auditor")), 403, "permission_denied")
    assert AuditEntry.objects.filter(action="api.denied", result=AuditResult.DENIED).exists()


def test_detail_masks_the_phone_and_hides_staff_details_from_followers(world: World, client: Client) -> None:
    ticket = services.ticket_submit(
        actor=world["resident"],
        source=Source.RESIDENT,
        region=world.regions[GRID_A],
        title="楼道堆放杂物",
        description="2单元楼道堆满纸箱",
        contact_name="李四",
        contact_phone=PHONE,
    )
    services.ticket_comment(actor=world["worker_a"], ticket=ticket, text="内部备注：联系物业")
    services.ticket_accept(actor=world["worker_a"], ticket=ticket, category="safety.fire")
    staff = get(client, f"/tickets/{ticket.pk}", issue(world, "worker_a"))
    assert staff.status_code == 200
    body = staff.json()
    assert PHONE not in staff.content.decode()
    assert body["contact_phone_masked"] == "139****5678" and body["contact_name"] == "李四"
    assert body["number"] == ticket.number and body["category"] == "safety.fire"
    assert [s["action"] for s in body["timeline"]] == ["submit", "comment", "accept"]
    assert body["timeline"][2]["actor_name"] == "worker_a"
    assert set(body["allowed_steps"]) >= {"dispatch", "handle", "comment"}
    assert "id_number" not in staff.content.decode()
    # The reporter sees their own contact, but neither staff names nor internal notes.
    mine = get(client, f"/tickets/{ticket.pk}", issue(world, "resident")).json()
    assert mine["contact_phone_masked"] == "139****5678"
    assert [s["action"] for s in mine["timeline"]] == ["submit", "accept"]
    assert {s["actor_name"] for s in mine["timeline"]} == {""}
    assert mine["allowed_steps"] == ["add_photos"]  # while it is open: no other step is the reporter's
    # Outside the scope: 404, exactly like a missing ticket.
    assert_error(get(client, f"/tickets/{ticket.pk}", issue(world, "head_b")), 404, "not_found")
    assert_error(get(client, f"/tickets/{ticket.pk}", issue(world, "dept")), 404, "not_found")
    assert_error(get(client, "/tickets/999999", issue(world, "worker_a")), 404, "not_found")


def test_a_follower_does_not_see_the_parent_reporters_contact(world: World, client: Client) -> None:
    parent = new_ticket(world, contact_name="赵六", contact_phone=PHONE)
    duplicate = services.ticket_submit(
        actor=world["resident"],
        source=Source.RESIDENT,
        region=world.regions[GRID_A],
        title="门口打架",
        description="又有人在门口吵架",
    )
    services.ticket_merge(actor=world["worker_a"], ticket=duplicate, into=parent)
    seen = get(client, f"/tickets/{parent.pk}", issue(world, "resident")).json()
    assert seen["contact_name"] == "" and seen["contact_phone_masked"] == ""


# --- Reporting ----------------------------------------------------------------------------------


def test_staff_and_residents_report(world: World, client: Client) -> None:
    body = {
        "region_code": GRID_A,
        "title": "井盖缺失",
        "description": "5栋门口井盖不见了，很危险",
        "category": "cityscape.facilities",
        "contact_name": "张三",
        "contact_phone": PHONE,
        "latitude": 28.18,
        "longitude": 112.94,
    }
    made = post(client, "/tickets", issue(world, "grid_a"), body)
    assert made.status_code == 201, made.content
    out = made.json()
    assert (
        out["source"] == "staff"
        and out["status"] == "submitted"
        and out["category"] == "cityscape.facilities"
    )
    assert out["contact_phone_masked"] == "139****5678" and PHONE not in made.content.decode()
    assert Ticket.objects.get(pk=out["id"]).created_by == world["grid_a"]
    by_resident = post(client, "/tickets", issue(world, "resident"), {**body, "category": None})
    assert by_resident.status_code == 201 and by_resident.json()["source"] == "resident"
    assert Ticket.objects.get(pk=by_resident.json()["id"]).reporter_user == world["resident"]
    # Outside the reporter's area: refused by the service (audited); bad input: field errors.
    assert_error(post(client, "/tickets", issue(world, "head_b"), body), 403, "permission_denied")
    assert_error(
        post(client, "/tickets", issue(world, "grid_a"), {**body, "region_code": "430104002009"}), 404
    )
    bad = assert_error(
        post(client, "/tickets", issue(world, "grid_a"), {**body, "contact_phone": "12345"}), 400
    )
    assert bad["details"]["errors"][0]["field"] == "contact_phone"
    assert_error(
        post(client, "/tickets", issue(world, "grid_a"), {**body, "extra": 1}), 400, "validation_error"
    )
    assert_error(post(client, "/tickets", issue(world, "dept"), body), 403, "permission_denied")
    assert_error(
        post(client, "/tickets", issue(world, "grid_a", scopes=["grid:read"]), body),
        403,
        "insufficient_scope",
    )


def test_sensor_alerts_are_idempotent_and_need_the_sensor_scope(world: World, client: Client) -> None:
    token = issue(world, "street", scopes=["grid_sensor:write"])
    alert = {
        "alert_id": "GAS-2026-0001",
        "region_code": GRID_A,
        "title": "燃气报警",
        "description": "3栋1单元101燃气浓度超标",
        "category": "safety.gas",
    }
    first = post(client, "/sensor-alerts", token, alert)
    assert first.status_code == 201, first.content
    assert first.json()["source"] == "sensor" and first.json()["urgency"] == "urgent"
    assert first.json()["external_ref"] == "GAS-2026-0001"
    again = post(client, "/sensor-alerts", token, {**alert, "title": "燃气报警（重发）"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Ticket.objects.filter(source=Source.SENSOR).count() == 1
    # The same alert id from a region this token may not report in is a conflict, not a leak.
    other = issue(world, "outsider", scopes=["grid_sensor:write"])
    assert_error(
        post(client, "/sensor-alerts", other, {**alert, "region_code": "430104003001"}),
        409,
        "duplicate_alert",
    )
    assert_error(post(client, "/sensor-alerts", other, alert), 403, "permission_denied")
    assert_error(
        post(client, "/sensor-alerts", issue(world, "street", scopes=["grid:write"]), alert),
        403,
        "insufficient_scope",
    )
    # Sessions cannot post alerts: only sensor tokens.
    client.force_login(world["street"])
    assert_error(
        client.post(API + "/sensor-alerts", data=json.dumps(alert), content_type="application/json"), 401
    )


# --- Workflow steps -----------------------------------------------------------------------------


def test_a_ticket_lives_its_whole_life_through_the_api(world: World, client: Client) -> None:
    resident, worker, dept, grid = (issue(world, p) for p in ("resident", "worker_a", "dept", "grid_a"))
    made = post(
        client,
        "/tickets",
        resident,
        {"region_code": GRID_A, "title": "有人聚集赌博", "description": "车库里每晚有人打牌赌钱"},
    )
    pk = made.json()["id"]

    def step(token: str, name: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
        response = post(client, f"/tickets/{pk}/{name}", token, body)
        assert response.status_code == status, (name, response.content[:400])
        return response.json()

    # A department cannot act before the ticket is dispatched to it: not even visible yet.
    assert_error(post(client, f"/tickets/{pk}/dept_accept", dept, {}), 404)
    # The grid worker may not accept (403, audited); the community may.
    assert_error(post(client, f"/tickets/{pk}/accept", grid, {"category": "security.crime_clue"}), 403)
    assert AuditEntry.objects.filter(action="grid.accept", result=AuditResult.DENIED).exists()
    accepted = step(worker, "accept", {"category": "security.crime_clue", "comment": "转派出所"})
    assert accepted["status"] == "accepted" and "dispatch" in accepted["allowed_steps"]
    # An illegal step: 400 with the service's reason.
    illegal = assert_error(post(client, f"/tickets/{pk}/accept", worker, {}), 400, "illegal_transition")
    assert "cannot be accepted now" in illegal["message"]
    assert step(worker, "dispatch", {"department": "police"})["department"] == "police"
    assert "dept_accept" in get(client, f"/tickets/{pk}", dept).json()["allowed_steps"]
    assert_error(
        post(client, f"/tickets/{pk}/resolve", dept, {"result": "已处理"}), 400, "illegal_transition"
    )
    step(dept, "dept_accept", {"comment": "收到"})
    step(dept, "request_extension", {"days": 3, "reason": "需要蹲守取证"})
    assert_error(post(client, f"/tickets/{pk}/request_extension", dept, {"days": 2, "reason": "再等"}), 400)
    assert get(client, f"/tickets/{pk}", worker).json()["pending_extension"]["days"] == 3
    decided = step(issue(world, "head_a"), "decide_extension", {"approve": True})
    assert decided["pending_extension"] is None
    assert_error(
        post(client, f"/tickets/{pk}/decide_extension", issue(world, "head_a"), {"approve": True}), 400
    )
    assert step(dept, "respond", {"comment": "已安排民警夜间巡查"})["status"] == "in_progress"
    step(dept, "resolve", {"result": "已查处，现场已清理"})
    step(grid, "verify", {"passed": True})
    assert_error(post(client, f"/tickets/{pk}/rate", worker, {"rating": 5}), 403)
    closed = step(resident, "rate", {"rating": 4, "comment": "处理及时"})
    assert closed["status"] == "closed" and closed["rating"] == 4
    assert [s["action"] for s in closed["timeline"]] == [
        "submit",
        "accept",
        "dispatch",
        "dept_accept",
        "request_extension",
        "approve_extension",
        "respond",
        "resolve",
        "verify",
        "rate",
    ]
    assert_error(post(client, f"/tickets/{pk}/rate", resident, {"rating": 9}), 400, "validation_error")


def test_community_steps_return_reopen_and_supervise(world: World, client: Client, urban: Any) -> None:
    worker, dept, head = (issue(world, p) for p in ("worker_a", "dept", "head_a"))
    ticket = dispatched(world)
    returned = post(client, f"/tickets/{ticket.pk}/dept_return", dept, {"reason": "不属于派出所职责"})
    assert returned.status_code == 200 and returned.json()["status"] == "accepted"
    # The department keeps seeing what it did with the ticket, but may no longer act on it.
    assert_error(post(client, f"/tickets/{ticket.pk}/dept_accept", dept, {}), 403)
    assert_error(post(client, f"/tickets/{ticket.pk}/dispatch", worker, {"department": "nowhere"}), 400)
    assert (
        post(
            client, f"/tickets/{ticket.pk}/recategorize", worker, {"category": "cityscape.street_order"}
        ).json()["category"]
        == "cityscape.street_order"
    )
    handled = post(client, f"/tickets/{ticket.pk}/handle", worker, {"result": "社区已劝离"})
    assert handled.json()["status"] == "resolved"
    failed = post(client, f"/tickets/{ticket.pk}/verify", issue(world, "grid_a"), {"passed": False})
    assert_error(failed, 400, "validation_error")  # the reason is required
    assert post(client, f"/tickets/{ticket.pk}/comment", worker, {"text": "已电话回访"}).status_code == 200
    # Reopened after a bad rating: the supervisor decides.
    own = services.ticket_submit(
        actor=world["resident"],
        source=Source.RESIDENT,
        region=world.regions[GRID_A],
        title="噪音扰民",
        description="楼上每晚装修到十二点",
        category="environment.noise",
    )
    services.ticket_accept(actor=world["worker_a"], ticket=own)
    services.ticket_handle(actor=world["worker_a"], ticket=own, result="已劝导")
    rated = post(
        client, f"/tickets/{own.pk}/rate", issue(world, "resident"), {"rating": 1, "comment": "没解决"}
    )
    assert rated.json()["status"] == "reopened"
    assert_error(
        post(client, f"/tickets/{own.pk}/supervise", worker, {"decision": "close", "comment": "x"}), 403
    )
    sent = post(
        client,
        f"/tickets/{own.pk}/supervise",
        head,
        {"decision": "redispatch", "comment": "再派", "department": "urban"},
    )
    assert sent.status_code == 200 and sent.json()["department"] == "urban"


def test_close_on_spot_and_merge(world: World, client: Client) -> None:
    grid, worker = issue(world, "grid_a"), issue(world, "worker_a")
    small = new_ticket(world)
    closed = post(client, f"/tickets/{small.pk}/close_on_spot", grid, {"result": "已当场劝离"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    first, second = new_ticket(world), new_ticket(world)
    merged = post(client, f"/tickets/{second.pk}/merge", worker, {"into_number": first.number})
    assert merged.status_code == 200 and merged.json()["status"] == "merged"
    assert merged.json()["parent_id"] == first.pk
    assert_error(post(client, f"/tickets/{first.pk}/merge", worker, {}), 400, "validation_error")
    elsewhere = new_ticket(world, grid="430104002003001")
    assert_error(post(client, f"/tickets/{first.pk}/merge", worker, {"into_id": elsewhere.pk}), 404)


# --- Categories, suggestions, queues, routing ---------------------------------------------------


def test_categories_and_suggestions(world: World, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    token = issue(world, "resident")
    tree = get(client, "/categories", token).json()
    safety = next(c for c in tree if c["code"] == "safety")
    gas = next(c for c in safety["children"] if c["code"] == "safety.gas")
    assert gas["name_zh"] == "燃气隐患" and gas["response_hours"] == 2
    # No classifier installed (or it fails): reporting goes on without suggestions.
    monkeypatch.setitem(sys.modules, "shequ.grid.classifier", None)
    none = post(client, "/suggest", token, {"text": "楼道里有很重的煤气味"})
    assert none.json() == {"available": False, "suggestions": []}

    @dataclass
    class Suggestion:
        category_code: str
        confidence: float

    fake = types.SimpleNamespace(
        suggest=lambda text, k=3: [
            Suggestion("safety.gas", 0.91),
            Suggestion("retired.code", 0.5),
            Suggestion("safety.fire", 0.05),
        ][:k]
    )
    monkeypatch.setitem(sys.modules, "shequ.grid.classifier", fake)
    found = post(client, "/suggest", token, {"text": "楼道里有很重的煤气味", "k": 3}).json()
    assert found["available"] is True
    assert [(s["category"], s["confidence"]) for s in found["suggestions"]] == [
        ("safety.gas", 0.91),
        ("safety.fire", 0.05),
    ]
    # A new ticket keeps the classifier's top suggestion.
    made = post(
        client,
        "/tickets",
        token,
        {"region_code": GRID_A, "title": "煤气味", "description": "楼道里煤气味很重"},
    ).json()
    assert made["suggested_category"] == "safety.gas" and made["suggestion_confidence"] == 0.91

    def broken(text: str, k: int = 3) -> list[Any]:
        raise FileNotFoundError("model.joblib")

    fake.suggest = broken
    assert post(client, "/suggest", token, {"text": "煤气"}).json()["available"] is False
    assert_error(post(client, "/suggest", token, {"text": ""}), 400, "validation_error")


def test_department_queue(world: World, client: Client) -> None:
    waiting = dispatched(world)
    new_ticket(world)
    assert ids(get(client, "/department-queue", issue(world, "dept"))) == {waiting.pk}
    services.ticket_department_accept(actor=world["dept"], ticket=waiting)
    services.ticket_resolve(actor=world["dept"], ticket=waiting, result="已处理")
    assert ids(get(client, "/department-queue", issue(world, "dept"))) == set()
    assert ids(get(client, "/department-queue", issue(world, "dept"), include_done="true")) == {waiting.pk}
    assert_error(get(client, "/department-queue", issue(world, "worker_a")), 403, "permission_denied")


def test_routing_rules(world: World, client: Client, urban: Any) -> None:
    street, worker = issue(world, "street"), issue(world, "worker_a")
    body = {"category": "cityscape.parking", "region_code": "430104002", "department": "urban"}
    made = post(client, "/routing-rules", street, body)
    assert made.status_code == 200, made.content
    rule = made.json()
    assert rule["department_name"] == "城管中队" and rule["auto_dispatch"] is False
    assert post(client, "/routing-rules", street, {**body, "auto_dispatch": True}).json()["id"] == rule["id"]
    assert RoutingRule.objects.get(pk=rule["id"]).auto_dispatch is True
    # The community sees the street's rule that applies to it, but may not change it.
    assert {r["id"] for r in get(client, "/routing-rules", worker).json()["items"]} == {rule["id"]}
    assert get(client, "/routing-rules", worker, category="cityscape").json()["count"] == 1
    assert get(client, "/routing-rules", worker, category="safety").json()["count"] == 0
    assert_error(post(client, "/routing-rules", worker, body), 403, "permission_denied")
    assert get(client, "/routing-rules", issue(world, "outsider")).json()["count"] == 0
    # Another street's officer does not see it and may not set rules here.
    assert_error(
        post(client, "/routing-rules", street, {**body, "region_code": "430104003"}), 403, "permission_denied"
    )
    assert_error(post(client, "/routing-rules", street, {**body, "category": "no.such"}), 400)
    assert_error(client.delete(f"{API}/routing-rules/{rule['id']}", **bearer(worker)), 403)
    assert_error(client.delete(f"{API}/routing-rules/{rule['id']}", **bearer(issue(world, "outsider"))), 403)
    assert client.delete(f"{API}/routing-rules/{rule['id']}", **bearer(street)).status_code == 204
    assert not RoutingRule.objects.filter(pk=rule["id"]).exists()
    assert_error(client.delete(f"{API}/routing-rules/{rule['id']}", **bearer(street)), 404)


def test_operations_are_documented_with_their_scopes(world: World, client: Client) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    grid = {path: ops for path, ops in doc["paths"].items() if path.startswith("/api/v1/grid/")}
    assert grid["/api/v1/grid/tickets"]["get"]["x-token-scope"] == "grid:read"
    assert grid["/api/v1/grid/tickets/{ticket_id}/dept_accept"]["post"]["x-token-scope"] == "grid:write"
    assert grid["/api/v1/grid/sensor-alerts"]["post"]["x-token-scope"] == "grid_sensor:write"
    under = "/api/v1/grid/tickets/{ticket_id}/"
    steps = {p[len(under) :] for p, ops in grid.items() if p.startswith(under) and "/" not in p[len(under) :]}
    assert all(set(grid[under + step]) == {"post"} for step in steps)
    # Every step a ticket page may offer has its operation.
    from shequ.grid import selectors

    assert set(selectors.can(world["nobody"], new_ticket(world))) == steps
