"""Imports of community ledgers: a deliberately messy people ledger gives the exact expected report
and writes nothing on the dry run; the commit writes exactly the valid rows, atomically."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import openpyxl
import pytest
from django.apps import apps
from django.db import IntegrityError
from django.utils import translation
from openpyxl.styles import Font

from shequ.core import bulk
from shequ.core.models import AuditEntry, OutboxTask
from shequ.core.validators import id_check_char
from shequ.registry import imports
from shequ.registry.models import (
    ImportKind,
    Person,
    Residence,
    ResidenceType,
    TimelineEntry,
)
from shequ.registry.tests.conftest import COMMUNITY_A, Registry

TODAY = dt.date(2026, 11, 29)


def ledger_id(birth: str, seq: int, *, check: str | None = None) -> str:
    """An ID number born on ``birth`` (YYYYMMDD) with sequence ``seq``; ``check`` forces a wrong
    check character."""
    first17 = f"430104{birth}{seq:03d}"
    return first17 + (check or id_check_char(first17))


def id_with_x(birth: str) -> str:
    for seq in range(1, 999):
        number = ledger_id(birth, seq)
        if number.endswith("X"):
            return number
    raise AssertionError("no X found")


def registry_counts() -> dict[str, int]:
    """Rows in every registry table, and in the audit log and the outbox."""
    counts = {m._meta.label: m._default_manager.count() for m in apps.get_app_config("registry").get_models()}
    counts["audit"] = AuditEntry.objects.count()
    counts["outbox"] = OutboxTask.objects.count()
    return counts


# The messy ledger: what community ledgers really look like.
ID_GOOD = ledger_id("19900102", 11)
ID_X = id_with_x("19850615")
ID_NUMERIC = ledger_id("19700304", 21)
ID_CHECKSUM = ledger_id("19800101", 31, check="0" if ledger_id("19800101", 31)[-1] != "0" else "1")
ID_DUP = ledger_id("19601010", 41)
ID_SLASH = ledger_id("19750304", 51)
ID_COMPACT = ledger_id("19660708", 61)
ID_ISO = ledger_id("20010203", 71)
ID_SERIAL = ledger_id("19900101", 81)
ID_BAD_DATE = ledger_id("19900101", 91)
ID_MISMATCH = ledger_id("19900102", 101)
ID_CODE = ledger_id("19900102", 111)
ID_TYPE = ledger_id("19900102", 121)
ID_HOUSE = ledger_id("19900102", 131)
ID_PHONE = ledger_id("19900102", 141)

HEADER_TOP = [
    "序号",
    "姓名",
    "性别",
    "身份证号码",
    "出生年月",
    "民族",
    "联系电话",
    "房屋信息",
    None,
    None,
    "户籍地址",
    "人口类型",
    "入住日期",
    "备注",
]
HEADER_BOTTOM = [None, None, None, None, None, None, None, "栋", "单元", "房号", None, None, None, None]


def messy_ledger(existing_in_scope: str, existing_elsewhere: str) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "人口台账"
    ws.append(["枇杷塘社区实有人口登记表"])
    ws.merge_cells("A1:N1")
    ws.append(
        [
            "填报单位：枇杷塘社区居委会",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            "填报日期：2024年3月1日",
        ]
    )
    ws.append(HEADER_TOP)
    ws.append(HEADER_BOTTOM)
    for col in "ABCDEFGKLMN":  # single headers span both rows
        ws.merge_cells(f"{col}3:{col}4")
    ws.merge_cells("H3:J3")
    ws["A3"].font = Font(bold=True)
    rows: list[list[Any]] = [
        # 5: good; full-width space in the name, full-width digits in the phone, 1990.1.2, date serial.
        [
            1,
            "李\u3000明",
            "男",
            ID_GOOD,
            "1990.1.2",
            "汉族",
            "１３８１２３４５６７８",
            "3",
            "2",
            "302",
            "湖南省长沙市",
            "户籍",
            45000,
        ],
        # 6: blank
        [None] * 14,
        # 7: good; lower-case x, 1985年6月15日, phone as a number, 3栋/2单元/401室.
        [
            2,
            "王 芳",
            "女",
            ID_X.lower(),
            "1985年6月15日",
            "汉",
            13912345678,
            "3栋",
            "2单元",
            "401室",
            "湖南省株洲市",
            "流动人口",
            "2023-05-01",
        ],
        # 8: good; ID stored as a number with all 18 digits (as database exports and some tools write
        # them; Excel itself would keep 15), birth date as a date cell.
        [
            3,
            "赵强",
            "男",
            int(ID_NUMERIC),
            dt.datetime(1970, 3, 4),
            "土家族",
            "",
            "3",
            "2",
            "302",
            "",
            "常住人口",
            "",
        ],
        # 9: ID damaged by Excel (15 significant digits): cannot be recovered.
        [4, "钱进", "男", 4.30104199001011e17, "", "汉族", "", "3", "2", "302", "", "", ""],
        # 10: bad check character.
        [5, "孙丽", "女", ID_CHECKSUM, "", "汉族", "", "3", "2", "302", "", "", ""],
        # 11: bad phone (10 digits).
        [6, "周杰", "男", ID_PHONE, "", "汉族", "1381234567", "3", "2", "302", "", "", ""],
        # 12 and 13: the same ID number twice in the file.
        [7, "吴一", "男", ID_DUP, "", "汉族", "", "3", "2", "302", "", "", ""],
        [8, "吴二", "男", ID_DUP, "", "汉族", "", "3", "2", "302", "", "", ""],
        # 14: already registered in the importer's community; 15: registered in another community.
        [9, "张三", "男", existing_in_scope, "", "汉族", "", "3", "2", "301", "", "", ""],
        [10, "王五", "男", existing_elsewhere, "", "汉族", "", "3", "2", "301", "", "", ""],
        # 16-19: more date styles, all good.
        [11, "郑一", "男", ID_SLASH, "1975/3/4", "汉族", "", "3", "2", "401", "", "", ""],
        [12, "郑二", "男", ID_COMPACT, 19660708, "汉族", "", "3", "2", "401", "", "", ""],
        [13, "郑三", "男", ID_ISO, "2001-02-03", "汉族", "", "3", "2", "401", "", "", ""],
        [14, "郑四", "男", ID_SERIAL, 32874, "汉族", "", "3", "2", "401", "", "", ""],
        # 20: unreadable date; 21: date of birth disagrees with the ID number.
        [15, "冯一", "男", ID_BAD_DATE, "1990.13.45", "汉族", "", "3", "2", "401", "", "", ""],
        [16, "冯二", "男", ID_MISMATCH, "1990-01-03", "汉族", "", "3", "2", "401", "", "", ""],
        # 22: unknown ethnic group; 23: unknown residence type.
        [17, "陈一", "男", ID_CODE, "", "火星族", "", "3", "2", "401", "", "", ""],
        [18, "陈二", "男", ID_TYPE, "", "汉族", "", "3", "2", "401", "", "临时", ""],
        # 24: a house that is not registered.
        [19, "褚一", "男", ID_HOUSE, "", "汉族", "", "3", "2", "999", "", "", ""],
        # 25-28: a total, a blank row, notes and signatures.
        ["合计：19人"],
        [None],
        ["填表说明：1. 身份证号码请设置为文本格式；2. 出生日期可不填。"],
        ["制表人：王五", None, None, "审核人：赵六", None, None, "日期：2024.3.1"],
    ]
    for row in rows:
        ws.append(row)
    ws.merge_cells("A25:N25")
    ws.merge_cells("A27:N27")
    buffer = io.BytesIO()
    wb.save(buffer)
    # openpyxl writes every number as a double; put the integer in full, as other tools do.
    return set_number(buffer.getvalue(), "D8", ID_NUMERIC)


def set_number(content: bytes, ref: str, digits: str) -> bytes:
    """Rewrite the stored number of cell ``ref`` of the first sheet as ``digits``."""
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text, n = re.subn(
                    rf'(<c r="{ref}"[^>]*><v>)[^<]*(</v>)', rf"\g<1>{digits}\g<2>", data.decode()
                )
                assert n == 1
                data = text.encode()
            target.writestr(item, data)
    return out.getvalue()


# (row, column title as in the file, code)
EXPECTED = [
    (9, "身份证号码", "id_number_damaged"),
    (10, "身份证号码", "id_checksum"),
    (11, "联系电话", "invalid_mobile"),
    (12, "身份证号码", "duplicate_in_file"),
    (13, "身份证号码", "duplicate_in_file"),
    (14, "身份证号码", "duplicate_id"),
    (15, "身份证号码", "registered_elsewhere"),
    (20, "出生年月", "bad_date"),
    (21, "出生年月", "id_mismatch"),
    (22, "民族", "invalid_choice"),
    (23, "人口类型", "invalid_choice"),
    (24, "房号", "unknown_house"),
]
VALID_ROWS = [5, 7, 8, 16, 17, 18, 19]


@pytest.fixture
def ledger(reg: Registry) -> bytes:
    return messy_ledger(reg.people["a"].id_number, reg.people["c"].id_number)


def run_check(reg: Registry, content: bytes, persona: str = "worker_a", filename: str = "台账.xlsx") -> Any:
    with translation.override("en"):
        return imports.check(
            content=content,
            filename=filename,
            kind=ImportKind.PEOPLE,
            region=reg.region(COMMUNITY_A),
            actor=reg.world[persona],
            today=TODAY,
        )


def test_messy_ledger_gives_the_exact_report_and_writes_nothing(reg: Registry, ledger: bytes) -> None:
    before = registry_counts()
    plan = run_check(reg, ledger)
    assert registry_counts() == before
    report = plan.report
    assert report.ok
    assert report.sheet == "人口台账"
    assert report.header_rows == [3, 4]
    fields = {c["title"]: c["field"] for c in report.columns}
    assert fields == {
        "序号": "",
        "姓名": "name",
        "性别": "sex",
        "身份证号码": "id_number",
        "出生年月": "birth_date",
        "民族": "ethnicity",
        "联系电话": "phone",
        "栋": "building",
        "单元": "unit",
        "房号": "room",
        "户籍地址": "hukou_address",
        "人口类型": "residence_type",
        "入住日期": "since",
        "备注": "",
    }
    assert [(p.row, p.column, p.code) for p in report.problems] == EXPECTED
    assert [p.column_letter for p in report.problems] == [
        "D",
        "D",
        "G",
        "D",
        "D",
        "D",
        "D",
        "E",
        "E",
        "F",
        "L",
        "J",
    ]
    reasons = {p.row: p.reason for p in report.problems}
    assert reasons[9] == (
        "Excel stored this ID number as a number and kept only its first 15 digits; the rest cannot be "
        "recovered. Format the column as text and type the number again."
    )
    assert reasons[10] == "The ID number's check character does not match: check for a mistyped digit."
    assert reasons[11] == "Enter an 11-digit mainland mobile number, for example 13812345678."
    assert reasons[12] == "The same ID number is also in row 13."
    assert reasons[13] == "The same ID number is also in row 12."
    assert reasons[14] == "A person with this ID number is already registered here (第一网格)."
    assert reasons[15] == "A person with this ID number is already registered in another community."
    assert reasons[20].startswith("Enter a date such as 1990-01-02")
    assert reasons[21] == "The date of birth does not match the ID number."
    assert reasons[22] == "“火星族” is not an ethnic group: write it as 汉, 汉族 or its two-digit code."
    assert reasons[23] == (
        "“临时” is not one of the choices. Allowed: Registered resident、Resident, registered elsewhere、"
        "Floating population、Foreign national."
    )
    assert reasons[24] == "No house 3栋2单元999室 is registered in this region: import the houses first."
    # No reason quotes an ID or phone number (only the examples of the messages).
    for p in report.problems:
        assert set(re.findall(r"\d{6,}", p.reason)) <= {"13812345678", "19900102"}, p.reason
    assert report.data_rows == 19
    assert report.valid_count == len(VALID_ROWS)
    assert [s["row"] for s in report.skipped] == [25, 27, 28]
    assert {s["why"] for s in report.skipped} == {"note"}
    assert report.blank_rows == 2
    assert report.plan == {"people": 7, "residences": 7}
    assert [p.number for p in plan.rows] == VALID_ROWS
    first = plan.rows[0]
    assert first.cleaned["name"] == "李明"
    assert first.cleaned["phone"] == "13812345678"
    assert first.cleaned["residence_type"] == ResidenceType.REGISTERED
    assert first.since == dt.date(2023, 3, 15)  # Excel serial 45000
    assert first.house is not None and first.house.pk == reg.houses["a"][1].pk
    second = plan.rows[1]
    assert second.cleaned["id_number"] == ID_X  # upper-case X
    assert second.cleaned["phone"] == "13912345678"
    assert second.house is not None and second.house.pk == reg.houses["a"][2].pk
    assert plan.rows[2].cleaned["id_number"] == ID_NUMERIC
    assert plan.rows[2].cleaned["ethnicity"] == "15"  # 土家族


def test_commit_writes_exactly_the_valid_rows(
    reg: Registry, ledger: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = reg.world["worker_a"]
    emitted: list[Any] = []
    real_emit = imports.committing.emit

    def capture(event: Any) -> int:
        emitted.append(event)
        return real_emit(event)

    monkeypatch.setattr(imports.committing, "emit", capture)
    before = Person.objects.count()
    with translation.override("en"):
        result = imports.commit(
            content=ledger,
            filename="台账.xlsx",
            kind=ImportKind.PEOPLE,
            region=reg.region(COMMUNITY_A),
            actor=worker,
            today=TODAY,
        )
    assert result.status == "committed", result.message
    assert result.created == {"people": 7, "residences": 7}
    assert Person.objects.count() == before + 7
    imported = Person.objects.filter(name__in=["李明", "王芳", "赵强", "郑一", "郑二", "郑三", "郑四"])
    assert imported.count() == 7
    li = Person.objects.get(name="李明")
    assert li.id_number == ID_GOOD and li.phone == "13812345678"
    assert li.house == reg.houses["a"][1] and li.region_code == reg.houses["a"][1].region_code
    assert li.name_pinyin == "liming" and li.birth_date == dt.date(1990, 1, 2) and li.sex == "male"
    # Blind indexes written with the rows: the person is found by ID and by phone number.
    from shequ.core import crypto
    from shequ.registry import selectors

    assert selectors.person_find_by_id(viewer=worker, id_type="resident_id", id_number=ID_GOOD) == li
    assert Person.objects.get(phone_index=crypto.blind_index("13812345678", "phone")) == li
    home = Residence.objects.get(person=li)
    assert home.start_date == dt.date(2023, 3, 15) and home.relation == "family" and home.end_date is None
    assert TimelineEntry.objects.filter(
        object_type="person", object_id=li.pk, action="person.register"
    ).exists()
    assert TimelineEntry.objects.filter(
        object_type="house",
        object_id=reg.houses["a"][1].pk,
        action="residence.start",
        params__person_id=li.pk,
    ).exists()
    # One domain event for the whole file, with what was created.
    [event] = emitted
    assert event.name == "registry.imported" and event.kind == "people" and event.region_code == COMMUNITY_A
    assert event.created == {"people": 7, "residences": 7} and event.actor_id == worker.pk
    low, high = event.id_ranges["person"]
    assert set(imported.values_list("pk", flat=True)) <= set(range(low, high + 1))
    entry = AuditEntry.objects.filter(action="registry.import").get()
    assert entry.actor_id == worker.pk and entry.detail["created"] == {"people": 7, "residences": 7}
    assert entry.detail["skipped_rows"] == len(EXPECTED)
    # Nobody's data is in the audit log: counts, not numbers.
    assert ID_GOOD not in str(entry.detail)
    from shequ.core import audit

    assert audit.verify().ok


def test_commit_writes_nothing_when_the_database_refuses_a_row(
    reg: Registry, ledger: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone registers one of the people between the check and the write: the unique index refuses
    the row and nothing at all is written."""
    from shequ.registry import services

    real = imports.dry_run._people_in_db

    def race(*args: Any, **kwargs: Any) -> set[int]:
        bad = real(*args, **kwargs)
        services.person_register(
            actor=None, data={"name": "郑四", "id_number": ID_SERIAL}, house=reg.houses["a"][2]
        )
        return bad

    monkeypatch.setattr(imports.dry_run, "_people_in_db", race)
    before = registry_counts()
    with translation.override("en"):
        result = imports.commit(
            content=ledger,
            filename="台账.xlsx",
            kind=ImportKind.PEOPLE,
            region=reg.region(COMMUNITY_A),
            actor=reg.world["worker_a"],
            today=TODAY,
        )
    assert result.status == "refused"
    assert "nothing was imported" in result.message
    after = registry_counts()
    # Only the racing registration (1 person, 1 residence, 2 timeline entries, its audit entry and
    # events) and the audited failure are new.
    assert after["registry.Person"] == before["registry.Person"] + 1
    assert after["registry.Residence"] == before["registry.Residence"] + 1
    assert after["registry.TimelineEntry"] == before["registry.TimelineEntry"] + 2
    assert not Person.objects.filter(name="李明").exists()
    failure = AuditEntry.objects.filter(action="registry.import").get()
    assert failure.result == "failure"


def test_the_database_refusal_is_an_integrity_error_without_the_check(
    reg: Registry, ledger: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Control for the test above: the refusal comes from the unique index, not from the check."""
    from shequ.registry import services

    services.person_register(
        actor=None, data={"name": "郑四", "id_number": ID_SERIAL}, house=reg.houses["a"][2]
    )
    monkeypatch.setattr(imports.dry_run, "_people_in_db", lambda *a, **k: set())
    plan = run_check(reg, ledger)
    with pytest.raises(IntegrityError):
        imports.writers._write_people(plan, actor=None, batch_id=None)


def test_the_bulk_row_of_a_person_is_what_person_build_makes(reg: Registry, ledger: bytes) -> None:
    """The COPY path writes plain values; they must stay what ``services.person_build`` makes."""
    from shequ.registry import services

    plan = run_check(reg, ledger)
    for p in plan.rows:
        region = reg.region(p.house.region_code) if p.house else plan.region
        built = services.person_build(p.cleaned, region=region, house=reg.houses["a"][1] if p.house else None)
        row = imports.person_row(
            p.cleaned, region_id=region.pk, region_code=region.code, house_id=p.house.pk if p.house else None
        )
        skip = {"id", "uid", "created_at", "updated_at", "house_id", "id_number_index", "phone_index"}
        for f in Person._meta.concrete_fields:  # house and indexes: set by the caller / on write
            if f.attname not in skip:
                assert row.get(f.attname, f.get_default()) == getattr(built, f.attname), f.attname


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "\\N"),
        (True, "t"),
        (False, "f"),
        (12, "12"),
        (dt.date(1990, 1, 2), "1990-01-02"),
        ("李\t明\\n\r\n", "李\\t明\\\\n\\r\\n"),
        # JSON escapes the tab as backslash-t; COPY then doubles the backslash.
        ({"name": "李明", "note": "a\tb"}, '{"name": "李明", "note": "a\\\\tb"}'),
    ],
)
def test_copy_text_format(value: Any, text: str) -> None:
    assert bulk.copy_text(value) == text


def test_insert_rows_round_trip(reg: Registry) -> None:
    """Values that need escaping in COPY come back as written (PostgreSQL: COPY; elsewhere: ORM)."""
    from django.utils import timezone

    now = timezone.now()
    tricky = 'a\\b\tc\nd\re "quoted" 李明 \\N'
    ids = bulk.insert_rows(
        TimelineEntry,
        [
            {
                "object_type": "person",
                "object_id": 1,
                "region_code": COMMUNITY_A,
                "at": now,
                "action": "x",
                "params": {"text": tricky, "n": 3, "none": None},
                "reason": tricky,
            }
        ],
    )
    entry = TimelineEntry.objects.get(pk=ids[0])
    assert entry.reason == tricky and entry.params == {"text": tricky, "n": 3, "none": None}
    assert entry.at == now and entry.changes == {} and entry.actor_id is None
    person_ids = bulk.insert_rows(
        Person,
        [
            {
                "name": "李明",
                "id_number": ID_GOOD,
                "phone": "",
                "region_id": reg.region(COMMUNITY_A).pk,
                "region_code": COMMUNITY_A,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    person = Person.objects.get(pk=person_ids[0])
    assert person.id_number == ID_GOOD and person.phone == "" and person.phone_index == ""
    assert person.status == "active" and person.residence_type == "registered" and person.house_id is None
    from shequ.core import crypto

    assert person.id_number_index == crypto.blind_index(ID_GOOD, "id_number")
    raw = Person.objects.filter(pk=person.pk).values_list("id_number", flat=True).get()
    assert raw.startswith("sm4gcm:") and ID_GOOD not in raw


def test_worker_processes_give_the_same_report_and_rows(
    reg: Registry, ledger: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big files are validated and encrypted in forked processes: same report, same rows."""
    alone = run_check(reg, ledger)
    monkeypatch.setattr(bulk, "PARALLEL_MIN_ROWS", 2)
    with translation.override("en"):
        shared = imports.check(
            content=ledger,
            filename="台账.xlsx",
            kind=ImportKind.PEOPLE,
            region=reg.region(COMMUNITY_A),
            actor=reg.world["worker_a"],
            today=TODAY,
            workers=2,
        )
        assert shared.report.to_json() == alone.report.to_json()
        assert [(p.number, p.cleaned, p.house, p.since) for p in shared.rows] == [
            (p.number, p.cleaned, p.house, p.since) for p in alone.rows
        ]
        result = imports.commit(
            content=ledger,
            filename="台账.xlsx",
            kind=ImportKind.PEOPLE,
            region=reg.region(COMMUNITY_A),
            actor=reg.world["worker_a"],
            today=TODAY,
            workers=2,
        )
    assert result.status == "committed" and result.created == {"people": 7, "residences": 7}
    li = Person.objects.get(name="李明")
    assert li.id_number == ID_GOOD and li.phone == "13812345678"
    assert TimelineEntry.objects.filter(action="person.register", params__source="import").count() == 7
