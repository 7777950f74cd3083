"""File formats and kinds: CSV in UTF-8 (with BOM), GB18030 and UTF-16; header variants; the
templates round-trip (a filled template imports cleanly) for people, houses and organizations;
the houses and organizations imports; the operators' command."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from shequ.core.models import AuditEntry
from shequ.core.validators import uscc_check_char
from shequ.registry import imports, services
from shequ.registry.models import Building, House, ImportKind, Organization, Person, Road, TimelineEntry, Unit
from shequ.registry.tests.conftest import COMMUNITY_A, GRID_A, GRID_B, Registry
from shequ.registry.tests.test_import import TODAY, ledger_id, registry_counts


def uscc(body: str) -> str:
    """A valid credit code from its first 17 characters."""
    return body + uscc_check_char(body)


def run(
    reg: Registry,
    content: bytes,
    *,
    kind: str = ImportKind.PEOPLE,
    region: str = COMMUNITY_A,
    persona: str | None = "worker_a",
    filename: str = "file.csv",
) -> imports.Plan:
    with translation.override("en"):
        return imports.check(
            content=content,
            filename=filename,
            kind=kind,
            region=reg.region(region),
            actor=reg.world[persona] if persona else None,
            today=TODAY,
        )


def codes(plan: imports.Plan) -> list[tuple[int | None, str, str]]:
    return [(p.row, p.column, p.code) for p in plan.report.problems]


def test_csv_utf8_with_bom_and_a_title_line(reg: Registry) -> None:
    text = (
        "枇杷塘社区人口名单,,,\n"
        ",,,\n"
        "名字,公民身份号码,手机号,出生日期,现住址\n"
        f"刘一,{ledger_id('19900102', 11)},138 0000 1111,1990年1月2日,麓山南路12号3栋2单元302室\n"
        f"刘二,{ledger_id('19900103', 13)},,19900103,\n"
    )
    plan = run(reg, "\ufeff".encode() + text.encode("utf-8"))
    assert plan.report.header_rows == [3]
    assert codes(plan) == []
    first, second = plan.rows
    assert first.cleaned["name"] == "刘一" and first.cleaned["phone"] == "13800001111"
    assert first.house is not None and first.house.pk == reg.houses["a"][1].pk  # found from the address
    assert second.house is None  # registered in the community without a house


def test_csv_in_gb18030_with_a_character_outside_gbk(reg: Registry) -> None:
    text = f"姓名,身份证号码,联系电话\n吉\U00020bb7,{ledger_id('19900102', 11)},13800001111\n"
    content = text.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    plan = run(reg, content)
    assert codes(plan) == []
    assert plan.rows[0].cleaned["name"] == "吉\U00020bb7"


def test_utf16_tab_separated_text_from_excel(reg: Registry) -> None:
    text = f"Name\tID number\tMobile number\n周一\t{ledger_id('19900102', 11)}\t13800001111\n"
    plan = run(reg, text.encode("utf-16"))
    assert codes(plan) == [] and plan.rows[0].cleaned["name"] == "周一"


def test_numbers_damaged_by_excel_and_old_ids(reg: Registry) -> None:
    text = (
        "姓名,身份证号\n"
        "钱一,4.30104199001011E+17\n"
        "钱二,430104900101123\n"  # an old 15-digit number
        f"钱三,{ledger_id('19900102', 11)}.0\n"  # exported by a program as a float
        "钱四,\n"
    )
    plan = run(reg, text.encode())
    assert codes(plan) == [
        (2, "身份证号", "id_number_damaged"),
        (3, "身份证号", "id_old_format"),
        (5, "身份证号", "required"),
    ]
    assert [p.number for p in plan.rows] == [4]


def test_numeric_cells_in_a_workbook(reg: Registry) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证号", "手机", "出生年月"])
    ws.append(["孙一", 430104900101123, 13800001111.0, 1990.01])  # 15 digits: old ID; 出生年月 as a number
    ws.append(["孙二", 4.30104199001011e17, "", ""])
    ws.append(["孙三", ledger_id("19900102", 11), "", 199001])
    ws.append(["孙四", ledger_id("19901002", 13), "", 1990.1])  # 1990.10 shown as 1990.1
    ws.append(["孙五", ledger_id("19900102", 15), "", 1991.01])
    buffer = io.BytesIO()
    wb.save(buffer)
    plan = run(reg, buffer.getvalue(), filename="x.xlsx")
    assert codes(plan) == [
        (2, "身份证号", "id_old_format"),
        (3, "身份证号", "id_number_damaged"),
        (6, "出生年月", "id_mismatch"),
    ]
    assert [p.number for p in plan.rows] == [4, 5]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1990.1.2", dt.date(1990, 1, 2)),
        ("1990-01-02", dt.date(1990, 1, 2)),
        ("1990/1/2", dt.date(1990, 1, 2)),
        ("1990年1月2日", dt.date(1990, 1, 2)),
        ("１９９０年１月２日", dt.date(1990, 1, 2)),
        ("19900102", dt.date(1990, 1, 2)),
        (19900102, dt.date(1990, 1, 2)),
        (32875, dt.date(1990, 1, 2)),
        (32875.75, dt.date(1990, 1, 2)),
        ("32875", dt.date(1990, 1, 2)),
        ("1990-01-02 00:00:00", dt.date(1990, 1, 2)),
        (dt.datetime(1990, 1, 2, 8, 0), dt.date(1990, 1, 2)),
        ("1990.01", imports.PartialDate(1990, (1,))),
        ("199001", imports.PartialDate(1990, (1,))),
        ("1990年1月", imports.PartialDate(1990, (1,))),
        ("1990", imports.PartialDate(1990)),
        ("", None),
    ],
)
def test_date_styles(value: Any, expected: Any) -> None:
    assert imports.parse_date(value) == expected


@pytest.mark.parametrize("value", ["1990.13.45", "明天", "1990-02-30", "99999999", "1990.00"])
def test_unreadable_dates(value: str) -> None:
    with pytest.raises(ValueError):
        imports.parse_date(value)


@pytest.mark.parametrize("kind", [ImportKind.PEOPLE, ImportKind.HOUSES, ImportKind.ORGANIZATIONS])
def test_templates_have_chinese_headers_an_example_and_notes(kind: str) -> None:
    with translation.override("zh-hans"):
        content = imports.template_workbook(kind)
    book = openpyxl.load_workbook(io.BytesIO(content))
    data, notes = book.worksheets
    headers = [c.value for c in data[3]]
    assert headers[0] == "序号"
    if kind == ImportKind.PEOPLE:
        assert "姓名*" in headers and "证件号码*" in headers
    assert data["A4"].value in ("示例", "Example")
    # Rows below the example are formatted as text, so Excel keeps ID numbers whole.
    assert data.cell(row=5, column=2).number_format == "@"
    assert data.cell(row=4 + imports.TEMPLATE_BLANK_ROWS, column=2).number_format == "@"
    assert data["B4"].value  # an example value
    assert notes.max_row > 4 and any("商品房" in str(c.value) for row in notes.iter_rows() for c in row) == (
        kind == ImportKind.HOUSES
    )


def fill_template(kind: str, rows: list[list[Any]], language: str = "zh-hans") -> bytes:
    with translation.override(language):
        content = imports.template_workbook(kind)
    book = openpyxl.load_workbook(io.BytesIO(content))
    ws = book.worksheets[0]
    for i, row in enumerate(rows):
        for j, value in enumerate(row, start=2):  # after the No. column
            ws.cell(row=5 + i, column=j, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def column_index(kind: str, key: str) -> int:
    return [c.key for c in imports.COLUMNS[kind]].index(key)


def row_for(kind: str, **values: Any) -> list[Any]:
    row: list[Any] = [""] * len(imports.COLUMNS[kind])
    for key, value in values.items():
        row[column_index(kind, key)] = value
    return row


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_filled_people_template_imports_cleanly(reg: Registry, language: str) -> None:
    rows = [
        row_for(
            ImportKind.PEOPLE,
            name="林一",
            id_number=ledger_id("19900102", 11),
            phone="13800001111",
            ethnicity="汉族",
            residence_type="流动人口",
            building="3",
            unit="2",
            room="302",
            relation="租户",
            since="2024-01-01",
            education="本科",
            marital_status="已婚",
            political_status="群众",
        ),
        row_for(
            ImportKind.PEOPLE,
            name="林二",
            id_type="护照",
            id_number="E12345678",
            sex="女",
            birth_date="1988-08-08",
            nationality="USA",
            residence_type="境外人员",
        ),
    ]
    plan = run(reg, fill_template(ImportKind.PEOPLE, rows, language), filename="t.xlsx")
    assert codes(plan) == []
    assert plan.report.skipped == [{"row": 4, "why": "example", "text": ""}]
    first, second = plan.rows
    assert first.relation == "tenant" and first.since == dt.date(2024, 1, 1)
    assert first.cleaned["residence_type"] == "floating" and first.cleaned["education"] == "bachelor"
    assert second.cleaned["id_type"] == "passport" and second.cleaned["birth_date"] == dt.date(1988, 8, 8)
    result = imports.commit(
        content=fill_template(ImportKind.PEOPLE, rows, language),
        filename="t.xlsx",
        kind=ImportKind.PEOPLE,
        region=reg.region(COMMUNITY_A),
        actor=reg.world["worker_a"],
    )
    assert result.status == "committed" and result.created == {"people": 2, "residences": 1}


def test_houses_import_creates_buildings_units_roads_and_houses(reg: Registry) -> None:
    K = ImportKind.HOUSES
    rows = [
        # A new building 7 on a new road, two units; an existing building 3 gets a new house.
        row_for(
            K,
            road="岳麓大道",
            door_number="88",
            building="7栋",
            floors="18",
            unit="1",
            number="101",
            area="89.5平方米",
            use="出租",
            property_type="商品房",
        ),
        row_for(K, road="岳麓大道", door_number="88", building="7", floors="18", unit="1单元", number="102"),
        row_for(K, road="岳麓大道", door_number="88", building="7", unit="2", number="1501", use="空置"),
        row_for(K, building="3", unit="2", number="501"),
        # Problems: already registered; twice in the file; bad area; unknown use.
        row_for(K, building="3", unit="2", number="301"),
        row_for(K, road="岳麓大道", door_number="88", building="7", unit="2", number="1601"),
        row_for(K, road="岳麓大道", door_number="88", building="7", unit="2", number="1601"),
        row_for(K, building="3", unit="2", number="502", area="很大"),
        row_for(K, building="3", unit="2", number="503", use="仓库"),
    ]
    content = fill_template(K, rows)
    plan = run(reg, content, kind=K, region=GRID_A, filename="h.xlsx")
    assert codes(plan) == [
        (9, "房号*", "duplicate_house"),
        (10, "房号*", "duplicate_in_file"),
        (11, "房号*", "duplicate_in_file"),
        (12, "建筑面积（m²）", "invalid"),
        (13, "用途", "invalid_choice"),
    ]
    assert plan.report.plan == {"houses": 4, "buildings": 1, "units": 2, "roads": 1}
    before = registry_counts()
    result = imports.commit(
        content=content, filename="h.xlsx", kind=K, region=reg.region(GRID_A), actor=reg.world["worker_a"]
    )
    assert result.status == "committed"
    assert result.created == {"houses": 4, "buildings": 1, "units": 2, "roads": 1}
    after = registry_counts()
    assert after["registry.House"] - before["registry.House"] == 4
    building = Building.objects.get(number="7")
    assert building.floors == 18 and building.region_code == GRID_A
    assert building.road is not None and building.road.name == "岳麓大道"
    assert building.address.endswith("岳麓大道88号7栋")
    house = House.objects.get(building=building, number="101")
    assert (
        house.unit is not None
        and house.unit.number == "1"
        and house.floor == 1
        and str(house.area) == "89.50"
        and house.use == "rented"
    )
    assert house.address.endswith("岳麓大道88号7栋1单元101室")
    assert House.objects.get(building=building, number="1501").floor == 15
    assert Unit.objects.filter(building=building).count() == 2
    assert Road.objects.get(name="岳麓大道").region_code == COMMUNITY_A
    assert House.objects.get(building=reg.buildings["a"], number="501").unit == reg.houses["a"][0].unit
    assert (
        TimelineEntry.objects.filter(
            object_type="house", action="place.create", params__source="import"
        ).count()
        == 4
    )
    # The people import now finds the new houses.
    people = f"姓名,身份证号,楼栋,单元,房号\n马一,{ledger_id('19900102', 11)},7,1,101\n".encode()
    assert codes(run(reg, people, region=GRID_A)) == []


def test_houses_of_a_community_with_grids_need_the_grid(reg: Registry) -> None:
    K = ImportKind.HOUSES
    rows = [
        row_for(K, building="9", number="101"),
        row_for(K, building="9", number="102", grid="第二网格"),
        row_for(K, building="10", number="101", grid="第九网格"),
        row_for(K, building="3", unit="2", number="601"),  # building 3 exists (grid 1): no grid needed
    ]
    plan = run(reg, fill_template(K, rows), kind=K, filename="h.xlsx")
    assert codes(plan) == [(5, "楼栋*", "no_grid"), (7, "网格", "unknown_grid")]
    assert [p.grid.code for p in plan.rows] == [GRID_B, COMMUNITY_A]
    assert plan.rows[1].building.pk == reg.buildings["a"].pk


def test_organizations_import(reg: Registry) -> None:
    K = ImportKind.ORGANIZATIONS
    elsewhere = uscc("91430104MA4L00001")
    services.organization_create(
        actor=None, data={"name": "外社区公司", "uscc": elsewhere, "house": reg.houses["c"][1]}
    )
    good = uscc("91430104MA4L00002")
    rows = [
        row_for(
            K,
            name="岳麓示例商店",
            uscc=good.lower(),
            type="个体工商户",
            contact_phone="0731-88881234",
            staff_count="3人",
            building="3",
            unit="2",
            room="302",
            status="营业",
        ),
        row_for(K, name="无地址公司", address="麓山南路12号"),
        row_for(K, name="重复公司", uscc=elsewhere),
        row_for(K, name="错码公司", uscc=good[:-1] + ("0" if good[-1] != "0" else "1")),
        row_for(K, name="坏电话", contact_phone="12345"),
    ]
    content = fill_template(K, rows)
    plan = run(reg, content, kind=K, filename="o.xlsx")
    assert codes(plan) == [
        (7, "统一社会信用代码", "duplicate_uscc"),
        (8, "统一社会信用代码", "uscc_checksum"),
        (9, "联系电话", "invalid_phone"),
    ]
    assert plan.report.problems[0].reason == (
        "An organization with this credit code is already registered in another community."
    )
    result = imports.commit(
        content=content,
        filename="o.xlsx",
        kind=K,
        region=reg.region(COMMUNITY_A),
        actor=reg.world["worker_a"],
    )
    assert result.created == {"organizations": 2}
    shop = Organization.objects.get(name="岳麓示例商店")
    assert shop.uscc == good and shop.house == reg.houses["a"][1] and shop.region_code == GRID_A
    assert (
        shop.contact_phone == "073188881234" and shop.staff_count == 3 and shop.type == "individual_business"
    )
    assert shop.address == reg.houses["a"][1].address
    other = Organization.objects.get(name="无地址公司")
    assert other.region_code == COMMUNITY_A and other.address == "麓山南路12号" and other.house is None


def test_command_dry_run_and_commit(
    reg: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        f"姓名,身份证号,手机号\n唐一,{ledger_id('19900102', 11)},13800001111\n"
        f"唐二,{ledger_id('19900102', 11)},1\n",
        encoding="utf-8-sig",
    )
    before = registry_counts()
    with translation.override("en"):
        call_command(
            "registry_import",
            str(path),
            "--kind",
            "people",
            "--region",
            COMMUNITY_A,
            "--errors",
            str(tmp_path / "bad.xlsx"),
        )
    out = capsys.readouterr().out
    assert "row 2 B 身份证号: The same ID number is also in row 3. [duplicate_in_file]" in out
    assert "row 3 C 手机号: Enter an 11-digit mainland mobile number" in out
    assert "dry run: 0 of 2 rows can be imported" in out and "nothing was written" in out
    assert registry_counts() == before
    assert (tmp_path / "bad.xlsx").read_bytes()[:2] == b"PK"
    path.write_text(f"姓名,身份证号\n唐一,{ledger_id('19900102', 11)}\n", encoding="utf-8")
    call_command("registry_import", str(path), "--kind", "people", "--region", COMMUNITY_A, "--commit")
    assert "imported: people 1, residences 0" in capsys.readouterr().out
    assert Person.objects.get(name="唐一").region_code == COMMUNITY_A
    entry = AuditEntry.objects.get(action="registry.import")
    assert entry.actor_id is None and entry.detail["created"]["people"] == 1
    with pytest.raises(CommandError):
        call_command("registry_import", str(path), "--kind", "people", "--region", "430104002")  # a street
    with pytest.raises(CommandError):
        call_command(
            "registry_import", str(tmp_path / "missing.csv"), "--kind", "people", "--region", COMMUNITY_A
        )
