"""Import of 12345 hotline work orders (.xlsx, .xls or .csv as the hotline centre exports them) as
tickets of source ``hotline``.

The files are read with the core's tolerant spreadsheet reading (``shequ/core/spreadsheets.py``):
a title above the header, a header over two rows with merged cells, header names that differ from
one centre to the next, blank and note rows, full-width digits, GBK-encoded CSV. Then every row is
checked:

* 工单编号 becomes the ticket's ``external_ref``: required, and unique in the file and on the
  platform (importing the same export twice creates nothing twice);
* 来电时间 is when the ticket was submitted (the deadlines run from then): an Excel date cell or
  serial number, or text such as ``2026-03-01 09:15``, ``2026/3/1 9:15`` or ``2026年3月1日9时15分``;
* 所属社区 names the community (or grid) by code or by name, inside the importer's regions; a name
  shared by two communities needs the street (所属街道 column, or ``岳麓街道枇杷塘社区``);
* 诉求类型 is matched with a category's Chinese name (the last matching part of ``城乡建设-市容-噪音扰民``);
  otherwise the category stays open for the community to choose and the classifier's top
  suggestion is kept with its confidence (``services.suggest``);
* 紧急程度, 联系电话 (a number the centre masked, ``139****5678``, is left out), 办理时限 (kept in the
  description: the platform's own deadlines follow the category).

:func:`check` (the dry run) writes nothing and reports every problem by row, column and reason.
:func:`commit` checks the file again and writes all valid rows in one transaction through
``services.ticket_submit`` — or nothing, when the file changed or a row was imported meanwhile.
Between the two, the upload is kept encrypted for its uploader only (``core/uploads.py``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core import audit, spreadsheets, uploads
from shequ.core import validators as v
from shequ.core.models import AuditResult, Region
from shequ.core.permissions import Viewer, has_perm, scopes_for
from shequ.core.spreadsheets import Col, Report, Row
from shequ.core.text import clean_text
from shequ.grid import services
from shequ.grid.hotline_cells import CategoryIndex, CellError, RegionIndex, parse_moment
from shequ.grid.models import Category, Source, Ticket, Urgency
from shequ.grid.permissions import GridPerm as P

KIND = "hotline"
EXTERNAL_REF_MAX = 64
TITLE_FROM_TEXT = 30
HOTLINE_AUDIT_BATCH = 1000  # tickets' steps per audit entry of an import

COLUMNS: tuple[Col, ...] = (
    Col(
        "external_ref",
        gettext_lazy("Work order number"),
        (
            "工单编号",
            "工单号",
            "工单号码",
            "受理编号",
            "热线编号",
            "12345工单号",
            "诉求编号",
            "案件编号",
            "流水号",
        ),
        True,
    ),
    Col(
        "called_at",
        gettext_lazy("Call time"),
        ("来电时间", "来电日期", "受理时间", "登记时间", "诉求时间", "工单创建时间", "创建时间"),
        True,
    ),
    Col("caller", gettext_lazy("Caller"), ("来电人", "来电人姓名", "诉求人", "市民姓名", "联系人", "姓名")),
    Col(
        "phone",
        gettext_lazy("Contact phone"),
        ("联系电话", "来电号码", "联系方式", "联系号码", "手机号", "手机号码", "电话"),
    ),
    Col("title", gettext_lazy("Request title"), ("诉求标题", "标题", "工单标题", "主题", "诉求主题")),
    Col(
        "description",
        gettext_lazy("Request"),
        ("诉求内容", "问题描述", "来电内容", "诉求详情", "事项描述", "反映内容", "工单内容", "内容"),
        True,
    ),
    Col(
        "address",
        gettext_lazy("Address"),
        ("诉求地址", "事发地址", "事发地点", "发生地址", "问题地址", "地址", "详细地址"),
    ),
    Col(
        "community",
        gettext_lazy("Community"),
        (
            "所属社区",
            "社区",
            "所属社区(村)",
            "社区(村)",
            "所属村社区",
            "承办社区",
            "社区名称",
            "所属网格",
            "网格",
        ),
        True,
    ),
    Col("street", gettext_lazy("Street"), ("所属街道", "街道", "街道(乡镇)", "所属乡镇街道", "乡镇街道")),
    Col(
        "category",
        gettext_lazy("Request type"),
        ("诉求类型", "分类", "诉求分类", "问题分类", "事项分类", "工单分类", "类别", "工单类型", "问题类型"),
    ),
    Col("urgency", gettext_lazy("Urgency"), ("紧急程度", "缓急程度", "是否紧急", "紧急", "缓急")),
    Col("deadline", gettext_lazy("Deadline"), ("办理时限", "办结时限", "处理时限", "答复时限", "时限")),
)

URGENT_WORDS = frozenset({"紧急", "特急", "加急", "急", "急件", "特别紧急", "是", "urgent", "高"})
NORMAL_WORDS = frozenset({"一般", "普通", "正常", "否", "不紧急", "非紧急", "normal", "低", "中", "常规"})


@functools.cache
def _lookup() -> dict[str, str]:
    return spreadsheets.header_lookup(COLUMNS)


_PERIOD = re.compile(r"^(\d{1,3})(个)?(工作日|自然日|天|日|小时|h)$", re.IGNORECASE)


# --- The dry run --------------------------------------------------------------------------------


@dataclass
class HotlineRow:
    """A checked row: what ``services.ticket_submit`` gets."""

    number: int
    external_ref: str
    region: Region
    submitted_at: dt.datetime
    title: str
    description: str
    contact_name: str
    contact_phone: str
    address: str
    urgency: str
    category: Category | None
    suggested: Category | None = None
    confidence: float | None = None


@dataclass
class Plan:
    report: Report
    rows: list[HotlineRow] = field(default_factory=list)


def import_scopes(actor: Viewer) -> list[str]:
    """The regions where ``actor`` may import hotline files (PermissionDenied when nowhere)."""
    scopes = scopes_for(actor, P.IMPORT)
    if not scopes:
        raise PermissionDenied(_("You may not import 12345 hotline files."))
    return scopes


def _free_text(row: Row, key: str, *, multiline: bool = False) -> str:
    """A cell of free text as the centre wrote it (full-width punctuation kept, not folded like
    codes), through the one cleaner: a control character is the row's error. One-line fields fold
    the line breaks a spreadsheet cell may hold into spaces; ``multiline`` keeps them."""
    value = row.cells.get(key)
    if not isinstance(value, str):
        return row.text(key)  # numbers and dates in a text column: as any other cell
    try:
        text = clean_text(value, multiline=True)
    except ValidationError as exc:
        row.add(key, " ".join(exc.messages), "control_character")
        return ""
    return text if multiline else " ".join(text.split())


def _title(row: Row, description: str) -> str:
    title = _free_text(row, "title")
    if title:
        if len(title) > services.TITLE_MAX:
            row.add("title", _("At most %(n)d characters.") % {"n": services.TITLE_MAX}, "too_long")
        return title
    first = re.split(r"[。！？!?；;\n]", description, maxsplit=1)[0].strip() or description
    return first if len(first) <= TITLE_FROM_TEXT else first[: TITLE_FROM_TEXT - 1] + "…"


def _deadline_note(row: Row) -> str:
    raw = row.cells.get("deadline")
    if spreadsheets.is_blank(raw):
        return ""
    text = spreadsheets.cell_text(raw).replace(" ", "")
    if _PERIOD.match(text):
        shown = text
    else:
        try:
            moment = parse_moment(raw)
        except CellError:
            row.add(
                "deadline",
                _("Not a deadline: give a date and time, or a period such as 5个工作日."),
                "invalid_deadline",
            )
            return ""
        assert moment is not None
        shown = timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
    return "\n" + _("12345 deadline: %(deadline)s") % {"deadline": shown}


def _check_row(
    row: Row, regions: RegionIndex, categories: CategoryIndex, now: dt.datetime
) -> HotlineRow | None:
    ref = ""
    try:
        # As the centre wrote it (half-width, no spaces): GD-0001 stays GD-0001.
        ref = v.normalize_text(spreadsheets.id_text(row.cells.get("external_ref"))).replace(" ", "")
    except spreadsheets.DamagedNumber:
        row.add(
            "external_ref",
            _("Excel turned this number into a rounded number: format the column as text and export again."),
            "damaged_number",
        )
    else:
        if not ref:
            row.add("external_ref", _("The work order number is required."), "required")
        elif len(ref) > EXTERNAL_REF_MAX:
            row.add("external_ref", _("At most %(n)d characters.") % {"n": EXTERNAL_REF_MAX}, "too_long")
            ref = ""
    row.key = ref or None

    submitted_at = None
    try:
        submitted_at = parse_moment(row.cells.get("called_at"))
    except CellError:
        row.add(
            "called_at",
            _("Not a date and time: use for example 2026-03-01 09:15 or 2026年3月1日9时15分."),
            "invalid_date",
        )
    else:
        if submitted_at is None:
            row.add("called_at", _("The call time is required."), "required")
        elif submitted_at > now + dt.timedelta(minutes=5):
            row.add("called_at", _("The call time lies in the future."), "future")
            submitted_at = None
        elif submitted_at.year < 2000:
            row.add("called_at", _("The call time lies before 2000."), "too_old")
            submitted_at = None

    region = None
    if spreadsheets.is_blank(row.cells.get("community")):
        row.add("community", _("The community is required."), "required")
    else:
        try:
            region = regions.find(row.cells.get("community"), row.cells.get("street", ""))
        except CellError as exc:
            row.add("community", str(exc), "unknown_region")

    deadline = _deadline_note(row)
    problems = len(row.problems)
    description = _free_text(row, "description", multiline=True)
    if not description and len(row.problems) == problems:
        row.add("description", _("The request text is required."), "required")
    elif len(description) + len(deadline) > services.TEXT_MAX:
        row.add("description", _("At most %(n)d characters.") % {"n": services.TEXT_MAX}, "too_long")
    title = _title(row, description) if description else ""

    caller = _free_text(row, "caller")
    if len(caller) > 50:
        row.add("caller", _("At most %(n)d characters.") % {"n": 50}, "too_long")
    phone = spreadsheets.phone_text(row.cells.get("phone"))
    if "*" in phone:
        phone = ""  # masked by the hotline centre: the contact stays with the centre
    try:
        phone = v.clean_contact_phone(phone)
    except ValidationError as exc:
        row.add("phone", " ".join(exc.messages), "invalid_phone")
    address = _free_text(row, "address")
    if len(address) > 200:
        row.add("address", _("At most %(n)d characters.") % {"n": 200}, "too_long")

    urgency = Urgency.NORMAL
    word = row.text("urgency").lower()
    if word in URGENT_WORDS:
        urgency = Urgency.URGENT
    elif word and word not in NORMAL_WORDS:
        row.add("urgency", _("Unknown urgency: write 紧急 or 一般."), "invalid_choice")

    category = categories.find(row.text("category"))
    if row.problems:
        return None
    assert region is not None and submitted_at is not None
    return HotlineRow(
        number=row.number,
        external_ref=ref,
        region=region,
        submitted_at=submitted_at,
        title=title,
        description=description + deadline,
        contact_name=caller,
        contact_phone=phone,
        address=address,
        urgency=urgency,
        category=category,
    )


def _imported_before(rows: Sequence[Row]) -> set[int]:
    refs = {row.key for row in rows if row.key}
    known = set(
        Ticket.objects.filter(source=Source.HOTLINE, external_ref__in=refs).values_list(
            "external_ref", flat=True
        )
    )
    bad: set[int] = set()
    for row in rows:
        if row.key in known:
            row.add("external_ref", _("This work order was imported before."), "already_imported")
            bad.add(row.number)
    return bad


def _suggest(rows: Iterable[HotlineRow]) -> None:
    for row in rows:
        if row.category is not None:
            continue
        found = services.classifier_suggestions(f"{row.title}\n{row.description}", k=1)
        if found is None:
            return  # no classifier: the community chooses every category
        if found:
            row.suggested, row.confidence = found[0]


def _digest(rows: Sequence[HotlineRow]) -> str:
    text = ",".join(f"{r.number}:{r.external_ref}" for r in rows)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def check(*, content: bytes, filename: str, actor: Viewer, now: dt.datetime | None = None) -> Plan:
    """The dry run: read and check every row against the file, the importer's regions, the
    categories and the tickets already imported. Writes nothing."""
    scopes = import_scopes(actor)
    report = Report(kind=KIND, filename=filename[:200], region_code=", ".join(scopes))
    plan = Plan(report=report)
    opened = spreadsheets.open_table(content, filename, report, lookup=_lookup(), columns=COLUMNS)
    if opened is None:
        return plan
    table, header = opened
    rows = list(spreadsheets.data_rows(table, header, report))
    report.data_rows = len(rows)
    regions = RegionIndex(scopes)
    categories = CategoryIndex()
    now = now or timezone.now()
    checked = {row.number: _check_row(row, regions, categories, now) for row in rows}
    # Rows sharing a work order number: all of them are refused (neither can be trusted).
    duplicates = spreadsheets.duplicates_in_file(
        rows, "external_ref", _("The same work order number is also in row %(rows)s."), "duplicate_in_file"
    )
    bad = duplicates | _imported_before(rows)
    valid = [r for n, r in sorted(checked.items()) if r is not None and n not in bad]
    _suggest(valid)
    for row in rows:
        report.problems.extend(row.problems)
    report.problems.sort(key=lambda p: (p.row or 0, p.col if p.col is not None else -1))
    report.valid_count = len(valid)
    report.valid_digest = _digest(valid)
    report.plan = {
        "tickets": len(valid),
        "categorised": sum(1 for r in valid if r.category is not None),
        "suggested": sum(1 for r in valid if r.category is None and r.suggested is not None),
        "uncategorised": sum(1 for r in valid if r.category is None and r.suggested is None),
        "urgent": sum(1 for r in valid if r.urgency == Urgency.URGENT),
    }
    plan.rows = valid
    return plan


# --- The commit ---------------------------------------------------------------------------------


@dataclass
class CommitResult:
    status: str  # committed | changed | invalid
    report: Report
    tickets: list[int] = field(default_factory=list)
    message: str = ""


def commit(
    *,
    content: bytes,
    filename: str,
    actor: Viewer,
    expect: tuple[int, str] | None = None,
    request: HttpRequest | None = None,
) -> CommitResult:
    """Check the file again and create a ticket for every valid row, all in one transaction. With
    ``expect`` (the count and digest the user saw), a file whose valid rows changed meanwhile is
    not imported (``changed``)."""
    plan = check(content=content, filename=filename, actor=actor)
    report = plan.report
    if not report.ok or not plan.rows:
        return CommitResult("invalid", report, message=_("The file has no rows that can be imported."))
    if expect is not None and expect != (report.valid_count, report.valid_digest):
        return CommitResult(
            "changed",
            report,
            message=_("The rows that can be imported changed since the check: look at the report again."),
        )
    created: list[int] = []
    try:
        with transaction.atomic():
            # One audit entry per 1,000 tickets (their ids, steps and regions) instead of one per
            # step: a file of 200,000 work orders writes about 200 entries, not 200,000.
            with audit.batch(
                "grid.hotline_import_tickets",
                actor=actor,
                request=request,
                object_type="grid.ticket",
                detail={"file": report.filename},
                size=HOTLINE_AUDIT_BATCH,
            ) as audited:
                for row in plan.rows:
                    ticket = services.ticket_submit(
                        actor=None,
                        source=Source.HOTLINE,
                        region=row.region,
                        title=row.title,
                        description=row.description,
                        category=row.category,
                        urgency=row.urgency,
                        contact_name=row.contact_name,
                        contact_phone=row.contact_phone,
                        address=row.address,
                        external_ref=row.external_ref,
                        submitted_at=row.submitted_at,
                        request=request,
                    )
                    if row.suggested is not None:
                        services.suggest(ticket, category=row.suggested, confidence=row.confidence)
                    created.append(ticket.pk)
            audit.record(
                "grid.hotline_import",
                actor=actor,
                request=request,
                region_code=report.region_code.split(", ")[0],
                object_type="grid.ticket",
                detail={
                    "file": report.filename,
                    "tickets": len(created),
                    "skipped": len(report.error_rows),
                    "audit_batches": audited.written,
                },
            )
    except ValidationError as exc:
        # Another import of the same work orders committed between our check and our write.
        return CommitResult(
            "changed",
            report,
            message=_("Nothing was imported: %(reason)s") % {"reason": " ".join(exc.messages)},
        )
    return CommitResult("committed", report, tickets=created)


# --- Uploads kept between the dry run and the commit --------------------------------------------

UPLOADS = uploads.Keeper(folder="grid/hotline", purpose="grid.hotline", perm=P.IMPORT)
Upload = uploads.KeptUpload  # ``committed``: the tickets its commit made


def load_upload(*, actor: Viewer, token: str) -> Upload:
    """The caller's own kept upload; 404 for anyone else's, an expired or a committed one."""
    return UPLOADS.load(actor=actor, token=token)


def upload_check(*, actor: Viewer, filename: str, content: bytes, request: HttpRequest | None = None) -> str:
    """The dry run of an upload, kept for its commit and audited (it tells whether work orders are
    known). Returns the upload's token."""
    try:
        plan = check(content=content, filename=filename, actor=actor)
    except PermissionDenied:
        audit.record(
            "grid.hotline_check",
            actor=actor,
            request=request,
            result=AuditResult.DENIED,
            detail={"why": "no grid.import right"},
        )
        raise
    report = plan.report
    token = UPLOADS.keep(actor=actor, filename=filename, content=content, report=report).token
    audit.record(
        "grid.hotline_check",
        actor=actor,
        request=request,
        region_code=report.region_code.split(", ")[0],
        object_type="grid.hotline_upload",
        object_id=token,
        detail={
            "file": report.filename,
            "rows": report.data_rows,
            "valid": report.valid_count,
            "problems": len(report.problems),
        },
    )
    return token


def upload_commit(
    *, actor: Viewer, upload: Upload, expect_count: int, request: HttpRequest | None = None
) -> CommitResult:
    """Import the valid rows of a kept upload; the user confirmed ``expect_count`` rows. The file is
    dropped afterwards; the report and the tickets made stay until the upload expires."""
    if upload.committed is not None:
        return CommitResult("invalid", upload.report, message=_("This file was imported already."))
    if expect_count != upload.report.valid_count:
        return CommitResult(
            "changed", upload.report, message=_("Confirm the number of rows shown on the report.")
        )
    if not has_perm(actor, P.IMPORT):
        raise PermissionDenied(_("You may not import 12345 hotline files."))
    result = commit(
        content=upload.content,
        filename=upload.filename,
        actor=actor,
        expect=(upload.report.valid_count, upload.report.valid_digest),
        request=request,
    )
    if result.status == "committed":
        upload.content, upload.committed, upload.report = b"", result.tickets, result.report
        UPLOADS.save(upload, actor)
    return result


def error_workbook(*, upload: Upload, actor: Viewer) -> bytes:
    """The rows with problems as in the file, bad cells in red (the registry import's workbook)."""
    return spreadsheets.error_workbook(content=upload.content, report=upload.report, actor=actor)


__all__ = [
    "COLUMNS",
    "CommitResult",
    "Plan",
    "check",
    "commit",
    "error_workbook",
    "load_upload",
    "upload_check",
    "upload_commit",
]
