"""Time generating the demo registry for a whole county: about 1,000,000 people in 岳麓区.

Runs ``shequ.demo.generator.generate(size=34)`` (the demo street at its largest, the rest of the
county's streets filled as needed) into a fresh PostgreSQL database, then measures a baseline in
the same run: ``COPY`` of the rows just written (already encrypted, as stored) into empty copies
of the same tables with the same indexes (``LIKE … INCLUDING ALL``; no foreign keys), streamed
through this process like the generator's own ``COPY``. Prints rows per second for both and
their ratio, the time per phase, and the machine's load.

The database is dropped and created again (its name must contain ``bench``):

    SHEQU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/shequ_bench_search \\
        .venv/bin/python bench/bench_registry_generate.py [--size 34] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
os.environ.setdefault("SHEQU_DEBUG", "0")  # no SQL logging in the process being timed

import django

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402

# The tables a registry load writes, biggest first.
TABLES = (
    "registry_person",
    "registry_timelineentry",
    "registry_residence",
    "registry_householdmember",
    "registry_household",
    "registry_house",
    "registry_persontag",
    "registry_unit",
    "registry_building",
    "registry_organization",
    "registry_keyplace",
    "registry_road",
)
DEFAULT_SIZE = 34  # 34 × 30,000 = 1,020,000 people


def machine() -> str:
    load = os.getloadavg()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    return (
        f"{os.cpu_count()} CPUs, load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, PostgreSQL {version}"
    )


def _conninfo(dbname: str | None = None) -> dict[str, Any]:
    db = settings.DATABASES["default"]
    return {
        "host": db.get("HOST") or "127.0.0.1",
        "port": db.get("PORT") or 5432,
        "user": db.get("USER") or "postgres",
        "password": db.get("PASSWORD") or None,
        "dbname": dbname or db["NAME"],
    }


def recreate_database() -> None:
    name = settings.DATABASES["default"]["NAME"]
    if "bench" not in name:
        sys.exit(f"refusing to drop {name!r}: use a database whose name contains 'bench'")
    connections.close_all()
    with psycopg.connect(**_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def row_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    return counts


def _backend_cpu(pid: int) -> float:
    """CPU seconds of a PostgreSQL backend on this machine (Linux ``/proc``), 0 if unreadable."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def copy_baseline(tables: tuple[str, ...]) -> tuple[float, float]:
    """Seconds (wall, and CPU of the receiving PostgreSQL backend) to COPY the stored rows of
    ``tables`` into indexed empty copies of them."""
    total = 0.0
    with psycopg.connect(**_conninfo(), autocommit=True) as source, psycopg.connect(**_conninfo()) as target:
        pid = target.info.backend_pid
        cpu_before = _backend_cpu(pid)
        for table in tables:
            clone = f"bench_copy_{table}"
            target.execute(f"DROP TABLE IF EXISTS {clone}")
            target.execute(f"CREATE TABLE {clone} (LIKE {table} INCLUDING ALL)")
            target.commit()
            started = time.perf_counter()
            with (
                source.cursor().copy(f"COPY {table} TO STDOUT") as out,
                target.cursor().copy(f"COPY {clone} FROM STDIN") as into,
            ):
                for block in out:
                    into.write(block)
            target.commit()
            total += time.perf_counter() - started
            target.execute(f"DROP TABLE {clone}")
            target.commit()
        cpu = _backend_cpu(pid) - cpu_before
    return total, cpu


def generate_dataset(size: int, workers: int, *, fresh: bool = True) -> dict[str, Any]:
    """Create the database and the registry; return timings and counts."""
    from shequ.demo.generator import generate

    if connection.vendor != "postgresql":
        sys.exit("this benchmark needs PostgreSQL: set SHEQU_DATABASE_URL")
    if fresh:
        recreate_database()
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter()
    load_before = machine()
    cpu_before = _cpu_seconds()
    result = generate(size=size, registry_workers=workers)
    finished = time.perf_counter()
    assert result.registry is not None
    return {
        "migrate": migrated - started,
        "generate": finished - migrated,
        "cpu": _cpu_seconds() - cpu_before,
        "registry": result.registry,
        "load_before": load_before,
        "load_after": machine(),
    }


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the generator's workers): on a busy
    machine the wall time says more about the neighbours than about the generator."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="30,000 people per size")
    parser.add_argument("--workers", type=int, default=2, help="generator processes")
    args = parser.parse_args()
    run = generate_dataset(args.size, args.workers)
    summary = run["registry"]
    counts = row_counts()
    rows = sum(counts.values())
    print(f"database: {settings.DATABASES['default']['NAME']}; before: {run['load_before']}")
    print(summary.line())
    print(
        f"migrate {run['migrate']:.1f} s; generate() {run['generate']:.1f} s (accounts, grids, registry), "
        f"Python CPU {run['cpu']:.1f} s (this process and the workers; PostgreSQL's own CPU not included)"
    )
    people = counts["registry_person"]
    seconds = summary.seconds
    print(
        f"registry: {people:,} people, {rows:,} rows in {seconds:.1f} s = "
        f"{people / seconds:,.0f} people/s, {rows / seconds:,.0f} rows/s ({args.workers} workers)"
    )
    baseline, baseline_cpu = copy_baseline(TABLES)
    print(
        f"baseline: COPY of the same {rows:,} stored rows into indexed copies: {baseline:.1f} s "
        f"(PostgreSQL CPU {baseline_cpu:.1f} s) = {rows / baseline:,.0f} rows/s; "
        f"ratio generation/COPY {seconds / baseline:.1f}x"
    )
    print("phases (seconds summed over workers):")
    for phase, spent in sorted(summary.timings.items(), key=lambda kv: -kv[1])[:14]:
        print(f"  {phase:<28} {spent:8.1f}")
    for table, count in counts.items():
        print(f"  {table:<28} {count:>10,}")
    print(f"after: {run['load_after']}")


if __name__ == "__main__":
    main()
