"""Disclosed lists (低保, subsidy recipients): entered by hand (pasted lines) or imported from an
Excel or CSV file, checked row by row, and stored MASKED.

Data minimisation: the full name and ID number are read only to check them (the ID's checksum, no
person twice) and to make their masked forms (张*明, 430104********1234); only the masked forms are
written, and the uploaded file is not kept. Phone numbers are never read, even when the file has a
column for them. One bad row refuses the whole list (every problem named by row, column and
reason); nothing is written until every row is right.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core import spreadsheets as ss
from shequ.core import validators
from shequ.core.models import User
from shequ.core.personal import mask_id_number, mask_name
from shequ.participation.models import DisclosureItem, DisclosureListRow, DisclosureStatus
from shequ.participation.permissions import PartPerm as P
from shequ.participation.services.disclosure import _common as c
from shequ.participation.services.disclosure.items import _changed

MAX_ROWS = 3000
AMOUNT_MAX = Decimal("1000000")
REASON_MAX = 100

COLUMNS = (
    ss.Col(
        "name",
        gettext_lazy("Name"),
        ("姓名", "户主姓名", "户主", "申请人", "救助对象", "名字"),
        required=True,
    ),
    ss.Col(
        "id_number",
        gettext_lazy("ID number"),
        ("身份证号码", "身份证号", "公民身份号码", "证件号码", "身份证"),
        required=True,
    ),
    ss.Col(
        "amount",
        gettext_lazy("Amount (yuan)"),
        ("金额", "发放金额", "补贴金额", "保障金额", "月保障金", "救助金额", "金额元"),
        required=True,
    ),
    ss.Col("reason", gettext_lazy("Reason"), ("原因", "事由", "类别", "保障类别", "补助原因", "说明")),
)
LOOKUP = ss.header_lookup(COLUMNS)
PHONE_HEADERS = frozenset(
    ss.squash(n) for n in ("电话", "联系电话", "手机", "手机号码", "手机号", "phone", "mobile")
)
# What the hand-entry box puts above the pasted lines (the same checks as a file).
PASTE_HEADER = ["姓名", "身份证号码", "金额", "原因"]


class ListRejected(ValidationError):
    """The list has problems: ``report`` names each (row, column, reason); nothing was written."""

    def __init__(self, report: ss.Report) -> None:
        super().__init__(_("The list was not saved: correct the rows named below and send it again."))
        self.report = report


@dataclass(frozen=True)
class MaskedRow:
    name_masked: str
    id_masked: str
    amount: Decimal
    reason: str


_AMOUNT = re.compile(r"^\d+(\.\d{1,2})?$")


def clean_amount(value: Any) -> Decimal:
    text = ss.cell_text(value).replace(",", "").replace("，", "").replace("元", "").replace("¥", "").strip()
    if not _AMOUNT.match(text):
        raise ValidationError(_("Give the amount in yuan, e.g. 650 or 650.50."))
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError(_("Give the amount in yuan, e.g. 650 or 650.50.")) from exc
    if amount >= AMOUNT_MAX:
        raise ValidationError(_("The amount is too large for one person."))
    return amount


def _check_row(row: ss.Row, id_exact: Any) -> MaskedRow | None:
    name = id_masked = ""
    amount = Decimal(0)
    try:
        name = validators.clean_person_name(row.cells.get("name"))
    except ValidationError as exc:
        row.add("name", exc.messages[0], "name")
    try:
        number = validators.clean_resident_id(ss.id_text(row.cells.get("id_number"), id_exact))
        row.key = number  # duplicates are checked on the full number, which is then dropped
        id_masked = mask_id_number(number)
    except ss.DamagedNumber:
        row.add(
            "id_number",
            _(
                "Excel turned this ID number into a number and lost its last digits: "
                "format the column as text."
            ),
            "id_damaged",
        )
    except ValidationError as exc:
        row.add("id_number", exc.messages[0], "id_number")
    try:
        amount = clean_amount(row.cells.get("amount"))
    except ValidationError as exc:
        row.add("amount", exc.messages[0], "amount")
    reason = ss.cell_text(row.cells.get("reason"))
    if len(reason) > REASON_MAX:
        row.add("reason", _("At most %(n)d characters.") % {"n": REASON_MAX}, "reason")
    if row.problems:
        return None
    return MaskedRow(mask_name(name), id_masked, amount, reason)


def check_table(table: ss.Table, report: ss.Report) -> list[MaskedRow]:
    """Every row checked; the masked rows when all are right (``report`` holds the problems)."""
    header = ss.find_header_by(table, LOOKUP)
    if header is None:
        report.problems.append(
            ss.Problem(
                None,
                "",
                None,
                _("No header row was found: the list needs the columns 姓名, 身份证号码 and 金额."),
                "no_header",
            )
        )
        return []
    present = {col.key for col in header.columns if col.key}
    for col in COLUMNS:
        if col.required and col.key not in present:
            report.problems.append(
                ss.Problem(
                    None,
                    "",
                    None,
                    _("The list has no “%(title)s” column.") % {"title": col.synonyms[0]},
                    "missing_column",
                )
            )
    if report.problems:
        return []
    report.columns = [{"col": col.index, "title": col.title, "field": col.key} for col in header.columns]
    report.skipped += [
        {"row": None, "why": "phone", "text": col.title}
        for col in header.columns
        if ss.squash(col.title) in PHONE_HEADERS
    ]
    id_col = header.by_key()["id_number"][0].index
    exact = ss.exact_numbers(table, id_col)
    rows = list(ss.data_rows(table, header, report))
    report.data_rows = len(rows)
    if len(rows) > MAX_ROWS:
        report.problems.append(
            ss.Problem(None, "", None, _("A list has at most %(n)d rows.") % {"n": MAX_ROWS}, "too_many_rows")
        )
        return []
    if not rows:
        report.problems.append(ss.Problem(None, "", None, _("The list has no rows."), "empty"))
        return []
    masked = [_check_row(row, exact.get(row.index)) for row in rows]
    ss.duplicates_in_file(rows, "id_number", _("The same ID number is also in row %(rows)s."), "duplicate")
    for row in rows:
        report.problems.extend(row.problems)
    report.valid_count = sum(1 for row in rows if not row.problems)
    if report.problems:
        return []
    return [m for m in masked if m is not None]


def _paste_table(text: str) -> ss.Table:
    """Pasted lines (from Excel: tab-separated; or with commas; or spaces) as a table under the
    fixed header; line 1 of the box is row 1."""
    rows: list[list[Any]] = [list(PASTE_HEADER)]
    for line in text.replace("\r\n", "\n").split("\n"):
        if "\t" in line:
            cells = line.split("\t")
        elif "，" in line:  # full-width commas separate; a half-width one may be a thousands mark
            cells = line.split("，")
        elif "," in line:
            cells = next(csv.reader(io.StringIO(line)))
        else:
            cells = line.split(None, 3)
        cells = [cell.strip() for cell in cells]
        rows.append((cells + [""] * 4)[: max(4, len(cells))])
    width = max(len(r) for r in rows)
    return ss.Table(sheet="", rows=[r + [""] * (width - len(r)) for r in rows], first_row=0)


def _save(
    actor: User, item: DisclosureItem, masked: list[MaskedRow], source: str, request: HttpRequest | None
) -> int:
    with transaction.atomic():
        item = DisclosureItem.objects.select_for_update().get(pk=item.pk)
        if item.status != DisclosureStatus.DRAFT:
            raise ValidationError(
                _("The list of a published item cannot be changed: withdraw it and publish a corrected one.")
            )
        item.rows.all().delete()
        DisclosureListRow.objects.bulk_create(
            DisclosureListRow(
                item=item,
                number=n,
                name_masked=m.name_masked,
                id_masked=m.id_masked,
                amount=m.amount,
                reason=m.reason,
            )
            for n, m in enumerate(masked, start=1)
        )
        c.record(
            "disclosure_list",
            item,
            actor=actor,
            request=request,
            detail={
                "rows": len(masked),
                "source": source,
                "total": str(sum((m.amount for m in masked), Decimal(0))),
            },
        )
        _changed(item, "list", actor)
    return len(masked)


def _guard(actor: User, item: DisclosureItem, request: HttpRequest | None) -> None:
    c.require(actor, P.DISCLOSE, item, "disclosure_list", request)
    if item.status != DisclosureStatus.DRAFT:
        raise ValidationError(
            _("The list of a published item cannot be changed: withdraw it and publish a corrected one.")
        )


def list_import(
    *, actor: User, item: DisclosureItem, content: bytes, filename: str, request: HttpRequest | None = None
) -> tuple[int, ss.Report]:
    """Replace the draft's list with the file's rows (all of them right) or raise ListRejected."""
    _guard(actor, item, request)
    report = ss.Report(kind="disclosure_list", filename=filename[:200], region_code=item.region_code)
    try:
        table = ss.read_table(content, filename)
    except ss.ImportFileError as exc:
        report.problems.append(ss.Problem(None, "", None, exc.message, exc.code))
        raise ListRejected(report) from exc
    report.sheet = table.sheet
    masked = check_table(table, report)
    if report.problems:
        raise ListRejected(report)
    return _save(actor, item, masked, "file", request), report


def list_paste(
    *, actor: User, item: DisclosureItem, text: str, request: HttpRequest | None = None
) -> tuple[int, ss.Report]:
    """Replace the draft's list with pasted lines (姓名, 身份证号码, 金额, 原因 each) or raise
    ListRejected; an empty box empties the list."""
    _guard(actor, item, request)
    report = ss.Report(kind="disclosure_list", filename="", region_code=item.region_code)
    if not text.strip():
        return _save(actor, item, [], "typed", request), report
    masked = check_table(_paste_table(text), report)
    if report.problems:
        raise ListRejected(report)
    return _save(actor, item, masked, "typed", request), report
