"""The government-service app's ledger (台账): 政务服务办件台账 — the applications received in a
period with their item, how they came in, the applicant (masked), status, whether they finished
on time and the rating, read through the app's selector (scoped by the viewer)."""

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
from shequ.core.personal import mask_name
from shequ.govservice.models import Application
from shequ.govservice.permissions import GovPerm as P
from shequ.govservice.selectors import application_list


def applications(viewer: Viewer, filters: Any) -> QuerySet[Application]:
    first, after = ledger_period(filters)
    qs = application_list(viewer=viewer, region_code=filters.get(LEDGER_REGION) or "")
    return qs.filter(submitted_at__gte=first, submitted_at__lt=after).order_by("submitted_at", "pk")


def _day(moment: datetime | None) -> date | None:
    return timezone.localtime(moment).date() if moment is not None else None


def _on_time(app: Application) -> str:
    finished = app.closed_at or app.decided_at
    if app.due_at is None:
        return ""
    if finished is None:
        return _("Overdue") if timezone.now() > app.due_at else ""
    return _("On time") if finished <= app.due_at else _("Late")


def application_row(app: Application, filters: Any, full: bool) -> dict[str, Any]:
    """One application; the applicant is always masked (the ledger has no reveal)."""
    return {
        "number": app.number,
        "submitted": _day(app.submitted_at),
        "item": app.item.name_zh,
        "channel": app.get_channel_display(),
        "applicant": mask_name(app.applicant_name),
        "phone": app.masked_phone,
        "status": app.get_status_display(),
        "due": _day(app.due_at),
        "finished": _day(app.closed_at or app.decided_at),
        "on_time": _on_time(app),
        "rating": app.rating,
        "grid": app.region.name,
    }


def _col(key: str, title: Any, width: int = 14, text: bool = True) -> LedgerColumn:
    return LedgerColumn(key, title, width, text)


LEDGERS: tuple[Ledger, ...] = (
    Ledger(
        key="govservice_applications",
        # Translators: 政务服务办件台账
        title=gettext_lazy("Register of government service applications"),
        description=gettext_lazy(
            "Every application received in the period, with its item, how it came in, its status, "
            "whether it finished on time and its rating; the applicant is masked."
        ),
        columns=(
            _col("number", pgettext_lazy("ledger column", "Application number"), 18),
            _col("submitted", pgettext_lazy("ledger column", "Received"), 12, text=False),
            _col("item", pgettext_lazy("ledger column", "Service item"), 24),
            _col("channel", pgettext_lazy("ledger column", "How it came in"), 10),
            _col("applicant", pgettext_lazy("ledger column", "Applicant"), 10),
            _col("phone", pgettext_lazy("ledger column", "Phone"), 14),
            _col("status", pgettext_lazy("ledger column", "Status"), 12),
            _col("due", pgettext_lazy("ledger column", "Due"), 12, text=False),
            _col("finished", pgettext_lazy("ledger column", "Finished"), 12, text=False),
            _col("on_time", pgettext_lazy("ledger column", "On time"), 8),
            _col("rating", pgettext_lazy("ledger column", "Rating"), 6, text=False),
            _col("grid", pgettext_lazy("ledger column", "Region"), 12),
        ),
        query=applications,
        row=application_row,
        filters=(LEDGER_REGION, LEDGER_START, LEDGER_END),
        perm=P.VIEW,
    ),
)
