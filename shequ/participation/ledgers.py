"""The participation app's ledger (台账): 居务公开台账 — the disclosure items published in a
period, with their kind, period, deadline and whether they were public on time, read through the
app's disclosure selector (scoped by the viewer). Disclosed lists hold masked names only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from shequ.core.components import (
    LEDGER_END,
    LEDGER_REGION,
    LEDGER_START,
    Ledger,
    LedgerColumn,
    ledger_period,
)
from shequ.core.permissions import Viewer
from shequ.participation.models import DisclosureItem
from shequ.participation.permissions import PartPerm as P
from shequ.participation.selectors_disclosure import item_list


def disclosures(viewer: Viewer, filters: Any) -> QuerySet[DisclosureItem]:
    first, after = ledger_period(filters)
    qs = item_list(viewer=viewer, region_code=filters.get(LEDGER_REGION) or "")
    return qs.filter(published_at__gte=first, published_at__lt=after).order_by("published_at", "pk")


def _day(moment: datetime | None) -> date | None:
    return timezone.localtime(moment).date() if moment is not None else None


def disclosure_row(item: Any, filters: Any, full: bool) -> dict[str, Any]:
    return {
        "published": _day(item.published_at),
        "kind": item.get_kind_display(),
        "title": item.title,
        "period": item.period_key,
        "decided": item.decided_on,
        "due": _day(item.due_at),
        "on_time": (_("Late") if item.published_late else _("On time")) if item.due_at else "",
        "rows": item.row_count,
        "status": item.get_status_display(),
        "withdrawn": item.withdraw_reason,
        "area": item.region.name,
    }


def _col(key: str, title: Any, width: int = 14, text: bool = True) -> LedgerColumn:
    return LedgerColumn(key, title, width, text)


LEDGERS: tuple[Ledger, ...] = (
    Ledger(
        key="disclosures",
        # Translators: 居务公开台账
        title=gettext_lazy("Register of community affairs disclosure"),
        description=gettext_lazy(
            "Every item published on the community's public board in the period, with its deadline "
            "and whether it was public on time."
        ),
        columns=(
            _col("published", pgettext_lazy("ledger column", "Published"), 12, text=False),
            _col("kind", pgettext_lazy("ledger column", "Kind"), 14),
            _col("title", pgettext_lazy("ledger column", "Title"), 28),
            _col("period", pgettext_lazy("ledger column", "Period"), 8),
            _col("decided", pgettext_lazy("ledger column", "Decided on"), 12, text=False),
            _col("due", pgettext_lazy("ledger column", "Due"), 12, text=False),
            _col("on_time", pgettext_lazy("ledger column", "On time"), 8),
            _col("rows", pgettext_lazy("ledger column", "Rows listed"), 8, text=False),
            _col("status", pgettext_lazy("ledger column", "Status"), 8),
            _col("withdrawn", pgettext_lazy("ledger column", "Why withdrawn"), 20),
            _col("area", pgettext_lazy("ledger column", "Community"), 12),
        ),
        query=disclosures,
        row=disclosure_row,
        filters=(LEDGER_REGION, LEDGER_START, LEDGER_END),
        perm=P.VIEW,
    ),
)
