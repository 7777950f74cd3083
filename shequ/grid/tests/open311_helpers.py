"""Helpers of the Open311 suites: keys, registry places, a client that parses JSON and XML."""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from shequ.conftest import World
from shequ.core import apiauth
from shequ.core.models import OutboxTask
from shequ.grid.models import Attachment, Ticket, TicketAction
from shequ.registry.models import Building, House

BASE = "/open311/v2/"

# The spec's fields, in the spec's order.
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
ATTRIBUTE_FIELDS = [
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
]
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
CREATED_FIELDS = ["service_request_id", "token", "service_notice", "account_id"]
DATETIME_FIELDS = ["requested_datetime", "updated_datetime", "expected_datetime"]
W3_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")

# Points near the registry buildings made by ``places`` (Changsha, Yuelu).
POINT_A = (Decimal("28.180000"), Decimal("112.940000"))  # grid A of community A
POINT_A2 = (Decimal("28.190000"), Decimal("112.950000"))  # grid B of community A
POINT_B = (Decimal("28.200000"), Decimal("112.960000"))  # community B


@pytest.fixture(autouse=True)
def _fresh_rate_windows() -> Iterator[None]:
    cache.clear()  # rate-limit windows are keyed by token id, which a rolled-back test reuses
    yield
    cache.clear()


def make_key(world: World, persona: str, scopes: list[str] | None = None) -> str:
    _token, raw = apiauth.token_create(
        actor=None,
        user=world[persona],
        name=f"open311 {persona}",
        scopes=scopes or ["open311:write"],
        expires_at=timezone.now() + dt.timedelta(days=30),
    )
    return raw


def building(world: World, code: str, point: tuple[Decimal, Decimal], address: str) -> Building:
    return Building.objects.create(
        region=world.regions[code],
        region_code=code,
        latitude=point[0],
        longitude=point[1],
        address=address,
    )


def house(b: Building, number: str) -> House:
    return House.objects.create(
        building=b,
        region=b.region,
        region_code=b.region_code,
        number=number,
        address=f"{b.address}{number}室",
    )


def counts() -> dict[str, int]:
    """What a POST may write; a refused one leaves every number unchanged."""
    return {
        "tickets": Ticket.objects.count(),
        "actions": TicketAction.objects.count(),
        "attachments": Attachment.objects.count(),
        "outbox": OutboxTask.objects.count(),
    }


def get_json(client: Client, path: str, **params: Any) -> tuple[int, Any]:
    response = client.get(BASE + path, params)
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return response.status_code, json.loads(response.content)


def get_xml(client: Client, path: str, **params: Any) -> tuple[int, ET.Element]:
    response = client.get(BASE + path, params)
    return response.status_code, parse_xml(response)


def parse_xml(response: Any) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(response.content)


def children(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def assert_json_errors(status: int, body: Any, expected: int) -> None:
    assert status == expected
    assert isinstance(body, list) and body
    for error in body:
        assert list(error) == ["code", "description"]
        assert error["code"] == expected and isinstance(error["description"], str) and error["description"]


def assert_xml_errors(status: int, root: ET.Element, expected: int) -> None:
    assert status == expected
    assert root.tag == "errors" and len(root) >= 1
    for error in root:
        assert error.tag == "error"
        assert children(error) == ["code", "description"]
        assert error.findtext("code") == str(expected)
        assert error.findtext("description")


def assert_w3(value: Any) -> dt.datetime:
    """A W3C datetime with a zone; ours are in China Standard Time."""
    assert isinstance(value, str) and W3_DATETIME.match(value), value
    parsed = dt.datetime.fromisoformat(value)
    assert parsed.utcoffset() == dt.timedelta(hours=8)
    return parsed
