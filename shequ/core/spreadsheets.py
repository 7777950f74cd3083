"""Reading spreadsheets people fill in by hand (.xlsx, .xls, .ods, .csv): the file into a
:class:`Table` (calamine for speed, merged cells filled in, CSV in UTF-8 with or without BOM, UTF-16
or GB18030/GBK), the header found among the first rows (under a title, over one or two rows with
merged cells, with the many names ledgers give a column), cells as text, ID and phone numbers,
dates as ledgers write them, data rows with their problems, a :class:`Report` that names every
problem by row, column and reason, and the error workbook that hands the bad rows back.

Used by the registry's ledger imports and the grid's 12345 hotline import.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import models
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from shequ.core import excel
from shequ.core import validators as v

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_DATA_ROWS = 200_000
# Ledgers put a title, a unit name and a date above the header: look this far down for it.
HEADER_SCAN_ROWS = 12


StrOrPromise = str | Promise


class ImportFileError(Exception):
    """The file as a whole cannot be read (not a spreadsheet, too big, wrong encoding)."""

    def __init__(self, message: str, code: str = "file") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Col:
    """One importable column: its key, the header the templates write (an English msgid), the
    names ledgers use for it, and what the notes sheet says about it."""

    key: str
    title: StrOrPromise
    synonyms: tuple[str, ...] = ()
    required: bool = False
    help: StrOrPromise = ""
    example: Any = ""
    choices: type[models.TextChoices] | None = None


# The first column of the templates: "示例"/"Example" there marks the example row.
ROW_NUMBER_HEADERS = frozenset({"序号", "编号", "no", "no."})


def squash(value: Any) -> str:
    """A header or choice value for comparison: half-width, no spaces or asterisks, no notes in
    brackets (``身份证号码（必填）`` → ``身份证号码``), lower case."""
    text = unicodedata.normalize("NFKC", "" if value is None else str(value))
    text = re.sub(r"[(\[【][^)\]】]*[)\]】]", "", text)
    return re.sub(r"[\s*★:]+", "", text).lower()


def header_lookup(columns: Sequence[Col]) -> dict[str, str]:
    """Normalised header name → column key, with each column's title in both languages."""
    lookup: dict[str, str] = {}
    for col in columns:
        names = [col.key, *col.synonyms]
        for lang in ("en", "zh-hans"):
            with translation.override(lang):
                names.append(str(col.title))
        for name in names:
            lookup.setdefault(squash(name), col.key)
    return lookup


# --- Reading files ------------------------------------------------------------------------------


@dataclass
class Table:
    """The cells of one sheet as read (numbers stay numbers, dates stay dates), merged cells filled
    in with their value, every row as wide as the widest. ``first_row``: the file's row number of
    ``rows[0]``."""

    sheet: str
    rows: list[list[Any]]
    first_row: int = 1
    fmt: str = "csv"
    content: bytes = b""

    def row_number(self, index: int) -> int:
        return self.first_row + index


def _file_format(content: bytes, filename: str) -> str:
    if content[:4] == b"PK\x03\x04":
        return "ods" if filename.lower().endswith(".ods") else "xlsx"
    if content[:4] == b"\xd0\xcf\x11\xe0":
        return "xls"
    return "csv"


def read_table(content: bytes, filename: str = "", sheet: str | None = None) -> Table:
    """The first sheet with data (or ``sheet``) of an Excel/ODS workbook, or a CSV file."""
    if not content:
        raise ImportFileError(_("The file is empty."), "empty")
    if len(content) > MAX_FILE_BYTES:
        raise ImportFileError(
            _("The file is larger than %(n)d MB: split it into several files.") % {"n": MAX_FILE_BYTES >> 20},
            "too_large",
        )
    fmt = _file_format(content, filename)
    table = _read_csv(content) if fmt == "csv" else _read_workbook(content, fmt, sheet)
    table.fmt = fmt
    table.content = content
    return table


def _read_workbook(content: bytes, fmt: str, wanted: str | None) -> Table:
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
        names = [
            m.name
            for m in book.sheets_metadata
            if str(m.typ).endswith("WorkSheet") and str(m.visible).endswith("Visible")
        ] or list(book.sheet_names)
        if wanted is not None:
            if wanted not in book.sheet_names:
                raise ImportFileError(
                    _("The workbook has no sheet named “%(name)s”.") % {"name": wanted[:50]}
                )
            names = [wanted]
        for name in names:
            sheet = book.get_sheet_by_name(name)
            rows = sheet.to_python()
            if any(any(cell not in ("", None) for cell in row) for row in rows[: HEADER_SCAN_ROWS * 4]):
                start_row, start_col = sheet.start or (0, 0)
                merged = sheet.merged_cell_ranges or []
                return _table_from_rows(name, rows, start_row, start_col, merged)
    except ImportFileError:
        raise
    except Exception as exc:  # calamine raises several error types for damaged or foreign files
        raise ImportFileError(
            _("The file could not be read as an Excel workbook; save it again as .xlsx."), "unreadable"
        ) from exc
    raise ImportFileError(_("The workbook has no data."), "empty")


def _table_from_rows(
    name: str, rows: list[list[Any]], start_row: int, start_col: int, merged: Iterable[Any]
) -> Table:
    if len(rows) > MAX_DATA_ROWS + HEADER_SCAN_ROWS:
        raise ImportFileError(
            _("The sheet has more than %(n)d rows: split it into several files.") % {"n": MAX_DATA_ROWS},
            "too_many_rows",
        )
    width = max((len(r) for r in rows), default=0) + start_col
    if start_col:
        rows = [[""] * start_col + list(r) for r in rows]
    for row in rows:
        if len(row) < width:
            row.extend([""] * (width - len(row)))
    # A merged cell holds its value in its first cell only: copy it over the whole range (a header
    # over two columns, a building number shared by the people of a household).
    for (r1, c1), (r2, c2) in merged:
        top = r1 - start_row
        if top < 0 or top >= len(rows) or c1 >= width:
            continue
        value = rows[top][c1]
        for r in range(max(top, 0), min(r2 - start_row, len(rows) - 1) + 1):
            for c in range(c1, min(c2, width - 1) + 1):
                rows[r][c] = value
    return Table(sheet=name, rows=rows, first_row=start_row + 1)


def _decode_csv(content: bytes) -> str:
    if content.startswith(codecs.BOM_UTF8):
        content = content[len(codecs.BOM_UTF8) :]
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return content.decode("utf-16")  # Excel's "Unicode text"
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # GB18030 is a superset of GBK and GB2312: what Excel on Chinese Windows writes.
        return content.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _("The CSV file is neither UTF-8 nor GBK text; save it again as “CSV UTF-8”."), "encoding"
        ) from exc


def _read_csv(content: bytes) -> Table:
    text = _decode_csv(content)
    if "\x00" in text:
        raise ImportFileError(_("This is not an Excel (.xlsx, .xls) or CSV file."), "not_a_table")
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), dialect)]
    if not any(any(c.strip() for c in r) for r in rows):
        raise ImportFileError(_("The file is empty."), "empty")
    return _table_from_rows("", rows, 0, 0, [])


def exact_numbers(table: Table, col: int) -> dict[int, Any]:
    """The numbers of one column as stored in an .xlsx file (row index → value). calamine reads
    every number as a double, which cannot hold 18 digits; openpyxl keeps an integer written in
    full. Used only for ID columns holding numbers of 16 digits or more."""
    if table.fmt != "xlsx":
        return {}
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(table.content), read_only=True, data_only=True)
    try:
        ws = book[table.sheet] if table.sheet in book.sheetnames else book.worksheets[0]
        out: dict[int, Any] = {}
        for number, (value,) in enumerate(
            ws.iter_rows(min_row=table.first_row, min_col=col + 1, max_col=col + 1, values_only=True),
            start=0,
        ):
            if isinstance(value, int | float):
                out[number] = value
        return out
    finally:
        book.close()


# --- Cells --------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a trailing .0, dates as ISO dates, full-width characters and
    runs of spaces folded."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time | dt.timedelta):
        return str(value)
    return v.normalize_text(value)


def is_blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, str) and value.isspace())


_SCIENTIFIC = re.compile(r"^\d(\.\d+)?E\+?\d+$")
# Excel keeps 15 significant digits of a number.
_EXCEL_DIGITS = 15


class DamagedNumber(ValueError):
    pass


def id_text(value: Any, exact: Any = None) -> str:
    """An ID number cell as text. A cell that Excel turned into a number of more than 15 digits
    (shown as 4.30104199001011E+17) has lost its last digits for good: :class:`DamagedNumber`."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        if isinstance(exact, int) and not isinstance(exact, bool):
            return str(exact)
        if isinstance(value, float) and (not value.is_integer() or abs(value) >= 10**_EXCEL_DIGITS):
            raise DamagedNumber
        return str(int(value))
    text = cell_text(value)
    compact = text.replace(" ", "").upper()
    if _SCIENTIFIC.match(compact):
        raise DamagedNumber
    if compact.endswith(".0") and compact[:-2].isdigit():
        return compact[:-2]
    return text


_PHONE_SPLIT = re.compile(r"[/、,，;；]|\s{2,}")


def phone_text(value: Any) -> str:
    """A phone cell as text; of several numbers in one cell (``138… / 0731-…``) the first."""
    text = cell_text(value)
    parts = [p.strip() for p in _PHONE_SPLIT.split(text) if p.strip()]
    return parts[0] if parts else ""


EXCEL_EPOCH = dt.date(1899, 12, 30)
_FULL_DATE = re.compile(
    r"^(\d{4})\s*[.\-/年]\s*(\d{1,2})\s*[.\-/月]\s*(\d{1,2})\s*日?(?:T?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_YEAR_MONTH = re.compile(r"^(\d{4})\s*[.\-/年]\s*(\d{1,2})\s*月?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_COMPACT_MONTH = re.compile(r"^(\d{4})(\d{2})$")


@dataclass(frozen=True)
class PartialDate:
    """A date given only to the year or month (出生年月: 1990.01); ``months`` holds the months it may
    mean (a number cell 1990.1 was typed as 1990.1 or 1990.10)."""

    year: int
    months: tuple[int, ...] = ()

    def matches(self, day: dt.date) -> bool:
        return day.year == self.year and (not self.months or day.month in self.months)


def parse_date(value: Any) -> dt.date | PartialDate | None:
    """A ledger's date: a date cell, an Excel serial number, ``1990.1.2``, ``1990-01-02``,
    ``1990/1/2``, ``1990年1月2日``, ``19900102``; ``1990.01``/``199001``/``1990年1月`` give a
    :class:`PartialDate`. ``None`` for an empty cell; ``ValueError`` when unreadable."""
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ValueError("not a date")
    if isinstance(value, int | float):
        return _date_from_number(value)
    text = cell_text(value).replace(" ", "")
    if text.isdigit() and len(text) <= 5:
        return _date_from_number(int(text))
    for pattern in (_FULL_DATE, _COMPACT_DATE):
        m = pattern.match(text)
        if m:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
    for pattern in (_YEAR_MONTH, _COMPACT_MONTH):
        m = pattern.match(text)
        if m and 1 <= int(m[2]) <= 12:
            return PartialDate(int(m[1]), (int(m[2]),))
    if re.fullmatch(r"\d{4}年?", text):
        return PartialDate(int(text[:4]))
    raise ValueError("not a date")


def _date_from_number(number: float) -> dt.date | PartialDate:
    if isinstance(number, float) and not number.is_integer():
        whole = int(number)
        if 1880 <= whole <= 2100:  # 1990.01 typed into a number cell
            frac = round((number - whole) * 100)
            months = {frac} | ({frac // 10} if frac % 10 == 0 else set())
            months = {m for m in months if 1 <= m <= 12}
            if not months:
                raise ValueError("not a month")
            return PartialDate(whole, tuple(sorted(months)))
        number = float(whole)  # a date-time serial: keep the day
    n = int(number)
    if 1880 <= n <= 2100:
        return PartialDate(n)
    if 19000101 <= n <= 21001231:
        return dt.date(n // 10000, n // 100 % 100, n % 100)
    if 188001 <= n <= 210012:
        if not 1 <= n % 100 <= 12:
            raise ValueError("not a month")
        return PartialDate(n // 100, (n % 100,))
    if 0 < n < 80000:
        return EXCEL_EPOCH + dt.timedelta(days=n)
    raise ValueError("not a date")


# --- Header -------------------------------------------------------------------------------------


@dataclass
class HeaderColumn:
    index: int
    title: str
    key: str  # '' when the column is not imported


@dataclass
class Header:
    rows: list[int]  # indices into Table.rows
    columns: list[HeaderColumn]

    def by_key(self) -> dict[str, list[HeaderColumn]]:
        out: dict[str, list[HeaderColumn]] = defaultdict(list)
        for column in self.columns:
            if column.key:
                out[column.key].append(column)
        return out


def _map_header(rows: Sequence[Sequence[Any]], lookup: Mapping[str, str]) -> list[HeaderColumn]:
    """Each column's title and field: the lowest header cell that names a field, else the upper
    one, else both together (``户籍`` over ``地址``)."""
    width = max(len(r) for r in rows)
    columns = []
    for c in range(width):
        # Titles as written in the file (only spaces folded), for the report.
        texts = [" ".join(str(r[c]).split()) if c < len(r) and not is_blank(r[c]) else "" for r in rows]
        candidates = [t for t in reversed(texts) if t]
        if len(rows) > 1 and all(texts) and texts[0] != texts[-1]:
            candidates.append("".join(texts))
        key = ""
        title = candidates[0] if candidates else ""
        for text in candidates:
            found = lookup.get(squash(text))
            if found:
                key, title = found, text
                break
        if title:
            columns.append(HeaderColumn(index=c, title=title, key=key))
    return columns


def find_header_by(table: Table, lookup: Mapping[str, str]) -> Header | None:
    """The header: the row (or pair of rows) among the first ones naming the most fields of
    ``lookup`` (see ``header_lookup``); merged cells over a lower header row belong to it."""
    best: tuple[tuple[int, int, int], Header] | None = None
    limit = min(HEADER_SCAN_ROWS, len(table.rows))
    for r in range(limit):
        if all(is_blank(c) for c in table.rows[r]):
            continue
        for depth in (1, 2):
            if r + depth > len(table.rows):
                continue
            columns = _map_header(table.rows[r : r + depth], lookup)
            score = len({c.key for c in columns if c.key})
            rank = (score, -depth, -r)
            if best is None or rank > best[0]:
                best = (rank, Header(rows=list(range(r, r + depth)), columns=columns))
    if best is None or best[0][0] < 2:
        return None
    header = best[1]
    top = header.rows[0]
    if len(header.rows) == 1 and top > 0:
        # Merged cells fill the lower row of a two-row header completely; the upper row, naming
        # fields too, is part of the header.
        above = _map_header(table.rows[top - 1 : top], lookup)
        both = _map_header(table.rows[top - 1 : top + 1], lookup)
        if len({c.key for c in above if c.key}) >= 2 and len({c.key for c in both if c.key}) >= best[0][0]:
            return Header(rows=[top - 1, top], columns=both)
    return header


# --- Reports ------------------------------------------------------------------------------------


@dataclass
class Problem:
    row: int | None  # the file's row number; None for the file as a whole
    column: str  # the column's title in the file ('' for a whole row)
    col: int | None  # 0-based column index in the file
    reason: str
    code: str

    @property
    def column_letter(self) -> str:
        if self.col is None:
            return ""
        from openpyxl.utils import get_column_letter

        return get_column_letter(self.col + 1)


@dataclass
class Report:
    """What a dry run found; stored with the upload (JSON) and shown on the report page."""

    kind: str
    filename: str
    region_code: str
    sheet: str = ""
    header_rows: list[int] = field(default_factory=list)  # file row numbers
    columns: list[dict[str, Any]] = field(default_factory=list)
    data_rows: int = 0
    valid_count: int = 0
    valid_digest: str = ""
    problems: list[Problem] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)  # note and example rows
    blank_rows: int = 0
    plan: dict[str, int] = field(default_factory=dict)  # what a commit creates

    @property
    def file_problems(self) -> list[Problem]:
        return [p for p in self.problems if p.row is None]

    @property
    def error_rows(self) -> list[int]:
        return sorted({p.row for p in self.problems if p.row is not None})

    @property
    def ok(self) -> bool:
        return not self.file_problems

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Report:
        values = dict(data)
        values["problems"] = [Problem(**p) for p in values.get("problems", [])]
        return cls(**values)


# --- Rows ---------------------------------------------------------------------------------------


_NOTE_PREFIXES = (
    "填表说明",
    "说明",
    "注",
    "备注",
    "合计",
    "总计",
    "小计",
    "共计",
    "制表",
    "填表",
    "审核",
    "负责人",
    "签字",
    "签名",
    "盖章",
    "填报",
    "统计",
    "单位负责人",
    "日期",
    "联系人",
    "联系电话",
)
_EXAMPLE_MARKS = frozenset({"示例", "例", "example", "e.g."})


@dataclass
class Row:
    """A data row: the cells of the imported columns, by key (first non-empty column wins)."""

    number: int
    index: int
    cells: dict[str, Any]
    source: dict[str, HeaderColumn]  # key → the column the value came from
    problems: list[Problem] = field(default_factory=list)
    # What must be unique (an ID number, a house, a credit code), when it could be read: checked
    # against the rest of the file and the database even when other cells of the row are wrong.
    key: Any = None

    def add(self, key: str, reason: str, code: str) -> None:
        column = self.source.get(key)
        self.problems.append(
            Problem(
                row=self.number,
                column=column.title if column else "",
                col=column.index if column else None,
                reason=reason,
                code=code,
            )
        )

    def text(self, key: str) -> str:
        return cell_text(self.cells.get(key))


def open_table(
    content: bytes,
    filename: str,
    report: Report,
    *,
    lookup: Mapping[str, str],
    columns: Sequence[Col],
) -> tuple[Table, Header] | None:
    """Read a file and find its header for an import's dry run: the sheet, header rows and columns
    go into ``report``; a file that cannot be read, has no header or lacks a required column gets
    its problem in ``report`` and answers None."""
    try:
        table = read_table(content, filename)
    except ImportFileError as exc:
        report.problems.append(Problem(None, "", None, exc.message, exc.code))
        return None
    report.sheet = table.sheet
    header = find_header_by(table, lookup)
    required = [c for c in columns if c.required]
    if header is None:
        report.problems.append(
            Problem(
                None,
                "",
                None,
                _(
                    "No header row was found in the first %(n)d rows: the columns need names such as "
                    "%(names)s."
                )
                % {"n": HEADER_SCAN_ROWS, "names": "、".join(c.synonyms[0] for c in required)},
                "no_header",
            )
        )
        return None
    report.header_rows = [table.row_number(r) for r in header.rows]
    titles = {c.key: str(c.title) for c in columns}
    report.columns = [
        {"col": c.index, "title": c.title, "field": c.key, "label": titles.get(c.key, "")}
        for c in header.columns
    ]
    present = {c.key for c in header.columns if c.key}
    for col in required:
        if col.key not in present:
            report.problems.append(
                Problem(
                    None,
                    "",
                    None,
                    _("The file has no “%(title)s” column (also recognised: %(names)s).")
                    % {"title": col.synonyms[0], "names": "、".join(col.synonyms[1:5])},
                    "missing_column",
                )
            )
    return None if report.problems else (table, header)


def data_rows(table: Table, header: Header, report: Report) -> Iterator[Row]:
    by_key = header.by_key()
    imported = sorted({c.index for c in header.columns if c.key})
    number_cols = [c.index for c in header.columns if squash(c.title) in ROW_NUMBER_HEADERS]
    single = {key: columns[0] for key, columns in by_key.items() if len(columns) == 1}
    several = {key: columns for key, columns in by_key.items() if len(columns) > 1}
    start = header.rows[-1] + 1
    for index in range(start, len(table.rows)):
        raw = table.rows[index]
        if all(is_blank(raw[c]) for c in imported):
            report.blank_rows += 1  # empty, or only a pre-printed sequence number
            continue
        number = table.row_number(index)
        first = cell_text(next(value for value in raw if not is_blank(value)))
        if first.startswith(_NOTE_PREFIXES) and (
            ":" in first or "：" in first or sum(1 for value in raw if not is_blank(value)) <= 2
        ):
            report.skipped.append({"row": number, "why": "note", "text": first[:40]})
            continue
        if number_cols and any(squash(raw[c]) in _EXAMPLE_MARKS for c in number_cols):
            report.skipped.append({"row": number, "why": "example", "text": ""})
            continue
        cells = {key: raw[column.index] for key, column in single.items()}
        source = dict(single)
        for key, columns in several.items():
            chosen = next((c for c in columns if not is_blank(raw[c.index])), columns[0])
            cells[key] = raw[chosen.index]
            source[key] = chosen
        yield Row(number=number, index=index, cells=cells, source=source)


def duplicates_in_file(rows: Sequence[Row], column: str, message: str, code: str) -> set[int]:
    """Rows sharing a key (an ID number, a house, a credit code): all of them are refused."""
    seen: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        if row.key:
            seen[row.key].append(row)
    bad: set[int] = set()
    for same in seen.values():
        if len(same) < 2:
            continue
        for row in same:
            others = ", ".join(str(o.number) for o in same if o is not row)
            row.add(column, message % {"rows": others}, code)
            bad.add(row.number)
    return bad


def _actor_name(actor: Any) -> str:
    return (getattr(actor, "username", "") or "") if actor is not None else ""


def error_workbook(*, content: bytes, report: Report, actor: Any = None) -> bytes:
    """The rows with problems, as in the file, bad cells in red with the reason as a comment, and a
    second sheet listing every problem; correct the rows and import them again."""
    problems_by_row: dict[int, list[Problem]] = defaultdict(list)
    for p in report.problems:
        if p.row is not None:
            problems_by_row[p.row].append(p)
    file_columns = sorted(report.columns, key=lambda c: c["col"])
    rows: list[list[Any]] = []
    marks: dict[tuple[int, int], str] = {}
    if content and problems_by_row:
        table = read_table(content, report.filename, report.sheet or None)
        position = {c["col"]: i + 1 for i, c in enumerate(file_columns)}
        for n in sorted(problems_by_row):
            index = n - table.first_row
            raw = table.rows[index] if 0 <= index < len(table.rows) else []
            out_row = [n] + [cell_text(raw[c["col"]]) if c["col"] < len(raw) else "" for c in file_columns]
            out_row.append("；".join(p.reason for p in problems_by_row[n]))
            r = len(rows)
            for p in problems_by_row[n]:
                at = (
                    position.get(p.col, len(file_columns) + 1) if p.col is not None else len(file_columns) + 1
                )
                marks[(r, at)] = (marks[(r, at)] + "\n" + p.reason) if (r, at) in marks else p.reason
            rows.append(out_row)
    when = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    who = _actor_name(actor) or _("the platform")
    info = _(
        "Checked %(when)s by %(who)s for %(region)s · correct the red cells and import these rows again"
    ) % {"when": when, "who": who, "region": report.region_code}
    bad = excel.Sheet(
        name=str(_("Rows with problems")),
        title=_("Problems found in %(file)s") % {"file": report.filename},
        info=info,
        columns=[excel.Column(_("Row"), 6, text=False)]
        + [excel.Column(c["title"], 16) for c in file_columns]
        + [excel.Column(_("Problems"), 60)],
        rows=rows,
        marks=marks,
    )
    listing = excel.Sheet(
        name=str(_("All problems")),
        title=_("Problems found in %(file)s") % {"file": report.filename},
        info=info,
        columns=[
            excel.Column(_("Row"), 6, text=False),
            excel.Column(_("Column"), 8),
            excel.Column(_("Title"), 18),
            excel.Column(_("Reason"), 80),
            excel.Column(_("Code"), 20),
        ],
        rows=[[p.row or "", p.column_letter, p.column, p.reason, p.code] for p in report.problems],
    )
    return excel.workbook_bytes([bad, listing])
