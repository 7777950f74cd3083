"""Reports: the time to fill every community's instance of every seeded report template for a whole
city on PostgreSQL, against a plain grouped count over the same tables measured in the same run; and
the number of ledgers and reports the platform produces without typing.

The city is synthetic (code 4399, ``--counties`` × ``--streets`` × communities of about
``--per-community`` people each) and its rows are written in SQL directly (``INSERT … SELECT`` over
``generate_series`` on the server: faster than COPY from Python and with no client in between), with
only the columns the statistics read given real distributions, not through the services:

- people (``--people``): 80 % 户籍, 10 % 常住(人户分离), 9 % 流动, 1 % 境外; ages 0–100; 3 % moved out;
- population tags for about a third of them (elderly living alone, disabled with a type and grade,
  低保, 特困, veterans, left-behind children, restricted ones …), households of three with their
  members, houses (12 % rented) in buildings, organizations and key places;
- tickets (4 per 100 people in the month, every source, category and status), applications (2 per
  100, every channel and mode) with ratings for a fifth, visits (1 per 100).

Then, for the month of the data: ``fill_period`` of every active template over the city (each
computed cell is one grouped query for the whole city), timed per template, and the baseline: one
``SELECT substr(region_code, 1, 12), count(*) FROM registry_person … GROUP BY 1`` over the city (the
simplest statistic a report holds), printed as a ratio. Run it at two sizes to see how it scales:

    SHEQU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/shequ_bench_reports \\
        .venv/bin/python bench/bench_reports_fill.py --people 1000000 [--per-community 3300] [--drop]

The database's name must contain ``bench``; it is dropped and created again at every run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
os.environ.setdefault("SHEQU_DEBUG", "0")

import django

django.setup()

import bench_registry_generate as common  # noqa: E402
import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from shequ.core.components import components  # noqa: E402
from shequ.core.models import Region, RegionKind, RegionLevel  # noqa: E402
from shequ.reports.models import ReportInstance, ReportTemplate  # noqa: E402
from shequ.reports.services import fill_period  # noqa: E402

CITY = "4399"
MONTH = dt.date(2026, 11, 1)


def sql(statement: str, params: Any = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def scalar(statement: str, params: Any = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]


def filler(table: str, given: dict[str, str]) -> str:
    """``INSERT INTO table (cols) SELECT exprs`` where every NOT NULL column without a default that
    ``given`` leaves out gets a neutral value of its type ('' , 0, false, now())."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, is_nullable, column_default, is_identity "
            "FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            [table],
        )
        columns = cursor.fetchall()
    names, exprs = [], []
    for name, kind, nullable, default, identity in columns:
        if identity == "YES":
            continue
        if name in given:
            names.append(name)
            exprs.append(given[name])
        elif nullable == "NO" and default is None:
            names.append(name)
            if "char" in kind or kind == "text":
                exprs.append("''")
            elif kind in ("integer", "bigint", "smallint", "numeric", "double precision"):
                exprs.append("0")
            elif kind == "boolean":
                exprs.append("false")
            elif kind.startswith("timestamp"):
                exprs.append("now()")
            elif kind == "date":
                exprs.append("current_date")
            elif kind in ("jsonb", "json"):
                exprs.append("'{}'::jsonb" if kind == "jsonb" else "'{}'::json")
            elif kind == "uuid":
                exprs.append("gen_random_uuid()")
            else:
                raise SystemExit(f"{table}.{name}: no neutral value for {kind}")
    return f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(exprs)}"


# --- The city -----------------------------------------------------------------------------------


def build_regions(counties: int, streets: int, communities: int) -> list[Region]:
    province = Region.objects.get_or_create(
        code="43", defaults={"name": "湖南省", "level": RegionLevel.PROVINCE, "kind": RegionKind.PROVINCE}
    )[0]
    city = Region.objects.create(
        code=CITY, name="测试市", level=RegionLevel.CITY, kind=RegionKind.CITY, parent=province
    )
    leaves: list[Region] = []
    for c in range(1, counties + 1):
        county = Region.objects.create(
            code=f"{CITY}{c:02d}",
            name=f"第{c}区",
            level=RegionLevel.COUNTY,
            kind=RegionKind.COUNTY,
            parent=city,
        )
        for s in range(1, streets + 1):
            street = Region.objects.create(
                code=f"{county.code}{s:03d}",
                name=f"第{c}区第{s}街道",
                level=RegionLevel.STREET,
                kind=RegionKind.STREET,
                parent=county,
            )
            Region.objects.bulk_create(
                [
                    Region(
                        code=f"{street.code}{m:03d}",
                        name=f"{street.name}第{m}社区",
                        level=RegionLevel.COMMUNITY,
                        kind=RegionKind.COMMUNITY,
                        parent=street,
                    )
                    for m in range(1, communities + 1)
                ]
            )
    leaves = list(Region.objects.filter(code__startswith=CITY, level=RegionLevel.COMMUNITY).order_by("code"))
    sql(
        "CREATE TEMP TABLE bench_comm AS SELECT row_number() OVER (ORDER BY code) - 1 AS n, id, code "
        "FROM core_region WHERE level = 'community' AND code LIKE %s",
        [f"{CITY}%"],
    )
    sql("CREATE INDEX ON bench_comm (n)")
    return leaves


def generate(people: int, communities: int) -> dict[str, float]:
    """Write the synthetic rows; answers seconds per table."""
    took: dict[str, float] = {}
    month = MONTH.isoformat()
    k = communities

    def run(name: str, statement: str, params: Any = None) -> None:
        started = time.perf_counter()
        sql(statement, params)
        took[name] = time.perf_counter() - started

    # Buildings (one per 60 houses) and houses (one per 2.5 people), 12 % rented, 3 % business.
    houses = int(people / 2.5)
    buildings = max(k, houses // 60)
    run(
        "buildings",
        filler(
            "registry_building",
            {
                "region_id": "c.id",
                "region_code": "c.code",
                "type": "'residential'",
                "address": "'楼' || g",
                "created_at": "now()",
                "updated_at": "now()",
            },
        )
        + f" FROM generate_series(0, {buildings - 1}) g JOIN bench_comm c ON c.n = g % {k}",
    )
    sql(
        "CREATE TEMP TABLE bench_bld AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, region_id, "
        "region_code FROM registry_building"
    )
    sql("CREATE INDEX ON bench_bld (n)")
    run(
        "houses",
        filler(
            "registry_house",
            {
                "building_id": "b.id",
                "region_id": "b.region_id",
                "region_code": "b.region_code",
                "number": "g::text",
                "use": "CASE WHEN g % 100 < 12 THEN 'rented' WHEN g % 100 < 15 THEN 'business' "
                "WHEN g % 100 < 20 THEN 'vacant' ELSE 'owner_occupied' END",
                "property_type": "'commodity'",
                "address": "'房' || g",
                "created_at": "now()",
                "updated_at": "now()",
            },
        )
        + f" FROM generate_series(0, {houses - 1}) g JOIN bench_bld b ON b.n = g % {buildings}",
    )
    run(
        "people",
        filler(
            "registry_person",
            {
                "region_id": "c.id",
                "region_code": "c.code",
                "name": "'居民' || g",
                "name_pinyin": "'jumin'",
                "name_initials": "'jm'",
                "id_type": "'resident_id'",
                "id_number": "''",
                "id_number_index": "''",
                "phone": "''",
                "phone_index": "''",
                "birth_date": "date '1926-01-01' + ((g::bigint * 7919) % 36500)::int",
                "sex": "CASE WHEN g % 2 = 0 THEN 'male' ELSE 'female' END",
                "residence_type": "CASE WHEN g % 100 < 80 THEN 'registered' "
                "WHEN g % 100 < 90 THEN 'resident' WHEN g % 100 < 99 THEN 'floating' ELSE 'foreign' END",
                "status": "CASE WHEN g % 33 = 0 THEN 'moved_out' ELSE 'active' END",
                "created_at": "now()",
                "updated_at": "now()",
            },
        )
        + f" FROM generate_series(0, {people - 1}) g JOIN bench_comm c ON c.n = g % {k}",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT code, id FROM registry_tagcategory")
        categories = dict(cursor.fetchall())
    # Tags: a person's id picks at most one of these (about a third of the people).
    plan = [
        ("living_alone", 4, "", ""),
        ("empty_nest", 3, "", ""),
        ("disabled_elderly", 1, "", ""),
        ("disabled", 3, "physical", "2"),
        ("disabled", 1, "visual", "1"),
        ("disabled", 1, "hearing", "3"),
        ("disabled", 1, "intellectual", "4"),
        ("low_income", 3, "", ""),
        ("extreme_poverty", 1, "", ""),
        ("veteran", 2, "", ""),
        ("left_behind_child", 1, "", ""),
        ("child_in_difficulty", 1, "", ""),
        ("unemployed", 3, "", ""),
        ("orphan", 1, "", ""),
        ("community_correction", 1, "", ""),
        ("released_prisoner", 1, "", ""),
        ("drug_user", 1, "", ""),
        ("severe_mental_disorder", 1, "", ""),
        ("key_youth", 1, "", ""),
    ]
    cases, lo = [], 0
    for code, share, subtype, grade in plan:
        cases.append((lo, lo + share, categories[code], subtype, grade))
        lo += share
    bucket = "(p.id::bigint * 31) % 100"
    category = (
        "CASE "
        + " ".join(f"WHEN {bucket} >= {a} AND {bucket} < {b} THEN {cid}" for a, b, cid, _s, _g in cases)
        + " END"
    )
    subtype = (
        "CASE "
        + " ".join(f"WHEN {bucket} >= {a} AND {bucket} < {b} THEN '{s}'" for a, b, _c, s, _g in cases)
        + " END"
    )
    grade = (
        "CASE "
        + " ".join(f"WHEN {bucket} >= {a} AND {bucket} < {b} THEN '{gr}'" for a, b, _c, _s, gr in cases)
        + " END"
    )
    run(
        "tags",
        filler(
            "registry_persontag",
            {
                "person_id": "p.id",
                "category_id": category,
                "region_code": "p.region_code",
                "source": "'survey'",
                "subtype": subtype,
                "grade": grade,
                "valid_from": "date '2020-01-01'",
                "note": "''",
                "active": "true",
                "created_at": "now()",
                "updated_at": "now()",
            },
        )
        + f" FROM registry_person p WHERE {bucket} < {lo}",
    )
    run(
        "households",
        filler(
            "registry_household",
            {
                "region_id": "p.region_id",
                "region_code": "p.region_code",
                "number": "p.id::text",
                "kind": "'family'",
                "head_id": "p.id",
                "start_date": "date '2010-01-01'",
                "created_at": "now()",
                "updated_at": "now()",
            },
        )
        + " FROM registry_person p WHERE p.id % 3 = 0",
    )
    run(
        "members",
        filler(
            "registry_householdmember",
            {
                "household_id": "h.id",
                "person_id": "p.id",
                "relation_to_head": "'head'",
                "start_date": "date '2010-01-01'",
            },
        )
        + " FROM registry_person p JOIN registry_household h ON h.head_id = p.id - (p.id % 3)",
    )
    run(
        "organizations",
        filler(
            "registry_organization",
            {
                "region_id": "c.id",
                "region_code": "c.code",
                "name": "'单位' || g",
                "type": "'enterprise'",
                "status": "CASE WHEN g % 10 = 0 THEN 'closed' ELSE 'operating' END",
                "contact_phone": "''",
                "contact_phone_index": "''",
                "created_at": "now()",
                "updated_at": "now()",
            },
        )
        + f" FROM generate_series(0, {people // 100 - 1}) g JOIN bench_comm c ON c.n = g % {k}",
    )
    run(
        "key_places",
        filler(
            "registry_keyplace",
            {
                "region_id": "c.id",
                "region_code": "c.code",
                "name": "'场所' || g",
                "kind": "CASE WHEN g % 4 = 0 THEN 'rental_cluster' ELSE 'market' END",
                "risk_level": "'low'",
                "is_active": "true",
                "created_at": "now()",
                "updated_at": "now()",
            },
        )
        + f" FROM generate_series(0, {max(k, people // 2000) - 1}) g JOIN bench_comm c ON c.n = g % {k}",
    )
    from shequ.core.models import User

    visitor = User.objects.create(username="bench-visitor")
    in_month = f"timestamptz '{month} 00:00+08' + ((g::bigint * 104729) % (29 * 86400)) * interval '1 second'"
    run(
        "visits",
        filler(
            "registry_visit",
            {
                "region_id": "p.region_id",
                "region_code": "p.region_code",
                "visitor_id": str(visitor.pk),
                "person_id": "p.id",
                "visited_at": in_month.replace("g::bigint", "p.id::bigint"),
                "purpose": "'care'",
                "created_at": "now()",
                "updated_at": "now()",
            },
        )
        + " FROM registry_person p WHERE p.id % 100 = 7",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM grid_category WHERE parent_id IS NOT NULL ORDER BY id")
        leaves = [row[0] for row in cursor.fetchall()]
    sql(
        "CREATE TEMP TABLE bench_cat AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id "
        "FROM grid_category WHERE parent_id IS NOT NULL"
    )
    run(
        "tickets",
        filler(
            "grid_ticket",
            {
                "source": "(ARRAY['resident','patrol','staff','hotline','sensor'])[1 + g % 5]",
                "title": "'事件' || g",
                "description": "'描述'",
                "category_id": "cat.id",
                "urgency": "'normal'",
                "region_id": "c.id",
                "region_code": "c.code",
                "status": "(ARRAY['closed','closed','closed','resolved','in_progress','submitted','accepted',"
                "'dispatched'])[1 + g % 8]",
                "submitted_at": in_month,
                "due_at": f"({in_month}) + interval '10 days'",
                "resolve_due_at": f"({in_month}) + interval '10 days'",
                "resolved_at": f"CASE WHEN g % 8 < 4 THEN ({in_month}) + (g % 12) * interval '1 day' END",
                "responded_at": f"({in_month}) + interval '2 hours'",
                "response_due_at": f"({in_month}) + interval '24 hours'",
                "rating": "CASE WHEN g % 8 < 3 AND g % 3 = 0 THEN 3 + g % 3 END",
            },
        )
        + f" FROM generate_series(0, {people * 4 // 100 - 1}) g JOIN bench_comm c ON c.n = g % {k} "
        f"JOIN bench_cat cat ON cat.n = g % {len(leaves)}",
    )
    sql(
        "CREATE TEMP TABLE bench_item AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, version "
        "FROM govservice_serviceitem"
    )
    items = scalar("SELECT count(*) FROM bench_item")
    run(
        "applications",
        filler(
            "govservice_application",
            {
                "item_id": "it.id",
                "item_version": "it.version",
                "region_id": "c.id",
                "region_code": "c.code",
                "channel": "(ARRAY['online','counter','home','kiosk'])[1 + g % 4]",
                "applicant_name": "'申请人'",
                "on_behalf": "g % 5 = 0",
                "helper_id": f"CASE WHEN g % 5 = 0 THEN {visitor.pk} END",
                "consent": "CASE WHEN g % 5 = 0 THEN 'signed' ELSE '' END",
                "status": "(ARRAY['closed','closed','closed','accepted','forwarded','submitted'])[1 + g % 6]",
                "submitted_at": in_month,
                "closed_at": f"CASE WHEN g % 6 < 3 THEN ({in_month}) + interval '3 days' END",
                "due_at": f"CASE WHEN g % 6 >= 3 THEN ({in_month}) + interval '5 days' END",
                "updated_at": "now()",
            },
        )
        + f" FROM generate_series(0, {people * 2 // 100 - 1}) g JOIN bench_comm c ON c.n = g % {k} "
        f"JOIN bench_item it ON it.n = g % {items}",
    )
    run(
        "ratings",
        filler(
            "govservice_evaluation",
            {
                "application_id": "a.id",
                "item_id": "a.item_id",
                "region_code": "a.region_code",
                "stars": "1 + (a.id::bigint * 7) % 5",
                "reasons": "'[]'::jsonb",
                "channel": "a.channel",
                "at": "a.submitted_at + interval '4 days'",
            },
        )
        + " FROM govservice_application a WHERE a.status = 'closed' AND a.id % 3 = 0",
    )
    started = time.perf_counter()
    sql("ANALYZE")
    took["analyze"] = time.perf_counter() - started
    return took


# --- Measure ------------------------------------------------------------------------------------


def baseline() -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT substr(region_code, 1, 12), count(*) FROM registry_person "
            "WHERE region_code LIKE %s AND status = 'active' GROUP BY 1",
            [f"{CITY}%"],
        )
        cursor.fetchall()
    return time.perf_counter() - started


def produced_without_typing() -> tuple[int, int]:
    ledgers = sum(len(comp.ledgers) for comp in components())
    reports = ReportTemplate.objects.filter(active=True).count()
    return ledgers, reports


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--per-community", type=int, default=3300)
    parser.add_argument("--counties", type=int, default=0, help="default: from the size")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = parser.parse_args()
    communities_total = max(1, round(args.people / args.per_community))
    counties = args.counties or max(1, round(communities_total / 150))
    streets = 10
    per_street = max(1, round(communities_total / (counties * streets)))
    if connection.vendor != "postgresql":
        sys.exit("PostgreSQL only: set SHEQU_DATABASE_URL to a database whose name contains 'bench'")
    common.recreate_database()
    call_command("migrate", verbosity=0)  # also seeds the templates (post_migrate)
    print(common.machine())
    started = time.perf_counter()
    with transaction.atomic():
        leaves = build_regions(counties, streets, per_street)
        took = generate(args.people, len(leaves))
    generated = time.perf_counter() - started
    counts = {
        table: scalar(f"SELECT count(*) FROM {table}")
        for table in (
            "registry_person",
            "registry_persontag",
            "registry_household",
            "registry_house",
            "grid_ticket",
            "govservice_application",
            "govservice_evaluation",
            "registry_visit",
        )
    }
    print(
        f"\nsynthetic city {CITY}: {counties} counties, {counties * streets} streets, "
        f"{len(leaves)} communities; generated in {generated:.0f} s "
        f"({', '.join(f'{k} {v:.0f}s' for k, v in took.items())})"
    )
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    base = min(baseline() for _ in range(3))
    print(f"\nbaseline: one grouped count of the city's people by community: {base * 1000:.0f} ms")
    total = 0.0
    queries_total = 0
    print(
        f"\n{'template':<20} {'cells':>5} {'queries':>7} {'instances':>9} {'seconds':>8} {'× baseline':>10}"
    )
    for template in ReportTemplate.objects.filter(active=True).order_by("key"):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            with transaction.atomic():
                written = fill_period(template=template, period_start=MONTH, root=CITY)
            spent = time.perf_counter() - started
        cells = sum(
            len(r.get("columns") or template.definition.get("columns") or [1])
            for r in template.definition["rows"]
            if r.get("stat")
        )
        total += spent
        queries_total += len(queries)
        print(
            f"{template.key:<20} {cells:>5} {len(queries):>7} {written:>9} {spent:8.1f} {spent / base:10.0f}"
        )
    instances = ReportInstance.objects.count()
    print(
        f"{'all templates':<20} {'':>5} {queries_total:>7} {instances:>9} {total:8.1f} {total / base:10.0f}"
        f"\n\nfilled {instances:,} instances for {len(leaves)} communities and the levels above "
        f"({args.people:,} people) in {total:.1f} s: {total * 1000 / len(leaves):.0f} ms per community "
        f"for all {ReportTemplate.objects.filter(active=True).count()} templates"
    )
    ledgers, reports = produced_without_typing()
    print(
        f"\nproduced without typing: {ledgers} ledgers declared by the apps + {reports} report templates "
        f"= {ledgers + reports}"
    )
    if args.drop:
        connections.close_all()
        name = connection.settings_dict["NAME"]
        with psycopg.connect(**common._conninfo("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
