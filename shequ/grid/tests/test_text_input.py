"""Text from every entry point of the grid passes the one cleaner (shequ/core/text.py): NUL and
control characters are refused — on the resident's page, in the JSON API, by Open311 and by the
12345 import — and nothing is stored. Runs on PostgreSQL too (NUL cannot even be stored there)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from shequ.conftest import World
from shequ.core.tests.api_helpers import _fresh_rate_limits, bearer, issue
from shequ.grid import hotline, services
from shequ.grid.models import Ticket
from shequ.grid.tests.conftest import GRID_A
from shequ.grid.tests.open311_helpers import (
    BASE,
    POINT_A,
    _fresh_rate_windows,  # noqa: F401  (autouse)
    assert_json_errors,
    assert_xml_errors,
    building,
    make_key,
    parse_xml,
)

__all__ = ["_fresh_rate_limits"]
pytestmark = pytest.mark.django_db
NUL_TEXT = "楼道里堆满杂物\x00，请尽快清理"


def test_open311_refuses_nul_and_control_characters(world: World) -> None:
    key = make_key(world, "head_a")
    building(world, GRID_A, POINT_A, "岳麓区桃子湖路1号")
    for text in (NUL_TEXT, "楼道\x1b[31m堆物"):
        data: dict[str, Any] = {
            "api_key": key,
            "service_code": "environment.garbage",
            "lat": str(POINT_A[0]),
            "long": str(POINT_A[1]),
            "description": text,
        }
        response = Client().post(f"{BASE}requests.json", data)
        assert_json_errors(response.status_code, json.loads(response.content), 400)
        assert "description" in response.content.decode()
        xml = Client().post(f"{BASE}requests.xml", data)
        assert_xml_errors(xml.status_code, parse_xml(xml), 400)
    assert not Ticket.objects.exists()


def test_resident_page_refuses_control_characters(world: World) -> None:
    client = Client()
    client.force_login(world["resident"])
    response = client.post(
        reverse("grid:report"), {"description": "门口垃圾\x07三天没人清运", "region": GRID_A}
    )
    assert response.status_code == 400
    assert "U+0007" in response.content.decode()
    assert not Ticket.objects.exists()


def test_api_refuses_nul(world: World) -> None:
    token = issue(world, "grid_a")
    body = {"title": "楼道堆物", "description": NUL_TEXT, "region_code": GRID_A}
    response = Client().post(
        "/api/v1/grid/tickets", json.dumps(body), content_type="application/json", **bearer(token)
    )
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    assert not Ticket.objects.exists()


def test_services_refuse_control_characters_whoever_calls(world: World) -> None:
    """The hotline import and every page step write through the services, which refuse the same."""
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        services.ticket_submit(
            actor=world["grid_a"],
            source="patrol",
            region=world.regions[GRID_A],
            title="楼道堆物",
            description=NUL_TEXT,
        )
    assert "description" in caught.value.error_dict
    assert not Ticket.objects.exists()


def test_hotline_import_reports_control_characters_and_keeps_the_text_as_written(world: World) -> None:
    header = "工单编号,来电时间,来电人,诉求内容,所属社区\n"
    rows = (
        'GD-1,2026-03-01 09:00,张三,"楼道堆物\x07请清理",枇杷塘社区\n'
        'GD-2,2026-03-01 10:00,"李\n四","入户看望，老人独居；\n需送米面油（两袋）",枇杷塘社区\n'
    )
    plan = hotline.check(content=(header + rows).encode(), filename="12345.csv", actor=world["head_a"])
    problems = [(p.row, p.column, p.code) for p in plan.report.problems]
    assert problems == [(2, "诉求内容", "control_character")]
    (row,) = plan.rows
    assert row.description == "入户看望，老人独居；\n需送米面油（两袋）"
    assert row.contact_name == "李 四"  # a one-line field: the cell's line break folded
