"""Reads of the reports area, always scoped by the viewer (``reports.view`` where the instance's
region lies): lists of instances, one instance (404 outside the scope), its children, its table
for the pages and Excel, and the drill-down from a cell to the records behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from shequ.core.components import Stat, StatQuery, stats_all
from shequ.core.models import LEVEL_CODE_LENGTH
from shequ.core.permissions import Viewer, scope_q, scopes_for
from shequ.reports.definitions import Definition, parse
from shequ.reports.models import InstanceStatus, Periodicity, ReportInstance, ReportTemplate, period_of
from shequ.reports.permissions import ReportPerm as P
from shequ.reports.services._common import child_level

RECENT_PERIODS = {Periodicity.MONTHLY: 6, Periodicity.QUARTERLY: 4, Periodicity.YEARLY: 3}


def instances_for(
    *,
    viewer: Viewer,
    period_start: date | None = None,
    status: str | None = None,
    template_key: str | None = None,
) -> QuerySet[ReportInstance]:
    qs = ReportInstance.objects.filter(scope_q(viewer, P.VIEW)).select_related("template", "region")
    if period_start is not None:
        qs = qs.filter(period_start=period_start)
    if status:
        qs = qs.filter(status=status)
    if template_key:
        qs = qs.filter(template__key=template_key)
    return qs.order_by("-period_start", "template__key", "region_code")


def instance_for(*, viewer: Viewer, pk: Any) -> ReportInstance:
    try:
        key = int(pk)
    except (TypeError, ValueError, OverflowError) as exc:
        raise Http404 from exc
    instance = instances_for(viewer=viewer).filter(pk=key).first()
    if instance is None:
        raise Http404
    return instance


def children_of(*, viewer: Viewer, instance: ReportInstance) -> list[ReportInstance]:
    """The instances of the regions directly below (same template version and period)."""
    below = child_level(instance.level)
    if below is None or instance.level == instance.template.fill_level:
        return []
    return list(
        instances_for(viewer=viewer)
        .filter(
            template=instance.template,
            period_start=instance.period_start,
            level=below,
            region_code__startswith=instance.region_code,
        )
        .order_by("region_code")
    )


@dataclass(frozen=True)
class Cell:
    key: str
    value: Any
    display: str
    computed: bool  # from a statistic: a drill-down exists


@dataclass(frozen=True)
class TableRow:
    key: str
    title: str
    unit: str
    cells: list[Cell] = field(default_factory=list)  # one per column ("" cells where the row has none)
    heading: bool = False
    manual: bool = False
    manual_value: Any = None
    manual_display: str = ""
    ratio: bool = False


@dataclass(frozen=True)
class ReportTable:
    title: str
    number: str
    columns: list[tuple[str, str]]
    rows: list[TableRow]


def display(value: Any, unit: str = "") -> str:
    if value is None or value == "":
        return "—"
    if unit == "%" and isinstance(value, int | float):
        return f"{value:.1f}%"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(
    instance: ReportInstance, values: dict[str, Any] | None = None, manual: dict[str, Any] | None = None
) -> ReportTable:
    """The instance's rows × columns (or a snapshot's, when ``values``/``manual`` are given)."""
    template = instance.template
    definition = parse(template.definition)
    values = instance.values if values is None else values
    manual = instance.manual if manual is None else manual
    rows: list[TableRow] = []
    for row in definition.rows:
        if row.heading:
            rows.append(TableRow(row.key, row.title, "", heading=True))
            continue
        if row.manual is not None:
            value = manual.get(row.key)
            shown = display(value, row.unit)
            rows.append(
                TableRow(row.key, row.title, row.unit, manual=True, manual_value=value, manual_display=shown)
            )
            continue
        cells = []
        for column in definition.columns:
            if column.key not in row.columns:
                cells.append(Cell("", None, "", False))
                continue
            key = f"{row.key}:{column.key}"
            value = values.get(key)
            cells.append(Cell(key, value, display(value, row.unit), row.computed))
        rows.append(TableRow(row.key, row.title, row.unit, cells, ratio=row.ratio is not None))
    return ReportTable(template.title, template.number, [(c.key, c.title) for c in definition.columns], rows)


def cell_records(*, viewer: Viewer, instance: ReportInstance, cell_key: str) -> tuple[Stat, Any]:
    """The statistic and the records behind one computed cell, among those the viewer may see:
    of the community for a community's instance, of the viewer's scope under the region above.
    ``Http404`` for a cell that is not computed (a ratio, a manual field, an unknown key)."""
    instance = instance_for(viewer=viewer, pk=instance.pk)
    definition: Definition = parse(instance.template.definition)
    found = definition.cell(cell_key)
    if found is None or not found[0].computed:
        raise Http404
    row, column = found
    stat = stats_all().get(row.stat)
    if stat is None:
        raise Http404
    # The drill-down shows records: it needs the app's permission in the region or part of it.
    if stat.perm and not any(
        code.startswith(instance.region_code) or instance.region_code.startswith(code)
        for code in scopes_for(viewer, stat.perm)
    ):
        raise PermissionDenied
    query = StatQuery(
        root=instance.region_code,
        group_length=len(instance.region_code),
        start=instance.period_start,
        end=instance.period_end,
        filters=definition.filters_of(row, column),
    )
    return stat, stat.records(viewer, instance.region_code, query)


def periods(template: ReportTemplate, today: date | None = None) -> list[tuple[date, date, str]]:
    """The current period and the recent ones before it, newest first, with their labels
    (2026年11月, 2026年第4季度, 2026年)."""
    today = today or timezone.localdate()
    out: list[tuple[date, date, str]] = []
    day = today
    for _i in range(RECENT_PERIODS.get(Periodicity(template.periodicity), 3)):
        start, end = period_of(template.periodicity, day)
        out.append((start, end, period_label(template.periodicity, start)))
        day = start - timedelta(days=1)
    return out


def period_label(periodicity: str, start: date) -> str:
    if periodicity == Periodicity.MONTHLY:
        return f"{start.year}年{start.month}月"
    if periodicity == Periodicity.QUARTERLY:
        return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    return f"{start.year}年"


def to_fill_count(viewer: Viewer) -> int:
    """The viewer's own regions' reports waiting to be filled and submitted (draft or returned)."""
    codes = scopes_for(viewer, P.FILL)
    if not codes:
        return 0
    return ReportInstance.objects.filter(
        region_code__in=codes,
        status__in=[InstanceStatus.DRAFT, InstanceStatus.RETURNED],
        template__active=True,
    ).count()


def _review_q(viewer: Viewer) -> Q:
    q = Q(pk__in=[])
    for code in scopes_for(viewer, P.REVIEW):
        level = next((lv for lv, n in LEVEL_CODE_LENGTH.items() if n == len(code)), None)
        below = child_level(level) if level else None
        if below:
            q |= Q(region_code__startswith=code, level=below)
    return q


def to_review_count(viewer: Viewer) -> int:
    """Reports of the regions directly below the viewer's awaiting their review."""
    return ReportInstance.objects.filter(_review_q(viewer), status=InstanceStatus.SUBMITTED).count()


def to_review(viewer: Viewer) -> QuerySet[ReportInstance]:
    return (
        ReportInstance.objects.filter(_review_q(viewer), status=InstanceStatus.SUBMITTED)
        .select_related("template", "region")
        .order_by("submitted_at", "pk")
    )
