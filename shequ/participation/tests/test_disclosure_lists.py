"""Disclosed lists are masked at entry: the names and ID numbers of a typed list or an imported Excel
file are checked in full (ID checksum, duplicates) and only their masked forms are written — the
table holds no full ID number or full name, nor does the audit log; phone columns are never read;
one bad row names its row, column and reason and nothing is written."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from openpyxl import Workbook

from shequ.core.models import AuditEntry
from shequ.core.personal import mask_name
from shequ.participation.models import DisclosureListRow
from shequ.participation.services.disclosure import items as item_services
from shequ.participation.services.disclosure import lists
from shequ.participation.tests.fixtures_disclosure import Disc, rows_text

pytestmark = pytest.mark.django_db


def test_mask_name() -> None:
    assert mask_name("张三明") == "张*明"
    assert mask_name("李四") == "李*"
    assert mask_name("欧阳小明") == "欧**明"
    assert mask_name("王") == "*"
    assert mask_name("阿依古丽·买买提") == "阿******提"


def xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def every_text_in_table() -> str:
    """Every column of the list table as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM participation_disclosurelistrow")
        return "\n".join(" ".join(str(v) for v in row) for row in cursor.fetchall())


def test_typed_list_is_stored_masked(disc: Disc) -> None:
    item = disc.item(publish=False)
    text, ids = rows_text(disc.reg, 3)
    count, _report = lists.list_paste(actor=disc["worker_a"], item=item, text=text)
    assert count == 3
    rows = list(DisclosureListRow.objects.filter(item=item).order_by("number"))
    assert [r.name_masked for r in rows] == ["张*明", "李*", "欧**明"]
    assert [r.id_masked for r in rows] == [i[:6] + "********" + i[-4:] for i in ids]
    assert [r.amount for r in rows] == [Decimal(650), Decimal(660), Decimal(670)]
    stored = every_text_in_table()
    for full in ids:
        assert full not in stored and full[6:14] not in stored  # not even the birth date
        assert not DisclosureListRow.objects.filter(id_masked=full).exists()
    for name in ("张三明", "欧阳小明"):
        assert name not in stored
    entry = AuditEntry.objects.get(action="participation.disclosure_list")
    assert entry.detail["rows"] == 3 and entry.detail["total"] == "1980"
    assert all(full not in str(entry.detail) for full in ids)


def test_commas_and_spaces_also_work_and_an_empty_box_empties_the_list(disc: Disc) -> None:
    item = disc.item(publish=False)
    a, b = disc.reg.next_id(), disc.reg.next_id()
    lists.list_paste(
        actor=disc["worker_a"], item=item, text=f"张三，{a}，1,200.50\n李四 {b} 300元 因病致贫 重病"
    )
    rows = list(item.rows.order_by("number"))
    assert [(r.amount, r.reason) for r in rows] == [(Decimal("1200.50"), ""), (Decimal(300), "因病致贫 重病")]
    lists.list_paste(actor=disc["worker_a"], item=item, text="  ")
    assert item.rows.count() == 0


def test_excel_import_masks_and_never_reads_phones(disc: Disc) -> None:
    item = disc.item(publish=False)
    full = disc.reg.next_id("19450303")
    as_number = disc.reg.next_id("19520404")
    content = xlsx(
        [
            ["枇杷塘社区2026年11月城乡低保发放名单"],
            ["制表单位：枇杷塘社区居委会"],
            ["序号", "户主姓名", "身份证号码", "手机号码", "保障金额（元）", "保障类别"],
            [1, "刘德华", full, "13812345678", 720, "A类"],
            [2, "周  杰", int(as_number) if as_number[-1] != "X" else as_number, 13900001111, 650.5, "B类"],
            ["合计", "", "", "", 1370.5, ""],
        ]
    )
    count, report = lists.list_import(actor=disc["head_a"], item=item, content=content, filename="低保.xlsx")
    assert count == 2
    assert [s["text"] for s in report.skipped if s["why"] == "phone"] == ["手机号码"]
    rows = list(item.rows.order_by("number"))
    assert [(r.name_masked, r.id_masked, r.amount, r.reason) for r in rows] == [
        ("刘*华", full[:6] + "********" + full[-4:], Decimal(720), "A类"),
        ("周*", as_number[:6] + "********" + as_number[-4:], Decimal("650.50"), "B类"),
    ]
    stored = every_text_in_table()
    assert (
        full not in stored
        and as_number not in stored
        and "13812345678" not in stored
        and "5678" not in stored
    )


def test_bad_rows_are_named_and_nothing_is_written(disc: Disc) -> None:
    item = disc.item(publish=False)
    good, _ids = rows_text(disc.reg, 2)
    lists.list_paste(actor=disc["worker_a"], item=item, text=good)
    before = list(item.rows.values_list("name_masked", "id_masked"))
    dup = disc.reg.next_id()
    content = xlsx(
        [
            ["姓名", "身份证号码", "金额", "原因"],
            ["张三", disc.reg.next_id(), 600, "低保"],  # row 2: fine
            ["", disc.reg.next_id(), 600, "低保"],  # row 3: no name
            ["李四", "430104195001011230", 600, "低保"],  # row 4: wrong check digit
            ["王五", dup, "六百", "低保"],  # row 5: amount in words
            ["赵六", dup, 600, "x" * 101],  # row 6: duplicate ID, reason too long
            ["钱七", 4.30104195001011e17, 600, ""],  # row 7: Excel lost the last digits
            ["孙八", disc.reg.next_id(), -5, ""],  # row 8: negative
        ]
    )
    with pytest.raises(lists.ListRejected) as caught:
        lists.list_import(actor=disc["worker_a"], item=item, content=content, filename="名单.xlsx")
    problems = {(p.row, p.column, p.code) for p in caught.value.report.problems}
    assert (3, "姓名", "name") in problems
    assert (4, "身份证号码", "id_number") in problems
    assert (5, "金额", "amount") in problems
    assert (5, "身份证号码", "duplicate") in problems and (6, "身份证号码", "duplicate") in problems
    assert (6, "原因", "reason") in problems
    assert (7, "身份证号码", "id_damaged") in problems
    assert (8, "金额", "amount") in problems
    assert not any(p.row == 2 for p in caught.value.report.problems)
    assert list(item.rows.values_list("name_masked", "id_masked")) == before
    assert AuditEntry.objects.filter(action="participation.disclosure_list").count() == 1


def test_files_that_are_not_lists(disc: Disc) -> None:
    item = disc.item(publish=False)
    cases = [
        (b"", "empty"),
        (xlsx([["名称", "地址"], ["a", "b"]]), "no_header"),
        (xlsx([["姓名", "金额"], ["张三", 5]]), "missing_column"),
        (xlsx([["姓名", "身份证号码", "金额"]]), "empty"),
    ]
    for content, code in cases:
        with pytest.raises(lists.ListRejected) as caught:
            lists.list_import(actor=disc["worker_a"], item=item, content=content, filename="x.xlsx")
        assert code in {p.code for p in caught.value.report.problems}, code
    assert item.rows.count() == 0


def test_a_published_list_is_fixed_and_others_may_not_write(disc: Disc) -> None:
    text, _ids = rows_text(disc.reg, 1)
    item = disc.item(rows=text)
    with pytest.raises(ValidationError):
        lists.list_paste(actor=disc["worker_a"], item=item, text="")
    assert item.rows.count() == 1
    draft = disc.item(publish=False)
    from django.core.exceptions import PermissionDenied

    for who in ("head_b", "street", "grid_a", "resident"):
        with pytest.raises(PermissionDenied):
            lists.list_paste(actor=disc[who], item=draft, text=text)
    assert AuditEntry.objects.filter(action="participation.disclosure_list", result="denied").count() == 4
    item_services.item_withdraw(actor=disc["head_a"], item=item, reason="重新核对")
    with pytest.raises(ValidationError):
        lists.list_paste(actor=disc["worker_a"], item=item, text="")
