"""Open311 GeoReport v2 conformance, field by field, in JSON and XML: discovery, services, service
definitions, GET requests with the spec's filters (90-day default, 1000 cap), GET one request,
tokens, error bodies and codes, datetimes with a zone, and what the public view leaves out."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shequ.conftest import World
from shequ.grid import open311, services
from shequ.grid.models import Category, Source, Status, Ticket
from shequ.grid.tests.conftest import COMMUNITY_A, GRID_A, GRID_B, new_ticket
from shequ.grid.tests.open311_helpers import (
    ATTRIBUTE_FIELDS,
    BASE,
    DATETIME_FIELDS,
    POINT_A,
    REQUEST_FIELDS,
    SERVICE_FIELDS,
    _fresh_rate_windows,  # noqa: F401  (autouse)
    assert_json_errors,
    assert_w3,
    assert_xml_errors,
    building,
    children,
    get_json,
    get_xml,
    house,
    make_key,
    parse_xml,
)

CODE = "environment.noise"


def leaf_codes() -> list[str]:
    return list(
        Category.objects.filter(is_active=True, parent__isnull=False, parent__is_active=True)
        .order_by("parent__sort_order", "parent__code", "sort_order", "code")
        .values_list("code", flat=True)
    )


def submit_open311(world: World, key: str, **data: Any) -> Ticket:
    client = Client()
    response = client.post(BASE + "requests.json", {"service_code": CODE, "api_key": key, **data})
    assert response.status_code == 200, response.content
    return Ticket.objects.get(pk=Ticket.objects.latest("pk").pk)


# --- Discovery -------------------------------------------------------------------------------------


def test_discovery_json(db: None) -> None:
    status, body = get_json(Client(), "discovery.json")
    assert status == 200
    assert list(body) == ["changeset", "contact", "key_service", "endpoints"]
    assert_w3(body["changeset"])
    assert isinstance(body["key_service"], str) and "open311:write" in body["key_service"]
    [endpoint] = body["endpoints"]
    assert list(endpoint) == ["specification", "url", "changeset", "type", "formats"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2/"
    assert endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert_w3(endpoint["changeset"])


def test_discovery_xml(db: None) -> None:
    status, root = get_xml(Client(), "discovery.xml")
    assert status == 200
    assert root.tag == "discovery"
    assert children(root) == ["changeset", "contact", "key_service", "endpoints"]
    endpoints = root.find("endpoints")
    assert endpoints is not None and children(endpoints) == ["endpoint"]
    endpoint = endpoints[0]
    assert children(endpoint) == ["specification", "url", "changeset", "type", "formats"]
    formats = endpoint.find("formats")
    assert formats is not None and [f.tag for f in formats] == ["format", "format"]
    assert [f.text for f in formats] == ["text/xml", "application/json"]
    # The base URL answers with the same document.
    response = Client().get(BASE)
    assert response.status_code == 200 and b"<discovery>" in response.content


# --- Services --------------------------------------------------------------------------------------


def test_services_json_lists_the_active_leaf_categories(db: None) -> None:
    Category.objects.filter(code="environment.greening").update(is_active=False)
    status, body = get_json(Client(), "services.json")
    assert status == 200
    assert [s["service_code"] for s in body] == leaf_codes()
    assert "environment.greening" not in {s["service_code"] for s in body}
    assert "environment" not in {s["service_code"] for s in body}  # main types are groups, not services
    for service in body:
        assert list(service) == SERVICE_FIELDS
        assert service["metadata"] is True
        assert service["type"] == "realtime"
        assert all(isinstance(service[k], str) for k in SERVICE_FIELDS if k != "metadata")
    noise = next(s for s in body if s["service_code"] == CODE)
    category = Category.objects.select_related("parent").get(code=CODE)
    assert noise["service_name"] == category.name_zh == "噪音扰民"
    assert category.parent is not None and noise["group"] == category.parent.name_zh
    assert noise["description"] == category.name
    assert noise["keywords"] == ", ".join(category.keywords.split())


def test_services_xml(db: None) -> None:
    status, root = get_xml(Client(), "services.xml")
    assert status == 200
    assert root.tag == "services"
    assert set(children(root)) == {"service"}
    assert [s.findtext("service_code") for s in root] == leaf_codes()
    for service in root:
        assert children(service) == SERVICE_FIELDS
        assert service.findtext("metadata") == "true"
        assert service.findtext("type") == "realtime"


def test_service_definition_json(db: None) -> None:
    status, body = get_json(Client(), f"services/{CODE}.json")
    assert status == 200
    assert list(body) == ["service_code", "attributes"]
    assert body["service_code"] == CODE
    urgency, detail = body["attributes"]
    assert list(urgency) == ATTRIBUTE_FIELDS
    assert urgency["variable"] is True and urgency["required"] is False
    assert urgency["code"] == "urgency" and urgency["datatype"] == "singlevaluelist"
    assert urgency["order"] == 1
    assert urgency["values"] == [{"key": "normal", "name": "一般"}, {"key": "urgent", "name": "紧急"}]
    assert list(detail) == ATTRIBUTE_FIELDS[:-1]  # a string has no values
    assert detail["code"] == "location_detail" and detail["datatype"] == "string" and detail["order"] == 2
    for attribute in body["attributes"]:
        assert attribute["datatype"] in {
            "string",
            "number",
            "datetime",
            "text",
            "singlevaluelist",
            "multivaluelist",
        }
        assert isinstance(attribute["description"], str) and attribute["description"]


def test_service_definition_xml(db: None) -> None:
    status, root = get_xml(Client(), f"services/{CODE}.xml")
    assert status == 200
    assert root.tag == "service_definition"
    assert children(root) == ["service_code", "attributes"]
    attributes = root.find("attributes")
    assert attributes is not None and children(attributes) == ["attribute", "attribute"]
    urgency = attributes[0]
    assert children(urgency) == ATTRIBUTE_FIELDS
    assert urgency.findtext("variable") == "true" and urgency.findtext("required") == "false"
    assert urgency.findtext("order") == "1"
    values = urgency.find("values")
    assert values is not None and children(values) == ["value", "value"]
    assert [(v.findtext("key"), v.findtext("name")) for v in values] == [
        ("normal", "一般"),
        ("urgent", "紧急"),
    ]
    assert all(children(v) == ["key", "name"] for v in values)


@pytest.mark.parametrize("code", ["nope", "environment", "x" * 60])
def test_unknown_service_is_404_in_both_formats(db: None, code: str) -> None:
    assert_json_errors(*get_json(Client(), f"services/{code}.json"), 404)
    assert_xml_errors(*get_xml(Client(), f"services/{code}.xml"), 404)


# --- GET requests: fields, datetimes, privacy ---------------------------------------------------


@pytest.fixture
def resolved(world: World) -> Ticket:
    """A public ticket, answered by the police with a phone number in the reply, then resolved."""
    t = new_ticket(world, latitude="28.181234", longitude="112.945678", address="3栋101室门口")
    t = services.ticket_accept(actor=world["worker_a"], ticket=t, category="security.public_order")
    t = services.ticket_dispatch(actor=world["worker_a"], ticket=t)
    t = services.ticket_department_accept(actor=world["dept"], ticket=t)
    t = services.ticket_respond(actor=world["dept"], ticket=t, comment="已联系报告人13800001111，民警已到场")
    return t


def test_requests_json_field_by_field(world: World, resolved: Ticket) -> None:
    status, body = get_json(Client(), "requests.json")
    assert status == 200
    [request] = body
    assert list(request) == REQUEST_FIELDS
    assert request["service_request_id"] == resolved.number
    assert isinstance(request["service_request_id"], str)
    assert request["status"] == "open"
    assert request["status_notes"] == "已联系报告人138****1111，民警已到场"
    assert request["service_name"] == "治安隐患"
    assert request["service_code"] == "security.public_order"
    assert request["description"] is None  # public view: the reporter's text stays inside
    assert request["agency_responsible"] == world.department.name
    assert isinstance(request["service_notice"], str)
    for name in DATETIME_FIELDS:
        assert_w3(request[name])
    assert assert_w3(request["requested_datetime"]) == resolved.submitted_at.replace(microsecond=0)
    assert resolved.resolve_due_at is not None
    assert assert_w3(request["expected_datetime"]) == resolved.resolve_due_at.replace(microsecond=0)
    assert request["address"] == "岳麓街道枇杷塘社区第一网格"  # the area, not the door
    assert request["address_id"] == GRID_A
    assert request["zipcode"] is None
    assert request["lat"] == 28.181 and request["long"] == 112.946  # rounded to about 100 m
    assert request["media_url"] is None


def test_requests_xml_field_by_field(world: World, resolved: Ticket) -> None:
    status, root = get_xml(Client(), "requests.xml")
    assert status == 200
    assert root.tag == "service_requests"
    assert children(root) == ["request"]
    request = root[0]
    assert children(request) == REQUEST_FIELDS
    assert request.findtext("service_request_id") == resolved.number
    assert request.findtext("status") == "open"
    assert request.findtext("description") == ""
    assert request.findtext("zipcode") == ""
    assert float(request.findtext("lat") or "") == 28.181
    assert float(request.findtext("long") or "") == 112.946
    for name in DATETIME_FIELDS:
        assert_w3(request.findtext(name))


def test_status_maps_to_open_and_closed(world: World, resolved: Ticket) -> None:
    t = services.ticket_resolve(actor=world["dept"], ticket=resolved, result="已处理，联系电话0731-88881234")
    _s, [request] = get_json(Client(), "requests.json")
    assert request["status"] == "closed"  # resolved: the work is done
    assert request["status_notes"] == "已处理，联系电话0731****1234"
    assert t.status == Status.RESOLVED
    # Submitted, accepted, dispatched, in progress: open.
    fresh = new_ticket(world)
    _s, body = get_json(Client(), "requests.json", service_request_id=fresh.number)
    assert body[0]["status"] == "open" and body[0]["status_notes"] is None
    assert body[0]["agency_responsible"] == "枇杷塘社区"  # no department yet: the community


def test_merged_request_is_closed_with_a_note(world: World) -> None:
    keep = new_ticket(world)
    dup = new_ticket(world)
    services.ticket_merge(actor=world["worker_a"], ticket=dup, into=keep)
    _s, [request] = get_json(Client(), "requests.json", service_request_id=dup.number)
    assert request["status"] == "closed"
    assert keep.number in request["status_notes"]


def test_no_names_or_phones_leave(world: World, resolved: Ticket) -> None:
    new_ticket(world, contact_name="李四", contact_phone="13912340000")
    for fmt in ("json", "xml"):
        content = Client().get(f"{BASE}requests.{fmt}").content.decode()
        for secret in ("李四", "13912340000", "13800001111", "3栋101室", "喝醉了"):
            assert secret not in content


def test_the_submitting_key_sees_its_own_request_in_full(world: World) -> None:
    b = building(world, GRID_A, POINT_A, "桃子湖路1号")
    h = house(b, "101")
    key = make_key(world, "head_a")
    ticket = submit_open311(
        world,
        key,
        address_id=str(h.pk),
        lat="28.180123",
        long="112.940456",
        description="楼上装修 <早上6点> & 周末",
        media_url="https://photos.example.test/a.jpg?x=1&y=2",
        phone="13912345678",
        first_name="明",
        last_name="王",
    )
    _s, [mine] = get_json(Client(), "requests.json", api_key=key)
    assert mine["description"] == ticket.description and mine["description"].startswith(
        "楼上装修 <早上6点> & 周末"
    )
    assert mine["address"] == h.address and mine["address_id"] == str(h.pk)
    assert mine["lat"] == 28.180123 and mine["long"] == 112.940456
    assert mine["media_url"] == "https://photos.example.test/a.jpg?x=1&y=2"
    # XML escapes it and parses back to the same text.
    _s, root = get_xml(Client(), f"requests/{ticket.number}.xml", api_key=key)
    assert root[0].findtext("description") == ticket.description
    assert root[0].findtext("media_url") == "https://photos.example.test/a.jpg?x=1&y=2"
    # Another key, and the public, see the public view; nobody sees the contact.
    for params in ({}, {"api_key": make_key(world, "worker_a")}):
        _s, [public] = get_json(Client(), "requests.json", **params)
        assert public["description"] is None and public["media_url"] is None
        assert public["address"] == "岳麓街道枇杷塘社区第一网格" and public["address_id"] == GRID_A
        assert public["lat"] == 28.18 and public["long"] == 112.94
    for params in ({}, {"api_key": key}):
        content = Client().get(BASE + "requests.json", params).content.decode()
        assert "13912345678" not in content and "王明" not in content


def test_private_categories_are_listed_only_to_their_submitter(world: World) -> None:
    family = new_ticket(world, code="dispute.family")
    key = make_key(world, "head_a")
    own = submit_open311(world, key, service_code="special.mental", address_id=COMMUNITY_A)
    public = new_ticket(world)
    _s, body = get_json(Client(), "requests.json")
    assert [r["service_request_id"] for r in body] == [public.number]
    assert_json_errors(*get_json(Client(), f"requests/{family.number}.json"), 404)
    assert_json_errors(*get_json(Client(), f"requests/{own.number}.json"), 404)
    _s, body = get_json(Client(), "requests.json", api_key=key)
    assert [r["service_request_id"] for r in body] == [public.number, own.number]
    status, [mine] = get_json(Client(), f"requests/{own.number}.json", api_key=key)
    assert status == 200 and mine["service_code"] == "special.mental"


def test_uncategorized_tickets_are_not_listed(world: World) -> None:
    new_ticket(world, category=None)
    _s, body = get_json(Client(), "requests.json")
    assert body == []


def test_xml_drops_characters_xml_cannot_carry(world: World) -> None:
    """Control characters are refused at every entry (core/text.py); a row written before that
    rule may still hold them, and XML cannot carry them."""
    key = make_key(world, "head_a")
    ticket = submit_open311(world, key, address_id=COMMUNITY_A, description="噪音很大")
    Ticket.objects.filter(pk=ticket.pk).update(description="噪音\x07很大\x1b")
    status, root = get_xml(Client(), f"requests/{ticket.number}.xml", api_key=key)
    assert status == 200 and root[0].findtext("description") == "噪音很大"


# --- GET requests: filters ----------------------------------------------------------------------


def _at(world: World, days_ago: float, **extra: Any) -> Ticket:
    return new_ticket(world, submitted_at=timezone.now() - dt.timedelta(days=days_ago), **extra)


def numbers(body: list[dict[str, Any]]) -> list[str]:
    return [r["service_request_id"] for r in body]


def test_default_is_the_last_90_days_newest_first(world: World) -> None:
    old = _at(world, 91)
    recent = _at(world, 89)
    newest = _at(world, 1)
    _s, body = get_json(Client(), "requests.json")
    assert numbers(body) == [newest.number, recent.number]
    # An explicit range reaches further back.
    _s, body = get_json(
        Client(),
        "requests.json",
        start_date=(timezone.now() - dt.timedelta(days=95)).isoformat(),
        end_date=(timezone.now() - dt.timedelta(days=50)).isoformat(),
    )
    assert numbers(body) == [recent.number, old.number]


def test_start_and_end_dates(world: World) -> None:
    t = new_ticket(world, submitted_at=dt.datetime(2026, 5, 10, 9, 0, tzinfo=dt.UTC))  # 17:00 in Changsha
    cases = [
        ({"start_date": "2026-05-10T16:59:59+08:00", "end_date": "2026-05-10T17:00:01+08:00"}, True),
        ({"start_date": "2026-05-10T09:00:01Z", "end_date": "2026-05-11T00:00:00Z"}, False),
        ({"start_date": "2026-05-10", "end_date": "2026-05-11"}, True),  # dates are local midnights
        ({"start_date": "2026-05-10T17:00:01+08:00"}, False),  # start alone: 90 days from it
        ({"start_date": "2026-04-01T00:00:00+08:00"}, True),
        ({"end_date": "2026-05-10T17:00:00+08:00"}, True),  # end alone: 90 days up to it
        ({"end_date": "2026-05-10T16:00:00+08:00"}, False),
    ]
    for params, found in cases:
        status, body = get_json(Client(), "requests.json", **params)
        assert status == 200, (params, body)
        assert numbers(body) == ([t.number] if found else []), params


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "2026-05-10T12:00:00"},  # no zone
        {"start_date": "yesterday"},
        {"end_date": "2026-13-01"},
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},  # > 90 days
        {"start_date": "2026-05-02T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"},  # start after end
        {"status": "pending"},
        {"service_code": "nope"},
        {"service_request_id": "abc"},
        {"jurisdiction_id": "other.city"},
    ],
)
def test_bad_filters_are_spec_errors(db: None, params: dict[str, str]) -> None:
    expected = 404 if "jurisdiction_id" in params else 400
    assert_json_errors(*get_json(Client(), "requests.json", **params), expected)
    assert_xml_errors(*get_xml(Client(), "requests.xml", **params), expected)


def test_jurisdiction_id_of_ours_is_accepted(world: World) -> None:
    t = new_ticket(world)
    with override_settings(OPEN311_JURISDICTION_ID="changsha.yuelu"):
        _s, body = get_json(Client(), "requests.json", jurisdiction_id="changsha.yuelu")
        assert numbers(body) == [t.number]
        assert get_json(Client(), "services.json", jurisdiction_id="hunan.shequ")[0] == 404


def test_status_filter(world: World, resolved: Ticket) -> None:
    services.ticket_resolve(actor=world["dept"], ticket=resolved, result="已处理")
    open_one = new_ticket(world)
    assert numbers(get_json(Client(), "requests.json", status="open")[1]) == [open_one.number]
    assert numbers(get_json(Client(), "requests.json", status="closed")[1]) == [resolved.number]
    assert numbers(get_json(Client(), "requests.json", status="open,closed")[1]) == [
        open_one.number,
        resolved.number,
    ]


def test_service_code_filter(world: World) -> None:
    noise = new_ticket(world, code=CODE)
    order = new_ticket(world)
    assert numbers(get_json(Client(), "requests.json", service_code=CODE)[1]) == [noise.number]
    both = get_json(Client(), "requests.json", service_code=f"{CODE},security.public_order")[1]
    assert numbers(both) == [order.number, noise.number]


def test_service_request_id_list_ignores_the_other_filters(world: World) -> None:
    old = _at(world, 200)
    new = _at(world, 1)
    other = _at(world, 2)
    _s, body = get_json(
        Client(),
        "requests.json",
        service_request_id=f"{old.number},{new.number}",
        status="closed",
        service_code="environment.noise",
    )
    assert numbers(body) == [new.number, old.number]
    assert other.number not in numbers(body)
    # A number whose date part does not match the ticket is no number of ours.
    wrong = "19990101" + new.number[8:]
    assert get_json(Client(), "requests.json", service_request_id=wrong)[1] == []


def test_at_most_1000_results(world: World) -> None:
    first = new_ticket(world)
    now = timezone.now()
    Ticket.objects.bulk_create(
        [
            Ticket(
                source=Source.HOTLINE,
                title="t",
                description="d",
                category=first.category,
                region=first.region,
                region_code=first.region_code,
                supervision_code=COMMUNITY_A,
                submitted_at=now - dt.timedelta(minutes=i + 1),
                updated_at=now,
            )
            for i in range(open311.MAX_RESULTS)
        ]
    )
    _s, body = get_json(Client(), "requests.json")
    assert len(body) == open311.MAX_RESULTS == 1000
    assert body[0]["service_request_id"] == first.number  # the newest first
    _s, root = get_xml(Client(), "requests.xml")
    assert len(root) == 1000


# --- GET one request, tokens ---------------------------------------------------------------------


def test_get_one_request(world: World, resolved: Ticket) -> None:
    status, body = get_json(Client(), f"requests/{resolved.number}.json")
    assert status == 200 and len(body) == 1 and list(body[0]) == REQUEST_FIELDS
    assert body[0]["service_request_id"] == resolved.number
    status, root = get_xml(Client(), f"requests/{resolved.number}.xml")
    assert status == 200 and root.tag == "service_requests" and children(root[0]) == REQUEST_FIELDS


@pytest.mark.parametrize("number", ["19990101000001", "1", "20260101999999"])
def test_unknown_request_is_404(world: World, number: str) -> None:
    new_ticket(world)
    assert_json_errors(*get_json(Client(), f"requests/{number}.json"), 404)
    assert_xml_errors(*get_xml(Client(), f"requests/{number}.xml"), 404)


def test_tokens(world: World) -> None:
    key = make_key(world, "head_a")
    response = Client().post(
        BASE + "requests.json", {"api_key": key, "service_code": CODE, "address_id": COMMUNITY_A}
    )
    token = json.loads(response.content)[0]["token"]
    ticket = Ticket.objects.get()
    status, body = get_json(Client(), f"tokens/{token}.json")
    assert status == 200 and body == [{"service_request_id": ticket.number, "token": token}]
    status, root = get_xml(Client(), f"tokens/{token}.xml")
    assert root.tag == "service_requests" and children(root[0]) == ["service_request_id", "token"]
    assert root[0].findtext("service_request_id") == ticket.number
    hotline = new_ticket(world)
    for unknown in (str(hotline.uid), "00000000-0000-0000-0000-000000000000", "not-a-token"):
        assert_json_errors(*get_json(Client(), f"tokens/{unknown}.json"), 404)
        assert_xml_errors(*get_xml(Client(), f"tokens/{unknown}.xml"), 404)


# --- Errors outside the resources --------------------------------------------------------------


def test_get_with_a_bad_api_key_is_403(world: World) -> None:
    assert_json_errors(*get_json(Client(), "requests.json", api_key="shq_00000000_" + "1" * 48), 403)
    assert_xml_errors(*get_xml(Client(), "services.xml", api_key="nonsense"), 403)


def test_unknown_paths_and_formats_are_404(db: None) -> None:
    for path in ("services.csv", "requests", "nothing.json", "requests/1/x.json"):
        response = Client().get(BASE + path)
        assert response.status_code == 404
    response = Client().get(BASE + "nothing.json")
    assert_json_errors(404, json.loads(response.content), 404)
    _s, root = get_xml(Client(), "services.csv")
    assert_xml_errors(404, root, 404)


def test_methods_not_allowed(world: World) -> None:
    for path in ("services.json", f"services/{CODE}.json", "discovery.json"):
        response = Client().post(BASE + path)
        assert_json_errors(response.status_code, json.loads(response.content), 405)
    response = Client().put(BASE + "requests.xml")
    assert response.status_code == 405 and "POST" in response["Allow"]


def test_datetimes_carry_the_zone_whatever_the_server_time_zone(world: World) -> None:
    t = new_ticket(world, submitted_at=dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC))
    _s, [request] = get_json(Client(), "requests.json", start_date="2026-03-01", end_date="2026-03-03")
    assert request["requested_datetime"] == "2026-03-02T07:30:00+08:00"
    assert request["service_request_id"] == t.number and t.number.startswith("20260302")


def test_point_decimals_are_numbers_in_json(world: World) -> None:
    new_ticket(world, latitude=Decimal("28.1"), longitude=Decimal("112.9"), region=world.regions[GRID_B])
    _s, [request] = get_json(Client(), "requests.json")
    assert isinstance(request["lat"], float) and isinstance(request["long"], float)


def test_numbers_beyond_a_database_key_are_not_found(world: World) -> None:
    huge = "20260101" + "9" * 30
    assert_json_errors(*get_json(Client(), f"requests/{huge}.json"), 404)
    assert_json_errors(*get_json(Client(), "requests.json", service_request_id=huge), 400)


def test_lists_in_filters_are_bounded(db: None) -> None:
    ids = ",".join(["20260101000001"] * 1001)
    assert_json_errors(*get_json(Client(), "requests.json", service_request_id=ids), 400)
    codes = ",".join([CODE] * 201)
    assert_json_errors(*get_json(Client(), "requests.json", service_code=codes), 400)


PARAMS = [
    "service_request_id",
    "service_code",
    "start_date",
    "end_date",
    "status",
    "jurisdiction_id",
    "api_key",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(st.sampled_from(PARAMS), st.text(max_size=60), max_size=4),
    fmt=st.sampled_from(["json", "xml"]),
)
def test_no_query_makes_a_server_error(world: World, params: dict[str, str], fmt: str) -> None:
    params = {k: v.replace("\x00", "") for k, v in params.items()}
    response = Client().get(f"{BASE}requests.{fmt}", params)
    assert response.status_code in {200, 400, 403, 404}
    if response.status_code != 200:
        if fmt == "json":
            assert_json_errors(response.status_code, json.loads(response.content), response.status_code)
        else:
            assert_xml_errors(response.status_code, parse_xml(response), response.status_code)
