"""The IoT app's ledger (台账): 物联感知告警处置台账 — the alerts raised in a period and how each
was handled (acknowledged, cleared, turned into a ticket), read through the app's alert selector
(scoped by the viewer). Alerts name devices and places, not residents."""

from __future__ import annotations

from datetime import datetime
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
from shequ.iot.models import Alert
from shequ.iot.permissions import IotPerm as P
from shequ.iot.selectors import alert_list


def alerts(viewer: Viewer, filters: Any) -> QuerySet[Alert]:
    first, after = ledger_period(filters)
    qs = alert_list(viewer=viewer, region_code=filters.get(LEDGER_REGION) or None, state="")
    return (
        qs.filter(raised_at__gte=first, raised_at__lt=after)
        .select_related("region", "acknowledged_by", "cleared_by")
        .order_by("raised_at", "pk")
    )


def _at(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def _who(user: Any) -> str:
    return (getattr(user, "name", "") or user.get_username()) if user is not None else ""


def alert_row(alert: Alert, filters: Any, full: bool) -> dict[str, Any]:
    return {
        "raised": _at(alert.raised_at),
        "device": alert.device.name if alert.device is not None else "",
        "rule": alert.rule.name,
        "severity": alert.get_severity_display(),
        "title": alert.title,
        "count": alert.count,
        "state": alert.get_state_display(),
        "acknowledged": " ".join(p for p in (_at(alert.acknowledged_at), _who(alert.acknowledged_by)) if p),
        "cleared": " ".join(p for p in (_at(alert.cleared_at), _who(alert.cleared_by)) if p),
        "clear_reason": alert.clear_reason,
        "ticket": _("Ticket opened") if alert.ticket_id else "",
        "grid": alert.region.name,
    }


def _col(key: str, title: Any, width: int = 14, text: bool = True) -> LedgerColumn:
    return LedgerColumn(key, title, width, text)


LEDGERS: tuple[Ledger, ...] = (
    Ledger(
        key="iot_alerts",
        # Translators: 物联感知告警处置台账
        title=gettext_lazy("Register of IoT alerts and their handling"),
        description=gettext_lazy(
            "Every alert raised in the period by the area's devices, and who acknowledged and "
            "cleared it, when, and whether a ticket was opened."
        ),
        columns=(
            _col("raised", pgettext_lazy("ledger column", "Raised"), 16),
            _col("device", pgettext_lazy("ledger column", "Device"), 20),
            _col("rule", pgettext_lazy("ledger column", "Rule"), 18),
            _col("severity", pgettext_lazy("ledger column", "Severity"), 8),
            _col("title", pgettext_lazy("ledger column", "Alert"), 24),
            _col("count", pgettext_lazy("ledger column", "Times"), 6, text=False),
            _col("state", pgettext_lazy("ledger column", "Status"), 10),
            _col("acknowledged", pgettext_lazy("ledger column", "Acknowledged"), 24),
            _col("cleared", pgettext_lazy("ledger column", "Cleared"), 24),
            _col("clear_reason", pgettext_lazy("ledger column", "How it was handled"), 24),
            _col("ticket", pgettext_lazy("ledger column", "Ticket"), 10),
            _col("grid", pgettext_lazy("ledger column", "Grid"), 12),
        ),
        query=alerts,
        row=alert_row,
        filters=(LEDGER_REGION, LEDGER_START, LEDGER_END),
        perm=P.VIEW,
    ),
)
