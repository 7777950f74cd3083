"""The 12345 hotline import: a deliberately messy export (title rows, a two-row header with merged
cells, blank and note rows, full-width digits, Excel dates, serial numbers and text dates, masked
and bad phones, unknown and foreign communities, duplicates in the file and on the platform) gets
its exact report; the commit writes every valid row in one transaction or nothing."""

from __future__ import annotations

import datetime as dt
import io
import sys
import types
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation
from openpyxl import Workbook

from shequ.conftest import World
from shequ.core.models import AuditEntry
from shequ.core.spreadsheets import EXCEL_EPOCH
from shequ.grid import hotline, services
from shequ.grid.models import Source, Status, Ticket, TicketAction, Urgency
from shequ.grid.tests.conftest import COMMUNITY_A, GRID_A, new_ticket

pytestmark = pytest.mark.django_db

HEADER_TOP = ["工单编号", "来电信息", "", "", "诉求信息", "", "", "所属社区", "紧急程度", "办理时限", "备注"]
HEADER = [
    "工单编号",
    "来电时间",
    "来电人",
    "联系电话",
    "诉求内容",
    "事发地址",
    "诉求类型",
    "所属社区",
    "紧急程度",
    "办理时限",
    "备注",
]
NOON_SERIAL = (dt.date(2026, 3, 1) - EXCEL_EPOCH).days + 0.5  # 2026-03-01 12:00 as Excel stores it
ROWS: list[list[Any]] = [
    # 5: valid — full-width digits, a date cell, a hierarchical 12345 type, a period deadline
    [
        "２０２６０３０１０００１",
        dt.datetime(2026, 3, 1, 9, 15),
        "张三",
        "13912345678",
        "小区楼下烧烤店每晚营业到凌晨。噪音很大，影响休息",
        "枇杷塘社区5栋",
        "城乡建设-市容环境-噪音扰民",
        "枇杷塘社区",
        "一般",
        "5个工作日",
        "",
    ],
    # 6: valid — a number cell for the work order, an Excel serial time, a masked phone, the
    # community after its street, urgent, a date-time deadline
    [
        20260301002,
        NOON_SERIAL,
        "李四",
        "139****5678",
        "楼道里有很重的煤气味，担心泄漏！",
        "3栋1单元",
        "燃气隐患",
        "岳麓街道枇杷塘社区",
        "紧急",
        dt.datetime(2026, 3, 1, 16, 0),
        "已电话联系",
    ],
    ["", "", "", "", "", "", "", "", "", "", ""],  # 7: blank
    # 8: a call time nobody can read, a community that does not exist
    ["20260301003", "昨天上午", "王五", "13800001111", "路灯坏了", "", "", "不存在社区", "", "", ""],
    # 9 and 10: the same work order twice
    ["20260301004", "2026-03-01 10:00", "", "", "垃圾没人清运", "", "环境卫生", "枇杷塘社区", "", "", ""],
    ["20260301004", "2026/3/1 10:05", "", "", "垃圾还是没人清运", "", "", "枇杷塘社区", "", "", ""],
    # 11: imported before
    ["20260228009", "2026-02-28 18:00", "", "", "夜间施工噪音", "", "噪音扰民", "枇杷塘社区", "", "", ""],
    # 12: a bad phone, the sibling community (not the importer's), an unknown urgency
    ["20260301005", "2026-03-01 11:00", "赵六", "12345", "施工扰民", "", "", "泽盛社区", "很急", "", ""],
    # 13: valid — a full-width text date, the grid by its code, a type no category has
    [
        "20260301006",
        "２０２６年３月１日 １４时３０分",
        "",
        "",
        "小区门口的共享单车乱停乱放，挡住了消防通道",
        "",
        "其它类",
        GRID_A,
        "",
        "3天",
        "",
    ],
    # 14: no work order, a call in the future, no request, a deadline nobody can read
    ["", "2030-01-01 10:00", "", "", "", "", "", "枇杷塘社区", "", "下周", ""],
    ["合计：10件", "", "", "", "", "", "", "", "", "", ""],  # 15: a note row
]


def messy_workbook() -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "工单明细"
    ws.append(["长沙市12345政务服务便民热线工单明细"] + [""] * 10)
    ws.merge_cells("A1:K1")
    ws.append(["导出时间：2026-03-02 08:00"])
    ws.append(HEADER_TOP)
    ws.append(["", *HEADER[1:7], "", "", "", ""])
    for cells in ("A3:A4", "B3:D3", "E3:G3", "H3:H4", "I3:I4", "J3:J4", "K3:K4"):
        ws.merge_cells(cells)
    for row in ROWS:
        ws.append(row)
    ws["B5"].number_format = "yyyy-mm-dd hh:mm"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass
class Suggestion:
    category_code: str
    confidence: float


@pytest.fixture
def classifier(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in classifier that proposes parking for everything."""
    fake = types.SimpleNamespace(suggest=lambda text, k=3: [Suggestion("cityscape.parking", 0.77)][:k])
    monkeypatch.setitem(sys.modules, "shequ.grid.classifier", fake)


def english_check(world: World, content: bytes, filename: str = "工单.xlsx", who: str = "worker_a") -> Any:
    with translation.override("en"):
        return hotline.check(content=content, filename=filename, actor=world[who])


def test_the_messy_export_gets_its_exact_report(world: World, classifier: None) -> None:
    new_ticket(world, external_ref="20260228009")  # a hotline ticket imported before
    plan = english_check(world, messy_workbook())
    report = plan.report
    assert report.file_problems == []
    assert report.sheet == "工单明细" and report.header_rows == [3, 4]  # the merged two-row header
    assert {c["title"]: c["field"] for c in report.columns} == {
        "工单编号": "external_ref",
        "来电时间": "called_at",
        "来电人": "caller",
        "联系电话": "phone",
        "诉求内容": "description",
        "事发地址": "address",
        "诉求类型": "category",
        "所属社区": "community",
        "紧急程度": "urgency",
        "办理时限": "deadline",
        "备注": "",
    }
    assert report.data_rows == 9 and report.blank_rows == 1
    assert report.skipped == [{"row": 15, "why": "note", "text": "合计:10件"}]  # as normalized
    found = [(p.row, p.column_letter, p.column, p.code, p.reason) for p in report.problems]
    assert found == [
        (
            8,
            "B",
            "来电时间",
            "invalid_date",
            "Not a date and time: use for example 2026-03-01 09:15 or 2026年3月1日9时15分.",
        ),
        (8, "H", "所属社区", "unknown_region", "There is no community named “不存在社区” in your area."),
        (9, "A", "工单编号", "duplicate_in_file", "The same work order number is also in row 10."),
        (10, "A", "工单编号", "duplicate_in_file", "The same work order number is also in row 9."),
        (11, "A", "工单编号", "already_imported", "This work order was imported before."),
        (
            12,
            "D",
            "联系电话",
            "invalid_phone",
            "Enter an 11-digit mobile number or a landline with its area code, for example 0731-88881234.",
        ),
        (12, "H", "所属社区", "unknown_region", "There is no community named “泽盛社区” in your area."),
        (12, "I", "紧急程度", "invalid_choice", "Unknown urgency: write 紧急 or 一般."),
        (14, "A", "工单编号", "required", "The work order number is required."),
        (14, "B", "来电时间", "future", "The call time lies in the future."),
        (14, "E", "诉求内容", "required", "The request text is required."),
        (
            14,
            "J",
            "办理时限",
            "invalid_deadline",
            "Not a deadline: give a date and time, or a period such as 5个工作日.",
        ),
    ]
    assert report.error_rows == [8, 9, 10, 11, 12, 14] and report.valid_count == 3
    assert report.plan == {"tickets": 3, "categorised": 2, "suggested": 1, "uncategorised": 0, "urgent": 1}
    first, second, third = plan.rows
    local = timezone.get_current_timezone()
    assert (first.number, first.external_ref, first.region.code) == (5, "202603010001", COMMUNITY_A)
    assert first.submitted_at == dt.datetime(2026, 3, 1, 9, 15, tzinfo=local)
    assert first.category is not None and first.category.code == "environment.noise"
    assert first.title == "小区楼下烧烤店每晚营业到凌晨" and first.urgency == Urgency.NORMAL
    assert first.contact_phone == "13912345678" and first.contact_name == "张三"
    assert first.description.endswith("\n12345 deadline: 5个工作日")
    assert (second.external_ref, second.region.code, second.urgency) == ("20260301002", COMMUNITY_A, "urgent")
    assert second.submitted_at == dt.datetime(2026, 3, 1, 12, 0, tzinfo=local)
    assert second.category is not None and second.category.code == "safety.gas"
    assert second.contact_phone == ""  # masked by the centre: left out
    assert second.description.endswith("\n12345 deadline: 2026-03-01 16:00")
    assert (third.region.code, third.category) == (GRID_A, None)
    assert third.submitted_at == dt.datetime(2026, 3, 1, 14, 30, tzinfo=local)
    assert third.suggested is not None and third.suggested.code == "cityscape.parking"
    assert third.confidence == 0.77
    assert Ticket.objects.count() == 1  # the dry run wrote nothing


def test_the_error_workbook_marks_the_bad_cells(world: World) -> None:
    from openpyxl import load_workbook

    content = messy_workbook()
    plan = english_check(world, content)
    upload = hotline.Upload("0" * 32, "工单.xlsx", content, plan.report, timezone.now())
    with translation.override("en"):
        book = load_workbook(io.BytesIO(hotline.error_workbook(upload=upload, actor=world["worker_a"])))
    bad = book.worksheets[0]
    rows = list(bad.iter_rows(values_only=True))
    numbers = [r[0] for r in rows if isinstance(r[0], int)]
    assert numbers == [8, 9, 10, 12, 14]
    marked = {(c.row, c.column) for row in bad.iter_rows() for c in row if c.comment is not None}
    assert len(marked) == 11  # one cell per problem (nothing was imported before here: row 11 is fine)
    listing = list(book.worksheets[1].iter_rows(values_only=True))
    assert ("12", "H") in {(str(r[0]), r[1]) for r in listing}


def test_a_gbk_csv_with_other_header_names_commits_in_one_go(world: World) -> None:
    text = (
        "12345热线工单（2026年3月）\n"
        "受理编号,受理时间,诉求人,来电号码,问题描述,事发地点,分类,社区,缓急程度\n"
        "GD-0001,2026/3/1 9:15,张三,139 1234 5678,晚上广场舞音响太吵,5栋前坪,噪音扰民,枇杷塘社区,一般\n"
        ",,,,,,,,\n"
        "GD-0002,20260301 101500,李四,,小区里有人私拉电线给电动车充电,7栋,用电隐患,枇杷塘,紧急\n"
    )
    content = text.encode("gb18030")
    plan = english_check(world, content, "hotline.csv")
    assert plan.report.problems == [] and plan.report.header_rows == [2]
    result = hotline.commit(
        content=content,
        filename="hotline.csv",
        actor=world["worker_a"],
        expect=(plan.report.valid_count, plan.report.valid_digest),
    )
    assert result.status == "committed" and len(result.tickets) == 2
    first, second = Ticket.objects.filter(pk__in=result.tickets).order_by("external_ref")
    assert (first.source, first.external_ref, first.status) == (Source.HOTLINE, "GD-0001", Status.SUBMITTED)
    assert first.submitted_at == dt.datetime(2026, 3, 1, 9, 15, tzinfo=timezone.get_current_timezone())
    assert first.category is not None and first.category.code == "environment.noise"
    assert first.contact_phone == "13912345678" and first.masked_contact_phone == "139****5678"
    assert first.created_by is None and first.region.code == COMMUNITY_A
    assert first.title == "晚上广场舞音响太吵"
    assert second.urgency == Urgency.URGENT and second.category is not None
    assert second.category.code == "safety.electrical"
    assert TicketAction.objects.filter(ticket__in=[first, second], action="submit").count() == 2
    assert AuditEntry.objects.filter(action="grid.hotline_import", actor_id=world["worker_a"].pk).count() == 1
    # The tickets' own steps are audited once for the batch, not once per ticket.
    assert not AuditEntry.objects.filter(action="grid.submit", object_id__in=[first.pk, second.pk]).exists()
    part = AuditEntry.objects.get(action="grid.hotline_import_tickets")
    assert part.detail["objects"] == [str(first.pk), str(second.pk)] or part.detail["objects"] == [
        str(second.pk),
        str(first.pk),
    ]
    assert part.detail["actions"]["grid.submit"] == 2 and part.region_code == COMMUNITY_A
    # The same file again: every row was imported before, nothing is written twice.
    again = hotline.commit(content=content, filename="hotline.csv", actor=world["worker_a"])
    assert again.status == "invalid" and Ticket.objects.count() == 2
    assert {p.code for p in again.report.problems} == {"already_imported"}


def test_commit_writes_everything_or_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    content = messy_workbook()
    plan = english_check(world, content)
    expect = (plan.report.valid_count, plan.report.valid_digest)
    real = services.ticket_submit
    calls: list[str] = []

    def fail_on_the_second(**kwargs: Any) -> Ticket:
        calls.append(kwargs["external_ref"])
        if len(calls) == 2:
            raise ValidationError(
                {"external_ref": "A ticket with this external reference was already imported."}
            )
        return real(**kwargs)

    monkeypatch.setattr(hotline.services, "ticket_submit", fail_on_the_second)
    result = hotline.commit(content=content, filename="工单.xlsx", actor=world["worker_a"], expect=expect)
    assert result.status == "changed" and calls == ["202603010001", "20260301002"]
    assert Ticket.objects.count() == 0 and TicketAction.objects.count() == 0
    monkeypatch.setattr(hotline.services, "ticket_submit", real)
    # A work order imported between the check and the commit: the valid rows changed, nothing is written.
    new_ticket(world, external_ref="20260301002")
    result = hotline.commit(content=content, filename="工单.xlsx", actor=world["worker_a"], expect=expect)
    assert result.status == "changed" and Ticket.objects.count() == 1
    # Without the right to import anywhere: refused.
    with pytest.raises(PermissionDenied):
        hotline.check(content=content, filename="工单.xlsx", actor=world["grid_a"])


def test_files_that_cannot_be_imported(world: World) -> None:
    assert [p.code for p in english_check(world, b"").report.problems] == ["empty"]
    no_header = "甲,乙,丙\n1,2,3\n".encode()
    assert [p.code for p in english_check(world, no_header, "x.csv").report.problems] == ["no_header"]
    missing = "工单编号,来电时间,诉求内容\nA1,2026-03-01 10:00,路灯坏了\n".encode()
    problems = english_check(world, missing, "x.csv").report.problems
    assert [(p.code, p.reason) for p in problems] == [
        (
            "missing_column",
            "The file has no “所属社区” column (also recognised: 社区、所属社区(村)、社区(村)、所属村社区).",
        )
    ]


def test_a_street_officer_imports_across_communities(world: World) -> None:
    content = (
        "工单编号,来电时间,诉求内容,所属街道,所属社区\n"
        "S1,2026-03-01 10:00,垃圾满了,岳麓街道,泽盛社区\n"
        "S2,2026-03-01 10:05,路面塌陷,岳麓街道,430104002001\n"
        "S3,2026-03-01 10:10,路灯不亮,,石门楼社区\n"
    ).encode()
    plan = english_check(world, content, "s.csv", who="street")
    assert [(r.external_ref, r.region.code) for r in plan.rows] == [
        ("S1", "430104002003"),
        ("S2", COMMUNITY_A),
    ]
    assert [(p.row, p.code) for p in plan.report.problems] == [(4, "unknown_region")]
