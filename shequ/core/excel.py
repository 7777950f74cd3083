"""Official-looking Excel workbooks for ledgers, exports, templates and import reports.

One way to write a sheet: a title row, an info row (region, who exported, when — the watermark that
every export of personal data carries), a bold header with borders, data rows, frozen header,
column widths, print setup for A4 landscape, and optional cell comments/marks for import errors.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

THIN = Side(style="thin", color="808080")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="DDE3EA")
ERROR_FILL = PatternFill("solid", fgColor="F8CBAD")
FONT = "SimSun"  # 宋体: what official ledgers are printed in; Excel falls back where missing


@dataclass
class Column:
    title: str
    width: int = 14
    # Text columns keep ID numbers and phone numbers from turning into numbers in Excel.
    text: bool = True


@dataclass
class Sheet:
    name: str
    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    info: str = ""  # e.g. "岳麓街道 · 导出人 张伟 · 2026-11-29 10:00"
    footer: str = ""
    # (row index in ``rows`` from 0, column index from 0) → message; the cell is filled red.
    marks: dict[tuple[int, int], str] = field(default_factory=dict)


def _cell_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date | int | float):
        return value
    return str(value)


def write_sheet(ws: Worksheet, sheet: Sheet) -> int:
    """Fill ``ws``; returns the number of data rows written."""
    ws.title = sheet.name[:31]
    ncols = max(len(sheet.columns), 1)
    last = get_column_letter(ncols)
    ws.merge_cells(f"A1:{last}1")
    ws["A1"] = sheet.title
    ws["A1"].font = Font(name=FONT, size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    ws.merge_cells(f"A2:{last}2")
    ws["A2"] = sheet.info
    ws["A2"].font = Font(name=FONT, size=10, color="404040")
    ws["A2"].alignment = Alignment(horizontal="right")
    for c, column in enumerate(sheet.columns, start=1):
        cell = ws.cell(row=3, column=c, value=column.title)
        cell.font = Font(name=FONT, bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(c)].width = column.width
    count = 0
    # Style the first cell of each kind, then copy its style array: assigning Font and Border
    # objects to every cell hashes them each time (seconds for a few thousand rows).
    styles: dict[tuple[bool, str], Any] = {}
    for r, row in enumerate(sheet.rows):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=4 + r, column=c, value=_cell_value(value))
            text = c <= len(sheet.columns) and sheet.columns[c - 1].text and isinstance(cell.value, str)
            kind = (bool(text), cell.number_format)
            if kind in styles:
                cell._style = copy(styles[kind])
            else:
                cell.border = BORDER
                cell.font = Font(name=FONT)
                if text:
                    cell.number_format = "@"
                styles[kind] = copy(cell._style)
            mark = sheet.marks.get((r, c - 1))
            if mark:
                cell.fill = ERROR_FILL
                cell.comment = Comment(mark, "Shequ")
        count += 1
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddFooter.center.text = sheet.footer or sheet.info
    return count


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    wb = Workbook()
    first = True
    for sheet in sheets:
        ws = wb.active if first else wb.create_sheet()
        first = False
        write_sheet(ws, sheet)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
