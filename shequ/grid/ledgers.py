"""The grid app's ledger (台账): 网格事件台账 — the tickets submitted in a period, with their
category, place, status, deadlines, department and reporter (masked), read through the grid's
own region selector (scoped by the viewer)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from shequ.core.components import LEDGER_END, LEDGER_REGION, LEDGER_START, Ledger, LedgerColumn, ledger_period
from shequ.core.permissions import Viewer
from shequ.core.personal import mask_name
from shequ.grid.models import Ticket
from shequ.grid.permissions import GridPerm as P
from shequ.grid.selectors import region_tickets


def _local_date(moment: datetime | None) -> date | None:
    return timezone.localtime(moment).date() if moment is not None else None


def tickets(viewer: Viewer, filters: Any) -> QuerySet[Ticket]:
    first, after = ledger_period(filters)
    qs = region_tickets(viewer).filter(submitted_at__gte=first, submitted_at__lt=after)
    if filters.get(LEDGER_REGION):
        qs = qs.filter(region_code__startswith=filters[LEDGER_REGION])
    return qs.order_by("submitted_at", "pk")


def _reporter(ticket: Ticket) -> str:
    if ticket.anonymous:
        return _("Anonymous")
    return mask_name(ticket.contact_name) if ticket.contact_name else ""


def ticket_row(ticket: Ticket, filters: Any, full: bool) -> dict[str, Any]:
    """One ticket; the reporter is always masked (the ledger has no reveal)."""
    done = ticket.resolved_at or ticket.closed_at
    due = ticket.resolve_due_at or ticket.due_at
    late = bool(due and ((done or timezone.now()) > due))
    return {
        "number": ticket.number,
        "submitted": _local_date(ticket.submitted_at),
        "source": ticket.get_source_display(),
        "category": str(ticket.category) if ticket.category_id else "",
        "title": ticket.title,
        "place": ticket.address,
        "grid": ticket.region.name,
        "status": ticket.get_status_display(),
        "department": ticket.department.name if ticket.department is not None else "",
        "due": _local_date(due),
        "done": _local_date(done),
        "late": _("Overdue") if late else "",
        "reporter": _reporter(ticket),
        "rating": ticket.rating,
    }


def _col(key: str, title: Any, width: int = 14, text: bool = True) -> LedgerColumn:
    return LedgerColumn(key, title, width, text)


LEDGERS: tuple[Ledger, ...] = (
    Ledger(
        key="grid_tickets",
        # Translators: 网格事件台账
        title=gettext_lazy("Register of grid events"),
        description=gettext_lazy(
            "Every ticket submitted in the period, with its category, place, status, deadlines and "
            "department; the reporter's name is masked."
        ),
        columns=(
            _col("number", pgettext_lazy("ledger column", "Ticket number"), 16),
            _col("submitted", pgettext_lazy("ledger column", "Submitted"), 12, text=False),
            _col("source", pgettext_lazy("ledger column", "Source"), 10),
            _col("category", pgettext_lazy("ledger column", "Category"), 14),
            _col("title", pgettext_lazy("ledger column", "Matter"), 28),
            _col("place", pgettext_lazy("ledger column", "Place"), 28),
            _col("grid", pgettext_lazy("ledger column", "Grid"), 12),
            _col("status", pgettext_lazy("ledger column", "Status"), 12),
            _col("department", pgettext_lazy("ledger column", "Department"), 14),
            _col("due", pgettext_lazy("ledger column", "Due"), 12, text=False),
            _col("done", pgettext_lazy("ledger column", "Resolved"), 12, text=False),
            _col("late", pgettext_lazy("ledger column", "Overdue"), 8),
            _col("reporter", pgettext_lazy("ledger column", "Reporter"), 10),
            _col("rating", pgettext_lazy("ledger column", "Rating"), 6, text=False),
        ),
        query=tickets,
        row=ticket_row,
        filters=(LEDGER_REGION, LEDGER_START, LEDGER_END),
        perm=P.VIEW,
    ),
)
