"""The emergency app's ledger (台账): 预警发布与响应台账 — the warnings issued in a period with
their type, level, area, how many people they reached, the call-outs started for them and when
they were lifted, read through the app's warning selector (scoped by the viewer: a community also
sees the warnings of the regions above it that cover it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, QuerySet, Sum
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
from shequ.emergency.models import Warning, WarningStatus
from shequ.emergency.permissions import EmergencyPerm as P
from shequ.emergency.selectors import warning_list


def warnings(viewer: Viewer, filters: Any) -> QuerySet[Warning]:
    first, after = ledger_period(filters)
    qs = warning_list(viewer=viewer).exclude(status__in=[WarningStatus.DRAFT, WarningStatus.DISCARDED])
    if filters.get(LEDGER_REGION):
        qs = qs.filter(region_code__startswith=filters[LEDGER_REGION])
    return (
        qs.filter(issued_at__gte=first, issued_at__lt=after)
        .annotate(callouts=Count("mobilizations"), called=Sum("mobilizations__total"))
        .order_by("issued_at", "pk")
    )


def _at(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def warning_row(warning: Any, filters: Any, full: bool) -> dict[str, Any]:
    return {
        "issued": _at(warning.issued_at),
        "kind": warning.get_kind_display(),
        "level": warning.get_level_display(),
        "title": warning.title,
        "area": warning.region.name,
        "source": warning.get_source_display(),
        "drill": _("Drill") if warning.is_drill else "",
        "revisions": warning.revision,
        "recipients": warning.recipients,
        "callouts": warning.callouts,
        "called": warning.called or 0,
        "status": warning.get_status_display(),
        "lifted": _at(warning.lifted_at),
        "lift_reason": warning.lift_reason,
    }


def _col(key: str, title: Any, width: int = 14, text: bool = True) -> LedgerColumn:
    return LedgerColumn(key, title, width, text)


LEDGERS: tuple[Ledger, ...] = (
    Ledger(
        key="emergency_warnings",
        # Translators: 预警发布与响应台账
        title=gettext_lazy("Register of warnings issued and the response"),
        description=gettext_lazy(
            "Every warning issued in the period that covers the area: its type and level, how many "
            "people it reached, the call-outs started for it and when it was lifted."
        ),
        columns=(
            _col("issued", pgettext_lazy("ledger column", "Issued"), 16),
            _col("kind", pgettext_lazy("ledger column", "Type"), 12),
            _col("level", pgettext_lazy("ledger column", "Level"), 6),
            _col("title", pgettext_lazy("ledger column", "Warning"), 24),
            _col("area", pgettext_lazy("ledger column", "Area"), 12),
            _col("source", pgettext_lazy("ledger column", "Source"), 10),
            _col("drill", pgettext_lazy("ledger column", "Drill"), 6),
            _col("revisions", pgettext_lazy("ledger column", "Updates"), 6, text=False),
            _col("recipients", pgettext_lazy("ledger column", "People reached"), 8, text=False),
            _col("callouts", pgettext_lazy("ledger column", "Call-outs"), 6, text=False),
            _col("called", pgettext_lazy("ledger column", "People called"), 8, text=False),
            _col("status", pgettext_lazy("ledger column", "Status"), 8),
            _col("lifted", pgettext_lazy("ledger column", "Lifted"), 16),
            _col("lift_reason", pgettext_lazy("ledger column", "Why lifted"), 20),
        ),
        query=warnings,
        row=warning_row,
        filters=(LEDGER_REGION, LEDGER_START, LEDGER_END),
        perm=P.VIEW,
    ),
)
