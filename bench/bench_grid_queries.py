"""List and statistics query times with 1,000,000 tickets in one county (岳麓区) on PostgreSQL.

Creates the database (its name must contain ``bench``; dropped and created again with ``--fresh``,
or when it holds fewer tickets than asked), runs the demo generator without the registry (regions,
grids, departments, accounts, the 300 demo tickets through the services), then loads the rest of
the tickets with ``COPY`` (``shequ.core.bulk.insert_rows``): two years of tickets in every
community of the county, a fifth of them in the demo street, shaped like the demo's — most old
tickets closed and rated, recent ones open in every status, some overdue and escalated — with a
``Dispatch`` row for each ticket pushed to a department (the department scope and its on-time rates
read them). Timeline rows are not loaded: no timed query reads them. The table is then put in
submission order (``CLUSTER`` on the submission index), as a live platform writes it, and the
statistics rollup is rebuilt (``stats_rollup.rebuild``: the load bypassed the services).

Then times, p50/p95 over ``--runs`` repetitions, end to end through the selectors the pages call
(the first page of 20 and the count the page shows):

* a community's queue (worker_a), the police station's queue, the street officer's open-ticket list,
  its red (overdue) list, its supervision list, the county officer's open list;
* the statistics report (``shequ.grid.stats.report``) of the demo street and of the county, for
  this month and for the last twelve months: from the rollup, and the old live computation
  (``live=True``) in the same run, their figures compared (they must be equal);
* the rollup refresh one finishing step adds (``stats_rollup.refresh`` of a closed ticket: its
  eight keys locked and recomputed).

Baseline measured in the same run: ``SELECT count(*)`` over the tickets of the same scope (the rows
each query reads from), printed as a ratio; for the statistics also live ÷ rollup. ``--plans``
prints the EXPLAIN ANALYZE of the statistics' largest query at county level; ``--check`` runs
``stats_rollup.check`` (the whole rollup against a recompute) and prints its time.

    SHEQU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/shequ_bench_grid \\
        .venv/bin/python bench/bench_grid_queries.py [--tickets 1000000] [--runs 30] [--fresh] [--check]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import math
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
os.environ.setdefault("SHEQU_DEBUG", "0")

import django

django.setup()

import bench_registry_generate as common  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from shequ.core import bulk  # noqa: E402
from shequ.core.models import Department, Region, RegionLevel, User  # noqa: E402
from shequ.grid import selectors, stats, stats_rollup  # noqa: E402
from shequ.grid.models import Category, Dispatch, Source, Status, Ticket  # noqa: E402

COUNTY = "430104"
STREET = "430104002"
DEFAULT_TICKETS = 1_000_000
CHUNK = 100_000
DAYS = 730
STREET_SHARE = 0.2

# Department codes of the demo, by the category kinds they take.
KIND_TO_DEPARTMENT = {
    "police": "yuelu-police",
    "urban": "yuelu-urban",
    "housing": "yuelu-housing",
    "civil": "yuelu-civil",
    "water": "changsha-water",
    "power": "changsha-power",
    "property": "lushan-property",
}
RECENT_STATUSES = [
    (Status.SUBMITTED, 8),
    (Status.ACCEPTED, 6),
    (Status.DISPATCHED, 8),
    (Status.DEPT_ACCEPTED, 5),
    (Status.IN_PROGRESS, 7),
    (Status.RESOLVED, 7),
    (Status.VERIFIED, 5),
    (Status.REOPENED, 2),
    (Status.CLOSED, 47),
    (Status.MERGED, 5),
]
OLD_STATUSES = [
    (Status.CLOSED, 92),
    (Status.MERGED, 3),
    (Status.IN_PROGRESS, 2),
    (Status.ACCEPTED, 1),
    (Status.DISPATCHED, 2),
]
SOURCES = [
    (Source.RESIDENT, 30),
    (Source.HOTLINE, 25),
    (Source.PATROL, 28),
    (Source.STAFF, 10),
    (Source.SENSOR, 2),
    (Source.OPEN311, 5),
]
TITLES = [
    "楼道灯坏了",
    "垃圾没清运",
    "夜间施工噪音",
    "小区门口占道经营",
    "下水道堵塞",
    "电动车楼道充电",
    "路灯不亮",
    "邻里漏水纠纷",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(func: Callable[[], Any], runs: int) -> list[float]:
    func()  # warm
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _pick(rng: random.Random, items: list[tuple[Any, float]]) -> Any:
    return rng.choices([k for k, _w in items], weights=[w for _k, w in items])[0]


def setup_database(fresh: bool) -> None:
    from shequ.demo import generator

    if fresh:
        common.recreate_database()
    call_command("migrate", verbosity=0)
    if not User.objects.filter(username="county").exists():
        generator.generate_registry = lambda **kw: None  # type: ignore[assignment,misc]  # no people needed
        started = time.perf_counter()
        result = generator.generate(size=1)
        print(
            f"demo (regions, grids, accounts, {result.tickets.tickets if result.tickets else 0} tickets "
            f"through the services): {time.perf_counter() - started:.1f} s"
        )


def load_tickets(target: int, seed: int = 2026) -> float:
    """COPY tickets (and their dispatches) until the county holds ``target``; returns seconds."""
    have = Ticket.objects.filter(region_code__startswith=COUNTY).count()
    if have >= target:
        return 0.0
    rng = random.Random(seed + have)
    grids = list(
        Region.objects.filter(code__startswith=STREET, level=RegionLevel.GRID).values_list("pk", "code")
    )
    others = list(
        Region.objects.filter(code__startswith=COUNTY, level=RegionLevel.COMMUNITY)
        .exclude(code__startswith=STREET)
        .values_list("pk", "code")
    )
    leaves = list(Category.objects.filter(parent__isnull=False, is_active=True).select_related("parent"))
    departments = {d.code: d for d in Department.objects.all()}
    now = timezone.now()
    started = time.perf_counter()
    remaining = target - have
    while remaining > 0:
        n = min(CHUNK, remaining)
        rows: list[dict[str, Any]] = []
        pushes: list[tuple[int, Department, dict[str, Any]]] = []
        for i in range(n):
            region_id, code = (
                grids[rng.randrange(len(grids))]
                if rng.random() < STREET_SHARE
                else others[rng.randrange(len(others))]
            )
            age = dt.timedelta(days=DAYS * rng.random() ** 1.15)  # a little busier lately
            submitted = now - age
            status = _pick(rng, RECENT_STATUSES if age.days < 30 else OLD_STATUSES)
            cat = leaves[rng.randrange(len(leaves))]
            kind = cat.department_kind or (cat.parent.department_kind if cat.parent else "")
            dept = departments.get(KIND_TO_DEPARTMENT.get(kind, ""))
            if dept is not None and not code.startswith(dept.region_code):
                dept = None
            urgent = rng.random() < 0.04
            response_due = submitted + dt.timedelta(hours=cat.response_hours)
            late = rng.random() < 0.15
            responded = submitted + dt.timedelta(
                hours=rng.uniform(0.2, cat.response_hours * (3 if late else 0.9))
            )
            resolve_due = responded + dt.timedelta(days=cat.resolution_days)
            resolved = responded + dt.timedelta(
                days=rng.uniform(0.1, cat.resolution_days * (2 if late else 0.9))
            )
            row: dict[str, Any] = {
                "uid": uuid.uuid4(),
                "source": _pick(rng, SOURCES),
                "title": TITLES[rng.randrange(len(TITLES))],
                "description": "群众反映的问题，详见附件。",
                "category_id": cat.pk,
                "urgency": "urgent" if urgent else "normal",
                "region_id": region_id,
                "region_code": code,
                "status": status,
                "supervision_code": code[:12],
                "submitted_at": submitted,
                "response_due_at": response_due,
                "updated_at": submitted,
            }
            in_department = status in (Status.DISPATCHED, Status.DEPT_ACCEPTED, Status.IN_PROGRESS)
            pushed = dept is not None and (
                in_department
                or (status not in (Status.SUBMITTED, Status.ACCEPTED, Status.MERGED) and rng.random() < 0.6)
            )
            if status == Status.SUBMITTED:
                row.update(
                    clock="response",
                    clock_started_at=submitted,
                    due_at=response_due,
                    warn_at=submitted + (response_due - submitted) * 0.8,
                )
            elif status == Status.MERGED:
                row.update(closed_at=submitted + dt.timedelta(hours=2))
            else:
                row.update(responded_at=responded, resolve_due_at=resolve_due)
                if status in (
                    Status.ACCEPTED,
                    Status.DISPATCHED,
                    Status.DEPT_ACCEPTED,
                    Status.IN_PROGRESS,
                    Status.REOPENED,
                ):
                    row.update(
                        clock="resolution",
                        clock_started_at=responded,
                        due_at=resolve_due,
                        warn_at=responded + (resolve_due - responded) * 0.8,
                    )
                    if resolve_due < now:
                        row.update(
                            escalations=1,
                            supervision_code=code[:9],
                            escalated_at=resolve_due + dt.timedelta(hours=1),
                        )
                else:
                    row.update(resolved_at=min(resolved, now))
                    if status == Status.CLOSED:
                        row["closed_at"] = min(resolved + dt.timedelta(days=1), now)
                        if rng.random() < 0.4:
                            row.update(
                                rating=_pick(rng, [(5, 55), (4, 25), (3, 10), (2, 6), (1, 4)]),
                                rated_at=row["closed_at"],
                            )
            if pushed:
                assert dept is not None
                row["department_id"] = (
                    dept.pk
                    if (
                        in_department
                        or status in (Status.RESOLVED, Status.VERIFIED, Status.CLOSED, Status.REOPENED)
                    )
                    else None
                )
                pushes.append(
                    (
                        i,
                        dept,
                        {
                            "dispatched_at": responded,
                            "response_due_at": responded + dt.timedelta(hours=cat.response_hours),
                            "resolve_due_at": resolve_due,
                            "accepted_at": None
                            if status == Status.DISPATCHED
                            else responded + dt.timedelta(hours=rng.uniform(0.2, 30)),
                            "resolved_at": row.get("resolved_at"),
                            "responded_at": row.get("resolved_at"),
                            "is_current": True,
                        },
                    )
                )
            rows.append(row)
        ids = bulk.insert_rows(Ticket, rows, workers=2)
        bulk.insert_rows(
            Dispatch,
            [{"ticket_id": ids[i], "department_id": dept.pk, **values} for i, dept, values in pushes],
            workers=2,
        )
        remaining -= n
        print(f"  {target - remaining:,} tickets loaded ({time.perf_counter() - started:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        # A live table holds tickets in the order they came in; the load above wrote two years in
        # random order. Put them in submission order, as the platform would have written them.
        cursor.execute("CLUSTER grid_ticket USING grid_ticket_submitted_idx")
        cursor.execute("VACUUM ANALYZE grid_ticket")
        cursor.execute("VACUUM ANALYZE grid_dispatch")
    return time.perf_counter() - started


def rebuild_rollup() -> None:
    started = time.perf_counter()
    tickets, pushes = stats_rollup.rebuild()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE grid_ticketday")
        cursor.execute("VACUUM ANALYZE grid_dispatchday")
    print(
        f"rollup rebuilt: {tickets:,} ticket rows, {pushes:,} department rows "
        f"in {time.perf_counter() - started:.0f} s"
    )


def same_figures(a: Any, b: Any) -> bool:
    """Every figure equal; times and ratings to a microsecond's rounding."""
    left, right = dataclasses.asdict(a), dataclasses.asdict(b)
    for name, value in right.items():
        other = left[name]
        if isinstance(value, float) or isinstance(other, float):
            if other is None or value is None or not math.isclose(other, value, rel_tol=1e-9, abs_tol=1e-6):
                return False
        elif other != value:
            return False
    return True


def same_report(a: stats.Report, b: stats.Report) -> bool:
    return same_figures(a.total, b.total) and all(
        len(x) == len(y) and all(same_figures(f, g) for f, g in zip(x, y, strict=True))
        for x, y in (
            (a.regions, b.regions),
            (a.categories, b.categories),
            (a.days, b.days),
            (a.departments, b.departments),
        )
    )


def refresh_case(street: str) -> Callable[[], Any]:
    """The rollup's share of a finishing step: one closed ticket's keys refreshed (rolled back)."""
    ids = list(
        Ticket.objects.filter(region_code__startswith=street, status=Status.CLOSED)
        .exclude(region_code=street)
        .values_list("pk", flat=True)[:200]
    )
    tickets = list(Ticket.objects.filter(pk__in=ids))
    turn = iter(range(10**9))

    def run() -> None:
        ticket = tickets[next(turn) % len(tickets)]
        with transaction.atomic():
            stats_rollup.refresh(ticket)
            transaction.set_rollback(True)

    return run


def plan_of(func: Callable[[], Any]) -> str:
    with CaptureQueriesContext(connection) as captured:
        func()
    sql = max((c["sql"] for c in captured.captured_queries), key=len)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        lines = [row[0] for row in cursor.fetchall()]
    keep = [line for line in lines if any(w in line for w in ("Scan", "Execution Time", "Aggregate", "Join"))]
    return "\n".join("      " + line.strip()[:140] for line in keep[:12])


def page(qs: Any) -> Callable[[], Any]:
    def run() -> Any:
        return qs.count(), list(qs[:20])

    return run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=DEFAULT_TICKETS)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--fresh", action="store_true", help="drop and create the database first")
    parser.add_argument("--plans", action="store_true")
    parser.add_argument("--check", action="store_true", help="check the whole rollup against a recompute")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("this benchmark needs PostgreSQL: set SHEQU_DATABASE_URL")
    setup_database(args.fresh)
    loaded = load_tickets(args.tickets)
    total = Ticket.objects.filter(region_code__startswith=COUNTY).count()
    if loaded:
        print(
            f"loaded {total:,} tickets in {loaded:.0f} s ({total / loaded:,.0f} tickets/s incl. dispatches)"
        )
        rebuild_rollup()
    print(
        f"database: {settings.DATABASES['default']['NAME']}: {total:,} tickets in {COUNTY}, "
        f"{Dispatch.objects.count():,} dispatches; machine: {common.machine()}"
    )

    users = {
        u.username: u for u in User.objects.filter(username__in=["worker_a", "police", "street", "county"])
    }
    for user in users.values():
        selectors.department_ids(user)  # memberships cached per request in the pages; warm them here too

    def count_sql(prefix: str) -> Callable[[], Any]:
        def run() -> Any:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM grid_ticket WHERE region_code LIKE %s", [prefix + "%"])
                return cursor.fetchone()

        return run

    today = timezone.localdate()
    month = stats.this_month(today)
    year = (today - dt.timedelta(days=364), today)
    cases: list[tuple[str, str, Callable[[], Any]]] = [
        (
            "community queue (worker_a, 枇杷塘社区)",
            "430104002001",
            page(selectors.community_queue(users["worker_a"])),
        ),
        ("department queue (police)", STREET, page(selectors.department_queue(users["police"]))),
        (
            "open tickets (street officer)",
            STREET,
            page(selectors.ticket_list(users["street"], selectors.TicketFilters(open_only=True))),
        ),
        (
            "red: overdue (street officer)",
            STREET,
            page(selectors.ticket_list(users["street"], selectors.TicketFilters(colour="red"))),
        ),
        (
            "category + source filter (street)",
            STREET,
            page(
                selectors.ticket_list(
                    users["street"], selectors.TicketFilters(category="environment", source="hotline")
                )
            ),
        ),
        ("supervision list (street officer)", STREET, page(selectors.supervision_list(users["street"]))),
        (
            "open tickets (county officer)",
            COUNTY,
            page(selectors.ticket_list(users["county"], selectors.TicketFilters(open_only=True))),
        ),
        ("rollup refresh of one closed ticket", STREET, refresh_case(STREET)),
    ]
    police = Department.objects.get(code="yuelu-police").pk
    reports: list[tuple[str, str, stats.StatsQuery]] = [
        ("stats: street, this month", STREET, stats.StatsQuery(STREET, *month)),
        ("stats: county, this month", COUNTY, stats.StatsQuery(COUNTY, *month)),
        ("stats: street, last 12 months", STREET, stats.StatsQuery(STREET, *year)),
        ("stats: county, last 12 months", COUNTY, stats.StatsQuery(COUNTY, *year)),
        (
            "stats: police's view, this month",
            STREET,
            stats.StatsQuery(STREET, *month, department_ids=(police,)),
        ),
    ]
    baselines: dict[str, float] = {}

    def baseline(scope: str) -> float:
        if scope not in baselines:
            base = timed(count_sql(scope), args.runs)
            baselines[scope] = statistics.median(base)
            rows = count_sql(scope)()[0]
            print(
                f"{'baseline: count(*) of ' + scope:<42} {rows:>9,} "
                f"{percentile(base, 50):8.1f} {percentile(base, 95):8.1f}"
            )
        return baselines[scope]

    print(f"\n{'query':<42} {'rows':>9} {'p50':>8} {'p95':>8}  ms   p50 / count(*) of the scope")
    for label, scope, func in cases:
        base = baseline(scope)
        values = timed(func, args.runs)
        p50 = percentile(values, 50)
        print(f"{label:<42} {'':>9} {p50:8.1f} {percentile(values, 95):8.1f}      {p50 / base:5.1f}x")
    for label, scope, query in reports:
        base = baseline(scope)
        runs = args.runs if "12 months" not in label else max(5, args.runs // 3)
        now = timezone.now()
        rolled, old = stats.report(query, now=now), stats.report(query, now=now, live=True)
        same = "same figures" if same_report(rolled, old) else "FIGURES DIFFER"
        p50s = []
        for how, live in (("rollup", False), ("live (old)", True)):
            values = timed(lambda q=query, lv=live: stats.report(q, live=lv), runs)  # type: ignore[misc]
            p50s.append(percentile(values, 50))
            print(
                f"{label + ', ' + how:<42} {'':>9} {p50s[-1]:8.1f} {percentile(values, 95):8.1f}"
                f"      {p50s[-1] / base:5.1f}x"
            )
        print(f"{'  live ÷ rollup':<42} {'':>9} {p50s[1] / p50s[0]:8.1f}x  ({same})")
    if args.plans:
        print("\nplan of the largest statistics query (county, last 12 months):")
        print(plan_of(lambda: stats.report(stats.StatsQuery(COUNTY, *year))))
    if args.check:
        started = time.perf_counter()
        differences = stats_rollup.check()
        print(
            f"\nrollup check: {len(differences)} rows differ from a recompute "
            f"({time.perf_counter() - started:.0f} s)"
        )
    print(f"\nmachine after: {common.machine()}")


if __name__ == "__main__":
    main()
