"""The copy of a resident's data (PIPL Art. 45): one Excel workbook of what the platform holds about
them — the registry's record (personal data, residence, household, the tags they may see), their
reports (tickets they made), their applications, the departments' calls that returned their data and
the staff's reveals of their full ID or mobile number.

Only the resident's own rows: the registry's ``subject_data`` by their person, the grid's and
government services' "mine" selectors by their account (tickets they reported, not those they follow),
the access log by their person. The workbook holds their full ID and mobile number: it is their own
data, sealed and downloadable by them alone (see ``services.rights.copy_open``).
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shequ.core.excel import XLSX_CONTENT_TYPE, Column, Sheet, workbook_bytes
from shequ.registry import subject_data
from shequ.sharing import selectors_rights as sel
from shequ.sharing.models import RightsRequest

__all__ = ["XLSX_CONTENT_TYPE", "workbook"]

ROWS_MAX = 5000


def _local(at: object) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else ""  # type: ignore[arg-type]


def _section_sheet(section: subject_data.Section, info: str) -> Sheet:
    columns = [Column(title, width=28 if i == 0 else 18) for i, title in enumerate(section.columns)]
    rows = list(section.rows)
    if not rows:
        rows = [[_("None")] + [""] * (len(columns) - 1)]
    return Sheet(
        name=section.title, title=section.title, columns=columns, rows=rows, info=info, footer=section.note
    )


def _tickets(rights_request: RightsRequest, info: str) -> Sheet:
    from shequ.grid.selectors import my_tickets

    tickets = my_tickets(rights_request.requester).filter(reporter_user_id=rights_request.requester_id)[
        :ROWS_MAX
    ]
    rows = [
        [
            t.number,
            t.title,
            str(t.category) if t.category else "",
            t.get_status_display(),
            _local(t.submitted_at),
            t.description,
        ]
        for t in tickets
    ]
    columns = [
        Column(_("Number"), 20),
        Column(pgettext("ticket", "Title"), 24),
        Column(_("Category"), 16),
        Column(_("Status"), 12),
        Column(pgettext("copy column", "Submitted"), 18),
        Column(_("Description"), 40),
    ]
    return Sheet(
        _("My reports"), _("My reports"), columns, rows or [[_("None"), "", "", "", "", ""]], info=info
    )


def _applications(rights_request: RightsRequest, info: str) -> Sheet:
    from shequ.govservice.selectors import my_applications

    apps = my_applications(user=rights_request.requester)[:ROWS_MAX]
    rows = [
        [a.number, a.item.label, a.get_status_display(), _local(a.submitted_at), a.outcome_note] for a in apps
    ]
    columns = [
        Column(_("Number"), 20),
        Column(_("Service"), 28),
        Column(_("Status"), 12),
        Column(pgettext("copy column", "Submitted"), 18),
        Column(_("Decision"), 40),
    ]
    return Sheet(
        _("My applications"), _("My applications"), columns, rows or [[_("None"), "", "", "", ""]], info=info
    )


def _uses(rights_request: RightsRequest, info: str) -> Sheet:
    uses = sel.data_uses([rights_request.person_id], limit=ROWS_MAX)
    rows = [
        [_local(u.at), u.department, u.purpose, u.legal_basis, u.resource, "、".join(u.fields)] for u in uses
    ]
    columns = [
        Column(_("When"), 18),
        Column(_("Department"), 20),
        Column(pgettext("data use", "Purpose"), 28),
        Column(_("Legal basis"), 28),
        Column(_("Data"), 16),
        Column(_("Fields"), 36),
    ]
    return Sheet(
        _("Departments' use"),
        _("Departments that used my data"),
        columns,
        rows or [[_("None"), "", "", "", "", ""]],
        info=info,
    )


def _reveals(rights_request: RightsRequest, info: str) -> Sheet:
    reveals = sel.staff_reveals([rights_request.person_id])
    rows = [[_local(r.at), r.who, "、".join(r.fields), r.reason] for r in reveals]
    columns = [
        Column(_("When"), 18),
        Column(pgettext("reveal", "Who"), 28),
        Column(_("Shown in full"), 20),
        Column(_("Reason"), 40),
    ]
    return Sheet(
        _("Full numbers shown"),
        _("Staff who saw my full ID or mobile number"),
        columns,
        rows or [[_("None"), "", "", ""]],
        info=info,
    )


def workbook(rights_request: RightsRequest) -> tuple[bytes, list[str]]:
    """The workbook's bytes and its sheets' names."""
    person = subject_data.subject_person(rights_request.person_id)
    info = _("Copy of personal data · %(name)s · made %(at)s") % {
        "name": rights_request.person_masked,
        "at": _local(timezone.now()),
    }
    sheets: list[Sheet] = []
    if person is not None:
        sheets += [_section_sheet(s, info) for s in subject_data.subject_sections(person)]
    sheets += [_tickets(rights_request, info), _applications(rights_request, info)]
    sheets += [_uses(rights_request, info), _reveals(rights_request, info)]
    return workbook_bytes(sheets), [s.name for s in sheets]
