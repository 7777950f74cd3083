"""The grid API's scope matrix (DESIGN.md rule 2, security requirement 8): every grid API operation
tried by every persona, with a token holding every scope, on three tickets —

* ``a``: grid A of community A, reported by the resident, dispatched to the police and accepted
  there (``dept``);
* ``a2``: grid B of community A (grid_b's patrol report), submitted;
* ``b``: the sibling community B, entered by its head, submitted.

Who sees which ticket, and who may use which operation, is written out by hand below from the
personas' roles and regions (shequ/conftest.py PERSONAS) and the rules of shequ/grid/selectors.py
and permissions.py — not computed by the code under test. Steps are posted with bodies the schema
accepts but the services refuse after their checks (an empty reason, an unknown category, a step the
ticket's state does not allow): a persona who may not see the ticket gets 404, one who sees it 400
or 403 — and nothing changes either way. An operation missing from these tables fails
``test_every_grid_operation_is_in_the_matrix``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from shequ.conftest import PERSONAS, World
from shequ.core.tests.api_helpers import _fresh_rate_limits, bearer, issue
from shequ.grid import services
from shequ.grid.models import Category, RoutingRule, Ticket, TicketAction
from shequ.grid.tests.conftest import COMMUNITY_B, GRID_A, GRID_B, jpeg_with_gps
from shequ.grid.tests.test_hotline import classifier

__all__ = ["_fresh_rate_limits", "classifier"]  # fixtures
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("classifier")]
API = "/api/v1/grid"

SEES: dict[str, set[str]] = {
    "a": {"grid_a", "worker_a", "head_a", "street", "dept", "resident"},
    "a2": {"grid_b", "worker_a", "head_a", "street"},
    "b": {"head_b", "street"},
}
# Personas with no part in tickets at all (no grid right): an audited 403 on every operation.
NO_PART = {"nobody", "sysadmin", "secadmin", "auditor"}
# Holders of grid.report or grid.view in grid A (report there; sensor alerts there).
IN_GRID_A = {"grid_a", "worker_a", "head_a", "street", "resident"}
REPORT_IN_GRID_A = {"grid_a", "worker_a", "head_a", "resident"}
# Holders of grid.view or grid.routing (read routing rules), of grid.routing (change them).
RULE_READERS = {"grid_a", "grid_b", "worker_a", "head_a", "head_b", "street", "outsider"}
ROUTERS = {"street"}

# Step → a body the schema accepts and the service refuses.
STEPS: dict[str, dict[str, Any]] = {
    "accept": {"category": "no.such"},
    "recategorize": {"category": "no.such"},
    "close_on_spot": {"result": ""},
    "dispatch": {"department": "nowhere"},
    "handle": {"result": ""},
    "merge": {},
    "dept_accept": {"comment": ""},  # ticket a was accepted by the department already
    "respond": {"comment": ""},
    "resolve": {"result": ""},
    "dept_return": {"reason": ""},
    "request_extension": {"days": 1, "reason": ""},
    "decide_extension": {"approve": False},  # none is waiting
    "verify": {"passed": False, "comment": ""},
    "rate": {"rating": 1, "comment": ""},
    "supervise": {"decision": "close", "comment": ""},
    "comment": {"text": ""},
    "urgent_ack": {},  # these tickets came in normal: no alert to acknowledge
    "urgent_clear": {"reason": ""},
}
# The other operations, each tried in its own test below.
OTHERS = {
    ("get", "/api/v1/grid/tickets"),
    ("post", "/api/v1/grid/tickets"),
    ("get", "/api/v1/grid/tickets/{ticket_id}"),
    ("post", "/api/v1/grid/sensor-alerts"),
    ("get", "/api/v1/grid/categories"),
    ("post", "/api/v1/grid/suggest"),
    ("get", "/api/v1/grid/department-queue"),
    ("get", "/api/v1/grid/routing-rules"),
    ("post", "/api/v1/grid/routing-rules"),
    ("delete", "/api/v1/grid/routing-rules/{rule_id}"),
    ("post", "/api/v1/grid/tickets/{ticket_id}/add_photos"),
    ("get", "/api/v1/grid/tickets/{ticket_id}/photos/{photo_id}"),
}
assert set().union(*SEES.values(), NO_PART) <= set(PERSONAS)


def test_every_grid_operation_is_in_the_matrix() -> None:
    from shequ.api import api

    schema = api.get_openapi_schema()
    found = {
        (method, path)
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/grid/")
        for method in item
    }
    steps = {("post", f"/api/v1/grid/tickets/{{ticket_id}}/{step}") for step in STEPS}
    assert found == OTHERS | steps


@pytest.fixture
def tickets(world: World) -> dict[str, Ticket]:
    a = services.ticket_submit(
        actor=world["resident"],
        source="resident",
        region=world.regions[GRID_A],
        title="楼道灯坏了",
        description="5栋2单元楼道的灯坏了好几天，晚上看不见。",
        contact_phone="13912345678",
    )
    a = services.ticket_accept(actor=world["worker_a"], ticket=a, category="security.public_order")
    a = services.ticket_dispatch(actor=world["worker_a"], ticket=a, department=world.department)
    a = services.ticket_department_accept(actor=world["dept"], ticket=a)
    a2 = services.ticket_submit(
        actor=world["grid_b"],
        source="patrol",
        region=world.regions[GRID_B],
        title="垃圾没清运",
        description="二网格垃圾站两天没人清运。",
        category="environment.garbage",
    )
    b = services.ticket_submit(
        actor=world["head_b"],
        source="staff",
        region=world.regions[COMMUNITY_B],
        title="噪音扰民",
        description="夜间施工噪音很大。",
        category="environment.noise",
    )
    return {"a": a, "a2": a2, "b": b}


def _state() -> tuple[Any, ...]:
    return (
        tuple(Ticket.objects.order_by("pk").values_list("pk", "status", "category_id", "department_id")),
        TicketAction.objects.count(),
        tuple(RoutingRule.objects.order_by("pk").values_list("pk", "department_id")),
    )


def call(client: Client, method: str, path: str, token: str, body: Any = None, **query: Any) -> Any:
    if method == "get":
        return client.get(API + path, query, **bearer(token))
    if method == "delete":
        return client.delete(API + path, **bearer(token))
    return client.post(
        API + path, data=json.dumps(body or {}), content_type="application/json", **bearer(token)
    )


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_ticket_operations_follow_who_sees_the_ticket(
    world: World, tickets: dict[str, Ticket], client: Client, persona: str
) -> None:
    token = issue(world, persona)
    before = _state()
    for key, ticket in tickets.items():
        detail = call(client, "get", f"/tickets/{ticket.pk}", token).status_code
        expected = 403 if persona in NO_PART else 200 if persona in SEES[key] else 404
        assert detail == expected, ("detail", key, persona, detail)
        for step, body in STEPS.items():
            status = call(client, "post", f"/tickets/{ticket.pk}/{step}", token, body).status_code
            if persona in NO_PART:
                assert status == 403, (step, key, persona, status)
            elif persona not in SEES[key]:
                assert status == 404, (step, key, persona, status)
            else:
                assert status in {400, 403}, (step, key, persona, status)
    assert _state() == before, persona


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_lists_and_other_operations(
    world: World, tickets: dict[str, Ticket], client: Client, persona: str
) -> None:
    token = issue(world, persona)
    other_street = world.regions["430104003"]
    rule = RoutingRule.objects.create(
        category=Category.objects.get(code="environment.noise"),
        region=other_street,
        region_code=other_street.code,
        department=world.department,
    )
    before = _state()
    listed = call(client, "get", "/tickets", token)
    if persona in NO_PART:
        assert listed.status_code == 403, persona
    else:
        assert {t["id"] for t in listed.json()["items"]} == {
            tickets[key].pk for key, who in SEES.items() if persona in who
        }, persona
    participant = 403 if persona in NO_PART else 200
    assert call(client, "get", "/categories", token).status_code == participant, persona
    assert call(client, "post", "/suggest", token, {"text": "路灯坏了"}).status_code == participant, persona
    queue = call(client, "get", "/department-queue", token)
    if persona == "dept":
        assert [t["id"] for t in queue.json()["items"]] == [tickets["a"].pk]
    else:
        assert queue.status_code == 403, persona
    # Writes refused after their checks: an empty title, an unknown category, a rule not seen.
    report = {"region_code": GRID_A, "title": "", "description": "x"}
    status = call(client, "post", "/tickets", token, report).status_code
    assert status == (400 if persona in REPORT_IN_GRID_A else 403), (persona, status)
    alert = {"alert_id": "A-1", "region_code": GRID_A, "title": "", "description": "x"}
    status = call(client, "post", "/sensor-alerts", token, alert).status_code
    assert status == (400 if persona in IN_GRID_A else 403), (persona, status)
    rules = call(client, "get", "/routing-rules", token)
    assert rules.status_code == (200 if persona in RULE_READERS else 403), persona
    if persona in RULE_READERS:
        seen = {r["id"] for r in rules.json()["items"]}
        assert seen == ({rule.pk} if persona == "outsider" else set()), persona
    new_rule = {"category": "no.such", "region_code": "430104002", "department": "police"}
    status = call(client, "post", "/routing-rules", token, new_rule).status_code
    assert status == (400 if persona in ROUTERS else 403), (persona, status)
    status = call(client, "delete", f"/routing-rules/{rule.pk}", token).status_code
    assert status == (404 if persona in ROUTERS else 403), (persona, status)
    assert _state() == before, persona


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_photo_operations_follow_who_sees_the_ticket(
    world: World, tickets: dict[str, Ticket], client: Client, persona: str
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    photos = {
        key: services.ticket_add_photos(actor=None, ticket=t, photos=[jpeg_with_gps()]).attachments.get()
        for key, t in tickets.items()
    }
    token = issue(world, persona)
    before = _state()
    for key, ticket in tickets.items():
        read = client.get(f"{API}/tickets/{ticket.pk}/photos/{photos[key].pk}", **bearer(token)).status_code
        expected = 403 if persona in NO_PART else 200 if persona in SEES[key] else 404
        assert read == expected, ("photo", key, persona, read)
        # Not an image: refused by the service after its checks (400) by those who may add photos.
        text = SimpleUploadedFile("a.jpg", b"not an image", content_type="image/jpeg")
        added = client.post(f"{API}/tickets/{ticket.pk}/add_photos", {"photos": [text]}, **bearer(token))
        expected = 403 if persona in NO_PART else 400 if persona in SEES[key] else 404
        assert added.status_code == expected, ("add_photos", key, persona, added.status_code)
    assert _state() == before, persona
