"""Bulk device registration from real Excel files: every row checked (row, column, reason), nothing
written before the commit, the valid rows registered together, their tokens downloaded once."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from openpyxl import Workbook, load_workbook

from shequ.core.models import AuditEntry
from shequ.iot.models import Device
from shequ.iot.services import imports
from shequ.iot.services.devices import token_hash
from shequ.iot.tests.access_world import Estate

pytestmark = pytest.mark.django_db

HEADER = [
    "序号",
    "设备编码",
    "名称",
    "类型",
    "厂商",
    "型号",
    "序列号",
    "网格/社区代码",
    "楼栋/门牌",
    "经度",
    "纬度",
    "位置说明",
    "禁停区",
]


def workbook(rows: list[list[Any]], *, title: str = "枇杷塘社区物联设备登记表") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append([title])
    ws.append(HEADER)
    for i, row in enumerate(rows, start=1):
        ws.append([i, *row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def good_rows(e: Estate) -> list[list[Any]]:
    house = e.reg.houses["a"][0]
    return [
        [
            "door-101",
            "3栋2单元门禁",
            "门禁控制器",
            "海康威视",
            "DS-K1T671",
            "SN0001",
            "430104002001001",
            house.address,
            112.94,
            28.17,
            "单元门",
            "否",
        ],
        ["gate-101", "北门道闸", "道闸", "捷顺", "", "000123", "430104002001", "", "", "", "北门", "是"],
        ["smoke-101", "烟感", "smoke", "海湾", "JTY", "SN0003", "430104002001002", "", "", "", "", ""],
    ]


def upload(client: Client, content: bytes, name: str = "设备.xlsx") -> str:
    response = client.post("/iot/devices/import/", {"file": _file(content, name)})
    assert response.status_code == 302, response.content.decode()[:500]
    return str(response["Location"]).rstrip("/").rsplit("/", 1)[-1]


def _file(content: bytes, name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_valid_file_registers_all_and_hands_out_the_tokens_once(estate: Estate, client: Client) -> None:
    client.force_login(estate.world["worker_a"])
    token = upload(client, workbook(good_rows(estate)))
    report = client.get(f"/iot/devices/import/{token}/")
    assert report.status_code == 200 and "导入 3 行有效数据" in report.content.decode()
    assert not Device.objects.filter(code__endswith="-101").exists()  # the check writes nothing
    done = client.post(f"/iot/devices/import/{token}/commit/", {"expect": "3"})
    assert done.status_code == 200 and done["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(done.content)).active
    tokens = {
        row[0]: row[2] for row in sheet.iter_rows(values_only=True) if row[0] and str(row[0]).endswith("-101")
    }
    assert set(tokens) == {"door-101", "gate-101", "smoke-101"}
    door = Device.objects.get(code="door-101")
    assert door.token_hash == token_hash(tokens["door-101"]) and tokens["door-101"] not in door.token_hash
    assert (door.kind, door.house, door.region_code) == ("door", estate.reg.houses["a"][0], "430104002001001")
    assert str(door.latitude) == "28.170000"
    gate = Device.objects.get(code="gate-101")
    assert (gate.kind, gate.serial, gate.no_parking, gate.region_code) == (
        "gate",
        "000123",
        True,
        "430104002001",
    )
    assert Device.objects.get(code="smoke-101").kind == "smoke"
    # One audit entry for the batch, not one per device.
    batch = AuditEntry.objects.get(action="iot.device_import")
    assert batch.detail["actions"] == {"iot.device_register": 3}
    assert not AuditEntry.objects.filter(
        action="iot.device_register", actor_id=estate.world["worker_a"].pk
    ).exists()
    # The tokens are not offered again; a second commit does nothing.
    again = client.post(f"/iot/devices/import/{token}/commit/", {"expect": "3"})
    assert again.status_code == 302
    assert "已登记 3 台设备" in client.get(f"/iot/devices/import/{token}/").content.decode()
    assert Device.objects.filter(code__endswith="-101").count() == 3


def test_every_problem_is_reported_by_row_and_column(estate: Estate) -> None:
    from shequ.iot.tests.conftest import register

    register(estate.world, "old-1", "door")
    rows = [
        *good_rows(estate),
        [
            "door-101",
            "重复编码",
            "门禁控制器",
            "海康威视",
            "",
            "SN0009",
            "430104002001001",
            "",
            "",
            "",
            "",
            "",
        ],
        ["bad code!", "", "冰箱", "", "", "", "430104002003001", "无此地址", "abc", "95", "", "也许"],
        ["old-1", "已登记", "门禁控制器", "海康威视", "", "SN-old-1", "430104002001001", "", "", "", "", ""],
        ["x-2", "外社区", "道闸", "捷顺", "", "S2", "430104003001", "", "", "", "", ""],
    ]
    plan = imports.check(content=workbook(rows), filename="设备.xlsx", actor=estate.world["worker_a"])
    report = plan.report
    assert report.header_rows == [2] and report.data_rows == 7
    by_row: dict[int, set[str]] = {}
    for p in report.problems:
        by_row.setdefault(p.row or 0, set()).add(p.column)
    # Row 3 (door-101) and row 6 share a code: both refused.
    assert by_row[3] == {"设备编码"} and "设备编码" in by_row[6]
    assert by_row[7] >= {
        "设备编码",
        "名称",
        "类型",
        "厂商",
        "序列号",
        "网格/社区代码",
        "经度",
        "纬度",
        "禁停区",
    }
    assert by_row[8] == {"设备编码", "序列号"}  # already registered
    assert by_row[9] == {"网格/社区代码"}  # outside worker_a's community
    reasons = " ".join(p.reason for p in report.problems)
    assert "不在您的管辖区域" in reasons or "超出" in reasons
    assert report.valid_count == 2  # gate-101 and smoke-101
    assert not Device.objects.filter(code__in=["gate-101", "smoke-101", "x-2"]).exists()


def test_a_file_without_the_columns_is_refused(estate: Estate) -> None:
    wb = Workbook()
    wb.active.append(["姓名", "电话"])
    wb.active.append(["张三", "13800000000"])
    out = io.BytesIO()
    wb.save(out)
    plan = imports.check(content=out.getvalue(), filename="x.xlsx", actor=estate.world["head_a"])
    assert not plan.report.ok and plan.report.valid_count == 0
    assert imports.check(
        content=b"not a spreadsheet \x00\x01", filename="x.xlsx", actor=estate.world["head_a"]
    ).report.problems


def test_template_reads_back_with_its_example_skipped(estate: Estate, client: Client) -> None:
    client.force_login(estate.world["head_a"])
    response = client.get("/iot/devices/import/template.xlsx")
    assert response.status_code == 200
    plan = imports.check(content=response.content, filename="t.xlsx", actor=estate.world["head_a"])
    assert plan.report.ok and plan.report.data_rows == 0
    assert [s["why"] for s in plan.report.skipped] == ["example"]


def test_commit_is_all_or_nothing_when_the_file_changed_meanwhile(estate: Estate, client: Client) -> None:
    from shequ.iot.tests.conftest import register

    client.force_login(estate.world["head_a"])
    token = upload(client, workbook(good_rows(estate)))
    register(estate.world, "gate-101", "gate")  # someone registered one of them after the check
    response = client.post(f"/iot/devices/import/{token}/commit/", {"expect": "3"})
    assert response.status_code == 302
    assert not Device.objects.filter(code__in=["door-101", "smoke-101"]).exists()


def test_uploads_are_their_uploaders_only(estate: Estate, client: Client) -> None:
    client.force_login(estate.world["head_a"])
    token = upload(client, workbook(good_rows(estate)))
    client.force_login(estate.world["worker_a"])
    assert client.get(f"/iot/devices/import/{token}/").status_code == 404
    assert client.post(f"/iot/devices/import/{token}/commit/", {"expect": "3"}).status_code == 404
    client.force_login(estate.world["grid_a"])  # no iot.manage
    assert client.get("/iot/devices/import/").status_code == 403
    assert not Device.objects.filter(code__endswith="-101").exists()


# --- Owning organization and key place ----------------------------------------------------------

OWNER_HEADER = [*HEADER, "物业/所属单位", "重点场所"]


def owner_workbook(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(OWNER_HEADER)
    for i, row in enumerate(rows, start=1):
        ws.append([i, *row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def places(e: Estate) -> dict[str, Any]:
    from shequ.registry.services.organizations import key_place_create, organization_create

    return {
        "owner": organization_create(
            actor=None,
            data={"name": "麓山物业公司", "type": "enterprise"},
            region=e.reg.region("430104002001001"),
        ),
        "market": key_place_create(
            actor=None,
            data={"name": "麓山农贸市场", "kind": "market", "risk_level": "medium"},
            region=e.reg.region("430104002001002"),
        ),
        "sibling": organization_create(
            actor=None,
            data={"name": "桃子湖物业", "type": "enterprise"},
            region=e.reg.region("430104002003001"),
        ),
    }


def owner_row(code: str, region: str, owner: str, place: str = "") -> list[Any]:
    return [
        code,
        "市场燃气",
        "燃气探测器",
        "汉威",
        "",
        f"SN-{code}",
        region,
        "",
        "",
        "",
        "",
        "否",
        owner,
        place,
    ]


def test_owner_and_key_place_are_imported_by_name_in_the_community(estate: Estate, client: Client) -> None:
    made = places(estate)
    client.force_login(estate.world["worker_a"])
    token = upload(
        client, owner_workbook([owner_row("gas-201", "430104002001001", "麓山物业公司", "麓山农贸市场")])
    )
    done = client.post(f"/iot/devices/import/{token}/commit/", {"expect": "1"})
    assert done.status_code == 200
    gas = Device.objects.get(code="gas-201")
    assert (gas.organization, gas.key_place) == (made["owner"], made["market"])


@pytest.mark.parametrize("persona", ["worker_a", "street"])
def test_a_sibling_communitys_organization_is_refused_by_row_and_column(estate: Estate, persona: str) -> None:
    places(estate)
    rows = [
        owner_row("gas-201", "430104002001001", "麓山物业公司", "麓山农贸市场"),
        owner_row("gas-202", "430104002001001", "桃子湖物业"),  # community B's property company
        owner_row("gas-203", "430104002001001", "", "无此市场"),
    ]
    report = imports.check(
        content=owner_workbook(rows), filename="设备.xlsx", actor=estate.world[persona]
    ).report
    found = {(p.row, p.column): p.reason for p in report.problems}
    assert set(found) == {(3, "物业/所属单位"), (4, "重点场所")}, found
    words = found[(3, "物业/所属单位")]
    if persona == "street":  # sees both communities: told where the name belongs
        assert "430104002003" in words and "另一个社区" in words
    else:
        assert "430104002001" in words
    assert report.valid_count == 1
    assert not Device.objects.filter(code__startswith="gas-20").exists()


def test_the_template_offers_the_owner_and_key_place_columns(estate: Estate, client: Client) -> None:
    client.force_login(estate.world["head_a"])
    sheet = load_workbook(io.BytesIO(client.get("/iot/devices/import/template.xlsx").content)).active
    headers = {str(c) for row in sheet.iter_rows(values_only=True) for c in row if c}
    assert {"物业/所属单位", "重点场所"} <= headers
