"""Ticket statistics of an area: counts by status, on-time response and resolution rates, average
times and satisfaction, grouped by the next region level down, by department, by category and by
day — read in a handful of aggregate queries (conditional ``Count``/``Avg``), never row by row.

What the figures describe: the tickets **submitted in the period** (a cohort), as they stand now.
A month's figures therefore keep moving while its tickets are being worked on, and a ticket is
counted in one period only. Rates count only what is decided: a response (resolution) is on time
when ``responded_at ≤ response_due_at`` (``resolved_at ≤ resolve_due_at``), and the denominator
holds the tickets that were answered (resolved) or whose deadline has passed — a ticket still
within its deadline is neither on time nor late yet. Merged duplicates appear in the status
counts only.

A department's own rates come from its ``Dispatch`` rows (of the same tickets): the response is
its acceptance (or its return, 退单, which also answers the push) against the dispatch's response
deadline, the resolution against the dispatch's resolution deadline; returned pushes have no
resolution. Times are measured from the ticket's submission (tickets) or from the push (departments).

Who may read what is the caller's business (``views_stats``): these functions take a checked
:class:`StatsQuery`. Nothing here returns personal data.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Aggregate, Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Substr, TruncDate
from django.utils import timezone

from shequ.core.figures import percent as percent
from shequ.core.figures import rate as _rate
from shequ.core.models import LEVEL_CODE_LENGTH, Department, Region, RegionLevel
from shequ.grid.models import OPEN_STATUSES, Category, Dispatch, Status, Ticket

# A region's children are one level down; a grid has none.
_LENGTHS = sorted(set(LEVEL_CODE_LENGTH.values()))
CHILD_LENGTH: dict[int, int] = dict(itertools.pairwise(_LENGTHS))
# Longest period one request may cover (a year, leap years included).
MAX_PERIOD_DAYS = 366
GOOD_RATING = 4
# Statuses in the order the pages show them.
STATUSES: tuple[str, ...] = tuple(Status.values)


@dataclass(frozen=True)
class StatsQuery:
    """What to count: the tickets of ``region_code`` (and below) submitted between ``start`` and
    ``end`` (local dates, both included), optionally of one category (a main type with its leaves,
    or a leaf), optionally only those ever dispatched to ``department_ids`` (a department's view)."""

    region_code: str
    start: dt.date
    end: dt.date
    category: Category | None = None
    department_ids: tuple[int, ...] = ()

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
    def child_length(self) -> int | None:
        return CHILD_LENGTH.get(len(self.region_code))


def this_month(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The default period: the first of this month up to today."""
    today = today or timezone.localdate()
    return today.replace(day=1), today


# --- Rows -----------------------------------------------------------------------------------------


def number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _hours(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 3600
    return float(value) / 3_600_000_000  # SQLite hands the average back as microseconds


class _Rates:
    """Rates of the counts every kind of row carries, and their display as percentages."""

    response_on_time: int
    response_due: int
    resolve_on_time: int
    resolve_due: int
    good: int
    rated: int

    @property
    def response_rate(self) -> float | None:
        return _rate(self.response_on_time, self.response_due)

    @property
    def resolve_rate(self) -> float | None:
        return _rate(self.resolve_on_time, self.resolve_due)

    @property
    def good_share(self) -> float | None:
        return _rate(self.good, self.rated)

    @property
    def response_percent(self) -> str:
        return percent(self.response_rate)

    @property
    def resolve_percent(self) -> str:
        return percent(self.resolve_rate)

    @property
    def good_percent(self) -> str:
        return percent(self.good_share)


@dataclass
class Figures(_Rates):
    """The figures of one group of tickets (an area, a region, a category, a day, a department)."""

    key: str = ""
    label: str = ""
    link: str = ""  # where the pages drill down to (set by the view)
    by_status: dict[str, int] = field(default_factory=dict)
    submitted: int = 0
    responded: int = 0
    resolved: int = 0
    closed: int = 0
    open: int = 0
    overdue: int = 0  # open now and past the running deadline
    response_due: int = 0
    response_on_time: int = 0
    resolve_due: int = 0
    resolve_on_time: int = 0
    response_hours: float | None = None
    resolve_hours: float | None = None
    rated: int = 0
    good: int = 0
    rating: float | None = None

    @property
    def status_list(self) -> list[tuple[str, str, int]]:
        return [(s, str(Status(s).label), self.by_status.get(s, 0)) for s in STATUSES]


@dataclass
class DepartmentFigures(_Rates):
    """A department's own record on the pushes it received (``Dispatch`` rows), beside the
    figures of the tickets it holds now."""

    key: str
    label: str
    dispatched: int = 0
    accepted: int = 0
    returned: int = 0
    resolved: int = 0
    open: int = 0
    overdue: int = 0
    response_due: int = 0
    response_on_time: int = 0
    resolve_due: int = 0
    resolve_on_time: int = 0
    response_hours: float | None = None
    resolve_hours: float | None = None
    rated: int = 0
    good: int = 0
    rating: float | None = None


@dataclass
class Report:
    query: StatsQuery
    area: str
    total: Figures
    regions: list[Figures]
    categories: list[Figures]
    departments: list[DepartmentFigures]
    days: list[Figures]
    category_level: str  # "main" (rows are main types) or "leaf"


# --- Queries --------------------------------------------------------------------------------------


def tickets(query: StatsQuery) -> QuerySet[Ticket]:
    """The cohort: tickets of the area submitted in the period (of the category; of the departments)."""
    low, high = query.bounds
    qs = Ticket.objects.filter(
        region_code__startswith=query.region_code, submitted_at__gte=low, submitted_at__lt=high
    )
    if query.category is not None:
        qs = qs.filter(category_q(query.category))
    if query.department_ids:
        qs = qs.filter(
            pk__in=Dispatch.objects.filter(department_id__in=query.department_ids).values("ticket_id")
        )
    return qs


def category_q(category: Category, prefix: str = "") -> Q:
    """A leaf, or a main type with every leaf under it (by key: no join to the category table)."""
    if category.parent_id is not None:
        return Q(**{f"{prefix}category_id": category.pk})
    leaves = Category.objects.filter(parent_id=category.pk).values("pk")
    return Q(**{f"{prefix}category_id__in": leaves})


def _duration(end: str | Any, start: str) -> ExpressionWrapper:
    left = F(end) if isinstance(end, str) else end
    return ExpressionWrapper(left - F(start), output_field=DurationField())


def ticket_metrics(now: dt.datetime, *, sums: bool = False) -> dict[str, Aggregate]:
    """Every figure of :class:`Figures` as one conditional aggregate each. ``sums``: the times and
    the rating as sums instead of averages (``rating_sum``), so that parts can be added up exactly
    (the rollup, ``stats_rollup``)."""
    live = ~Q(status=Status.MERGED)
    response_decided = (
        live & Q(response_due_at__isnull=False) & (Q(responded_at__isnull=False) | Q(response_due_at__lt=now))
    )
    resolve_decided = (
        live & Q(resolve_due_at__isnull=False) & (Q(resolved_at__isnull=False) | Q(resolve_due_at__lt=now))
    )
    open_q = Q(status__in=OPEN_STATUSES) & live
    mean = Sum if sums else Avg
    metrics: dict[str, Aggregate] = {f"s_{s}": Count("pk", filter=Q(status=s)) for s in STATUSES}
    metrics.update(
        submitted=Count("pk"),
        responded=Count("pk", filter=live & Q(responded_at__isnull=False)),
        resolved=Count("pk", filter=live & Q(resolved_at__isnull=False)),
        closed=Count("pk", filter=Q(status=Status.CLOSED)),
        open=Count("pk", filter=open_q),
        overdue=Count("pk", filter=open_q & Q(due_at__lt=now)),
        response_due=Count("pk", filter=response_decided),
        response_on_time=Count("pk", filter=response_decided & Q(responded_at__lte=F("response_due_at"))),
        resolve_due=Count("pk", filter=resolve_decided),
        resolve_on_time=Count("pk", filter=resolve_decided & Q(resolved_at__lte=F("resolve_due_at"))),
        response_time=mean(
            _duration("responded_at", "submitted_at"), filter=live & Q(responded_at__isnull=False)
        ),
        resolve_time=mean(
            _duration("resolved_at", "submitted_at"), filter=live & Q(resolved_at__isnull=False)
        ),
        rated=Count("pk", filter=Q(rating__isnull=False)),
        good=Count("pk", filter=Q(rating__gte=GOOD_RATING)),
    )
    if sums:
        metrics["rating_sum"] = Sum("rating")
    else:
        metrics["rating_avg"] = Avg("rating")
    return metrics


def _figures(row: Mapping[str, Any], key: str = "", label: str = "") -> Figures:
    """Figures from an aggregate row; metrics the query left out (the daily series) stay empty."""
    rating = row.get("rating_avg")
    figures = Figures(
        key=key,
        label=label,
        by_status={s: row[f"s_{s}"] for s in STATUSES if row.get(f"s_{s}")},
        response_hours=_hours(row.get("response_time")),
        resolve_hours=_hours(row.get("resolve_time")),
        rating=float(rating) if rating is not None else None,
    )
    for name in COUNTS:
        setattr(figures, name, row.get(name) or 0)
    return figures


COUNTS = (
    "submitted",
    "responded",
    "resolved",
    "closed",
    "open",
    "overdue",
    "response_due",
    "response_on_time",
    "resolve_due",
    "resolve_on_time",
    "rated",
    "good",
)
# What the daily series needs (a chart and a table of three columns): a lighter query.
DAY_METRICS = ("submitted", "resolved", "overdue")


def combine(parts: Iterable[Figures], key: str = "", label: str = "") -> Figures:
    """The figures of a union of disjoint groups: counts add up, averages are weighted by the
    number of values each group averaged (responded, resolved, rated tickets)."""
    out = Figures(key=key, label=label)
    response = resolve = rating = 0.0
    for f in parts:
        for name in COUNTS:
            setattr(out, name, getattr(out, name) + getattr(f, name))
        for status, n in f.by_status.items():
            out.by_status[status] = out.by_status.get(status, 0) + n
        response += (f.response_hours or 0.0) * f.responded
        resolve += (f.resolve_hours or 0.0) * f.resolved
        rating += (f.rating or 0.0) * f.rated
    out.response_hours = response / out.responded if out.responded else None
    out.resolve_hours = resolve / out.resolved if out.resolved else None
    out.rating = rating / out.rated if out.rated else None
    return out


def total(query: StatsQuery, *, now: dt.datetime | None = None) -> Figures:
    row = tickets(query).aggregate(**ticket_metrics(now or timezone.now()))
    return _figures(row)


def _grouped(
    qs: QuerySet[Ticket], key: Any, now: dt.datetime, only: Iterable[str] = ()
) -> list[tuple[Any, Figures]]:
    metrics = ticket_metrics(now)
    if only:
        metrics = {name: metrics[name] for name in only}
    rows = qs.annotate(group=key).values("group").annotate(**metrics).order_by("group")
    return [(row["group"], _figures(row)) for row in rows]


def by_region(query: StatsQuery, *, now: dt.datetime | None = None) -> list[Figures]:
    """One row per region one level down (a community's tickets entered for the community itself,
    not a grid, form a row of their own); a grid has no children and gives no rows."""
    length = query.child_length
    if length is None:
        return []
    groups = _grouped(tickets(query), Substr("region_code", 1, length), now or timezone.now())
    return region_rows(query, groups)


def region_rows(query: StatsQuery, groups: list[tuple[str, Figures]]) -> list[Figures]:
    """Region codes and their figures, in code order, as labelled rows."""
    names = dict(Region.objects.filter(code__in=[k for k, _f in groups]).values_list("code", "name"))
    out = []
    for code, figures in groups:
        figures.key = code
        figures.label = names.get(code) or (
            _own_region_label(query.region_code) if code == query.region_code else code
        )
        out.append(figures)
    return out


def _own_region_label(code: str) -> str:
    from django.utils.translation import gettext as _

    name = Region.objects.filter(code=code).values_list("name", flat=True).first() or code
    return _("%(name)s (not in a grid)") % {"name": name}


def by_category(query: StatsQuery, *, now: dt.datetime | None = None) -> tuple[str, list[Figures]]:
    """Main types, or the leaves of the main type (or the leaf) chosen; uncategorised last."""
    level = "main" if query.category is None else "leaf"
    key = F("category__parent_id") if level == "main" else F("category_id")
    groups = _grouped(tickets(query), key, now or timezone.now())
    names = dict(
        Category.objects.filter(pk__in=[k for k, _f in groups if k is not None]).values_list("pk", "name_zh")
    )
    order = dict(Category.objects.values_list("pk", "sort_order"))
    return level, category_rows(groups, names, order)


def category_rows(
    groups: Iterable[tuple[int | None, Figures]], names: Mapping[int, str], order: Mapping[int, int]
) -> list[Figures]:
    """Category keys (None: uncategorised) and their figures as labelled rows, in the tree's order."""
    out = []
    for pk, figures in groups:
        figures.key = str(pk or "")
        figures.label = names.get(pk, "") if pk is not None else _uncategorised()
        out.append(figures)
    out.sort(key=lambda f: (f.key == "", order.get(int(f.key), 0) if f.key else 0, f.label))
    return out


def _uncategorised() -> str:
    from django.utils.translation import gettext as _

    return _("Not yet categorised")


def by_day(query: StatsQuery, *, now: dt.datetime | None = None) -> list[Figures]:
    """Per local day of submission, every day of the period (empty days as zeros): submitted,
    resolved and overdue counts only (``DAY_METRICS``)."""
    tz = timezone.get_current_timezone()
    local_day = TruncDate("submitted_at", tzinfo=tz)
    groups = dict(_grouped(tickets(query), local_day, now or timezone.now(), only=DAY_METRICS))
    return day_rows(query, groups)


def day_rows(query: StatsQuery, groups: Mapping[dt.date, Figures]) -> list[Figures]:
    """Every day of the period with its figures (empty days as zeros)."""
    out = []
    day = query.start
    while day <= query.end:
        found = groups.get(day) or Figures()
        found.key = day.isoformat()
        found.label = day.strftime("%m-%d")
        out.append(found)
        day += dt.timedelta(days=1)
    return out


def dispatch_metrics(now: dt.datetime, *, sums: bool = False) -> dict[str, Aggregate]:
    """A department's figures as aggregates of its ``Dispatch`` rows; ``sums`` as in
    :func:`ticket_metrics` (and ``answered``, the count the response time is averaged over)."""
    mean = Sum if sums else Avg
    answered = Coalesce(F("accepted_at"), F("returned_at"))
    kept = Q(returned_at__isnull=True)
    answered_q = Q(accepted_at__isnull=False) | Q(returned_at__isnull=False)
    response_decided = answered_q | Q(response_due_at__lt=now)
    resolve_decided = kept & (Q(resolved_at__isnull=False) | Q(resolve_due_at__lt=now))
    open_q = kept & Q(is_current=True, resolved_at__isnull=True, ticket__status__in=OPEN_STATUSES)
    rated = Q(is_current=True, ticket__rating__isnull=False)
    metrics: dict[str, Aggregate] = {
        "dispatched": Count("pk"),
        "accepted": Count("pk", filter=Q(accepted_at__isnull=False)),
        "returned": Count("pk", filter=Q(returned_at__isnull=False)),
        "resolved": Count("pk", filter=kept & Q(resolved_at__isnull=False)),
        "open": Count("pk", filter=open_q),
        "overdue": Count("pk", filter=open_q & Q(ticket__due_at__lt=now)),
        "response_due": Count("pk", filter=response_decided),
        "response_on_time": Count(
            "pk",
            filter=Q(accepted_at__lte=F("response_due_at"))
            | Q(accepted_at__isnull=True, returned_at__lte=F("response_due_at")),
        ),
        "resolve_due": Count("pk", filter=resolve_decided),
        "resolve_on_time": Count("pk", filter=kept & Q(resolved_at__lte=F("resolve_due_at"))),
        "response_time": mean(
            ExpressionWrapper(answered - F("dispatched_at"), output_field=DurationField()),
            filter=answered_q,
        ),
        "resolve_time": mean(
            _duration("resolved_at", "dispatched_at"), filter=kept & Q(resolved_at__isnull=False)
        ),
        "rated": Count("pk", filter=rated),
        "good": Count("pk", filter=rated & Q(ticket__rating__gte=GOOD_RATING)),
    }
    if sums:
        metrics["answered"] = Count("pk", filter=answered_q)
        metrics["rating_sum"] = Sum("ticket__rating", filter=rated)
    else:
        metrics["rating_avg"] = Avg("ticket__rating", filter=rated)
    return metrics


def by_department(query: StatsQuery, *, now: dt.datetime | None = None) -> list[DepartmentFigures]:
    """Each department's pushes of the cohort's tickets (only the viewer's own departments in a
    department's view), busiest first."""
    now = now or timezone.now()
    qs = Dispatch.objects.filter(ticket__in=tickets(query).values("pk"))
    if query.department_ids:
        qs = qs.filter(department_id__in=query.department_ids)
    rows: list[dict[str, Any]] = [
        dict(r)
        for r in qs.values("department_id").annotate(**dispatch_metrics(now)).order_by("department_id")
    ]
    return department_rows(rows)


def department_rows(rows: list[dict[str, Any]]) -> list[DepartmentFigures]:
    """Aggregate rows (``department_id`` and the metrics, times as averages) as labelled rows,
    busiest first."""
    names = dict(
        Department.objects.filter(pk__in=[r["department_id"] for r in rows]).values_list("pk", "name")
    )
    out = [
        DepartmentFigures(
            key=str(r["department_id"]),
            label=names.get(r["department_id"], ""),
            dispatched=r["dispatched"],
            accepted=r["accepted"],
            returned=r["returned"],
            resolved=r["resolved"],
            open=r["open"],
            overdue=r["overdue"],
            response_due=r["response_due"],
            response_on_time=r["response_on_time"],
            resolve_due=r["resolve_due"],
            resolve_on_time=r["resolve_on_time"],
            response_hours=_hours(r["response_time"]),
            resolve_hours=_hours(r["resolve_time"]),
            rated=r["rated"],
            good=r["good"],
            rating=float(r["rating_avg"]) if r["rating_avg"] is not None else None,
        )
        for r in rows
    ]
    out.sort(key=lambda d: (-d.dispatched, d.label))
    return out


def region_label(code: str) -> str:
    """ "岳麓区 › 岳麓街道": the path from the county down, for titles and the export's info row."""
    prefixes = [code[:n] for n in _LENGTHS if n <= len(code)]
    names = dict(Region.objects.filter(code__in=prefixes).values_list("code", "name"))
    shown = [names[p] for p in prefixes if p in names and len(p) >= LEVEL_CODE_LENGTH[RegionLevel.COUNTY]]
    return " › ".join(shown) or names.get(code, code)


def report(query: StatsQuery, *, now: dt.datetime | None = None, live: bool = False) -> Report:
    """Everything the statistics page and its export show. From the rollup of finished tickets
    plus the unfinished ones counted live (``stats_rollup``) unless ``live`` is asked or the query
    is one the rollup does not cover (a department's view, another time zone); then from the
    tickets alone, in eight queries whatever the volume — the area's figures the sum of its
    regions' (one scan of the tickets fewer)."""
    from shequ.grid import stats_rollup

    if not live and stats_rollup.covers(query):
        return stats_rollup.report(query, now=now)
    now = now or timezone.now()
    level, categories = by_category(query, now=now)
    regions = by_region(query, now=now)
    return Report(
        query=query,
        area=region_label(query.region_code),
        total=combine(regions) if regions else total(query, now=now),
        regions=regions,
        categories=categories,
        departments=by_department(query, now=now),
        days=by_day(query, now=now),
        category_level=level,
    )


# --- Urgent tickets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UrgentFigures:
    """The urgent tickets of the cohort: how many came in, how fast someone acknowledged them, how
    many climbed past the person on duty, and how many were false alarms."""

    alerts: int
    life_safety: int  # read as a danger to life by the detector (the rest: marked urgent)
    acknowledged: int
    ack_median_minutes: float | None
    ack_p90_minutes: float | None
    escalated: int  # climbed because nobody it reached acknowledged in time
    nobody_on_duty: int  # went straight past the on-duty level: nobody was on duty (a roster gap)
    cleared: int  # false alarms cleared by staff
    waiting: int  # nobody has acknowledged yet

    @property
    def cleared_percent(self) -> str:
        return percent(_rate(self.cleared, self.life_safety))


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def urgent(query: StatsQuery) -> UrgentFigures:
    """One query over the cohort's alerts (a period holds few: they are the urgent tickets)."""
    from shequ.grid.models import AlertLevel, AlertState, UrgentAlert

    rows = list(
        UrgentAlert.objects.filter(ticket__in=tickets(query)).values_list(
            "life_safety", "state", "level", "raised_at", "acknowledged_at", "reached"
        )
    )
    waits = [
        (acked - raised).total_seconds() / 60 for _l, _s, _v, raised, acked, _r in rows if acked is not None
    ]
    # The level the alert first reached someone at (``reached[0]``): above the person on duty means
    # the roster had nobody; any climb above that first level is a late acknowledgement.
    first = [int((r[5] or [{}])[0].get("level", AlertLevel.ON_DUTY)) for r in rows]
    return UrgentFigures(
        alerts=len(rows),
        life_safety=sum(1 for r in rows if r[0]),
        acknowledged=len(waits),
        ack_median_minutes=_quantile(waits, 0.5),
        ack_p90_minutes=_quantile(waits, 0.9),
        escalated=sum(1 for r, f in zip(rows, first, strict=True) if r[2] > f),
        nobody_on_duty=sum(1 for f in first if f > AlertLevel.ON_DUTY),
        cleared=sum(1 for r in rows if r[1] == AlertState.CLEARED),
        waiting=sum(1 for r in rows if r[1] == AlertState.OPEN),
    )
