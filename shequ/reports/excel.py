"""A report in the official layout of a statistical form (统计报表), as an Excel workbook.

    ┌──────────────────────── 社区基本情况统计表 (merged, bold) ────────────────────────┐
    │                                                          表    号：湘社区统1表  │
    │                                                          制表机关：岳麓区       │
    │ 填报单位：岳麓街道枇杷塘社区        报告期：2026年11月                  (草稿)  │
    │ 指标名称 │ 计量单位 │ 合计 │ 男 │ 女 │                                          │
    │ …rows: headings merged, numbers as numbers, ratios with one decimal…            │
    │ 单位负责人：        填表人：        报出日期：2026年12月7日                      │
    └──────────────────────────────────────────────────────────────────────────────────┘

It renders the ``ReportTable`` the page renders (``selectors_reports.table``), so the export holds
the page's numbers: a submitted snapshot exactly as frozen, a draft as it stands (marked 草稿).
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from shequ.core.excel import BORDER, FONT, HEADER_FILL

# Where the table starts (rows above: title, 表号, 制表机关, the unit and period line).
HEADER_ROW = 5
NO_BORDER = Border()


@dataclass(frozen=True)
class FormHeading:
    """What the form says about itself around the table."""

    title: str
    number: str  # 表号 (may be blank)
    authority: str  # 制表机关
    unit: str  # 填报单位
    period: str  # 报告期, e.g. 2026年11月
    reported_on: date  # 报出日期: the submission's day, or today for a draft
    draft: bool


def display_width(text: str) -> int:
    """Columns a text needs in Excel: a Chinese character is as wide as two Latin ones."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _number(value: Any) -> int | float | None:
    """The value as Excel's number (an int stays an int), None for text and blanks."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        return float(value)
    try:
        return int(str(value))
    except ValueError:
        pass
    try:
        return float(str(value))
    except ValueError:
        return None


def _cell_value(value: Any) -> Any:
    """A number stays a number (Excel sums it); a text answer stays text."""
    number = _number(value)
    if number is not None:
        return number
    return "" if value is None else str(value)


def _put(ws: Worksheet, row: int, col: int, value: Any, **style: Any) -> Any:
    cell = ws.cell(row=row, column=col, value=value)
    for name, item in style.items():
        setattr(cell, name, item)
    return cell


def write_report(ws: Worksheet, table: Any, heading: FormHeading) -> None:
    """Fill ``ws`` with the form: ``table`` is a ``selectors_reports.ReportTable`` (``columns`` as
    (key, title) pairs; ``rows`` with ``title``, ``unit``, ``heading``, ``manual`` and
    ``manual_value``, or ``cells`` with their ``value``)."""
    columns = list(table.columns)
    ncols = 2 + max(len(columns), 1)
    last = get_column_letter(ncols)
    plain = Font(name=FONT, size=11)
    ws.title = "".join(ch for ch in heading.title if ch not in "[]:*?/\\")[:31] or "report"

    ws.merge_cells(f"A1:{last}1")
    _put(ws, 1, 1, heading.title, font=Font(name=FONT, size=16, bold=True))
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 32
    right = Alignment(horizontal="right")
    for r, text in (
        (2, _("Form No.: %(number)s") % {"number": heading.number}),
        (3, _("Issued by: %(authority)s") % {"authority": heading.authority}),
    ):
        ws.merge_cells(f"A{r}:{last}{r}")
        _put(ws, r, 1, text, font=plain, alignment=right)
    unit_line = _("Reporting unit: %(unit)s    Report period: %(period)s") % {
        "unit": heading.unit,
        "period": heading.period,
    }
    if heading.draft:
        unit_line += "    " + _("(DRAFT — not submitted)")
    ws.merge_cells(f"A4:{last}4")
    _put(ws, 4, 1, unit_line, font=Font(name=FONT, size=11, bold=heading.draft))

    titles = [_("Indicator"), pgettext("report column", "Unit")] + [str(title) for _key, title in columns]
    widths = [display_width(t) + 2 for t in titles]
    bold = Font(name=FONT, bold=True)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for c, title in enumerate(titles, start=1):
        _put(ws, HEADER_ROW, c, title, font=bold, fill=HEADER_FILL, border=BORDER, alignment=centre)

    r = HEADER_ROW
    for row in table.rows:
        r += 1
        title = str(row.title)
        widths[0] = max(widths[0], display_width(title) + 2)
        if row.heading:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncols)
            _put(ws, r, 1, title, font=bold, border=BORDER)
            for c in range(2, ncols + 1):
                ws.cell(row=r, column=c).border = BORDER
            continue
        _put(ws, r, 1, title, font=plain, border=BORDER)
        unit = str(row.unit or "")
        widths[1] = max(widths[1], display_width(unit) + 2)
        _put(ws, r, 2, unit, font=plain, border=BORDER, alignment=Alignment(horizontal="center"))
        if row.manual and len(columns) > 1:
            # A manual field has one value: it spans the columns.
            ws.merge_cells(start_row=r, start_column=3, end_row=r, end_column=ncols)
            for c in range(4, ncols + 1):
                ws.cell(row=r, column=c).border = BORDER
        shown = [row.manual_value] if row.manual else [cell.value for cell in row.cells[: len(columns)]]
        for c, raw in enumerate(shown, start=3):
            value = _cell_value(raw)
            target = _put(ws, r, c, value, font=plain, border=BORDER)
            if isinstance(value, float):
                target.number_format = "0.0"
            elif isinstance(value, int):
                target.number_format = "0"
            widths[c - 1] = max(widths[c - 1], display_width(str(value)) + 2)

    footer_row = r + 2
    footer = "{}            {}            {}".format(
        _("Head of unit:"),
        _("Filled in by:"),
        _("Reported on: %(date)s") % {"date": chinese_date(heading.reported_on)},
    )
    ws.merge_cells(start_row=footer_row, start_column=1, end_row=footer_row, end_column=ncols)
    _put(ws, footer_row, 1, footer, font=plain, border=NO_BORDER)

    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = min(max(width, 8), 60)
    ws.freeze_panes = f"C{HEADER_ROW + 1}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = f"{heading.title} · {heading.unit} · {heading.period}"


def report_workbook(table: Any, heading: FormHeading) -> bytes:
    workbook = Workbook()
    ws = workbook.active
    assert ws is not None
    write_report(ws, table, heading)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
