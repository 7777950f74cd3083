"""Ledger area titles and the Excel workbook of any app's ledger (pages, exports and scheduled
runs all write it here)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext, pgettext

from shequ.core.components import LEDGER_AS_OF, LEDGER_END, LEDGER_START, Ledger
from shequ.core.excel import Column, Sheet, write_sheet
from shequ.core.models import Region

Filters = Mapping[str, Any]

# --- Region names for titles --------------------------------------------------------------------

STREET_LENGTH = 9


def region_title(codes: Sequence[str]) -> str:
    """How a ledger names its area: the street and community for a community
    ("岳麓街道枇杷塘社区"), the grid after them, just the name above street level; several areas
    are listed with "、"."""
    wanted: set[str] = set()
    for code in codes:
        wanted.update(code[:n] for n in (2, 4, 6, 9, 12, 15) if n <= len(code))
    names = dict(Region.objects.filter(code__in=wanted).values_list("code", "name"))
    titles = []
    for code in codes:
        start = min(len(code), STREET_LENGTH)
        parts = [names.get(code[:n], "") for n in (2, 4, 6, 9, 12, 15) if start <= n <= len(code)]
        titles.append("".join(parts) or code)
    return "、".join(titles)


def ledger_day(filters: Filters) -> date:
    """The day a ledger stands on: its "as of" date, or the last day of its period."""
    for name in (LEDGER_AS_OF, LEDGER_END):
        value = filters.get(name)
        if isinstance(value, date):
            return value
    return timezone.localdate()


def period_text(ledger: Ledger, filters: Filters) -> str:
    """ "As of: 2026-11-30" for a state ledger, "Period: 2026-11-01 to 2026-11-30" for a period one."""
    if ledger.periodic and isinstance(filters.get(LEDGER_START), date):
        return gettext("Period: %(start)s to %(end)s") % {
            "start": filters[LEDGER_START].isoformat(),
            "end": ledger_day(filters).isoformat(),
        }
    return gettext("As of: %(date)s") % {"date": ledger_day(filters).isoformat()}


# --- Excel --------------------------------------------------------------------------------------

EXPORT_MAX_ROWS = 20_000


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def ledger_workbook(
    *,
    ledger: Ledger,
    rows: Sequence[Any],
    filters: Filters,
    area: str,
    unit: str,
    exporter: str,
    full: bool,
    exported_at: datetime,
) -> bytes:
    """The ledger as an official-looking workbook: title "<area><ledger>", an info row (date of the
    ledger, who exported it and when, their unit: the watermark), 序号 and the ledger's columns,
    then the signature line; the page footer repeats the watermark."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from shequ.core.excel import FONT

    info = gettext("%(period)s    Exported by: %(user)s at %(time)s    Unit: %(unit)s") % {
        "period": period_text(ledger, filters),
        "user": exporter,
        "time": _local(exported_at),
        "unit": unit,
    }
    footer = gettext("Exported by %(user)s at %(time)s — for official use only") % {
        "user": exporter,
        "time": _local(exported_at),
    }
    columns = [Column(pgettext("ledger column", "No."), 6, text=False)]
    columns += [Column(str(c.title), c.width, c.text) for c in ledger.columns]

    def values() -> Iterator[list[Any]]:
        for i, obj in enumerate(rows, start=1):
            row = ledger.row(obj, filters, full)
            yield [i, *(row.get(c.key) for c in ledger.columns)]

    sheet_name = "".join(ch for ch in str(ledger.title) if ch not in "[]:*?/\\")[:31] or ledger.key
    workbook = Workbook()
    ws = workbook.active
    assert ws is not None
    written = write_sheet(
        ws,
        Sheet(
            name=sheet_name,
            # Translators: the title of an exported ledger, e.g. 岳麓街道枇杷塘社区80周岁以上高龄老人台账
            title=gettext("%(area)s: %(title)s") % {"area": area, "title": ledger.title},
            columns=columns,
            rows=values(),
            info=info,
            footer=footer,
        ),
    )
    wrap = Alignment(wrap_text=True, vertical="top")
    for cells in ws.iter_rows(min_row=4, max_row=3 + written):
        for cell in cells:
            if isinstance(cell.value, str) and "\n" in cell.value:
                cell.alignment = wrap
    last = 3 + written
    ncols = len(columns)
    lines = [
        gettext("Total: %(n)d") % {"n": written},
        gettext("Filled in by:                Checked by:                Date filled in:"),
    ]
    if not full and ledger.reveal_fields:
        lines.insert(1, gettext("ID and phone numbers are masked."))
    for offset, text in enumerate(lines, start=2):
        r = last + offset
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncols)
        cell = ws.cell(row=r, column=1, value=text)
        cell.font = Font(name=FONT, size=11)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
