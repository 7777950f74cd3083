"""Numbers the IoT app offers to report templates (物联感知告警处置): alerts raised in the period and
how many of them were cleared, by severity, with their drill-down to the alerts (``alert_list``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.components import Dimension, LedgerColumn, Stat, StatQuery
from shequ.core.permissions import Viewer
from shequ.iot.models import Alert, AlertState, Severity
from shequ.iot.permissions import IotPerm as P
from shequ.iot.selectors import alert_list

SEVERITY = Dimension("severity", _("Severity"), lambda: [(str(v), label) for v, label in Severity.choices])

# Each figure's condition on the alerts raised in the period (None: all of them).
_FIGURES: dict[str, Q | None] = {
    "raised": None,
    "cleared": Q(state=AlertState.CLEARED),
    "acknowledged": Q(acknowledged_at__isnull=False),
    "open": Q(open=True),
}


def _narrow(alerts: QuerySet[Alert], figure: str, query: StatQuery) -> QuerySet[Alert]:
    low, high = query.bounds
    alerts = alerts.filter(raised_at__gte=low, raised_at__lt=high)
    condition = _FIGURES[figure]
    if condition is not None:
        alerts = alerts.filter(condition)
    if query.filters.get("severity"):
        alerts = alerts.filter(severity=int(query.filters["severity"]))
    return alerts


def _row(a: Alert) -> Mapping[str, Any]:
    return {
        "title": a.title,
        "severity": a.get_severity_display(),
        "state": a.get_state_display(),
        "raised_at": timezone.localtime(a.raised_at).strftime("%Y-%m-%d %H:%M"),
        "cleared_at": timezone.localtime(a.cleared_at).strftime("%Y-%m-%d %H:%M") if a.cleared_at else "",
    }


COLUMNS = (
    LedgerColumn("title", _("Alert"), 30),
    LedgerColumn("severity", _("Severity"), 8),
    LedgerColumn("state", _("State"), 8),
    LedgerColumn("raised_at", _("Raised"), 16),
    LedgerColumn("cleared_at", _("Cleared"), 16),
)


def _stat(figure: str, title: Any) -> Stat:
    def compute(query: StatQuery) -> dict[str, Any]:
        return query.grouped(_narrow(Alert.objects.all(), figure, query))

    def records(viewer: Viewer, region_code: str, query: StatQuery) -> QuerySet[Alert]:
        rows = alert_list(viewer=viewer, region_code=region_code, state="all")
        return _narrow(rows, figure, query).order_by("raised_at", "pk")

    return Stat(
        key="iot.alerts" if figure == "raised" else f"iot.alerts_{figure}",
        title=title,
        unit=pgettext_lazy("unit", "alerts"),
        kind="flow",
        compute=compute,
        records=records,
        columns=COLUMNS,
        row=_row,
        dimensions=(SEVERITY,),
        perm=P.VIEW,
    )


STATS: tuple[Stat, ...] = (
    _stat("raised", _("Alerts raised")),
    _stat("acknowledged", _("Alerts acknowledged")),
    _stat("cleared", _("Alerts cleared")),
    _stat("open", _("Alerts still open")),
)
