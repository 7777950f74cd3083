"""The statistics rollup: the figures of finished tickets, added up per day, region and category.

A report counts "the tickets submitted in the period, as they stand now" (``stats``). Most of them
are finished — closed or merged (``FINAL_STATUSES``: no step leads out of these) — and a finished
ticket whose deadlines were all met or missed (*settled*) contributes figures that no longer change
with time. ``TicketDay`` holds those figures per key: local submission day, a region code at each
level from the county down to the ticket's own grid or community (``LEVELS``), and the ticket's
category or all categories (``ALL``). ``DispatchDay`` holds the departments' figures of the same
tickets' ``Dispatch`` rows, per department. A report reads the area's own rows (its totals, days
and categories) and its children's (its regions) — at most a few hundred rows a day of the period —
and counts the rest live with the same aggregates as ``stats``, in one snapshot: the unfinished
tickets, a few percent, through a covering partial index. Finished tickets with an undecided
deadline (only bulk loads make them) are in the rows' ``pending`` count, and while a period has
any they are counted live as well.

Keeping it exact: every step that moves a ticket into or out of a final status (or acts on a
finished one) calls :func:`refresh` in its own transaction (``services._common._record``). ``refresh``
locks each of the ticket's keys' rows in one global order (creating them if missing), then
recomputes each key from the tickets: a statement after the lock sees everything the previous
holder committed, so concurrent steps cannot lose an update and no row can drift. Rows are never
deleted outside :func:`rebuild` (a key left empty keeps a row of zeros). Writes that bypass the
services (``COPY`` loads, the demo's time shift) run :func:`rebuild` afterwards (``shequ grid rollup
--rebuild``); :func:`check` compares the rows with a recompute.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import CharField, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce, Length, Substr, TruncDate
from django.utils import timezone

from shequ.core.models import LEVEL_BY_LENGTH, Region
from shequ.grid import stats
from shequ.grid.models import FINAL_STATUSES, Category, Dispatch, DispatchDay, Status, Ticket, TicketDay

FINAL = list(FINAL_STATUSES)
ZERO = dt.timedelta(0)


def _counters(model: type[Any], *leave_out: str) -> tuple[str, ...]:
    return tuple(
        f.name
        for f in model._meta.concrete_fields
        if not f.primary_key and f.name not in {*KEY_FIELDS, *leave_out}
    )


# Rollup counters, in the models' field order (both tables' times are sums of durations).
KEY_FIELDS = ("day", "region_code", "category_key")
TICKET_FIELDS = _counters(TicketDay, "pending")
DISPATCH_FIELDS = _counters(DispatchDay, "department")
_TIMES = ("response_time", "resolve_time")


def _tz() -> dt.tzinfo:
    return timezone.get_default_timezone()


def _duration(value: Any) -> dt.timedelta:
    """A summed duration as the database returns it (SQLite: microseconds)."""
    if value is None:
        return ZERO
    if isinstance(value, dt.timedelta):
        return value
    return dt.timedelta(microseconds=int(value))


# --- Which tickets the rollup holds ---------------------------------------------------------------


def _pending_ticket_q(prefix: str = "") -> Q:
    """A deadline that is neither met nor missed yet (merged tickets have no rates)."""
    p = prefix
    return ~Q(**{f"{p}status": Status.MERGED}) & (
        Q(**{f"{p}response_due_at__isnull": False, f"{p}responded_at__isnull": True})
        | Q(**{f"{p}resolve_due_at__isnull": False, f"{p}resolved_at__isnull": True})
    )


def _pending_dispatch_q() -> Q:
    """A push whose response or (kept) resolution is still to come: its rates depend on ``now``."""
    return Q(returned_at__isnull=True) & (Q(accepted_at__isnull=True) | Q(resolved_at__isnull=True))


def settled_q(prefix: str = "", ticket_ref: str = "pk") -> Q:
    """Tickets whose figures no longer change: final, and every deadline (theirs and their
    pushes') decided. ``prefix``/``ticket_ref`` address the ticket from a ``Dispatch`` query."""
    pending_push = Dispatch.objects.filter(_pending_dispatch_q(), ticket_id=OuterRef(ticket_ref))
    return Q(**{f"{prefix}status__in": FINAL}) & ~_pending_ticket_q(prefix) & Q(~Exists(pending_push))


# --- Keys and their refresh ----------------------------------------------------------------------

LEVELS = (6, 9, 12, 15)  # code lengths of the county, street, community and grid levels
ALL = -1  # ``category_key`` of the rows of all categories
NONE = 0  # ``category_key`` of tickets without a category


def _codes(region_code: str) -> list[str]:
    """The regions a ticket is counted under: each level from its county down to its own."""
    return [region_code[:n] for n in LEVELS if n <= len(region_code)]


@dataclass(frozen=True, order=True)
class Key:
    day: dt.date
    region_code: str
    category_key: int

    def tickets(self) -> QuerySet[Ticket]:
        """The tickets this key counts (finished or not)."""
        low = dt.datetime.combine(self.day, dt.time.min, tzinfo=_tz())
        high = dt.datetime.combine(self.day + dt.timedelta(days=1), dt.time.min, tzinfo=_tz())
        # The region's codes from the region table: each one range of the region/day index.
        codes = Region.objects.filter(code__startswith=self.region_code).values("code")
        qs = Ticket.objects.filter(
            region_code__startswith=self.region_code,
            region_code__in=codes,
            submitted_at__gte=low,
            submitted_at__lt=high,
        ).order_by()
        if self.category_key == NONE:
            return qs.filter(category__isnull=True)
        if self.category_key != ALL:
            return qs.filter(category_id=self.category_key)
        return qs

    @property
    def fields(self) -> dict[str, Any]:
        return {"day": self.day, "region_code": self.region_code, "category_key": self.category_key}


def keys_of(ticket: Ticket) -> list[Key]:
    day = timezone.localtime(ticket.submitted_at, _tz()).date()
    categories = {ticket.category_id or NONE, ALL}
    return sorted(Key(day, code, c) for code in _codes(ticket.region_code) for c in categories)


def _keys_q(keys: Iterable[Key]) -> Q:
    q = Q(pk__in=[])
    for key in keys:
        q |= Q(**key.fields)
    return q


def refresh(ticket: Ticket) -> None:
    """Recompute the rollup rows ``ticket`` counts in, inside the caller's transaction (after the
    ticket's row is written)."""
    departments = Dispatch.objects.filter(ticket=ticket).values_list("department_id", flat=True)
    refresh_keys(keys_of(ticket), sorted(set(departments)))


def refresh_keys(keys: list[Key], departments: Iterable[int] = ()) -> None:
    now = timezone.now()  # settled tickets' figures do not depend on it
    keys = sorted(keys)
    pushes = [(key, d) for key in keys for d in sorted(departments)]
    with transaction.atomic():
        # Every row locked first, in one global order (tickets' rows, then departments', each by
        # key): two steps never wait for each other in a circle.
        TicketDay.objects.bulk_create([TicketDay(**k.fields) for k in keys], ignore_conflicts=True)
        rows = {
            Key(r.day, r.region_code, r.category_key): r
            for r in TicketDay.objects.select_for_update()
            .filter(_keys_q(keys))
            .order_by("day", "region_code", "category_key")
        }
        drows: dict[tuple[Key, int], DispatchDay] = {}
        if pushes:
            DispatchDay.objects.bulk_create(
                [DispatchDay(**k.fields, department_id=d) for k, d in pushes], ignore_conflicts=True
            )
            drows = {
                (Key(r.day, r.region_code, r.category_key), r.department_id): r
                for r in DispatchDay.objects.select_for_update()
                .filter(_keys_q(keys), department_id__in=list(departments))
                .order_by("day", "region_code", "category_key", "department_id")
            }
        # After the locks: these statements see what the previous holders committed.
        for key in keys:
            tickets = key.tickets()
            values = _ticket_row(
                tickets.filter(settled_q()).aggregate(**stats.ticket_metrics(now, sums=True))
            )
            values["pending"] = tickets.filter(status__in=FINAL).count() - values["submitted"]
            _save(rows[key], values)
        for key, department_id in pushes:
            qs = Dispatch.objects.filter(
                settled_q("ticket__", "ticket_id"),
                ticket__in=key.tickets().values("pk"),
                department_id=department_id,
            ).order_by()
            _save(
                drows[key, department_id],
                _dispatch_row(qs.aggregate(**stats.dispatch_metrics(now, sums=True))),
            )


def _save(row: Any, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        setattr(row, name, value)
    row.save()


def _ticket_row(sums: Mapping[str, Any]) -> dict[str, Any]:
    """Rollup columns from ``ticket_metrics(sums=True)`` of settled tickets (none open, so no other
    status and nothing overdue)."""
    row = {name: sums.get(name) or 0 for name in TICKET_FIELDS if name not in _TIMES}
    row["closed"] = sums.get(f"s_{Status.CLOSED}") or 0
    row["merged"] = sums.get(f"s_{Status.MERGED}") or 0
    for name in _TIMES:
        row[name] = _duration(sums.get(name))
    return row


def _dispatch_row(sums: Mapping[str, Any]) -> dict[str, Any]:
    row = {name: sums.get(name) or 0 for name in DISPATCH_FIELDS if name not in _TIMES}
    for name in _TIMES:
        row[name] = _duration(sums.get(name))
    return row


# --- Rebuild and check ----------------------------------------------------------------------------


def _ticket_groups(level: int, by_category: bool, *, settled: bool = True) -> QuerySet[Any]:
    """Per key of one level (and either category kind): settled tickets' sums, or the number of
    final tickets not settled (``n``); in key order."""
    qs = Ticket.objects.annotate(k_length=Length("region_code")).filter(k_length__gte=level)
    qs = qs.filter(settled_q()) if settled else qs.filter(status__in=FINAL).exclude(settled_q())
    grouped = qs.annotate(
        k_day=TruncDate("submitted_at", tzinfo=_tz()),
        k_region=Substr("region_code", 1, level),
        k_category=Coalesce("category_id", NONE) if by_category else Value(ALL, output_field=IntegerField()),
    ).values("k_day", "k_region", "k_category")
    if settled:
        grouped = grouped.annotate(**stats.ticket_metrics(timezone.now(), sums=True))
    else:
        grouped = grouped.annotate(n=Count("pk"))
    return grouped.order_by("k_day", "k_region", "k_category")


def _dispatch_groups(level: int, by_category: bool) -> QuerySet[Any]:
    category = (
        Coalesce("ticket__category_id", NONE) if by_category else Value(ALL, output_field=IntegerField())
    )
    return (
        Dispatch.objects.annotate(k_length=Length("ticket__region_code"))
        .filter(settled_q("ticket__", "ticket_id"), k_length__gte=level)
        .annotate(
            k_day=TruncDate("ticket__submitted_at", tzinfo=_tz()),
            k_region=Substr("ticket__region_code", 1, level),
            k_category=category,
            k_department=F("department_id"),
        )
        .values("k_day", "k_region", "k_category", "k_department")
        .annotate(**stats.dispatch_metrics(timezone.now(), sums=True))
        .order_by("k_day", "k_region", "k_category", "k_department")
    )


_KINDS_OF_ROWS = [(level, by_category) for level in LEVELS for by_category in (True, False)]


def _pending() -> dict[Key, int]:
    return {
        Key(r["k_day"], r["k_region"], r["k_category"]): r["n"]
        for level, by_category in _KINDS_OF_ROWS
        for r in _ticket_groups(level, by_category, settled=False)
    }


def _columns(fields: Iterable[str], renamed: Mapping[str, str]) -> dict[str, str]:
    """Rollup column → expression over the grouped query's columns (``s``)."""
    zero = "interval '0'" if connection.vendor == "postgresql" else "0"
    out = {}
    for name in fields:
        source = f"s.{renamed.get(name, name)}"
        out[name] = f"COALESCE({source}, {zero if name in _TIMES else 0})"
    return out


def _insert(model: Any, qs: QuerySet[Any], columns: Mapping[str, str]) -> int:
    """``INSERT … SELECT`` of a grouped query: the database adds up, nothing goes through Python."""
    sql, params = qs.order_by().query.sql_with_params()
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({names}) "  # noqa: S608 (our own SQL)
            f"SELECT {', '.join(columns.values())} FROM ({sql}) s",
            params,
        )
        return int(cursor.rowcount)


def rebuild() -> tuple[int, int]:
    """Replace both rollup tables by a recompute from the tickets; returns their row counts.
    Steps running meanwhile wait for it (PostgreSQL: the tables are locked) and refresh after."""
    keys = {"day": "s.k_day", "region_code": "s.k_region", "category_key": "s.k_category"}
    ticket_columns = {
        **keys,
        **_columns(TICKET_FIELDS, {"closed": f"s_{Status.CLOSED}", "merged": f"s_{Status.MERGED}"}),
        "pending": "0",
    }
    dispatch_columns = {**keys, "department_id": "s.k_department", **_columns(DISPATCH_FIELDS, {})}
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE grid_ticketday, grid_dispatchday IN EXCLUSIVE MODE")
        TicketDay.objects.all().delete()
        DispatchDay.objects.all().delete()
        tickets = pushes = 0
        for level, by_category in _KINDS_OF_ROWS:
            tickets += _insert(TicketDay, _ticket_groups(level, by_category), ticket_columns)
            pushes += _insert(DispatchDay, _dispatch_groups(level, by_category), dispatch_columns)
        for key, n in _pending().items():
            if not TicketDay.objects.filter(**key.fields).update(pending=n):
                TicketDay.objects.create(**key.fields, pending=n)
                tickets += 1
    return tickets, pushes


def _computed_tickets() -> Iterator[tuple[Key, dict[str, Any]]]:
    pending = _pending()
    streams = [
        (
            (Key(r["k_day"], r["k_region"], r["k_category"]), r)
            for r in _ticket_groups(level, by_category).iterator(chunk_size=5000)
        )
        for level, by_category in _KINDS_OF_ROWS
    ]
    for key, r in heapq.merge(*streams, key=lambda item: item[0]):
        yield key, {**_ticket_row(r), "pending": pending.pop(key, 0)}
    for key in sorted(pending):
        yield key, {**_ticket_row({}), "pending": pending[key]}


def _computed_dispatches() -> Iterator[tuple[tuple[Key, int], dict[str, Any]]]:
    streams = [
        (
            ((Key(r["k_day"], r["k_region"], r["k_category"]), r["k_department"]), _dispatch_row(r))
            for r in _dispatch_groups(level, by_category).iterator(chunk_size=5000)
        )
        for level, by_category in _KINDS_OF_ROWS
    ]
    return heapq.merge(*streams, key=lambda item: item[0])


@dataclass
class Difference:
    table: str
    key: str
    stored: dict[str, Any] | None
    computed: dict[str, Any] | None

    def __str__(self) -> str:
        if self.stored is None or self.computed is None:
            return f"{self.table} {self.key}: stored {self.stored}, computed {self.computed}"
        changed = {k: (self.stored[k], v) for k, v in self.computed.items() if self.stored.get(k) != v}
        return f"{self.table} {self.key}: " + ", ".join(f"{k} {a} ≠ {b}" for k, (a, b) in changed.items())


def _merge_compare(
    table: str, stored: Iterator[tuple[Any, dict[str, Any]]], computed: Iterator[tuple[Any, dict[str, Any]]]
) -> Iterator[Difference]:
    """Both streams in key order; a key missing on one side counts as a row of zeros."""
    s, c = next(stored, None), next(computed, None)
    while s is not None or c is not None:
        if c is None or (s is not None and s[0] < c[0]):
            assert s is not None
            if any(s[1].values()):
                yield Difference(table, str(s[0]), s[1], None)
            s = next(stored, None)
        elif s is None or c[0] < s[0]:
            if any(c[1].values()):
                yield Difference(table, str(c[0]), None, c[1])
            c = next(computed, None)
        else:
            if s[1] != c[1]:
                yield Difference(table, str(s[0]), s[1], c[1])
            s, c = next(stored, None), next(computed, None)


def check() -> list[Difference]:
    """Rows that differ from a recompute from the tickets (none when the rollup is exact). One
    snapshot on PostgreSQL, so steps running meanwhile cannot show as differences."""
    ticket_names = (*TICKET_FIELDS, "pending")
    with _snapshot():
        stored_tickets = (
            (Key(r[0], r[1], r[2]), dict(zip(ticket_names, r[3:], strict=True)))
            for r in TicketDay.objects.order_by("day", "region_code", "category_key")
            .values_list("day", "region_code", "category_key", *ticket_names)
            .iterator(chunk_size=5000)
        )
        out = list(_merge_compare("TicketDay", stored_tickets, _computed_tickets()))
        stored_pushes = (
            ((Key(r[0], r[1], r[2]), r[3]), dict(zip(DISPATCH_FIELDS, r[4:], strict=True)))
            for r in DispatchDay.objects.order_by("day", "region_code", "category_key", "department_id")
            .values_list("day", "region_code", "category_key", "department_id", *DISPATCH_FIELDS)
            .iterator(chunk_size=5000)
        )
        out += _merge_compare("DispatchDay", stored_pushes, _computed_dispatches())
    return out


# --- The report -----------------------------------------------------------------------------------


def covers(query: stats.StatsQuery) -> bool:
    """The rollup answers region-scoped queries in the platform's time zone; a department's view
    (the tickets ever pushed to it) has no rollup key and is counted live."""
    return not query.department_ids and timezone.get_current_timezone_name() == settings.TIME_ZONE


@contextlib.contextmanager
def _snapshot() -> Iterator[None]:
    """One snapshot for every query: a ticket finishing meanwhile is counted in the rollup part or
    in the live part, never in both or neither. PostgreSQL: a read-only REPEATABLE READ
    transaction. SQLite: a transaction, whose reads are one snapshot (in this project's IMMEDIATE
    mode it holds other writers off for the report's few milliseconds). Inside a caller's
    transaction the caller's isolation applies: one snapshot on SQLite, but on PostgreSQL's READ
    COMMITTED each statement sees what committed before it (no page calls it so)."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _union(parts: Iterable[tuple[str, QuerySet[Any], Any]], metrics: Mapping[str, Any]) -> QuerySet[Any]:
    """One statement: each ``(kind, rows, key)`` grouped by its key, each row tagged with its kind."""
    grouped = [
        qs.annotate(kind=Value(kind, output_field=CharField()), grp=Cast(key, CharField()))
        .values("kind", "grp")
        .annotate(**metrics)
        .order_by()
        for kind, qs, key in parts
    ]
    return grouped[0].union(*grouped[1:], all=True)


class _Acc(dict[str, Any]):
    """Summed figures of one group (counts and durations)."""

    def add(self, values: Mapping[str, Any], sign: int = 1) -> None:
        for name, value in values.items():
            if name in ("kind", "grp", "department_id", "pending"):
                continue
            if name in _TIMES:
                self[name] = self.get(name, ZERO) + sign * _duration(value)
            else:
                self[name] = self.get(name, 0) + sign * (value or 0)


def _from_rollup(row: Mapping[str, Any]) -> dict[str, Any]:
    """A rollup row in the names of ``ticket_metrics(sums=True)``."""
    out = {name: row[name] for name in TICKET_FIELDS if name not in ("closed", "merged")}
    out[f"s_{Status.CLOSED}"] = out["closed"] = row["closed"]
    out[f"s_{Status.MERGED}"] = row["merged"]
    return out


def _figures(acc: Mapping[str, Any]) -> stats.Figures:
    def hours(name: str, count: int) -> float | None:
        return _duration(acc.get(name)).total_seconds() / 3600 / count if count else None

    figures = stats.Figures(by_status={s: acc[f"s_{s}"] for s in stats.STATUSES if acc.get(f"s_{s}")})
    for name in stats.COUNTS:
        setattr(figures, name, acc.get(name) or 0)
    figures.response_hours = hours("response_time", figures.responded)
    figures.resolve_hours = hours("resolve_time", figures.resolved)
    figures.rating = (acc.get("rating_sum") or 0) / figures.rated if figures.rated else None
    return figures


def _day_figures(acc: Mapping[str, Any]) -> stats.Figures:
    figures = stats.Figures()
    for name in stats.DAY_METRICS:
        setattr(figures, name, acc.get(name) or 0)
    return figures


def _category_q(query: stats.StatsQuery) -> Q:
    """The rows of the query's category: a leaf's, a main type's leaves', or all categories'."""
    category = query.category
    if category is None:
        return Q(category_key=ALL)
    if category.parent_id is not None:
        return Q(category_key=category.pk)
    return Q(category_key__in=Category.objects.filter(parent_id=category.pk).values("pk"))


def _level_rows(model: Any, query: stats.StatsQuery, length: int) -> QuerySet[Any]:
    """Rollup rows of the period at one level: the area's own (``length`` is its code's), or those
    of the regions of that level below it (by the region table, so the level index finds them)."""
    rows = model.objects.filter(day__gte=query.start, day__lte=query.end)
    if length == len(query.region_code):
        return rows.filter(region_code=query.region_code)
    codes = Region.objects.filter(code__startswith=query.region_code, level=LEVEL_BY_LENGTH[length])
    return rows.annotate(k_length=Length("region_code")).filter(
        k_length=length, region_code__in=codes.values("code")
    )


def _rollup_parts(query: stats.StatsQuery) -> list[tuple[str, QuerySet[Any], Any]]:
    """Rollup rows of the period: the area's own by day ("d") and by category ("c"), its
    children's by region ("r"). Above the county level the counties' rows stand in for the area's."""
    area = _level_rows(TicketDay, query, max(len(query.region_code), LEVELS[0]))
    leaves = Q() if query.category is None else _category_q(query)
    parts: list[tuple[str, QuerySet[Any], Any]] = [
        ("d", area.filter(_category_q(query)), F("day")),
        ("c", area.filter(leaves).exclude(category_key=ALL), F("category_key")),
    ]
    child = query.child_length
    if child is not None:
        children = _level_rows(TicketDay, query, max(child, LEVELS[0])).filter(_category_q(query))
        parts.append(("r", children, Substr("region_code", 1, child)))
    return parts


def report(query: stats.StatsQuery, *, now: dt.datetime | None = None) -> stats.Report:
    """``stats.report`` from the rollup: the period's rollup rows added up, plus the tickets the
    rollup does not hold counted live — the same figures from far fewer rows."""
    now = now or timezone.now()
    child = query.child_length
    groups: dict[str, dict[str, _Acc]] = {
        "d": defaultdict(_Acc),
        "c": defaultdict(_Acc),
        "r": defaultdict(_Acc),
    }
    with _snapshot():
        pending = 0
        sums = {name: Sum(name) for name in (*TICKET_FIELDS, "pending")}
        rolled: dict[str, _Acc] = {"d": _Acc(), "r": _Acc()}
        for r in _union(_rollup_parts(query), sums):
            groups[r["kind"]][r["grp"]].add(_from_rollup(r))
            if r["kind"] in rolled:
                rolled[r["kind"]].add(_from_rollup(r))
            if r["kind"] == "d":
                pending += r["pending"] or 0
        if child is not None:
            # The area's own tickets (a community's not in a grid): all of it less its children.
            own = groups["r"][query.region_code]
            own.add(rolled["d"])
            own.add(rolled["r"], sign=-1)
        # The rest, live: unfinished tickets (and, while the period has any, unsettled finished ones).
        live = stats.tickets(query).order_by()
        live = live.exclude(settled_q()) if pending else live.exclude(status__in=FINAL)
        parts = [
            ("d", live, TruncDate("submitted_at", tzinfo=_tz())),
            ("c", live, Coalesce("category_id", NONE)),
        ]
        if child is not None:
            parts.append(("r", live, Substr("region_code", 1, child)))
        for r in _union(parts, stats.ticket_metrics(now, sums=True)):
            groups[r["kind"]][r["grp"]].add(r)
        departments: dict[int, _Acc] = defaultdict(_Acc)
        pushes = _level_rows(DispatchDay, query, max(len(query.region_code), LEVELS[0]))
        pushes = pushes.filter(_category_q(query))
        dispatch_sums = {name: Sum(name) for name in DISPATCH_FIELDS}
        for r in pushes.values("department_id").annotate(**dispatch_sums).order_by():
            departments[r["department_id"]].add(r)
        live_pushes = Dispatch.objects.filter(ticket__in=live.values("pk")).order_by()
        for r in live_pushes.values("department_id").annotate(**stats.dispatch_metrics(now, sums=True)):
            departments[r["department_id"]].add(r)
        return _report(query, groups, departments)


def _report(
    query: stats.StatsQuery, groups: Mapping[str, Mapping[str, _Acc]], departments: Mapping[int, _Acc]
) -> stats.Report:
    """Rows as ``stats.report`` builds them; a group is shown only when it holds a ticket."""
    total = _Acc()
    for acc in groups["d"].values():
        total.add(acc)
    regions = stats.region_rows(
        query, [(code, _figures(acc)) for code, acc in sorted(groups["r"].items()) if acc.get("submitted")]
    )
    cats = list(Category.objects.values_list("pk", "parent_id", "name_zh", "sort_order"))
    level = "main" if query.category is None else "leaf"
    parent = {pk: parent_id for pk, parent_id, _n, _o in cats}
    folded: dict[int | None, _Acc] = defaultdict(_Acc)
    for grp, acc in groups["c"].items():
        key = int(grp) or None
        folded[parent.get(key) if level == "main" and key is not None else key].add(acc)
    shown = {pk: acc for pk, acc in folded.items() if acc.get("submitted")}
    categories = stats.category_rows(
        [(pk, _figures(acc)) for pk, acc in shown.items()],
        {pk: name for pk, _p, name, _o in cats if pk in shown},
        {pk: sort_order for pk, _p, _n, sort_order in cats},
    )
    days = stats.day_rows(
        query, {dt.date.fromisoformat(grp): _day_figures(acc) for grp, acc in groups["d"].items()}
    )
    return stats.Report(
        query=query,
        area=stats.region_label(query.region_code),
        total=_figures(total) if total.get("submitted") else stats.Figures(),
        regions=regions,
        categories=categories,
        departments=stats.department_rows(
            [_department_row(pk, acc) for pk, acc in departments.items() if acc.get("dispatched")]
        ),
        days=days,
        category_level=level,
    )


def _department_row(department_id: int, acc: Mapping[str, Any]) -> dict[str, Any]:
    """An aggregate row as ``stats.department_rows`` reads it (times and rating as averages)."""
    answered, resolved, rated = acc.get("answered") or 0, acc.get("resolved") or 0, acc.get("rated") or 0
    row = {name: acc.get(name) or 0 for name in stats.DepartmentFigures.__dataclass_fields__}
    row.update(
        department_id=department_id,
        response_time=_duration(acc.get("response_time")) / answered if answered else None,
        resolve_time=_duration(acc.get("resolve_time")) / resolved if resolved else None,
        rating_avg=(acc.get("rating_sum") or 0) / rated if rated else None,
    )
    return row
