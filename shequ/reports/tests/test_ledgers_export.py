"""Ledger exports: the official layout (title, info row, 序号 and the ledger's columns, signature
line), masked unless the exporter may reveal and gives a reason (audited as a reveal), capped,
watermarked with who and when, audited as ``reports.ledger_export``, scoped, and the restricted
ledger exported only with a grant."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import unquote

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from shequ.core.excel import XLSX_CONTENT_TYPE
from shequ.core.models import AuditEntry, AuditResult, User
from shequ.registry import services
from shequ.registry.models import Person
from shequ.registry.tests.conftest import (
    COMMUNITY_A,
    COMMUNITY_B,
    GRID_A,
    Registry,
)
from shequ.registry.tests.test_tags import grant


def export_url(key: str) -> str:
    return reverse("reports:ledger_export", args=[key])


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def client_for(user: User) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def elderly(reg: Registry) -> dict[str, Person]:
    people = {
        "a1": reg.register("赵一", reg.houses["a"][1], birth="19400101", phone="13911110001"),
        "a2": reg.register("钱二", reg.houses["a"][2], birth="19350505", phone="13911110002"),
        "b": reg.register("孙三", reg.houses["b"][1], birth="19420202", phone="13911110003"),
        "c": reg.register("李四", reg.houses["c"][1], birth="19300303", phone="13911110004"),
    }
    return people


def sheet(response: Any) -> Worksheet:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    ws = load_workbook(io.BytesIO(response.content)).active
    assert ws is not None
    return ws


def values(ws: Worksheet) -> list[list[Any]]:
    return [[c.value for c in row] for row in ws.iter_rows()]


def exports() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="reports.ledger_export").order_by("id"))


PERSON_HEADER = [
    "No.",
    "Name",
    "Sex",
    "Date of birth",
    "Age",
    "ID number",
    "Phone",
    "Address",
    "Grid",
    "Notes",
]


def test_masked_export_in_the_official_layout(reg: Registry, elderly: dict[str, Person]) -> None:
    head = reg.world["head_a"]
    response = client_for(head).post(export_url("elderly_80"), {"as_of": "2025-06-15"})
    ws = sheet(response)
    rows = values(ws)
    assert rows[0][0] == "岳麓街道枇杷塘社区: Register of the oldest old aged 80 and over"
    info = rows[1][0]
    assert (
        "As of: 2025-06-15" in info
        and "Exported by: head_a at " in info
        and "Unit: 岳麓街道枇杷塘社区" in info
    )
    assert rows[2] == PERSON_HEADER
    data = rows[3:6]
    assert [r[0] for r in data] == [1, 2, 3]
    by_name = {r[1]: r for r in data}
    assert set(by_name) == {"赵一", "钱二", "孙三"}  # not 李四 of the sibling community
    a1 = elderly["a1"]
    assert by_name["赵一"][2:8] == [
        "Male",
        by_name["赵一"][3],
        85,
        a1.masked_id_number,
        "139****0001",
        a1.house.address,  # type: ignore[union-attr]
    ]
    assert by_name["赵一"][3].date() == date(1940, 1, 1) and by_name["赵一"][8] == "第一网格"
    assert ws["F4"].number_format == "@"  # ID numbers stay text
    tail = [r[0] for r in rows[6:] if r[0]]
    assert tail == [
        "Total: 3",
        "ID and phone numbers are masked.",
        "Filled in by:                Checked by:                Date filled in:",
    ]
    assert "head_a" in ws.oddFooter.center.text
    assert "13911110001" not in response.content.decode("latin-1")
    disposition = unquote(response["Content-Disposition"])
    assert disposition.startswith('attachment; filename="ledger-elderly_80-20250615.xlsx"')
    assert "岳麓街道枇杷塘社区Register of the oldest old aged 80 and over-20250615.xlsx" in disposition
    (entry,) = exports()
    assert (
        entry.actor_id == head.pk and entry.object_id == "elderly_80" and entry.result == AuditResult.SUCCESS
    )
    assert entry.detail == {
        "ledger": "elderly_80",
        "filters": {"region": "", "as_of": "2025-06-15"},
        "rows": 3,
        "full": False,
    }
    assert entry.region_code == COMMUNITY_A and entry.fields == []
    assert not AuditEntry.objects.filter(action="personal.reveal").exists()


def test_region_filter_in_title_and_rows(reg: Registry, elderly: dict[str, Person]) -> None:
    response = client_for(reg.world["head_a"]).post(export_url("elderly_80"), {"region": GRID_A})
    rows = values(sheet(response))
    assert rows[0][0].startswith("岳麓街道枇杷塘社区第一网格: Register")
    assert {r[1] for r in rows[3:5]} == {"赵一", "钱二"} and rows[5][0] is None
    assert exports()[0].detail["filters"]["region"] == GRID_A and exports()[0].region_code == GRID_A


def test_export_outside_scope_is_refused(reg: Registry, elderly: dict[str, Person]) -> None:
    response = client_for(reg.world["head_a"]).post(export_url("elderly_80"), {"region": COMMUNITY_B})
    assert response.status_code == 400 and "Choose a region within your area." in response.content.decode()
    assert exports() == []


@pytest.mark.parametrize("persona", ["dept", "resident"])
def test_export_needs_the_export_permission(reg: Registry, elderly: dict[str, Person], persona: str) -> None:
    response = client_for(reg.world[persona]).post(export_url("elderly_80"))
    assert response.status_code == 403
    if persona == "dept":  # the resident cannot even see the ledger (refused before the export)
        (entry,) = exports()
        assert entry.result == AuditResult.DENIED and entry.detail["why"] == "no export permission"
    else:
        assert exports() == []


@pytest.mark.parametrize(
    ("persona", "names"), [("worker_a", {"赵一", "钱二", "孙三"}), ("grid_a", {"赵一", "钱二"})]
)
def test_workers_export_masked_workbooks(
    reg: Registry, elderly: dict[str, Person], persona: str, names: set[str]
) -> None:
    response = client_for(reg.world[persona]).post(export_url("elderly_80"))
    ws = sheet(response)
    rows = values(ws)
    by_name = {r[1]: r for r in rows[3 : 3 + len(names)]}
    assert set(by_name) == names
    assert by_name["赵一"][5] == elderly["a1"].masked_id_number != elderly["a1"].id_number
    assert by_name["赵一"][6] == "139****0001"
    assert "ID and phone numbers are masked." in [r[0] for r in rows]
    assert b"13911110001" not in response.content
    (entry,) = exports()
    assert entry.result == AuditResult.SUCCESS and entry.actor_id == reg.world[persona].pk
    assert entry.detail["full"] is False and entry.fields == []
    assert not AuditEntry.objects.filter(action="personal.reveal").exists()


def test_workers_may_not_ask_for_full_numbers(reg: Registry, elderly: dict[str, Person]) -> None:
    response = client_for(reg.world["worker_a"]).post(
        export_url("elderly_80"), {"full": "on", "reason": "核对"}
    )
    assert response.status_code == 403
    denied = AuditEntry.objects.get(action="personal.reveal")
    assert denied.result == AuditResult.DENIED and denied.actor_id == reg.world["worker_a"].pk
    assert exports() == []


@pytest.mark.parametrize("persona", ["head_b", "grid_b"])
def test_sibling_region_users_are_refused(reg: Registry, elderly: dict[str, Person], persona: str) -> None:
    # head_b's community is a sibling of community A; grid_b's grid a sibling of grid A.
    target = COMMUNITY_A if persona == "head_b" else GRID_A
    response = client_for(reg.world[persona]).post(export_url("elderly_80"), {"region": target})
    assert response.status_code == 400 and "Choose a region within your area." in response.content.decode()
    assert exports() == [] and not AuditEntry.objects.filter(action="personal.reveal").exists()
    # Without a region they get their own area only.
    rows = values(sheet(client_for(reg.world[persona]).post(export_url("elderly_80"))))
    expected = {"李四"} if persona == "head_b" else {"孙三"}
    assert {r[1] for r in rows[3:] if r[0] and isinstance(r[0], int)} == expected


def test_reason_field_and_rights_are_in_chinese(reg: Registry, elderly: dict[str, Person]) -> None:
    with translation.override("zh-hans"):
        head = Client(headers={"Accept-Language": "zh-hans"})
        head.force_login(reg.world["head_a"])
        body = head.get(reverse("reports:ledger", args=["elderly_80"])).content.decode()
        assert "Why you need the full numbers" not in body and "需要完整号码的理由" in body
        worker = Client(headers={"Accept-Language": "zh-hans"})
        worker.force_login(reg.world["worker_a"])
        body = worker.get(reverse("reports:ledger", args=["elderly_80"])).content.decode()
        assert "导出的身份证号和手机号已打码；需要完整号码请联系社区书记/主任" in body
        refused = head.post(export_url("elderly_80"), {"full": "on", "reason": ""})
        assert (
            refused.status_code == 400
            and "请说明需要完整证件号码和电话号码的理由" in refused.content.decode()
        )
    assert exports() == []


def test_export_is_post_only(reg: Registry) -> None:
    assert client_for(reg.world["head_a"]).get(export_url("elderly_80")).status_code == 405


def test_full_values_need_a_reason_and_are_audited_as_a_reveal(
    reg: Registry, elderly: dict[str, Person]
) -> None:
    client = client_for(reg.world["head_a"])
    refused = client.post(export_url("elderly_80"), {"full": "on", "reason": "  "})
    assert refused.status_code == 400
    assert "Say why you need the full ID and phone numbers." in refused.content.decode()
    assert exports() == [] and not AuditEntry.objects.filter(action="personal.reveal").exists()
    response = client.post(export_url("elderly_80"), {"full": "on", "reason": "高龄补贴发放核对"})
    rows = values(sheet(response))
    by_name = {r[1]: r for r in rows[3:6]}
    assert by_name["赵一"][5] == elderly["a1"].id_number and by_name["赵一"][6] == "13911110001"
    assert "ID and phone numbers are masked." not in [r[0] for r in rows]
    reveal = AuditEntry.objects.get(action="personal.reveal")
    assert reveal.reason == "高龄补贴发放核对" and reveal.fields == ["id_number", "phone"]
    assert reveal.object_type == "reports.ledger" and reveal.detail["rows"] == 3
    (entry,) = exports()
    assert entry.detail["full"] is True and entry.fields == ["id_number", "phone"]
    assert entry.reason == "高龄补贴发放核对"


def test_full_values_without_the_reveal_grant_are_refused(reg: Registry, elderly: dict[str, Person]) -> None:
    # The street officer may export but holds no reveal permission.
    response = client_for(reg.world["street"]).post(
        export_url("elderly_80"), {"full": "on", "reason": "核对"}
    )
    assert response.status_code == 403
    denied = AuditEntry.objects.get(action="personal.reveal")
    assert denied.result == AuditResult.DENIED and denied.actor_id == reg.world["street"].pk
    assert exports() == []
    # Masked, the same officer exports the whole street.
    rows = values(sheet(client_for(reg.world["street"]).post(export_url("elderly_80"))))
    assert rows[0][0].startswith("岳麓街道: Register")
    assert {r[1] for r in rows[3:7]} == {"赵一", "钱二", "孙三", "李四"}


def test_exports_are_capped(reg: Registry, elderly: dict[str, Person], settings: Any) -> None:
    settings.LEDGER_EXPORT_MAX_ROWS = 2
    response = client_for(reg.world["head_a"]).post(export_url("elderly_80"))
    assert response.status_code == 400
    assert "This ledger has 3 rows; an export holds at most 2." in response.content.decode()
    (entry,) = exports()
    assert entry.result == AuditResult.DENIED and entry.detail["rows"] == 3 and entry.detail["limit"] == 2
    ok = client_for(reg.world["head_a"]).post(export_url("elderly_80"), {"region": GRID_A})
    assert sheet(ok)["A6"].value is None  # two rows fit


def test_restricted_export_only_with_a_grant_and_audited(reg: Registry) -> None:
    person = reg.people["a"]
    grant(reg, "head_a", region=COMMUNITY_A, category="community_correction")
    services.tag_add(actor=None, person=person, category="community_correction", valid_from="2020-01-01")
    assert client_for(reg.world["worker_a"]).post(export_url("special_populations")).status_code == 404
    assert client_for(reg.world["street"]).post(export_url("special_populations")).status_code == 404
    assert not AuditEntry.objects.filter(action="registry.tag_view").exists()
    response = client_for(reg.world["head_a"]).post(export_url("special_populations"))
    rows = values(sheet(response))
    assert rows[2] == [*PERSON_HEADER[:8], "Group", "Since", "Grid", "Notes"]
    assert rows[3][1] == "张三" and rows[3][8] == "Under community correction"
    view = AuditEntry.objects.get(action="registry.tag_view")
    assert (
        view.detail["people"] == [person.pk] and view.detail["context"] == "ledger_export:special_populations"
    )
    assert view.fields == ["community_correction"] and view.actor_id == reg.world["head_a"].pk
    assert exports()[0].detail["rows"] == 1


@pytest.mark.parametrize(
    ("key", "header"),
    [
        (
            "low_income",
            [
                "No.",
                "Head of household",
                "Sex",
                "ID number",
                "Phone",
                "Address",
                "Household size",
                "Members receiving",
                "Receiving members",
                "Grid",
                "Notes",
            ],
        ),
        (
            "rented_houses",
            [
                "No.",
                "Address",
                "Floor area (m²)",
                "Property right",
                "Owner",
                "Owner's phone",
                "Tenants",
                "Tenants' ID numbers",
                "Tenants' phones",
                "Number of tenants",
                "Rented since",
                "Grid",
                "Notes",
            ],
        ),
        (
            "organizations",
            [
                "No.",
                "Name of the organization",
                "Unified social credit code",
                "Type",
                "Industry",
                "Address",
                "Legal representative",
                "Contact person",
                "Contact phone",
                "Staff",
                "Status",
                "Grid",
                "Notes",
            ],
        ),
    ],
)
def test_other_ledgers_export_with_their_columns(reg: Registry, key: str, header: list[str]) -> None:
    rows = values(sheet(client_for(reg.world["head_a"]).post(export_url(key))))
    assert rows[2] == header
    assert rows[4][0] == "Total: 0"


def test_multiline_cells_wrap(reg: Registry) -> None:
    from shequ.registry.models import ResidenceRelation

    house = reg.houses["a"][2]
    for name in ("租客甲", "租客乙"):
        data = {"name": name, "id_number": reg.next_id()}
        services.person_register(actor=None, data=data, house=house, relation=ResidenceRelation.TENANT)
    ws = sheet(client_for(reg.world["head_a"]).post(export_url("rented_houses")))
    assert ws["G4"].value == "租客甲\n租客乙" and ws["G4"].alignment.wrap_text
