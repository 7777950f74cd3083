"""Search latency with a million people in one county (岳麓区) on PostgreSQL.

Uses the database of ``bench_registry_generate.py`` (generated there when it holds fewer than
1,000,000 people in the county). For each kind of search — Chinese name prefix, full pinyin,
pinyin initials, ID number, mobile number — runs a few hundred ``search.person_search`` calls
(end to end: query, masking, tag badges) as the county officer (all of 岳麓区) and as a
community worker (one community), and prints p50/p95/p99 in milliseconds; then lists without a
search text (age, tag, residence type, address filters), pages 1-10. Baselines measured in the
same run: ``SELECT 1`` and fetching one person by primary key through the ORM. ``--plans``
prints the plan of one query of each kind (``EXPLAIN (ANALYZE, BUFFERS)``) to show which index
serves it.

    SHEQU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/shequ_bench_search \\
        .venv/bin/python bench/bench_registry_search.py [--runs 300]
"""

from __future__ import annotations

import argparse
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

import bench_registry_generate  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from shequ.core.models import User  # noqa: E402
from shequ.registry.demo import COMMUNITY_A, COUNTY  # noqa: E402
from shequ.registry.models import Person, PersonStatus  # noqa: E402
from shequ.registry.search import person_search  # noqa: E402

TARGET_PEOPLE = 1_000_000
KINDS = ("name", "pinyin", "initials", "id_number", "phone")
# Lists without a search text, for information: a page of them (pages 1-10).
LISTS: dict[str, dict[str, Any]] = {
    "list: aged 80+": {"age_min": 80},
    "list: aged 60-69": {"age_min": 60, "age_max": 69},
    "list: living alone": {"tag": "living_alone"},
    "list: floating population": {"residence_type": "floating"},
    "list: address contains 301": {"address": "301"},
}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(func: Callable[[], Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        out.append((time.perf_counter() - started) * 1000)
    return out


def queries_for(people: list[Person], kind: str) -> list[str]:
    if kind == "name":  # what a worker types first: the surname and the first given character
        return [p.name[:2] for p in people]
    if kind == "pinyin":
        return [p.name_pinyin for p in people]
    if kind == "initials":
        return [p.name_initials for p in people]
    if kind == "id_number":
        return [p.id_number for p in people]
    return [p.phone for p in people if p.phone]


def plan_of(viewer: Any, **filters: Any) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest query a search runs."""
    with CaptureQueriesContext(connection) as captured:
        person_search(viewer=viewer, **filters)
    sql = max(
        (c["sql"] for c in captured.captured_queries if "registry_person" in c["sql"].split("WHERE")[0]),
        key=len,
    )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        lines = [row[0] for row in cursor.fetchall()]
    keep = [line for line in lines if "Scan" in line or "Sort" in line][:8]
    keep += [line for line in lines[:3] if "Buffers" in line][:1]  # the whole query's pages
    keep += [line for line in lines if "Execution Time" in line]
    return "\n".join("      " + line.strip()[:150] for line in keep)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="generator processes, if generating")
    parser.add_argument("--plans", action="store_true", help="print the EXPLAIN ANALYZE of each kind")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("this benchmark needs PostgreSQL: set SHEQU_DATABASE_URL")
    county_people = Person.objects.filter(region_code__startswith=COUNTY).count()
    if county_people < TARGET_PEOPLE:
        print(f"{county_people:,} people in {COUNTY}: generating the data set first …")
        run = bench_registry_generate.generate_dataset(bench_registry_generate.DEFAULT_SIZE, args.workers)
        print(run["registry"].line())
        county_people = Person.objects.filter(region_code__startswith=COUNTY).count()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE registry_person")
    print(f"database: {settings.DATABASES['default']['NAME']}, {county_people:,} people in {COUNTY}")
    print(f"machine: {bench_registry_generate.machine()}")

    rng = random.Random(2026)
    viewers = {
        "county officer (all of 岳麓区)": (User.objects.get(username="county"), COUNTY),
        "community worker (枇杷塘社区)": (User.objects.get(username="worker_a"), COMMUNITY_A),
    }
    ids = list(
        Person.objects.filter(region_code__startswith=COUNTY, status=PersonStatus.ACTIVE).values_list(
            "pk", "region_code"
        )
    )
    # Baselines: the round trip of the database, and the cheapest ORM read of a person.
    probe = [pk for pk, _ in rng.sample(ids, args.runs)]
    warm = iter(probe * 3)

    def select_one() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    def by_pk() -> None:
        Person.objects.get(pk=next(warm)).masked_phone  # noqa: B018 - decrypts like a search hit

    timed(select_one, 50)
    baselines = {"SELECT 1": timed(select_one, args.runs), "person by primary key": timed(by_pk, args.runs)}
    base_p50 = statistics.median(baselines["person by primary key"])
    print(f"\n{'search':<44} {'p50':>7} {'p95':>7} {'p99':>7}  ms   p50/pk-fetch")
    for label, values in baselines.items():
        print(
            f"{'baseline: ' + label:<44} {percentile(values, 50):7.2f} {percentile(values, 95):7.2f} "
            f"{percentile(values, 99):7.2f}"
        )
    results: dict[tuple[str, str], list[float]] = {}
    for viewer_label, (viewer, prefix) in viewers.items():
        in_scope = [pk for pk, code in ids if code.startswith(prefix)]
        sample = list(Person.objects.filter(pk__in=rng.sample(in_scope, min(len(in_scope), args.runs))))
        print(f"\n{viewer_label}: {len(in_scope):,} people in scope")
        for kind in KINDS:
            queries = queries_for(sample, kind)
            for q in queries[:20]:  # warm the caches the way a working server is warm
                person_search(viewer=viewer, q=q)
            values = []
            for q in queries:
                started = time.perf_counter()
                person_search(viewer=viewer, q=q)
                values.append((time.perf_counter() - started) * 1000)
            results[(viewer_label, kind)] = values
            p50, p95, p99 = (percentile(values, p) for p in (50, 95, 99))
            print(f"  {kind:<42} {p50:7.2f} {p95:7.2f} {p99:7.2f}      {p50 / base_p50:5.1f}x")
            if args.plans:
                print(plan_of(viewer, q=queries[0]))
        for label, filters in LISTS.items():
            values = []
            for n in range(args.runs // 3):
                started = time.perf_counter()
                person_search(viewer=viewer, page=n % 10 + 1, **filters)
                values.append((time.perf_counter() - started) * 1000)
            p50, p95, p99 = (percentile(values, p) for p in (50, 95, 99))
            print(f"  {label:<42} {p50:7.2f} {p95:7.2f} {p99:7.2f}      {p50 / base_p50:5.1f}x")
            if args.plans:
                print(plan_of(viewer, **filters))
    worst = max(
        percentile(v, 95) for (_, kind), v in results.items() if kind in ("name", "pinyin", "id_number")
    )
    print(f"\nworst p95 of name/pinyin/ID searches: {worst:.1f} ms (target: under 50 ms)")
    print(f"machine after: {bench_registry_generate.machine()}")


if __name__ == "__main__":
    main()
