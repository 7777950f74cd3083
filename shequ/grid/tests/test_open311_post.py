"""Open311 POST requests: the spec's parameters, api_key scopes (a key submits only inside its
owner's regions), locations, attributes, errors with nothing written, the rate limit."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shequ.conftest import World
from shequ.core import accounts, apiauth
from shequ.core.models import ApiToken, AuditEntry, AuditResult, Role
from shequ.grid.models import Category, Source, Status, Ticket, Urgency
from shequ.grid.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_A, GRID_B
from shequ.grid.tests.open311_helpers import (
    BASE,
    CREATED_FIELDS,
    POINT_A,
    POINT_A2,
    POINT_B,
    _fresh_rate_windows,  # noqa: F401  (autouse)
    assert_json_errors,
    assert_xml_errors,
    building,
    children,
    counts,
    house,
    make_key,
    parse_xml,
)

CODE = "environment.noise"


@pytest.fixture
def places(world: World) -> dict[str, Any]:
    a = building(world, GRID_A, POINT_A, "岳麓区桃子湖路1号")
    a2 = building(world, GRID_B, POINT_A2, "岳麓区桃子湖路9号")
    b = building(world, COMMUNITY_B + "001", POINT_B, "岳麓区泽盛路3号")
    return {"a": a, "a2": a2, "b": b, "house_a": house(a, "101"), "house_b": house(b, "202")}


def post(client: Client, fmt: str = "json", **data: Any) -> Any:
    return client.post(f"{BASE}requests.{fmt}", data)


def post_json(client: Client, **data: Any) -> tuple[int, Any]:
    response = post(client, **data)
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return response.status_code, json.loads(response.content)


def test_post_with_point_creates_a_ticket_in_the_nearest_buildings_grid(
    world: World, places: dict[str, Any]
) -> None:
    key = make_key(world, "head_a")
    status, body = post_json(
        Client(),
        api_key=key,
        service_code=CODE,
        lat="28.180100",
        long="112.940100",
        address_string="桃子湖路1号楼下",
        description="楼下烧烤店每晚十二点后还很吵。",
        first_name="小明",
        last_name="王",
        phone="13912345678",
        email="wang@example.test",
        device_id="device-1",
        account_id="acct-9",
        media_url="https://photos.example.test/noise.jpg",
        **{"attribute[urgency]": "urgent", "attribute[location_detail]": "1栋东侧"},
    )
    assert status == 200, body
    assert isinstance(body, list) and len(body) == 1
    created = body[0]
    assert list(created) == CREATED_FIELDS
    ticket = Ticket.objects.get()
    assert created["service_request_id"] == ticket.number
    assert created["token"] == str(ticket.uid)
    assert isinstance(created["service_notice"], str) and created["service_notice"]
    assert created["account_id"] is None
    assert ticket.source == Source.OPEN311
    assert ticket.region_code == GRID_A  # the nearest building's grid, inside community A
    assert ticket.category == Category.objects.get(code=CODE)
    assert ticket.urgency == Urgency.URGENT
    assert ticket.status == Status.SUBMITTED
    assert ticket.created_by == world["head_a"]
    assert ticket.contact_name == "王小明" and ticket.contact_phone == "13912345678"
    assert not ticket.anonymous
    assert str(ticket.latitude) == "28.180100" and str(ticket.longitude) == "112.940100"
    assert ticket.address == "桃子湖路1号楼下"
    assert ticket.description.startswith("楼下烧烤店每晚十二点后还很吵。\n\n")
    assert "1栋东侧" in ticket.description
    assert "https://photos.example.test/noise.jpg" in ticket.description
    assert ticket.title == "楼下烧烤店每晚十二点后还很吵。"
    # The phone is stored encrypted (never the plain number in the row).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT contact_phone FROM grid_ticket WHERE id = %s", [ticket.pk])
        raw = cursor.fetchone()[0]
    assert "13912345678" not in raw
    # Email, device and account ids are not kept anywhere on the ticket.
    assert "wang@example.test" not in ticket.description and "acct-9" not in ticket.description
    assert AuditEntry.objects.filter(action="grid.submit", object_id=str(ticket.pk)).exists()


def test_post_xml_answers_in_the_spec_shape(world: World, places: dict[str, Any]) -> None:
    response = post(
        Client(),
        "xml",
        api_key=make_key(world, "resident"),
        service_code=CODE,
        address_id=str(places["house_a"].pk),
    )
    assert response.status_code == 200
    root = parse_xml(response)
    assert root.tag == "service_requests"
    assert children(root) == ["request"]
    assert children(root[0]) == CREATED_FIELDS
    ticket = Ticket.objects.get()
    assert root[0].findtext("service_request_id") == ticket.number
    assert root[0].findtext("account_id") == ""
    assert ticket.house == places["house_a"] and ticket.building == places["a"]
    assert ticket.address == places["house_a"].address
    assert ticket.description == "噪音扰民"  # no description given: the service's name
    assert ticket.anonymous and ticket.contact_phone == ""


@pytest.mark.parametrize(
    ("persona", "address_id", "expected_region"),
    [
        ("head_a", COMMUNITY_A, COMMUNITY_A),
        ("head_a", GRID_B, GRID_B),  # a community's key covers its grids
        ("resident", GRID_A, GRID_A),
    ],
)
def test_address_id_as_a_region_code(
    world: World, persona: str, address_id: str, expected_region: str
) -> None:
    status, body = post_json(
        Client(), api_key=make_key(world, persona), service_code=CODE, address_id=address_id
    )
    assert status == 200, body
    assert Ticket.objects.get().region_code == expected_region


def test_address_string_alone_goes_to_the_keys_only_region(world: World) -> None:
    status, body = post_json(
        Client(), api_key=make_key(world, "resident"), service_code=CODE, address_string="3栋门口"
    )
    assert status == 200, body
    t = Ticket.objects.get()
    assert t.region_code == GRID_A and t.address == "3栋门口"


def test_a_point_far_from_any_building_goes_to_the_keys_only_region(world: World) -> None:
    status, body = post_json(
        Client(), api_key=make_key(world, "head_a"), service_code=CODE, lat="28.3", long="113.1"
    )
    assert status == 200, body
    assert Ticket.objects.get().region_code == COMMUNITY_A


def test_a_key_with_several_regions_needs_a_place_inside_them(world: World) -> None:
    user = accounts.user_create(
        actor=None, username="app2", display_name="app2", password="Tq7!correct-Horse"
    )
    for code in (GRID_A, COMMUNITY_B):
        accounts.membership_grant(actor=None, user=user, role=Role.RESIDENT, region=world.regions[code])
    _token, key = apiauth.token_create(
        actor=None,
        user=user,
        name="app",
        scopes=["open311:write"],
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    before = counts()
    status, body = post_json(Client(), api_key=key, service_code=CODE, address_string="某处")
    assert_json_errors(status, body, 400)
    assert "address_id" in body[0]["description"]
    assert counts() == before
    status, body = post_json(Client(), api_key=key, service_code=CODE, address_id=COMMUNITY_B)
    assert status == 200, body


# --- Key scopes: a key of one community cannot post into another ---------------------------------


@pytest.mark.parametrize(
    ("persona", "where"),
    [
        ("head_a", {"address_id": COMMUNITY_B}),
        ("head_a", {"address_id": COMMUNITY_B + "001"}),
        ("head_a", {"address_id": "house_b"}),
        ("head_a", {"lat": "28.200050", "long": "112.960050"}),  # next to community B's building
        ("head_b", {"address_id": COMMUNITY_A}),
        ("head_b", {"address_id": "house_a"}),
        ("resident", {"address_id": GRID_B}),  # a grid key cannot post into the sibling grid
        ("resident", {"address_id": COMMUNITY_A}),  # nor into its whole community
        ("resident", {"lat": str(POINT_A2[0]), "long": str(POINT_A2[1])}),
        ("street", {"address_id": GRID_A}),  # street officers do not report (no grid.report)
        ("dept", {"address_id": GRID_A}),
    ],
)
def test_a_key_cannot_post_outside_its_regions(
    world: World, places: dict[str, Any], persona: str, where: dict[str, str]
) -> None:
    data = dict(where)
    if data.get("address_id", "").startswith("house_"):
        data["address_id"] = str(places[data["address_id"]].pk)
    before = counts()
    denied_before = AuditEntry.objects.filter(result=AuditResult.DENIED).count()
    status, body = post_json(Client(), api_key=make_key(world, persona), service_code=CODE, **data)
    assert_json_errors(status, body, 403)
    assert counts() == before
    assert AuditEntry.objects.filter(result=AuditResult.DENIED).count() == denied_before + 1


# --- Bad requests: the spec's error bodies, and nothing written ----------------------------------


def _revoked_key(world: World) -> str:
    key = make_key(world, "head_a")
    token = ApiToken.objects.get(prefix=key.split("_")[1])
    apiauth.token_revoke(actor=None, token=token)
    return key


BAD_POSTS: list[tuple[str, dict[str, str], int]] = [
    ("no api_key", {"service_code": CODE, "address_id": COMMUNITY_A}, 403),
    ("malformed api_key", {"api_key": "secret", "service_code": CODE, "address_id": COMMUNITY_A}, 403),
    (
        "unknown api_key",
        {"api_key": "shq_0123abcd_" + "0" * 48, "service_code": CODE, "address_id": COMMUNITY_A},
        403,
    ),
    ("revoked api_key", {"api_key": "@revoked", "service_code": CODE, "address_id": COMMUNITY_A}, 403),
    ("key without scope", {"api_key": "@noscope", "service_code": CODE, "address_id": COMMUNITY_A}, 403),
    ("no service_code", {"api_key": "@key", "address_id": COMMUNITY_A}, 400),
    ("unknown service_code", {"api_key": "@key", "service_code": "nope", "address_id": COMMUNITY_A}, 404),
    (
        "main type as service",
        {"api_key": "@key", "service_code": "environment", "address_id": COMMUNITY_A},
        404,
    ),
    ("no location", {"api_key": "@key", "service_code": CODE}, 400),
    ("lat without long", {"api_key": "@key", "service_code": CODE, "lat": "28.18"}, 400),
    ("lat not a number", {"api_key": "@key", "service_code": CODE, "lat": "north", "long": "112.9"}, 400),
    ("lat out of range", {"api_key": "@key", "service_code": CODE, "lat": "128", "long": "112.9"}, 400),
    ("point outside China", {"api_key": "@key", "service_code": CODE, "lat": "48.85", "long": "2.35"}, 400),
    ("point is NaN", {"api_key": "@key", "service_code": CODE, "lat": "NaN", "long": "112.9"}, 400),
    ("unknown address_id", {"api_key": "@key", "service_code": CODE, "address_id": "999999"}, 400),
    ("address_id not a place", {"api_key": "@key", "service_code": CODE, "address_id": "x-1"}, 400),
    ("address_id a street", {"api_key": "@key", "service_code": CODE, "address_id": "430104002000"}, 400),
    (
        "unknown attribute",
        {"api_key": "@key", "service_code": CODE, "address_id": COMMUNITY_A, "attribute[colour]": "red"},
        400,
    ),
    (
        "urgency not in the list",
        {"api_key": "@key", "service_code": CODE, "address_id": COMMUNITY_A, "attribute[urgency]": "asap"},
        400,
    ),
    (
        "location_detail too long",
        {
            "api_key": "@key",
            "service_code": CODE,
            "address_id": COMMUNITY_A,
            "attribute[location_detail]": "x" * 101,
        },
        400,
    ),
    (
        "description too long",
        {"api_key": "@key", "service_code": CODE, "address_id": COMMUNITY_A, "description": "长" * 4001},
        400,
    ),
    (
        "bad phone",
        {"api_key": "@key", "service_code": CODE, "address_id": COMMUNITY_A, "phone": "12345"},
        400,
    ),
    (
        "bad email",
        {"api_key": "@key", "service_code": CODE, "address_id": COMMUNITY_A, "email": "not-an-email"},
        400,
    ),
    (
        "media_url not http",
        {"api_key": "@key", "service_code": CODE, "address_id": COMMUNITY_A, "media_url": "javascript:x"},
        400,
    ),
    (
        "name too long",
        {"api_key": "@key", "service_code": CODE, "address_id": COMMUNITY_A, "first_name": "n" * 60},
        400,
    ),
    (
        "wrong jurisdiction",
        {"api_key": "@key", "service_code": CODE, "address_id": COMMUNITY_A, "jurisdiction_id": "other.city"},
        404,
    ),
]


@pytest.mark.parametrize(("why", "data", "expected"), BAD_POSTS, ids=[b[0] for b in BAD_POSTS])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_posts_answer_spec_errors_and_write_nothing(
    world: World, why: str, data: dict[str, str], expected: int, fmt: str
) -> None:
    keys = {
        "@key": lambda: make_key(world, "head_a"),
        "@revoked": lambda: _revoked_key(world),
        "@noscope": lambda: make_key(world, "head_a", ["grid:read"]),
    }
    data = dict(data)
    if data.get("api_key") in keys:
        data["api_key"] = keys[data["api_key"]]()
    before = counts()
    response = post(Client(), fmt, **data)
    if fmt == "json":
        assert response["Content-Type"] == "application/json; charset=utf-8"
        assert_json_errors(response.status_code, json.loads(response.content), expected)
    else:
        assert_xml_errors(response.status_code, parse_xml(response), expected)
    assert counts() == before


def test_several_problems_are_reported_together(world: World) -> None:
    status, body = post_json(
        Client(),
        api_key=make_key(world, "head_a"),
        service_code=CODE,
        address_id=COMMUNITY_A,
        phone="123",
        email="x",
        **{"attribute[urgency]": "asap"},
    )
    assert_json_errors(status, body, 400)
    text = " ".join(e["description"] for e in body)
    assert len(body) == 3 and "urgency" in text and "email" in text and "phone" in text


def test_description_with_extras_must_fit(world: World) -> None:
    before = counts()
    status, body = post_json(
        Client(),
        api_key=make_key(world, "head_a"),
        service_code=CODE,
        address_id=COMMUNITY_A,
        description="长" * 4000,
        media_url="https://photos.example.test/a.jpg",
    )
    assert_json_errors(status, body, 400)
    assert counts() == before


def test_inactive_service_cannot_be_requested(world: World) -> None:
    Category.objects.filter(code=CODE).update(is_active=False)
    status, body = post_json(
        Client(), api_key=make_key(world, "head_a"), service_code=CODE, address_id=COMMUNITY_A
    )
    assert_json_errors(status, body, 404)
    assert not Ticket.objects.exists()


@override_settings(API_RATE="2/min")
def test_posts_are_rate_limited_per_key(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # One fixed window for the whole test: on a slow machine the posts could straddle a minute.
    monkeypatch.setattr(apiauth, "time", SimpleNamespace(time=lambda: 1_800_000_010.0))
    key = make_key(world, "head_a")
    for _i in range(2):
        status, body = post_json(Client(), api_key=key, service_code=CODE, address_id=COMMUNITY_A)
        assert status == 200, body
    before = counts()
    response = post(Client(), api_key=key, service_code=CODE, address_id=COMMUNITY_A)
    assert_json_errors(response.status_code, json.loads(response.content), 429)
    assert int(response["Retry-After"]) >= 1
    assert counts() == before
    # Another key has its own window.
    status, _body = post_json(
        Client(), api_key=make_key(world, "worker_a"), service_code=CODE, address_id=COMMUNITY_A
    )
    assert status == 200


def test_api_key_in_a_post_ignores_the_session(world: World) -> None:
    """A signed-in browser session is no key: the POST still needs api_key (and no CSRF token)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["head_a"])
    status, body = post_json(client, service_code=CODE, address_id=COMMUNITY_A)
    assert_json_errors(status, body, 403)
    status, body = post_json(
        client, api_key=make_key(world, "worker_a"), service_code=CODE, address_id=COMMUNITY_A
    )
    assert status == 200, body
    assert Ticket.objects.get().created_by == world["worker_a"]


def test_an_unreadable_body_is_a_spec_error(world: World) -> None:
    before = counts()
    response = Client().generic(
        "POST",
        BASE + "requests.json",
        b"--x\r\nContent-Disposition: form-data\r\n\r\nbroken",
        content_type="multipart/form-data; boundary=x",
    )
    assert response.status_code in {400, 403}
    assert_json_errors(response.status_code, json.loads(response.content), response.status_code)
    assert counts() == before


POST_FIELDS = [
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "description",
    "phone",
    "email",
    "first_name",
    "last_name",
    "media_url",
    "attribute[urgency]",
    "attribute[location_detail]",
    "attribute[x]",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(st.sampled_from(POST_FIELDS), st.text(max_size=40), max_size=6))
def test_no_post_makes_a_server_error(world: World, data: dict[str, str]) -> None:
    raw = make_key(world, "head_a")  # a key per example: each has its own rate window
    data = {k: v.replace("\x00", "") for k, v in data.items()}
    response = Client().post(BASE + "requests.json", {"api_key": raw, **data})
    assert response.status_code in {200, 400, 403, 404}, response.content
    if response.status_code != 200:
        assert_json_errors(response.status_code, json.loads(response.content), response.status_code)
