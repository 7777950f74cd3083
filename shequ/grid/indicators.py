"""Numbers the grid offers to report templates (统一制表): tickets of the period and how they were
handled, with their drill-down to the tickets behind each number.

They are the figures of the statistics page (``grid.stats``): the cohort of tickets **submitted in
the period**, as they stand now, each figure the condition of its aggregate in
``stats.ticket_metrics`` (submitted, closed, overdue, resolved on time …) — read here from that one
definition, so a report and the statistics page never disagree. ``compute`` groups a whole city by
community in one statement; ``records`` lists the same tickets among those the viewer may see.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.components import Dimension, LedgerColumn, Stat, StatQuery
from shequ.core.permissions import Viewer
from shequ.grid import stats
from shequ.grid.models import Category, Source, Status, Ticket, Urgency
from shequ.grid.permissions import GridPerm as P
from shequ.grid.selectors import tickets_for


def _categories() -> list[tuple[str, Any]]:
    return [(c.code, c.name_zh or c.name) for c in Category.objects.all().order_by("sort_order", "code")]


CATEGORY = Dimension("category", _("Category"), _categories)
STATUS = Dimension("status", _("Status"), lambda: [(str(v), label) for v, label in Status.choices])
SOURCE = Dimension("source", _("Source"), lambda: [(str(v), label) for v, label in Source.choices])
URGENCY = Dimension("urgency", _("Urgency"), lambda: [(str(v), label) for v, label in Urgency.choices])


def _metric_q(metric: str) -> Q | None:
    """The condition of one figure of ``stats.ticket_metrics`` (None: every ticket of the cohort)."""
    return getattr(stats.ticket_metrics(timezone.now())[metric], "filter", None)


def _narrow(tickets: QuerySet[Ticket], metric: str, query: StatQuery) -> QuerySet[Ticket]:
    low, high = query.bounds
    tickets = tickets.filter(submitted_at__gte=low, submitted_at__lt=high)
    condition = _metric_q(metric)
    if condition is not None:
        tickets = tickets.filter(condition)
    f = query.filters
    if f.get("category"):
        category = Category.objects.filter(code=f["category"]).first()
        tickets = tickets.filter(stats.category_q(category)) if category is not None else tickets.none()
    if f.get("status"):
        tickets = tickets.filter(status=f["status"])
    if f.get("source"):
        tickets = tickets.filter(source=f["source"])
    if f.get("urgency"):
        tickets = tickets.filter(urgency=f["urgency"])
    return tickets


def _row(t: Ticket) -> Mapping[str, Any]:
    return {
        "number": t.pk,
        "title": t.title,
        "category": (t.category.name_zh or t.category.name) if t.category is not None else "",
        "status": t.get_status_display(),
        "submitted_at": timezone.localtime(t.submitted_at).strftime("%Y-%m-%d %H:%M"),
        "region": t.region.name if t.region_id else "",
    }


COLUMNS = (
    LedgerColumn("number", _("Number"), 8, False),
    LedgerColumn("title", _("Title"), 30),
    LedgerColumn("category", _("Category"), 14),
    LedgerColumn("status", _("Status"), 12),
    LedgerColumn("submitted_at", _("Submitted"), 16),
    LedgerColumn("region", pgettext_lazy("ledger column", "Grid"), 12),
)

_DIMENSIONS = (CATEGORY, STATUS, SOURCE, URGENCY)


def _stat(metric: str, title: Any, description: Any) -> Stat:
    def compute(query: StatQuery) -> dict[str, Any]:
        return query.grouped(_narrow(Ticket.objects.all(), metric, query))

    def records(viewer: Viewer, region_code: str, query: StatQuery) -> QuerySet[Ticket]:
        rows = tickets_for(viewer).filter(region_code__startswith=region_code)
        return _narrow(rows, metric, query).order_by("submitted_at", "pk")

    key = "grid.tickets" if metric == "submitted" else f"grid.tickets_{metric}"
    return Stat(
        key=key,
        title=title,
        unit=pgettext_lazy("unit", "tickets"),
        kind="flow",
        compute=compute,
        records=records,
        columns=COLUMNS,
        row=_row,
        dimensions=_DIMENSIONS,
        description=description,
        perm=P.VIEW,
    )


STATS: tuple[Stat, ...] = (
    _stat("submitted", _("Tickets submitted"), _("Tickets submitted in the period.")),
    _stat("closed", _("Tickets closed"), _("Of the period's tickets, those closed now.")),
    _stat("resolved", _("Tickets resolved"), _("Of the period's tickets, those resolved.")),
    _stat("open", _("Tickets still open"), _("Of the period's tickets, those still open.")),
    _stat("overdue", _("Tickets overdue"), _("Of the period's tickets, those open past their deadline.")),
    _stat(
        "resolve_due",
        _("Tickets whose resolution is decided"),
        _("Resolved, or past the resolution deadline: the denominator of the on-time rate."),
    ),
    _stat("resolve_on_time", _("Tickets resolved on time"), _("Resolved by the resolution deadline.")),
    _stat(
        "response_due",
        _("Tickets whose response is decided"),
        _("Answered, or past the response deadline: the denominator of the response rate."),
    ),
    _stat("response_on_time", _("Tickets answered on time"), _("Answered by the response deadline.")),
    _stat("rated", _("Tickets rated"), _("Tickets the reporter rated.")),
    _stat("good", _("Tickets rated satisfied"), _("Rated 4 or 5 stars.")),
)
