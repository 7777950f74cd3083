"""Statistics of government services: applications, deadlines kept, channels and 帮办代办, 好差评
satisfaction and rectifications, by item, by answerable unit and by region — the staff page for an
area and period, and the public satisfaction page.

Three cohorts, each read in ONE grouped statement whatever the size of the area (see "The grouped
reads" below):

* applications **submitted in the period** (``Application``: the index on ``submitted_at`` that
  includes every column read here, scanned index-only): how many, closed, closed on time, still
  open, overdue now, the channel and 帮办代办 split;
* ratings **given in the period** (``Evaluation``: the index on ``at``): rated, satisfied (4–5
  stars), bad (1–2);
* rectifications **opened in the period** (``Rectification``): done, still open, overdue now.

The unit answerable for an application is the department that decided it, else the community that
handled it (as ``Evaluation`` and ``Rectification`` record it); the region rows (streets of a
county, communities of a street) are prefixes of the community code. A report is three grouped
statements and four small name reads in one transaction, whatever the number of regions (no N+1);
``bench/bench_govservice.py`` times them at a million applications.

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
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When
from django.db.models.functions import Substr
from django.utils import timezone

from shequ.core.figures import percent as percent
from shequ.core.figures import rate as _rate
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
#
# Each table's cohort is read ONCE: an inner query (the ORM: the period and area filters, grouped by
# item, department, unit community and area, a conditional count per figure — one hash table,
# parallel on PostgreSQL) summed by an outer query over the groupings the page shows — PostgreSQL's
# GROUPING SETS over those few thousand rows, elsewhere (SQLite in tests) a UNION ALL of plain
# GROUP BYs. What comes back is one row per item, unit and region and the total: a few hundred rows
# for a county, not one per (item, unit, community) combination.

ITEM, UNIT_DEPT, UNIT_COMMUNITY, AREA, COMMUNITY = "g_item", "g_unit_d", "g_unit_c", "g_area", "g_community"
KEYS = (ITEM, UNIT_DEPT, UNIT_COMMUNITY, AREA, COMMUNITY)
UNIT = (UNIT_DEPT, UNIT_COMMUNITY)  # the department, else the community (NULL for a department's)
# The statistics' inner hash tables: thousands of groups per period, more than the default 4 MB.
WORK_MEM = "64MB"


def _keys(child: int, item: str = "item_id") -> dict[str, Any]:
    community = Substr("region_code", 1, COMMUNITY_LENGTH)
    return {
        ITEM: F(item),
        UNIT_DEPT: F("department_id"),
        UNIT_COMMUNITY: Case(
            When(department_id__isnull=True, then=community), default=Value(None), output_field=CharField()
        ),
        AREA: Substr("region_code", 1, child),
        COMMUNITY: community,
    }


def application_flags(now: dt.datetime) -> dict[str, Q | None]:
    """Each figure as the condition an application meets to count in it (None: every one)."""
    open_q = Q(status__in=sorted(OPEN_STATUSES))
    closed_q = Q(status=Status.CLOSED)
    flags: dict[str, Q | None] = {
        "applications": None,
        "closed": closed_q,
        "on_time": closed_q & Q(overdue_at__isnull=True),
        "open": open_q,
        "overdue": open_q & Q(due_at__lt=now),
        "on_behalf": Q(on_behalf=True),
    }
    flags.update({f"ch_{c}": Q(channel=c) for c in CHANNELS})
    return flags


def rating_flags() -> dict[str, Q | None]:
    return {"rated": None, "good": Q(stars__gte=GOOD_STARS), "bad": Q(stars__lte=BAD_STARS)}


def rectification_flags(now: dt.datetime) -> dict[str, Q | None]:
    return {
        "rect_opened": None,
        "rect_done": Q(status=RectStatus.DONE),
        "rect_open": Q(status__in=[RectStatus.OPEN, RectStatus.FED_BACK]),
        "rect_overdue": Q(status=RectStatus.OPEN, due_at__lt=now),
    }


def applications_in(region_code: str, low: dt.datetime, high: dt.datetime) -> QuerySet[Application]:
    return Application.objects.filter(
        region_code__startswith=region_code, submitted_at__gte=low, submitted_at__lt=high
    )


def evaluations_in(region_code: str, low: dt.datetime, high: dt.datetime) -> QuerySet[Evaluation]:
    return Evaluation.objects.filter(region_code__startswith=region_code, at__gte=low, at__lt=high)


def rectifications_in(
    region_code: str, low: dt.datetime, high: dt.datetime, *, by_rating: bool = False
) -> QuerySet[Rectification]:
    """Opened in [low, high), or (``by_rating``) of the ratings given then."""
    qs = Rectification.objects.filter(region_code__startswith=region_code)
    if by_rating:
        return qs.filter(evaluation__at__gte=low, evaluation__at__lt=high)
    return qs.filter(opened_at__gte=low, opened_at__lt=high)


def grouped(
    qs: QuerySet[Any],
    keys: Mapping[str, Any],
    flags: Mapping[str, Q | None],
    sets: tuple[tuple[str, ...], ...],
) -> list[tuple[int, dict[str, Any], dict[str, int]]]:
    """(which set, its key values, the summed counts) for every group of every grouping in
    ``sets`` (``()`` is the total), in one statement."""
    names = [k for k in KEYS if k in keys and any(k in s for s in sets)]
    metrics = list(flags)
    counts = {
        f"f_{m}": Count("pk", filter=flags[m]) if flags[m] is not None else Count("pk") for m in metrics
    }
    inner = qs.order_by().values(**{k: keys[k] for k in names}).annotate(**counts)
    sql, params = inner.query.sql_with_params()
    sums = ", ".join(f"SUM(f_{m})" for m in metrics)
    postgres = connection.vendor == "postgresql"
    if postgres:
        grouping = f"GROUPING({', '.join(names)})"
        spec = ", ".join("(" + ", ".join(s) + ")" for s in sets)
        statement = (
            f"SELECT {', '.join(names)}, {grouping}, {sums} FROM ({sql}) AS t "  # noqa: S608
            f"GROUP BY GROUPING SETS ({spec})"
        )
        masks = {
            sum(1 << (len(names) - 1 - i) for i, n in enumerate(names) if n not in s): index
            for index, s in enumerate(sets)
        }
        all_params = list(params)
    else:
        parts = []
        for index, s in enumerate(sets):
            cols = ", ".join(n if n in s else f"NULL AS {n}" for n in names)
            group = f" GROUP BY {', '.join(s)}" if s else ""
            parts.append(f"SELECT {cols}, {index}, {sums} FROM ({sql}) AS t{group}")  # noqa: S608
        statement = " UNION ALL ".join(parts)
        masks = {i: i for i in range(len(sets))}
        all_params = list(params) * len(sets)
    with connection.cursor() as cursor:
        cursor.execute(statement, all_params)
        rows = cursor.fetchall()
    out = []
    for row in rows:
        which = masks[int(row[len(names)])]
        values = dict(zip(names, row[: len(names)], strict=True))
        summed = {m: int(v or 0) for m, v in zip(metrics, row[len(names) + 1 :], strict=True)}
        out.append((which, values, summed))
    return out


@contextmanager
def work_memory() -> Iterator[None]:
    """One transaction for a report's statements, with the work memory their hash tables need
    (PostgreSQL; ``SET LOCAL`` ends with the transaction)."""
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        yield


def _set_key(grouping: tuple[str, ...], values: Mapping[str, Any]) -> str:
    if not grouping:
        return ""
    if grouping == UNIT:
        department = values[UNIT_DEPT]
        return f"d{department}" if department is not None else f"c{values[UNIT_COMMUNITY]}"
    return str(values[grouping[0]])


def _collect(
    results: list[tuple[int, dict[str, Any], dict[str, int]]],
    sets: tuple[tuple[str, ...], ...],
    tables: list[dict[str, Row]],
) -> None:
    """Add each grouped row's counts to the row of its table (one table per set)."""
    for which, values, counts in results:
        key = _set_key(sets[which], values)
        table = tables[which]
        row = table.get(key)
        if row is None:
            row = table[key] = Row(key=key)
        for name, n in counts.items():
            if name.startswith("ch_"):
                if n:
                    row.channels[name[3:]] = row.channels.get(name[3:], 0) + n
            else:
                setattr(row, name, getattr(row, name) + n)


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


REPORT_SETS: tuple[tuple[str, ...], ...] = ((ITEM,), UNIT, (AREA,), ())


def report(*, region_code: str, period: Period, now: dt.datetime | None = None) -> Report:
    """The staff page's figures of an area and period: three grouped statements (one scan of each
    table's cohort) and three name reads."""
    now = now or timezone.now()
    low, high = period.bounds
    child = CHILD_LENGTH.get(len(region_code), 0)
    by_area = 0 < child <= COMMUNITY_LENGTH
    keys = {k: v for k, v in _keys(child or COMMUNITY_LENGTH).items() if k != COMMUNITY}
    rect_keys = {**keys, ITEM: F("evaluation__item_id")}
    tables: list[dict[str, Row]] = [{}, {}, {}, {}]
    with work_memory():
        for qs, flags, k in (
            (applications_in(region_code, low, high), application_flags(now), keys),
            (evaluations_in(region_code, low, high), rating_flags(), keys),
            (rectifications_in(region_code, low, high), rectification_flags(now), rect_keys),
        ):
            _collect(grouped(qs, k, flags, REPORT_SETS), REPORT_SETS, tables)
    items, units, regions, totals = tables
    if not by_area:
        regions = {}
    total = totals.get("") or Row()
    total.key = region_code

    names = item_names(int(k) for k in items if k)
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
        regions=sorted((r for r in regions.values() if len(r.key) == child), key=lambda r: r.key),
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


PUBLIC_SETS: tuple[tuple[str, ...], ...] = ((ITEM,), (AREA,), (COMMUNITY,), ())


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
    now = now or timezone.now()
    child = CHILD_LENGTH.get(len(region_code), _LENGTHS[0]) if region_code else _LENGTHS[0]
    show_communities = STREET_LENGTH - 3 <= len(region_code) <= STREET_LENGTH and child < COMMUNITY_LENGTH
    keys = {k: v for k, v in _keys(min(child, COMMUNITY_LENGTH)).items() if k not in UNIT}
    sets = PUBLIC_SETS if show_communities else ((ITEM,), (AREA,), ())
    tables: list[dict[str, Row]] = [{} for _s in sets]
    with work_memory():
        for qs, flags, k in (
            (evaluations_in(region_code, low, high), rating_flags(), keys),
            (
                rectifications_in(region_code, low, high, by_rating=True),
                rectification_flags(now),
                {**keys, ITEM: F("evaluation__item_id")},
            ),
        ):
            _collect(grouped(qs, k, flags, sets), sets, tables)
    items, regions, totals = tables[0], tables[1], tables[-1]
    communities = tables[2] if show_communities else {}
    if child > COMMUNITY_LENGTH:
        regions = {}
    total = totals.get("") or Row()
    total.key = region_code

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
