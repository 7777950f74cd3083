"""Government services: the "less running" figure of the seeded catalog, and list and statistics
query times with 1,000,000 applications in one county (岳麓区) on PostgreSQL.

Creates the database (its name must contain ``bench``; dropped and created again with ``--fresh``,
or when it holds fewer applications than asked), runs the demo generator for the regions, grids,
departments and accounts only (no registry, tickets, devices or storm), adds the county's
departments that own catalog items and a civil-affairs clerk, then:

1. **Less running** (数据多跑路、群众少跑腿): a registry population of ``--people`` people in 枇杷塘社区
   (the registry's demo generator: families, ages, households, care tags), ``registry.prefill.
   facts_of`` for each, and for every seeded item: the share of its materials the platform can fill
   (declared: materials with a registry ``source``) and the share it actually fills
   (``applications.plan_materials``) for the people the item is for (its eligibility: age, care
   tag; others: every adult). Per item and overall (mean over items, and over materials).

2. **1,000,000 applications** loaded with ``COPY`` (``shequ.core.bulk.insert_rows``) in submission
   order over two years, in every community of the county (a fifth in the demo street), 35 items,
   the catalog's handling modes (委托受理/帮办代办 items forwarded to the owning department), channels
   online 45 %, counter 35 %, at home 10 %, kiosk 10 % (at home always 帮办代办, a fifth of counter
   ones too), recent ones open in every status, old ones mostly closed (8 % late); about 20 % rated
   (5 % of ratings bad, each with a rectification: old ones done, recent ones open or fed back).

Then times, p50/p95 over ``--runs`` repetitions, through the selectors and statistics the pages call:
the staff list's first page (count + 20 rows, newest first) for a community head, a street officer
and the civil-affairs clerk (all and open); the rectification list of the street; the statistics
report of a community, the street and the county for the last 30 days and the last 12 months; the
public satisfaction page's report. Baseline measured in the same run: a primary-key lookup of one
application through the ORM; each time is printed as a ratio to it and in ms. ``--plans`` prints
the plan of the county's yearly statistics query; ``--drop`` drops the database at the end.

    SHEQU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/shequ_bench_gov \\
        .venv/bin/python bench/bench_govservice.py [--rows 1000000] [--people 400] [--runs 20] \\
        [--fresh] [--plans] [--drop]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
os.environ.setdefault("SHEQU_DEBUG", "0")

import django

django.setup()

import bench_registry_generate as common  # noqa: E402
import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from shequ.core import accounts, bulk  # noqa: E402
from shequ.core.models import Department, Region, RegionLevel, Role, User  # noqa: E402
from shequ.govservice import selectors, stats  # noqa: E402
from shequ.govservice.models import (  # noqa: E402
    Application,
    Channel,
    Consent,
    Evaluation,
    Mode,
    Outcome,
    Rectification,
    RectStatus,
    ServiceItem,
    Status,
)
from shequ.govservice.services.applications import REGISTRY, plan_materials  # noqa: E402
from shequ.registry.models import Person  # noqa: E402
from shequ.registry.prefill import facts_of  # noqa: E402

COUNTY = "430104"
STREET = "430104002"
COMMUNITY_A = "430104002001"
DEFAULT_ROWS = 1_000_000
CHUNK = 100_000
DAYS = 730
STREET_SHARE = 0.2
RATED_SHARE_OF_CLOSED = 0.235  # about 20 % of all applications
BAD_SHARE = 0.05

CHANNELS = [(Channel.ONLINE, 45), (Channel.COUNTER, 35), (Channel.HOME, 10), (Channel.KIOSK, 10)]
RECENT = [
    (Status.SUBMITTED, 10),
    (Status.RETURNED, 3),
    (Status.ACCEPTED, 10),
    (Status.FORWARDED, 12),
    (Status.DECIDED, 5),
    (Status.CLOSED, 50),
    (Status.REJECTED, 5),
    (Status.WITHDRAWN, 5),
]
OLD = [
    (Status.CLOSED, 88),
    (Status.REJECTED, 5),
    (Status.WITHDRAWN, 4),
    (Status.FORWARDED, 1),
    (Status.ACCEPTED, 1),
    (Status.DECIDED, 1),
]
STARS = [(5, 70), (4, 20), (3, 5), (2, 3), (1, 2)]
FORWARD_MODES = (Mode.ENTRUSTED, Mode.ASSISTED)
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林"


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


def pick(rng: random.Random, items: list[tuple[Any, float]]) -> Any:
    return rng.choices([k for k, _w in items], weights=[w for _k, w in items])[0]


# --- Set-up ----------------------------------------------------------------------------------------


def setup_database(fresh: bool) -> None:
    from shequ.demo import generator

    if fresh:
        common.recreate_database()
    call_command("migrate", verbosity=0)
    if not User.objects.filter(username="county").exists():
        for name in (
            "generate_registry",
            "generate_tickets",
            "generate_duty",
            "generate_iot",
            "generate_emergency",
        ):
            setattr(generator, name, lambda **kw: None)
        started = time.perf_counter()
        generator.generate(size=1)
        print(f"demo regions, grids, departments and accounts: {time.perf_counter() - started:.1f} s")
    county = Region.objects.get(code=COUNTY)
    for kind, name in ServiceItem.objects.values_list("department_kind", "department_name").distinct():
        if not Department.objects.filter(kind=kind, region_code=COUNTY).exists():
            Department.objects.create(
                code=f"bench-{kind}",
                name=f"岳麓区{name.replace('县（市、区）', '')}",
                kind=kind,
                region=county,
                region_code=COUNTY,
            )
    if not User.objects.filter(username="clerk").exists():
        clerk = accounts.user_create(
            actor=None, username="clerk", display_name="民政局办事员", password=None, phone="13899990000"
        )
        civil = Department.objects.filter(kind="civil", region_code=COUNTY).order_by("pk").first()
        accounts.membership_grant(
            actor=None, user=clerk, role=Role.DEPARTMENT_STAFF, region=county, department=civil
        )


# --- 1. Less running --------------------------------------------------------------------------------


def population(people: int) -> list[Person]:
    from shequ.registry.demo._base import Generator, Plan

    community = Region.objects.get(code=COMMUNITY_A)
    if not Person.objects.filter(region_code__startswith=COMMUNITY_A).exists():
        started = time.perf_counter()
        Generator(seed=2026, check_existing=False).community(Plan(community, people, 0))
        print(
            f"registry: {people} people generated in {community.name} "
            f"in {time.perf_counter() - started:.1f} s"
        )
    return list(Person.objects.filter(region_code__startswith=COMMUNITY_A).order_by("pk"))


def is_for(item: ServiceItem, facts: Any) -> bool:
    rules = item.eligibility or {}
    if "min_age" in rules:
        return facts.age is not None and facts.age >= int(rules["min_age"])
    if "tags_any" in rules:
        return bool(facts.tags & set(rules["tags_any"]))
    return facts.age is None or facts.age >= 16


def less_running(people: int) -> None:
    persons = population(people)
    started = time.perf_counter()
    all_facts = [facts_of(p) for p in persons]
    spent = time.perf_counter() - started
    print(
        f"\nLESS RUNNING: {len(persons)} people of {COMMUNITY_A}, facts_of in "
        f"{spent * 1000 / max(1, len(persons)):.1f} ms per person"
    )
    print(
        f"{'item':<20} {'mat.':>4} {'decl.':>5} {'declared':>9} {'people':>6} {'filled':>7}  fills by source"
    )
    declared_shares, filled_shares = [], []
    total_materials = total_declared = 0
    filled_sum = filled_n = 0.0
    for item in ServiceItem.objects.filter(is_active=True).order_by("domain", "sort_order", "code"):
        materials = item.materials
        declared = [m for m in materials if m.get("source")]
        who = [f for f in all_facts if is_for(item, f)]
        fills = []
        by_source: dict[str, int] = {}
        for facts in who:
            rows = plan_materials(item, facts)
            n = sum(1 for r in rows if r["how"] == REGISTRY)
            fills.append(n / len(materials) if materials else 0.0)
            for r in rows:
                if r["how"] == REGISTRY:
                    by_source[r["source"]] = by_source.get(r["source"], 0) + 1
        filled = statistics.mean(fills) if fills else None
        d_share = len(declared) / len(materials) if materials else 0.0
        declared_shares.append(d_share)
        if filled is not None:
            filled_shares.append(filled)
            filled_sum += filled * len(materials)
            filled_n += len(materials)
        total_materials += len(materials)
        total_declared += len(declared)
        sources = (
            ", ".join(f"{k} {v / len(who) * 100:.0f}%" for k, v in sorted(by_source.items())) if who else ""
        )
        print(
            f"{item.name_zh:<20} {len(materials):>4} {len(declared):>5} {d_share * 100:8.0f}% {len(who):>6} "
            f"{'' if filled is None else f'{filled * 100:6.0f}%'}  {sources}"
        )
    print(
        f"{'overall (mean of items)':<20} {total_materials:>4} {total_declared:>5} "
        f"{statistics.mean(declared_shares) * 100:8.0f}% {'':>6} {statistics.mean(filled_shares) * 100:6.0f}%"
    )
    print(
        f"{'overall (materials)':<20} {'':>4} {'':>5} {total_declared / total_materials * 100:8.0f}% {'':>6} "
        f"{filled_sum / filled_n * 100:6.0f}%"
    )


# --- 2. A million applications ------------------------------------------------------------------------


def load_applications(target: int, seed: int = 2026) -> float:
    have = Application.objects.filter(region_code__startswith=COUNTY).count()
    if have >= target:
        return 0.0
    rng = random.Random(seed + have)
    communities = list(
        Region.objects.filter(code__startswith=COUNTY, level=RegionLevel.COMMUNITY).values_list("pk", "code")
    )
    home = [c for c in communities if c[1].startswith(STREET)]
    others = [c for c in communities if not c[1].startswith(STREET)]
    items = list(ServiceItem.objects.filter(is_active=True))
    weights = [rng.uniform(0.2, 3.0) for _ in items]  # some items are asked for far more often
    departments = {d.kind: d for d in Department.objects.filter(region_code=COUNTY).order_by("-pk")}
    helper = User.objects.get(username="worker_a").pk
    region_of = {code: pk for pk, code in communities}
    now = timezone.now()
    n_total = target - have
    # Submission times in order, as a live platform writes them (a little busier lately).
    ages = sorted((DAYS * rng.random() ** 1.15 for _ in range(n_total)), reverse=True)
    started = time.perf_counter()
    done = 0
    while done < n_total:
        n = min(CHUNK, n_total - done)
        rows: list[dict[str, Any]] = []
        rated: list[tuple[int, int, dict[str, Any]]] = []
        for i in range(n):
            age = dt.timedelta(days=ages[done + i])
            submitted = now - age
            region_id, code = (
                home[rng.randrange(len(home))]
                if rng.random() < STREET_SHARE
                else others[rng.randrange(len(others))]
            )
            item = rng.choices(items, weights=weights)[0]
            status = pick(rng, RECENT if age.days < 30 else OLD)
            channel = pick(rng, CHANNELS)
            on_behalf = channel == Channel.HOME or (channel == Channel.COUNTER and rng.random() < 0.2)
            days = item.promised_days * 1.4
            forwarded = item.mode in FORWARD_MODES and status in (
                Status.FORWARDED,
                Status.DECIDED,
                Status.CLOSED,
            )
            dept = departments.get(item.department_kind) if forwarded else None
            row: dict[str, Any] = {
                "item_id": item.pk,
                "item_version": item.version,
                "region_id": region_id,
                "region_code": code,
                "channel": channel,
                "applicant_name": SURNAMES[rng.randrange(len(SURNAMES))] + "某",
                "applicant_phone": f"138{rng.randrange(10**8):08d}",
                "on_behalf": on_behalf,
                "helper_id": helper if on_behalf else None,
                "consent": Consent.SIGNED if on_behalf else "",
                "status": status,
                "department_id": dept.pk if dept else None,
                "submitted_at": submitted,
                "updated_at": submitted,
                "fee": item.fee,
            }
            if status not in (Status.SUBMITTED, Status.RETURNED, Status.REJECTED):
                row["accepted_at"] = submitted + dt.timedelta(hours=rng.uniform(0.1, 20))
            if status in (Status.SUBMITTED, Status.ACCEPTED, Status.FORWARDED, Status.DECIDED):
                due = submitted + dt.timedelta(days=days if status != Status.SUBMITTED else 1.4)
                row.update(due_at=due, warn_at=submitted + (due - submitted) * 0.8)
                if due < now:
                    row["overdue_at"] = due + dt.timedelta(minutes=5)
            if status in (Status.CLOSED, Status.REJECTED, Status.WITHDRAWN):
                late = status == Status.CLOSED and rng.random() < 0.08
                closed = submitted + dt.timedelta(days=rng.uniform(0.01, days * (1.6 if late else 0.95)))
                row["closed_at"] = min(closed, now)
                if late:
                    row["overdue_at"] = submitted + dt.timedelta(days=days)
                if status == Status.CLOSED:
                    row.update(outcome=Outcome.APPROVED, decided_at=row["closed_at"], delivery="pickup")
                    if rng.random() < RATED_SHARE_OF_CLOSED:
                        stars = pick(rng, STARS) if rng.random() >= BAD_SHARE else rng.choice([1, 2])
                        row["rating"] = stars
                        rated.append((i, stars, row))
            rows.append(row)
        ids = bulk.insert_rows(Application, rows, workers=2)
        evaluations = [
            {
                "application_id": ids[i],
                "item_id": row["item_id"],
                "region_code": row["region_code"],
                "department_id": row["department_id"],
                "stars": stars,
                "reasons": ["slow"] if stars <= 2 else ["fast"],
                "channel": row["channel"],
                "at": min(row["closed_at"] + dt.timedelta(hours=rng.uniform(1, 72)), now),
            }
            for i, stars, row in rated
        ]
        eval_ids = bulk.insert_rows(Evaluation, evaluations, workers=2)
        rects = []
        for eid, e in zip(eval_ids, evaluations, strict=True):
            if e["stars"] > 2:
                continue
            opened = e["at"]
            due = opened + dt.timedelta(days=21)
            recent = (now - opened).days < 30
            status = (
                pick(rng, [(RectStatus.OPEN, 50), (RectStatus.FED_BACK, 30), (RectStatus.DONE, 20)])
                if recent
                else RectStatus.DONE
            )
            dept_id = e["department_id"]
            rects.append(
                {
                    "evaluation_id": eid,
                    "region_id": region_of[e["region_code"]],
                    "region_code": e["region_code"],
                    "department_id": dept_id,
                    "supervisor_code": COUNTY if dept_id else e["region_code"][:9],
                    "status": status,
                    "opened_at": opened,
                    "warn_at": opened + dt.timedelta(days=17),
                    "due_at": due,
                    "closed_at": min(opened + dt.timedelta(days=rng.uniform(2, 20)), now)
                    if status == RectStatus.DONE
                    else None,
                }
            )
        bulk.insert_rows(Rectification, rects, workers=2)
        done += n
        print(f"  {have + done:,} applications loaded ({time.perf_counter() - started:.0f} s)", flush=True)
    vacuum()
    return time.perf_counter() - started


def vacuum() -> None:
    with connection.cursor() as cursor:
        for table in ("govservice_application", "govservice_evaluation", "govservice_rectification"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def page(qs: Any) -> Callable[[], Any]:
    def run() -> Any:
        return qs.count(), list(qs[:20])

    return run


def plan_of(func: Callable[[], Any], table: str = "govservice_application") -> str:
    with CaptureQueriesContext(connection) as captured:
        func()
    sql = max((c["sql"] for c in captured.captured_queries if table in c["sql"]), key=len)
    with connection.cursor() as cursor:
        cursor.execute(f"SET work_mem = '{stats.WORK_MEM}'")  # as the report sets it
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        lines = [row[0] for row in cursor.fetchall()]
        cursor.execute("RESET work_mem")
    keep = [
        line
        for line in lines
        if any(w in line for w in ("Scan", "Execution Time", "Aggregate", "Sort", "Gather"))
    ]
    return "\n".join("      " + line.strip()[:150] for line in keep[:14])


def drop_database() -> None:
    name = settings.DATABASES["default"]["NAME"]
    if "bench" not in name:
        return
    connections.close_all()
    with psycopg.connect(**common._conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"dropped database {name}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="applications to load")
    parser.add_argument(
        "--people", type=int, default=400, help="registry population for the less-running figure"
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--fresh", action="store_true", help="drop and create the database first")
    parser.add_argument("--plans", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("this benchmark needs PostgreSQL: set SHEQU_DATABASE_URL")
    setup_database(args.fresh)
    less_running(args.people)

    loaded = load_applications(args.rows)
    total = Application.objects.filter(region_code__startswith=COUNTY).count()
    if loaded:
        print(
            f"loaded {total:,} applications in {loaded:.0f} s "
            f"({total / loaded:,.0f}/s incl. ratings and rectifications)"
        )
    communities = Region.objects.filter(code__startswith=COUNTY, level=RegionLevel.COMMUNITY).count()
    print(
        f"\ndatabase {settings.DATABASES['default']['NAME']}: {total:,} applications in {COUNTY} "
        f"({communities} communities), {Evaluation.objects.count():,} ratings, "
        f"{Rectification.objects.count():,} rectifications; machine: {common.machine()}"
    )

    users = {u.username: u for u in User.objects.filter(username__in=["head_a", "street", "county", "clerk"])}
    some = (
        Application.objects.filter(region_code__startswith=COUNTY).order_by("pk").values_list("pk", flat=True)
    )
    pks = list(some[:1000:10])
    turn = iter(range(10**9))

    def pk_lookup() -> Any:
        return Application.objects.get(pk=pks[next(turn) % len(pks)])

    base_values = timed(pk_lookup, args.runs * 5)
    base = statistics.median(base_values)
    print(f"\n{'query':<46} {'p50':>8} {'p95':>8}  ms   p50 / primary-key lookup")
    print(
        f"{'baseline: Application by primary key':<46} {percentile(base_values, 50):8.2f} "
        f"{percentile(base_values, 95):8.2f}      1.0x"
    )
    today = timezone.localdate()
    last30 = stats.period_of(stats.LAST_30, today=today)
    year = stats.Period(today - dt.timedelta(days=364), today)
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("list: community head, all", page(selectors.application_list(viewer=users["head_a"]))),
        (
            "list: community head, open",
            page(selectors.application_list(viewer=users["head_a"], status="open")),
        ),
        ("list: street officer, all", page(selectors.application_list(viewer=users["street"]))),
        (
            "list: street officer, open",
            page(selectors.application_list(viewer=users["street"], status="open")),
        ),
        ("list: civil clerk (department), all", page(selectors.application_list(viewer=users["clerk"]))),
        ("list: civil clerk, open", page(selectors.application_list(viewer=users["clerk"], status="open"))),
        ("rectifications: street officer", page(selectors.rectification_list(viewer=users["street"]))),
        ("stats: community, last 30 days", lambda: stats.report(region_code=COMMUNITY_A, period=last30)),
        ("stats: street, last 30 days", lambda: stats.report(region_code=STREET, period=last30)),
        ("stats: county, last 30 days", lambda: stats.report(region_code=COUNTY, period=last30)),
        ("stats: community, last 12 months", lambda: stats.report(region_code=COMMUNITY_A, period=year)),
        ("stats: street, last 12 months", lambda: stats.report(region_code=STREET, period=year)),
        ("stats: county, last 12 months", lambda: stats.report(region_code=COUNTY, period=year)),
        ("public satisfaction page (county, 12 months)", lambda: stats.public_report(region_code=COUNTY)),
    ]
    for label, func in cases:
        with CaptureQueriesContext(connection) as captured:
            func()
        runs = args.runs if "12 months" not in label else max(5, args.runs // 2)
        values = timed(func, runs)
        p50 = percentile(values, 50)
        print(
            f"{label:<46} {p50:8.1f} {percentile(values, 95):8.1f}  {p50 / base:7.0f}x  "
            f"({len(captured)} queries)"
        )
    if args.plans:
        print("\nplan of the county's yearly applications query:")
        print(plan_of(lambda: stats.report(region_code=COUNTY, period=year)))
        print("\nplan of the street officer's open list (first page):")
        print(plan_of(lambda: list(selectors.application_list(viewer=users["street"], status="open")[:20])))
    print(f"\nmachine after: {common.machine()}")
    if args.drop:
        drop_database()


if __name__ == "__main__":
    main()
