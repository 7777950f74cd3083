"""The official-layout Excel form (shequ/reports/excel.py) over a small table: title merged and bold,
表号 and 制表机关 at the right, the unit and period line, header, rows with units, headings merged,
numbers as numbers (ratios with one decimal), the footer line, widths for Chinese and the print
setup. The pages' tests check the export of real reports against their pages."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils import translation
from openpyxl import load_workbook

from shequ.reports.excel import FormHeading, chinese_date, display_width, report_workbook


@dataclass
class Cell:
    key: str
    value: Any
    display: str = ""
    computed: bool = True


@dataclass
class Row:
    key: str
    title: str
    unit: str = ""
    heading: bool = False
    manual: bool = False
    manual_value: Any = None
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Table:
    columns: list[tuple[str, str]]
    rows: list[Row]


# The shape of selectors_reports.ReportTable (the pages' tests export real ones).
TABLE = Table(
    columns=[("total", "合计"), ("male", "男"), ("female", "女")],
    rows=[
        Row("s1", "一、人口情况", heading=True),
        Row(
            "residents",
            "常住人口",
            "人",
            cells=[Cell("residents:total", 1203), Cell("residents:male", 600), Cell("residents:female", 603)],
        ),
        Row(
            "ratio",
            "老年人口占比",
            "%",
            cells=[Cell("ratio:total", 18.5), Cell("ratio:male", 17.0), Cell("ratio:female", 20.1)],
        ),
        Row("staff", "社区工作者人数", "人", manual=True, manual_value=12),
        Row("note", "备注", "", manual=True, manual_value="无"),
    ],
)


def heading(draft: bool) -> FormHeading:
    return FormHeading(
        title="社区基本情况统计表",
        number="湘社区统1表",
        authority="岳麓区",
        unit="岳麓街道枇杷塘社区",
        period="2026年11月",
        reported_on=date(2026, 12, 7),
        draft=draft,
    )


def values(ws: Any) -> list[list[Any]]:
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_the_form_has_the_official_layout() -> None:
    with translation.override("zh-hans"):
        content = report_workbook(TABLE, heading(draft=False))
    ws = load_workbook(io.BytesIO(content)).active
    assert ws["A1"].value == "社区基本情况统计表" and ws["A1"].font.bold
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert "A1:E1" in merged and "A2:E2" in merged and "A6:E6" in merged  # title and the heading row
    assert ws["A2"].value == "表号：湘社区统1表" and ws["A2"].alignment.horizontal == "right"
    assert ws["A3"].value == "制表机关：岳麓区" and ws["A3"].alignment.horizontal == "right"
    assert "填报单位：岳麓街道枇杷塘社区" in ws["A4"].value and "报告期：2026年11月" in ws["A4"].value
    assert "草稿" not in ws["A4"].value
    assert [c.value for c in ws[5]] == ["指标名称", "计量单位", "合计", "男", "女"]
    assert [c.value for c in ws[7]] == ["常住人口", "人", 1203, 600, 603]
    assert isinstance(ws["C7"].value, int)
    assert ws["C8"].value == 18.5 and ws["C8"].number_format == "0.0"
    assert ws["A9"].value == "社区工作者人数" and ws["C9"].value == 12 and "C9:E9" in merged
    assert ws["C10"].value == "无"
    footer = ws["A12"].value
    assert "单位负责人：" in footer and "填表人：" in footer and "报出日期：2026年12月7日" in footer
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    # The indicator column is wide enough for its longest Chinese title (two units a character).
    assert ws.column_dimensions["A"].width >= display_width("社区工作者人数")


def test_a_draft_says_so() -> None:
    with translation.override("zh-hans"):
        content = report_workbook(TABLE, heading(draft=True))
    ws = load_workbook(io.BytesIO(content)).active
    assert "草稿" in ws["A4"].value


def test_chinese_date_and_width() -> None:
    assert chinese_date(date(2026, 12, 7)) == "2026年12月7日"
    assert display_width("人口ab") == 6
