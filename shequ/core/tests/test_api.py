"""Core API endpoints with the personas: account, regions (scope matrix), inbox and audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from shequ.conftest import World
from shequ.core import audit, messaging
from shequ.core.models import AuditEntry, AuditResult, Message
from shequ.core.tests.api_helpers import (
    _fresh_rate_limits,
    assert_error,
    get,
    issue,
    post,
)

__all__ = ["_fresh_rate_limits"]  # fixtures

GRID_A1, GRID_A2 = "430104002001001", "430104002001002"
COMMUNITY_A, COMMUNITY_B = "430104002001", "430104002003"
STREET, OTHER_STREET, OTHER_COMMUNITY = "430104002", "430104003", "430104003001"


def signed_in(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world[persona])
    return client


def codes(response: object) -> list[str]:
    body = response.json()  # type: ignore[attr-defined]
    return [r["code"] for r in body["items"]]


# --- /me -------------------------------------------------------------------------------------------


def test_me_with_session_shows_roles_regions_and_a_masked_phone(world: World) -> None:
    response = get(signed_in(world, "head_a"), "/me")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "head_a"
    phone = world["head_a"].phone
    assert body["phone_masked"] == f"{phone[:3]}****{phone[-4:]}"
    assert phone not in response.content.decode()
    [role] = body["roles"]
    assert role["role"] == "community_head" and role["role_label"]
    assert (role["region_code"], role["region_name"], role["department"]) == (COMMUNITY_A, "枇杷塘社区", None)
    assert [r["code"] for r in body["regions"]] == [COMMUNITY_A]
    assert body["auth"]["method"] == "session"
    assert response["Cache-Control"] == "no-store"


def test_me_with_token_reports_the_token_and_its_scopes(world: World) -> None:
    raw = issue(world, "dept", ["profile:read", "regions:read"])
    body = get(Client(), "/me", raw).json()
    assert body["username"] == "dept"
    assert body["roles"][0]["department"] == "岳麓派出所"
    assert body["auth"]["method"] == "token"
    assert body["auth"]["token_scopes"] == ["profile:read", "regions:read"]


def test_me_requires_authentication(world: World) -> None:
    assert_error(get(Client(), "/me"), 401, "not_authenticated")


# --- regions: the scope matrix ---------------------------------------------------------------------

# persona → (top regions, a region it may open, a sibling region that must be 404)
REGION_MATRIX = {
    "grid_a": ([GRID_A1], GRID_A1, GRID_A2),
    "grid_b": ([GRID_A2], GRID_A2, GRID_A1),
    "worker_a": ([COMMUNITY_A], GRID_A2, COMMUNITY_B),
    "head_a": ([COMMUNITY_A], COMMUNITY_A, COMMUNITY_B),
    "head_b": ([COMMUNITY_B], COMMUNITY_B, COMMUNITY_A),
    "street": ([STREET], COMMUNITY_B, OTHER_STREET),
    "dept": ([STREET], GRID_A1, OTHER_COMMUNITY),
    "outsider": ([OTHER_COMMUNITY], OTHER_COMMUNITY, COMMUNITY_A),
    "sysadmin": (["43"], OTHER_COMMUNITY, None),
    "auditor": (["43"], GRID_A1, None),
}


@pytest.mark.parametrize("persona", sorted(REGION_MATRIX))
@pytest.mark.parametrize("via", ["session", "token"])
def test_region_scope_matrix(world: World, persona: str, via: str) -> None:
    tops, allowed, forbidden = REGION_MATRIX[persona]
    if via == "session":
        client, raw = signed_in(world, persona), None
    else:
        client, raw = Client(), issue(world, persona, ["regions:read"])
    listing = get(client, "/regions", raw)
    assert listing.status_code == 200
    assert codes(listing) == tops
    assert listing.json()["count"] == len(tops)
    detail = get(client, f"/regions/{allowed}", raw)
    assert detail.status_code == 200
    assert detail.json()["code"] == allowed
    if forbidden is not None:
        assert_error(get(client, f"/regions/{forbidden}", raw), 404, "not_found")
        assert_error(get(client, "/regions", raw, parent=forbidden), 404, "not_found")


def test_region_children_are_listed_within_scope(world: World) -> None:
    street = signed_in(world, "street")
    assert codes(get(street, "/regions", parent=STREET)) == [COMMUNITY_A, COMMUNITY_B]
    head_a = signed_in(world, "head_a")
    response = get(head_a, "/regions", parent=COMMUNITY_A)
    assert codes(response) == [GRID_A1, GRID_A2]
    first = response.json()["items"][0]
    assert first == {
        "code": GRID_A1,
        "statistical_code": GRID_A1,
        "name": "第一网格",
        "level": "grid",
        "kind": "grid",
        "parent_code": COMMUNITY_A,
        "child_count": 0,
    }


def test_region_detail_fields(world: World) -> None:
    body = get(signed_in(world, "street"), f"/regions/{COMMUNITY_A}").json()
    assert body["statistical_code"] == "430104002001"
    assert body["parent_code"] == STREET
    assert body["level"] == "community"


def test_resident_and_nobody_see_no_regions(world: World) -> None:
    for persona in ("resident", "nobody"):
        client = signed_in(world, persona)
        assert codes(get(client, "/regions")) == []
        assert_error(get(client, f"/regions/{GRID_A1}"), 404, "not_found")


@pytest.mark.parametrize("bad", ["abc", "1", "123", "43010", "4301040020010011", "４３", "43 ", "+43", "4e1"])
def test_region_codes_are_validated_not_500(world: World, bad: str) -> None:
    client = signed_in(world, "sysadmin")
    body = assert_error(client.get(f"/api/v1/regions/{bad}"), 400, "validation_error")
    assert body["details"]["errors"][0]["location"] == "path"
    assert body["details"]["errors"][0]["field"] == "code"
    body = assert_error(get(client, "/regions", parent=bad), 400, "validation_error")
    assert body["details"]["errors"][0] == {
        "location": "query",
        "field": "parent",
        "error": body["details"]["errors"][0]["error"],
    }


def test_unknown_region_is_404(world: World) -> None:
    assert_error(get(signed_in(world, "sysadmin"), "/regions/439999"), 404, "not_found")


def test_pagination_pages_and_bounds(world: World) -> None:
    client = signed_in(world, "street")
    page2 = get(client, "/regions", parent=STREET, page=2, page_size=1).json()
    assert page2 == {"items": [page2["items"][0]], "count": 2}
    assert page2["items"][0]["code"] == COMMUNITY_B
    assert get(client, "/regions", parent=STREET, page=99).json() == {"items": [], "count": 2}
    for params in ({"page": 0}, {"page": 100_001}, {"page_size": 0}, {"page_size": 101}, {"page": "x"}):
        assert_error(get(client, "/regions", **params), 400, "validation_error")


# --- messages --------------------------------------------------------------------------------------


@pytest.fixture
def inbox(world: World) -> dict[str, Message]:
    head_a, grid_a = world["head_a"], world["grid_a"]
    plain = messaging.notify(
        sender=world["street"], recipients=[head_a], subject="Plain notice", body="text"
    )[0]
    roll = messaging.notify(
        sender=world["street"],
        recipients=[head_a, grid_a],
        subject="Flood warning",
        body="Report in",
        requires_ack=True,
        topic="test.flood",
        topic_ref="1",
    )
    return {"plain": plain, "ack": roll[0], "grid_ack": roll[1]}


def test_message_list_shows_only_own_messages(world: World, inbox: dict[str, Message]) -> None:
    body = get(signed_in(world, "head_a"), "/messages").json()
    assert body["count"] == 2
    assert {m["subject"] for m in body["items"]} == {"Plain notice", "Flood warning"}
    assert body["items"][0]["sender_name"] == "street"
    grid = get(signed_in(world, "grid_a"), "/messages").json()
    assert [m["id"] for m in grid["items"]] == [inbox["grid_ack"].pk]
    assert get(signed_in(world, "head_b"), "/messages").json() == {"items": [], "count": 0}


def test_message_filters(world: World, inbox: dict[str, Message]) -> None:
    client = signed_in(world, "head_a")
    raw = issue(world, "head_a")
    post(client, f"/messages/{inbox['plain'].pk}/read", raw)
    assert [m["id"] for m in get(client, "/messages", state="unread").json()["items"]] == [inbox["ack"].pk]
    assert [m["id"] for m in get(client, "/messages", state="read").json()["items"]] == [inbox["plain"].pk]
    assert [m["id"] for m in get(client, "/messages", needs_ack="true").json()["items"]] == [inbox["ack"].pk]
    assert [m["id"] for m in get(client, "/messages", needs_ack="false").json()["items"]] == [
        inbox["plain"].pk
    ]
    assert_error(get(client, "/messages", state="new"), 400, "validation_error")


def test_read_and_ack_with_token(world: World, inbox: dict[str, Message]) -> None:
    raw = issue(world, "head_a", ["messages:read", "messages:write"])
    client = Client()
    read = post(client, f"/messages/{inbox['plain'].pk}/read", raw)
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    again = post(client, f"/messages/{inbox['plain'].pk}/read", raw)
    assert again.json()["read_at"] == read.json()["read_at"]

    body = assert_error(post(client, f"/messages/{inbox['plain'].pk}/ack", raw), 409, "ack_not_requested")
    assert body["message"]
    ack = post(client, f"/messages/{inbox['ack'].pk}/ack", raw)
    assert ack.status_code == 200
    assert ack.json()["acknowledged_at"] is not None
    assert ack.json()["read_at"] is not None
    assert (
        post(client, f"/messages/{inbox['ack'].pk}/ack", raw).json()["acknowledged_at"]
        == (ack.json()["acknowledged_at"])
    )
    inbox["ack"].refresh_from_db()
    assert inbox["ack"].acknowledged_at is not None


def test_other_peoples_messages_do_not_exist(world: World, inbox: dict[str, Message]) -> None:
    raw = issue(world, "grid_a")
    for action in ("read", "ack"):
        assert_error(post(Client(), f"/messages/{inbox['ack'].pk}/{action}", raw), 404, "not_found")
    inbox["ack"].refresh_from_db()
    assert inbox["ack"].read_at is None and inbox["ack"].acknowledged_at is None


@pytest.mark.parametrize("bad", ["0", "-1", "abc", str(2**63), "1.5", "99999999999999999999999"])
def test_message_ids_are_validated(world: World, bad: str) -> None:
    raw = issue(world, "head_a")
    body = assert_error(
        Client().post(f"/api/v1/messages/{bad}/read", HTTP_AUTHORIZATION=f"Bearer {raw}"),
        400,
        "validation_error",
    )
    assert body["details"]["errors"][0]["field"] == "message_id"


def test_missing_message_is_404(world: World) -> None:
    assert_error(post(Client(), f"/messages/{2**63 - 1}/read", issue(world, "head_a")), 404, "not_found")


# --- audit -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["resident", "head_a", "street", "sysadmin", "secadmin", "nobody"])
def test_only_auditors_read_the_audit_log_and_refusals_are_audited(world: World, persona: str) -> None:
    client = signed_in(world, persona)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the message is checked in English
    body = assert_error(get(client, "/audit"), 403, "permission_denied")
    assert "audit" in body["message"].lower()
    denied = AuditEntry.objects.filter(action="api.denied", actor_id=world[persona].pk).first()
    assert denied is not None
    assert denied.result == AuditResult.DENIED
    assert denied.detail["path"] == "/api/v1/audit"


def test_auditor_reads_and_filters_the_audit_log(world: World) -> None:
    audit.record("test.thing", actor=world["head_a"], region_code=COMMUNITY_A, result=AuditResult.DENIED)
    audit.record("test.other", actor=world["head_b"], region_code=COMMUNITY_B)
    client = signed_in(world, "auditor")
    everything = get(client, "/audit", page_size=100).json()
    assert everything["count"] == AuditEntry.objects.count()  # a province auditor sees every row
    items = everything["items"]
    assert items[0]["action"] == "audit.view"  # reading the log is itself recorded
    assert [i["id"] for i in items] == sorted((i["id"] for i in items), reverse=True)  # newest first

    def actions(**filters: str) -> list[str]:
        return [
            i["action"]
            for i in get(client, "/audit", **filters).json()["items"]
            if i["action"] != "audit.view"
        ]

    assert actions(action="test.") == ["test.other", "test.thing"]
    assert actions(action="test.thing") == ["test.thing"]
    assert actions(actor="head_b", action="test") == ["test.other"]
    assert actions(result="denied", action="test") == ["test.thing"]
    assert actions(region=COMMUNITY_B, action="test") == ["test.other"]
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert actions(since=future) == []
    assert actions(until=future, action="test.thing") == ["test.thing"]
    assert actions(since="2000-01-01T00:00:00+08:00", action="test.thing") == ["test.thing"]
    viewed = AuditEntry.objects.filter(action="audit.view", actor_id=world["auditor"].pk).first()
    assert viewed is not None and viewed.detail.get("action") is not None


@pytest.mark.parametrize(
    "params",
    [
        {"result": "maybe"},
        {"region": "12345"},
        {"since": "yesterday"},
        {"since": "9999-12-31T23:59:59-14:00"},
        {"since": "0.5"},
        {"until": "1700000000"},
        {"since": "2025-01-31"},
        {"since": "2025-01-31T08:00:00"},
        {"until": "0001-01-01T00:00:00+14:00"},
        {"actor": "a\x00b"},
        {"action": "x" * 65},
        {"action": "DROP TABLE"},
    ],
)
def test_audit_filters_are_validated(world: World, params: dict[str, str]) -> None:
    assert_error(get(signed_in(world, "auditor"), "/audit", **params), 400, "validation_error")


def test_city_auditor_sees_only_their_city(world: World) -> None:
    """Audit rows are region-scoped too: an auditor bound lower than the province sees no other city."""
    from shequ.core import accounts
    from shequ.core.models import Region, RegionKind, RegionLevel

    other_city = Region.objects.create(
        code="4302", name="株洲市", level=RegionLevel.CITY, kind=RegionKind.CITY, parent=world.regions["43"]
    )
    audit.record("test.changsha", region_code=COMMUNITY_A)
    audit.record("test.zhuzhou", region_code="430202")
    city_auditor = accounts.user_create(
        actor=None,
        username="auditor_zz",
        display_name="zz",
        password="Tq7!correct-Horse",
        phone="13900000000",
    )
    accounts.membership_grant(actor=None, user=city_auditor, role="auditor", region=other_city)
    client = Client()
    client.force_login(city_auditor)
    got = [i["action"] for i in get(client, "/audit", action="test.").json()["items"]]
    assert got == ["test.zhuzhou"]
