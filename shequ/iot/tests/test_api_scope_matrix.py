"""The IoT API's scope matrix (DESIGN.md rule 2): every ``/api/v1/iot/`` operation tried by every
persona with a token holding every scope, on the objects of two communities (console_fixtures.py):
``a`` in grid A of community A, ``b`` in the sibling community B.

Who sees what is written out by hand from the personas' roles and regions (shequ/conftest.py
PERSONAS) and shequ/iot/permissions.py. Alert steps are posted on alerts already acknowledged, with
reasons the schema accepts and the service refuses: a persona who may not see the alert gets 404,
one who sees it 400 — and nothing changes either way. Access records (door events naming a
resident) are returned only with ``iot.access`` in their region, and every such read is audited.
An operation missing here fails ``test_every_iot_operation_is_in_the_matrix``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shequ.conftest import PERSONAS, World
from shequ.core import accounts
from shequ.core.models import AuditEntry, AuditResult, Department, DepartmentKind, Role
from shequ.core.tests.api_helpers import _fresh_rate_limits, bearer, issue
from shequ.iot import services
from shequ.iot.ingest import Pipeline
from shequ.iot.models import Alert, DeadLetter, Device
from shequ.iot.tests.conftest import message
from shequ.iot.tests.console_fixtures import CARD, Console, card_credential, console, resident

__all__ = ["_fresh_rate_limits", "console"]  # fixtures
pytestmark = pytest.mark.django_db
API = "/api/v1/iot"

# Region staff holding iot.view (and iot.alert and iot.access) somewhere.
STAFF = {"grid_a", "grid_b", "worker_a", "head_a", "head_b", "street", "outsider"}
NO_PART = set(PERSONAS) - STAFF  # department, resident, admins, nobody: no IoT right at all
SEES: dict[str, set[str]] = {
    "a": {"grid_a", "worker_a", "head_a", "street"},
    "b": {"head_b", "street"},
}
OPERATIONS = {
    ("post", "/api/v1/iot/ingest/{device}/{channel}"),
    ("get", "/api/v1/iot/devices"),
    ("get", "/api/v1/iot/devices/{device_id}"),
    ("get", "/api/v1/iot/events"),
    ("get", "/api/v1/iot/alerts"),
    ("post", "/api/v1/iot/alerts/{alert_id}/ack"),
    ("post", "/api/v1/iot/alerts/{alert_id}/clear"),
    # Access control, with matrices of their own: a gate checks passes with its device token
    # (test_access_passes.py), a department pulls its feed with its client's token (test_feeds.py).
    ("post", "/api/v1/iot/gate/{device}/check"),
    ("get", "/api/v1/iot/feeds/{feed_id}/events"),
}


def test_every_iot_operation_is_in_the_matrix() -> None:
    from shequ.api import api

    schema = api.get_openapi_schema()
    found = {
        (method, path)
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/iot/")
        for method in item
    }
    assert found == OPERATIONS


@pytest.fixture
def objects(console: Console) -> dict[str, dict[str, Any]]:
    """Both communities' objects; the alerts acknowledged (a second acknowledgement is refused);
    a resident of house ``a`` opens the community gate with her card (an access record)."""
    for alert in console.alerts.values():
        services.alert_acknowledge(actor=console.site.world["street"], alert=alert)
    house = console.houses["a"]
    card_credential(console.site.world, house, resident(house))
    Pipeline().process(
        [
            message(
                console.devices["door-1"],
                "event",
                "card-1",
                timezone.now() - dt.timedelta(minutes=30),
                type="open",
                credential={"kind": "card", "value": CARD},
            )
        ]
    )
    return {
        "device": {"a": console.devices["smoke-1"], "b": console.devices["smoke-b"]},
        "alert": {"a": console.alerts["a"], "b": console.alerts["b"]},
        "house": {"a": house, "b": console.houses["b"]},
    }


def state() -> tuple[Any, ...]:
    return (
        tuple(Alert.objects.order_by("pk").values_list("pk", "state", "open", "clear_reason")),
        tuple(Device.objects.order_by("pk").values_list("pk", "token_hash", "active")),
    )


def call(client: Client, method: str, path: str, token: str, body: Any = None, **query: Any) -> Any:
    if method == "get":
        return client.get(API + path, query, **bearer(token))
    return client.post(
        API + path, data=json.dumps(body or {}), content_type="application/json", **bearer(token)
    )


def denials() -> int:
    return AuditEntry.objects.filter(result=AuditResult.DENIED).count()


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_reads_and_alert_steps_follow_the_scope(
    world: World, objects: dict[str, dict[str, Any]], client: Client, persona: str
) -> None:
    token = issue(world, persona)
    before = state()
    for name in ("/devices", "/alerts", "/events"):
        refused = denials()
        status = call(client, "get", name, token).status_code
        if persona in NO_PART:
            assert status == 403 and denials() == refused + 1, (name, persona)  # audited
        else:
            assert status == 200, (name, persona)
    staff = persona in STAFF
    if staff:
        devices = {d["id"] for d in call(client, "get", "/devices", token).json()}
        alerts = {a["id"] for a in call(client, "get", "/alerts", token).json()}
        events = {e["device_id"] for e in call(client, "get", "/events", token).json()}
    for side in ("a", "b"):
        sees = persona in SEES[side]
        device, alert = objects["device"][side], objects["alert"][side]
        if staff:
            assert (device.pk in devices) == sees, ("devices", side, persona)
            assert (alert.pk in alerts) == sees, ("alerts", side, persona)
            assert (device.pk in events) == sees, ("events", side, persona)
        status = call(client, "get", f"/devices/{device.pk}", token).status_code
        assert status == (200 if sees else 404), ("device", side, persona, status)
        status = call(client, "get", "/events", token, device=device.pk).status_code
        assert status == (200 if sees else 403 if persona in NO_PART else 404), ("events", side, persona)
        status = call(client, "post", f"/alerts/{alert.pk}/ack", token).status_code
        assert status == (400 if sees else 404), ("ack", side, persona, status)
        for reason in ("", "ok"):  # too short: refused by the service
            status = call(client, "post", f"/alerts/{alert.pk}/clear", token, {"reason": reason}).status_code
            assert status == (400 if sees else 404), ("clear", side, persona, reason, status)
    assert state() == before, persona


@pytest.mark.parametrize("persona", ["grid_a", "head_a", "street", "grid_b", "head_b"])
def test_access_records_only_in_scope_and_audited(
    world: World, objects: dict[str, dict[str, Any]], client: Client, persona: str
) -> None:
    token = issue(world, persona)
    reads = AuditEntry.objects.filter(action="iot.access_read").count()
    rows = call(client, "get", "/events", token, house=objects["house"]["a"].pk).json()
    named = [r for r in rows if r["resident"]]
    if persona in SEES["a"]:
        assert len(named) == 1 and named[0]["subject_masked"] == "****C3D4", persona
        assert "person_id" not in named[0] and CARD not in json.dumps(rows), persona
        assert AuditEntry.objects.filter(action="iot.access_read").count() == reads + 1, persona
    else:
        assert rows == [], persona
        assert AuditEntry.objects.filter(action="iot.access_read").count() == reads, persona


def test_a_property_manager_reads_devices_but_no_access_records(
    world: World, objects: dict[str, dict[str, Any]], client: Client
) -> None:
    manager = accounts.user_create(
        actor=None, username="wuye", display_name="物业", password=None, phone="13800009999"
    )
    community = world.regions["430104002001"]
    company = Department.objects.create(
        code="wuye",
        name="麓山物业",
        kind=DepartmentKind.PROPERTY,
        region=community,
        region_code=community.code,
    )
    accounts.membership_grant(
        actor=None, user=manager, role=Role.PROPERTY_MANAGER, region=community, department=company
    )
    token = issue(world, manager)
    rows = call(client, "get", "/events", token, house=objects["house"]["a"].pk).json()
    assert rows and not [r for r in rows if r["resident"]]
    assert AuditEntry.objects.filter(action="iot.access_read").count() == 0


def test_a_user_token_is_not_a_device_token(
    world: World, objects: dict[str, dict[str, Any]], client: Client
) -> None:
    token = issue(world, "head_a")
    device = objects["device"]["a"]
    body = json.dumps({"v": 1, "id": "x-1", "ts": int(timezone.now().timestamp() * 1000), "type": "alarm"})
    response = client.post(
        f"{API}/ingest/{device.code}/event", data=body, content_type="application/json", **bearer(token)
    )
    assert response.status_code == 401
    assert DeadLetter.objects.filter(device_code=device.code, reason="bad_token").count() == 1
