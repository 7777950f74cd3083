"""Statistics of government services: applications, deadlines kept, channels and 帮办代办, 好差评
satisfaction and rectifications, by item, by answerable unit and by region — the staff page for an
area and period, and the public satisfaction page.

Three cohorts, each read in ONE grouped query whatever the size of the area (the rows are folded
into the item, unit and region tables here, in Python):

* applications **submitted in the period** (``Application``: index ``region_code, -submitted_at``):
  how many, closed, closed on time, still open, overdue now, the channel and 帮办代办 split;
* ratings **given in the period** (``Evaluation``): rated, satisfied (4–5 stars), bad (1–2);
* rectifications **opened in the period** (``Rectification``): done, still open, overdue now.

Each query groups by (item, department, community): the unit answerable for an application is the
department that decided it, else the community that handled it (as ``Evaluation`` and
``Rectification`` record it), and the region rows (streets of a county, communities of a street)
are prefixes of the community code. So a report is three aggregate queries plus three small name
reads, whatever the number of regions (no N+1).

On time: an application closed (delivered) without its deadline having passed while it was open —
the deadline job marks ``overdue_at`` when the running deadline passes, and the services clear the
running deadline (``due_at``) on closing, so ``overdue_at IS NULL`` is what a closed application
keeps of it.

Who may read what is the caller's business (``views_stats``, ``views_review``): these functions
take a checked region code. Nothing here returns personal data; the public figures are those of
groups with at least ``PUBLIC_MIN_RATINGS`` ratings.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q
from django.db.models.functions import Substr
from django.utils import timezone

from shequ.core.models import LEVEL_CODE_LENGTH, Department, Region, RegionLevel
from shequ.govservice.models import (
    OPEN_STATUSES,
    Application,
    Channel,
    Evaluation,
    Rectification,
    RectStatus,
    ServiceItem,
    Status,
)

_LENGTHS = sorted(set(LEVEL_CODE_LENGTH.values()))
CHILD_LENGTH: dict[int, int] = dict(itertools.pairwise(_LENGTHS))
COMMUNITY_LENGTH = LEVEL_CODE_LENGTH[RegionLevel.COMMUNITY]
STREET_LENGTH = LEVEL_CODE_LENGTH[RegionLevel.STREET]
MAX_PERIOD_DAYS = 366
GOOD_STARS = 4  # 4 and 5 stars: satisfied
BAD_STARS = 2  # 1 and 2 stars: a bad rating (差评), which opens a rectification
PUBLIC_MIN_RATINGS = 5  # smaller groups are not shown on the public page (they could point at a person)
PUBLIC_DAYS = 365
CHANNELS: tuple[str, ...] = tuple(Channel.values)

# The period choices of the staff page.
MONTH, LAST_30, YEAR, CUSTOM = "month", "30d", "year", "custom"
PERIODS = (MONTH, LAST_30, YEAR, CUSTOM)


@dataclass(frozen=True)
class Period:
    """Local dates, both included."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("end before start")

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) as aware datetimes: local midnight of ``start`` and of the day after ``end``."""
        tz = timezone.get_current_timezone()
        low = dt.datetime.combine(self.start, dt.time.min, tzinfo=tz)
        high = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        return low, high

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def period_of(
    kind: str, *, start: dt.date | None = None, end: dt.date | None = None, today: dt.date | None = None
) -> Period:
    """This month (the default), the last 30 days, this year, or the custom dates given."""
    today = today or timezone.localdate()
    if kind == LAST_30:
        return Period(today - dt.timedelta(days=29), today)
    if kind == YEAR:
        return Period(today.replace(month=1, day=1), today)
    if kind == CUSTOM and start is not None and end is not None:
        return Period(start, end)
    return Period(today.replace(day=1), today)


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@dataclass
class Row:
    """The figures of one group (an area, an item, a unit, a region)."""

    key: str = ""
    label: str = ""
    link: str = ""  # where the page drills down to (set by the view)
    applications: int = 0
    closed: int = 0
    on_time: int = 0
    open: int = 0
    overdue: int = 0
    on_behalf: int = 0
    channels: dict[str, int] = field(default_factory=dict)
    rated: int = 0
    good: int = 0
    bad: int = 0
    rect_opened: int = 0
    rect_done: int = 0
    rect_open: int = 0
    rect_overdue: int = 0

    COUNTS = (
        "applications",
        "closed",
        "on_time",
        "open",
        "overdue",
        "on_behalf",
        "rated",
        "good",
        "bad",
        "rect_opened",
        "rect_done",
        "rect_open",
        "rect_overdue",
    )

    def add(self, row: Mapping[str, Any]) -> None:
        for name in self.COUNTS:
            if name in row:
                setattr(self, name, getattr(self, name) + (row[name] or 0))
        for channel in CHANNELS:
            n = row.get(f"ch_{channel}") or 0
            if n:
                self.channels[channel] = self.channels.get(channel, 0) + n

    @property
    def on_time_rate(self) -> float | None:
        return _rate(self.on_time, self.closed)

    @property
    def satisfaction(self) -> float | None:
        """The share of satisfied (4–5 stars) among the rated."""
        return _rate(self.good, self.rated)

    @property
    def on_behalf_share(self) -> float | None:
        return _rate(self.on_behalf, self.applications)

    @property
    def rectified_rate(self) -> float | None:
        """Rectifications done among those opened."""
        return _rate(self.rect_done, self.rect_opened)

    @property
    def put_right_rate(self) -> float | None:
        """Bad ratings whose rectification was reviewed and closed, among the bad ratings."""
        return _rate(self.rect_done, self.bad)

    @property
    def put_right_percent(self) -> str:
        return percent(self.put_right_rate)

    @property
    def on_time_percent(self) -> str:
        return percent(self.on_time_rate)

    @property
    def satisfaction_percent(self) -> str:
        return percent(self.satisfaction)

    @property
    def on_behalf_percent(self) -> str:
        return percent(self.on_behalf_share)

    @property
    def rectified_percent(self) -> str:
        return percent(self.rectified_rate)

    @property
    def channel_list(self) -> list[tuple[str, str, int, str]]:
        """(code, label, count, share of the applications) of every channel."""
        return [
            (
                c,
                str(Channel(c).label),
                self.channels.get(c, 0),
                percent(_rate(self.channels.get(c, 0), self.applications)),
            )
            for c in CHANNELS
        ]


@dataclass
class Report:
    region_code: str
    area: str
    period: Period
    total: Row
    items: list[Row]
    units: list[Row]
    regions: list[Row]  # one level down (streets of a county, communities of a street); none below


# --- The grouped reads ------------------------------------------------------------------------------


def _application_metrics(now: dt.datetime) -> dict[str, Any]:
    open_q = Q(status__in=sorted(OPEN_STATUSES))
    closed_q = Q(status=Status.CLOSED)
    metrics: dict[str, Any] = {
        "applications": Count("pk"),
        "closed": Count("pk", filter=closed_q),
        "on_time": Count("pk", filter=closed_q & Q(overdue_at__isnull=True)),
        "open": Count("pk", filter=open_q),
        "overdue": Count("pk", filter=open_q & Q(due_at__lt=now)),
        "on_behalf": Count("pk", filter=Q(on_behalf=True)),
    }
    metrics.update({f"ch_{c}": Count("pk", filter=Q(channel=c)) for c in CHANNELS})
    return metrics


def application_rows(
    region_code: str, period: Period, *, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Applications submitted in the period, per (item, department, community)."""
    low, high = period.bounds
    qs = Application.objects.filter(
        region_code__startswith=region_code, submitted_at__gte=low, submitted_at__lt=high
    )
    return [
        dict(r)
        for r in qs.values("item_id", "department_id", community=Substr("region_code", 1, COMMUNITY_LENGTH))
        .annotate(**_application_metrics(now or timezone.now()))
        .order_by()
    ]


def _rating_metrics() -> dict[str, Any]:
    return {
        "rated": Count("pk"),
        "good": Count("pk", filter=Q(stars__gte=GOOD_STARS)),
        "bad": Count("pk", filter=Q(stars__lte=BAD_STARS)),
    }


def evaluation_rows(region_code: str, low: dt.datetime, high: dt.datetime) -> list[dict[str, Any]]:
    """Ratings given in [low, high), per (item, department, community)."""
    qs = Evaluation.objects.filter(region_code__startswith=region_code, at__gte=low, at__lt=high)
    return [
        dict(r)
        for r in qs.values("item_id", "department_id", community=Substr("region_code", 1, COMMUNITY_LENGTH))
        .annotate(**_rating_metrics())
        .order_by()
    ]


def rectification_rows(
    region_code: str,
    low: dt.datetime,
    high: dt.datetime,
    *,
    now: dt.datetime | None = None,
    by_rating: bool = False,
) -> list[dict[str, Any]]:
    """Rectifications opened in [low, high) (``by_rating``: of the ratings given then), per (item,
    department, community)."""
    now = now or timezone.now()
    qs = Rectification.objects.filter(region_code__startswith=region_code)
    if by_rating:
        qs = qs.filter(evaluation__at__gte=low, evaluation__at__lt=high)
    else:
        qs = qs.filter(opened_at__gte=low, opened_at__lt=high)
    waiting = Q(status__in=[RectStatus.OPEN, RectStatus.FED_BACK])
    return [
        dict(r)
        for r in qs.values(
            "department_id",
            item_id=F("evaluation__item_id"),
            community=Substr("region_code", 1, COMMUNITY_LENGTH),
        )
        .annotate(
            rect_opened=Count("pk"),
            rect_done=Count("pk", filter=Q(status=RectStatus.DONE)),
            rect_open=Count("pk", filter=waiting),
            rect_overdue=Count("pk", filter=Q(status=RectStatus.OPEN, due_at__lt=now)),
        )
        .order_by()
    ]


# --- Folding the rows into tables -------------------------------------------------------------------


def _unit_key(row: Mapping[str, Any]) -> str:
    return f"d{row['department_id']}" if row.get("department_id") else f"c{row['community']}"


def _fold(rows: Iterable[Mapping[str, Any]], key: Any, table: dict[str, Row]) -> None:
    for row in rows:
        k = key(row)
        if k is None:
            continue
        table.setdefault(k, Row(key=k)).add(row)


def item_names(ids: Iterable[Any]) -> dict[str, str]:
    from django.utils.translation import get_language

    zh = (get_language() or "").startswith("zh")
    found = ServiceItem.objects.filter(pk__in={i for i in ids if i}).values_list("pk", "name", "name_zh")
    return {str(pk): (name_zh if zh else name) for pk, name, name_zh in found}


def _item_order() -> dict[str, tuple[str, int, str]]:
    return {
        str(pk): (d, o, c)
        for pk, d, o, c in ServiceItem.objects.values_list("pk", "domain", "sort_order", "code")
    }


def report(*, region_code: str, period: Period, now: dt.datetime | None = None) -> Report:
    """The staff page's figures of an area and period: three grouped queries, three name reads."""
    now = now or timezone.now()
    low, high = period.bounds
    apps = application_rows(region_code, period, now=now)
    ratings = evaluation_rows(region_code, low, high)
    rects = rectification_rows(region_code, low, high, now=now)
    every = [apps, ratings, rects]

    items: dict[str, Row] = {}
    units: dict[str, Row] = {}
    regions: dict[str, Row] = {}
    total = Row(key=region_code)
    child = CHILD_LENGTH.get(len(region_code), 0)
    for rows in every:
        _fold(rows, lambda r: str(r["item_id"]), items)
        _fold(rows, _unit_key, units)
        if 0 < child <= COMMUNITY_LENGTH:
            _fold(rows, lambda r: r["community"][:child] if len(r["community"]) >= child else None, regions)
        for row in rows:
            total.add(row)

    names = item_names(int(k) for k in items)
    order = _item_order()
    for key, item_row in items.items():
        item_row.label = names.get(key, key)
    dept_ids = [int(k[1:]) for k in units if k.startswith("d")]
    dept_names = dict(Department.objects.filter(pk__in=dept_ids).values_list("pk", "name"))
    codes = {k[1:] for k in units if k.startswith("c")} | set(regions) | {region_code}
    region_names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    for key, unit_row in units.items():
        unit_row.label = (
            dept_names.get(int(key[1:]), key) if key.startswith("d") else region_names.get(key[1:], key[1:])
        )
    for key, region_row in regions.items():
        region_row.label = region_names.get(key, key)
    return Report(
        region_code=region_code,
        area=region_names.get(region_code, region_code),
        period=period,
        total=total,
        items=sorted(items.values(), key=lambda r: order.get(r.key, ("", 0, r.key))),
        units=sorted(units.values(), key=lambda r: (r.key[0], r.label)),
        regions=sorted(regions.values(), key=lambda r: r.key),
    )


# --- The public satisfaction page ---------------------------------------------------------------------


@dataclass
class PublicReport:
    region_code: str
    area: str
    start: dt.date
    end: dt.date
    total: Row
    items: list[Row]
    regions: list[Row]  # one level down from the area
    communities: list[Row]  # the communities of a county or a street (none for a wider area)
    hidden: int  # groups not shown: fewer than PUBLIC_MIN_RATINGS ratings
    region_level: str = ""


def public_area() -> str:
    """The area the public page shows by default: the region tree's top, walked down while it has
    only one child (a county's deployment shows the county)."""
    code = ""
    for _step in range(len(_LENGTHS)):
        q = (
            Region.objects.filter(parent__isnull=True)
            if not code
            else Region.objects.filter(parent__code=code)
        )
        found = list(q.values_list("code", flat=True)[:2])
        if len(found) != 1 or len(found[0]) >= COMMUNITY_LENGTH:
            break
        code = found[0]
    return code


def public_report(
    *, region_code: str, today: dt.date | None = None, now: dt.datetime | None = None
) -> PublicReport:
    """Satisfaction of the last 12 months by item, by region one level down and (for a county or a
    street) by community: ratings, % satisfied and the share of bad ratings put right. Two grouped
    queries and two name reads; groups with fewer than ``PUBLIC_MIN_RATINGS`` ratings are left out."""
    today = today or timezone.localdate()
    period = Period(today - dt.timedelta(days=PUBLIC_DAYS - 1), today)
    low, high = period.bounds
    ratings = evaluation_rows(region_code, low, high)
    rects = rectification_rows(region_code, low, high, now=now, by_rating=True)

    items: dict[str, Row] = {}
    regions: dict[str, Row] = {}
    communities: dict[str, Row] = {}
    total = Row(key=region_code)
    child = CHILD_LENGTH.get(len(region_code), _LENGTHS[0]) if region_code else _LENGTHS[0]
    show_communities = STREET_LENGTH - 3 <= len(region_code) <= STREET_LENGTH
    for rows in (ratings, rects):
        _fold(rows, lambda r: str(r["item_id"]), items)
        if child <= COMMUNITY_LENGTH:
            _fold(rows, lambda r: r["community"][:child] if len(r["community"]) >= child else None, regions)
        if show_communities and child < COMMUNITY_LENGTH:
            _fold(rows, lambda r: r["community"], communities)
        for row in rows:
            total.add(row)

    names = item_names(int(k) for k in items)
    order = _item_order()
    region_names = dict(
        Region.objects.filter(code__in=set(regions) | set(communities) | {region_code}).values_list(
            "code", "name"
        )
    )
    hidden = 0

    def shown(table: dict[str, Row], labels: Mapping[str, str]) -> list[Row]:
        nonlocal hidden
        out = []
        for key, row in table.items():
            if row.rated < PUBLIC_MIN_RATINGS:
                hidden += 1
                continue
            row.label = labels.get(key, key)
            out.append(row)
        return out

    item_rows = sorted(shown(items, names), key=lambda r: order.get(r.key, ("", 0, r.key)))
    region_rows = sorted(shown(regions, region_names), key=lambda r: r.key)
    community_rows = sorted(shown(communities, region_names), key=lambda r: r.key)
    if total.rated < PUBLIC_MIN_RATINGS:
        total = Row(key=region_code)
    return PublicReport(
        region_code=region_code,
        area=region_names.get(region_code, ""),
        start=period.start,
        end=period.end,
        total=total,
        items=item_rows,
        regions=region_rows,
        communities=community_rows,
        hidden=hidden,
    )
