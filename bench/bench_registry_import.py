"""Import of a 100,000-row people ledger on PostgreSQL, against a raw COPY of the same rows.

What is timed: ``imports.commit`` on the file's bytes — reading the workbook, finding the header,
validating every row with the registry's cleaning functions, duplicate checks against the file and
the database, encryption (SM4-GCM) and blind indexes (HMAC-SM3) of ID and phone numbers, pinyin,
and writing people, their residences and timeline entries in one transaction (with the audit entry
and the domain event). Baseline, in the same run: ``COPY … FROM STDIN`` of the very rows the import
wrote (already encrypted) into a copy of the people table with the same indexes, and of all the
rows (people, residences, timeline) into copies of their tables.

Run against a scratch database (created when missing; people are dropped between runs)::

    SHEQU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/shequ_bench_import \\
        .venv/bin/python bench/bench_registry_import.py [--rows 100000] [--format xlsx|csv] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import random
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
os.environ.setdefault("SHEQU_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shequ_bench_import")
os.environ.setdefault("SHEQU_DEBUG", "0")
os.environ.setdefault("SHEQU_DEMO", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from shequ.core import excel  # noqa: E402
from shequ.core.models import Region, RegionKind, RegionLevel  # noqa: E402
from shequ.core.validators import id_check_char  # noqa: E402
from shequ.registry import imports  # noqa: E402
from shequ.registry.models import House, ImportKind, Person, Residence, TimelineEntry  # noqa: E402

TREE = [
    ("43", "湖南省", RegionLevel.PROVINCE, RegionKind.PROVINCE),
    ("4301", "长沙市", RegionLevel.CITY, RegionKind.CITY),
    ("430104", "岳麓区", RegionLevel.COUNTY, RegionKind.COUNTY),
    ("430104002", "岳麓街道", RegionLevel.STREET, RegionKind.STREET),
    ("430104002001", "枇杷塘社区", RegionLevel.COMMUNITY, RegionKind.COMMUNITY),
    ("430104002001001", "第一网格", RegionLevel.GRID, RegionKind.GRID),
]
GRID = "430104002001001"
BUILDINGS, UNITS, FLOORS, ROOMS_PER_FLOOR = 200, 2, 18, 4  # 28,800 houses
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红文辉玉梅丹萍鹏飞斌宇浩凯欣怡子轩梓涵"
ETHNIC = ["汉族"] * 90 + ["土家族"] * 5 + ["苗族"] * 3 + ["侗族", "瑶族"]
RESIDENCE = ["户籍人口"] * 70 + ["流动人口"] * 20 + ["常住人口"] * 10
VAR = ROOT / "var" / "bench"
FIRST_BIRTHDAY = dt.date(1940, 1, 1)


def ensure_database() -> None:
    import psycopg

    name = settings.DATABASES["default"]["NAME"]
    params = settings.DATABASES["default"]
    dsn = f"host={params['HOST']} port={params['PORT'] or 5432} user={params['USER']} dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)


def ensure_regions() -> Region:
    regions: dict[str, Region] = {}
    for code, name, level, kind in TREE:
        parent = regions.get(code[: {15: 12, 12: 9, 9: 6, 6: 4, 4: 2}.get(len(code), 0)])
        regions[code], _ = Region.objects.get_or_create(
            code=code, defaults={"name": name, "level": level, "kind": kind, "parent": parent}
        )
    return regions[GRID]


def houses_csv() -> bytes:
    lines = ["街路巷,门牌号,楼栋,总层数,单元,房号,面积,房屋用途"]
    for b in range(1, BUILDINGS + 1):
        for u in range(1, UNITS + 1):
            for f in range(1, FLOORS + 1):
                for r in range(1, ROOMS_PER_FLOOR + 1):
                    lines.append(f"麓山南路,{b},{b},{FLOORS},{u},{f}{r:02d},{60 + r * 10},自住")
    return ("\n".join(lines) + "\n").encode()


def ensure_houses(grid: Region) -> None:
    want = BUILDINGS * UNITS * FLOORS * ROOMS_PER_FLOOR
    if House.objects.filter(region_code=grid.code).count() >= want:
        return
    content = houses_csv()
    started = time.perf_counter()
    result = imports.commit(content=content, filename="houses.csv", kind=ImportKind.HOUSES, region=grid)
    elapsed = time.perf_counter() - started
    print(
        f"set-up: houses import of {want:,} rows: {result.status} {result.created} in {elapsed:.1f} s "
        f"({want / elapsed:,.0f} rows/s)"
    )


def people_rows(n: int, seed: int = 20261129) -> list[list[str]]:
    """``n`` people with unique, valid ID numbers, living in the set-up houses."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        # Unique IDs: one of 29,200 birth days from 1940 on, the sequence number from i.
        born = FIRST_BIRTHDAY + dt.timedelta(days=i % 29200)
        seq = (i // 29200) * 2 + rng.choice((1, 2))  # odd: male, even: female
        first17 = f"430104{born:%Y%m%d}{seq:03d}"
        id_number = first17 + id_check_char(first17)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        b, u = rng.randint(1, BUILDINGS), rng.randint(1, UNITS)
        room = f"{rng.randint(1, FLOORS)}{rng.randint(1, ROOMS_PER_FLOOR):02d}"
        phone = f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}" if rng.random() < 0.8 else ""
        rows.append(
            [
                str(i + 1),
                name,
                id_number,
                phone,
                rng.choice(ETHNIC),
                rng.choice(RESIDENCE),
                "湖南省长沙市岳麓区",
                str(b),
                str(u),
                room,
            ]
        )
    return rows


HEADER = ["序号", "姓名", "公民身份号码", "联系电话", "民族", "人口类型", "户籍地址", "楼栋", "单元", "房号"]


def people_file(n: int, fmt: str) -> bytes:
    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / f"people-{n}.{fmt}"
    if path.exists():
        return path.read_bytes()
    started = time.perf_counter()
    rows = people_rows(n)
    if fmt == "csv":
        content = ("\n".join(",".join(r) for r in [HEADER, *rows]) + "\n").encode("utf-8-sig")
    else:
        content = excel.workbook_bytes(
            [
                excel.Sheet(
                    name="实有人口",
                    title="枇杷塘社区实有人口登记表",
                    info="填报单位：枇杷塘社区",
                    columns=[excel.Column(h) for h in HEADER],
                    rows=rows,
                )
            ]
        )
    path.write_bytes(content)
    print(f"set-up: wrote {path.name} ({len(content) / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")
    return content


def reset_people() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE registry_person, registry_timelineentry, core_outboxtask CASCADE")
        cursor.execute("ANALYZE registry_person")


def backend_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (same host: /proc), or NaN.
    Wall times on a shared machine swing with its load; CPU seconds much less."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def copy_baseline(tables: list[str], where: dict[str, str]) -> tuple[float, float]:
    """COPY the rows the import wrote (already encrypted) into copies of their tables with the same
    indexes and constraints; returns the seconds the COPY FROM took, wall and backend CPU."""
    raw = connection.connection  # the psycopg connection
    dumps: dict[str, bytes] = {}
    for table in tables:
        buffer = io.BytesIO()
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY (SELECT * FROM {table} WHERE {where[table]}) TO STDOUT") as copy,
        ):
            for block in copy:
                buffer.write(block)
        dumps[table] = buffer.getvalue()
    with raw.cursor() as cur:
        for table in tables:
            cur.execute(f"DROP TABLE IF EXISTS bench_{table}")
            cur.execute(f"CREATE UNLOGGED TABLE bench_{table} (LIKE {table} INCLUDING ALL)")
            cur.execute(f"ALTER TABLE bench_{table} SET LOGGED")  # like the real table
    raw.commit()
    started, cpu = time.perf_counter(), backend_cpu()
    with raw.cursor() as cur:
        for table in tables:
            with cur.copy(f"COPY bench_{table} FROM STDIN") as copy:
                copy.write(dumps[table])
    raw.commit()
    elapsed, cpu = time.perf_counter() - started, backend_cpu() - cpu
    with raw.cursor() as cur:
        for table in tables:
            cur.execute(f"DROP TABLE bench_{table}")
    raw.commit()
    return elapsed, cpu


class PhaseClock:
    """Wall and CPU seconds of the import's phases, by wrapping the module functions it calls (the
    check, and the bulk writer once per table)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def wrap(self, module: object, name: str, label: Callable[..., str]) -> None:
        inner = getattr(module, name)

        def timed(*args: object, **kwargs: object) -> object:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                key = label(*args, **kwargs)
                self.wall[key] = self.wall.get(key, 0.0) + time.perf_counter() - wall
                self.cpu[key] = self.cpu.get(key, 0.0) + time.process_time() - cpu

        setattr(module, name, timed)

    def reset(self) -> None:
        self.wall.clear()
        self.cpu.clear()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("run this against PostgreSQL (SHEQU_DATABASE_URL)")
    ensure_database()
    grid = ensure_regions()
    ensure_houses(grid)
    content = people_file(args.rows, args.format)
    version = getattr(connection, "pg_version", 0) // 10000
    print(
        f"database: PostgreSQL {version} ({settings.DATABASES['default']['NAME']}), "
        f"{os.cpu_count()} CPUs, {args.workers} worker processes, "
        f"file {args.format} {len(content) / 1e6:.1f} MB"
    )
    clock = PhaseClock()
    clock.wrap(imports, "check", lambda *a, **k: "check: read, validate, duplicates, houses")
    clock.wrap(imports, "insert_rows", lambda model, *a, **k: f"write {model._meta.model_name}")
    for run in range(args.runs):
        reset_people()
        started = time.perf_counter()
        check_only = imports.check(
            workers=args.workers,
            content=content,
            filename=f"people.{args.format}",
            kind=ImportKind.PEOPLE,
            region=grid,
        )
        dry = time.perf_counter() - started
        assert check_only.report.valid_count == args.rows, check_only.report.problems[:5]
        clock.reset()
        profiler = cProfile.Profile() if args.profile else None
        load = os.getloadavg()[0]
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        children_started = children.ru_utime + children.ru_stime
        db_started = backend_cpu()
        cpu_started = time.process_time()
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        result = imports.commit(
            workers=args.workers,
            content=content,
            filename=f"people.{args.format}",
            kind=ImportKind.PEOPLE,
            region=grid,
        )
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        db_cpu = backend_cpu() - db_started
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        workers_cpu = children.ru_utime + children.ru_stime - children_started
        assert result.status == "committed" and result.created["people"] == args.rows, result.message
        first = Person.objects.order_by("pk").values_list("pk", flat=True).first()
        people_where = f"id >= {first}"
        residences = Residence.objects.count()
        timeline = TimelineEntry.objects.filter(action__in=["person.register", "residence.start"]).count()
        copy_people, copy_people_cpu = copy_baseline(["registry_person"], {"registry_person": people_where})
        copy_all, copy_all_cpu = copy_baseline(
            ["registry_person", "registry_residence", "registry_timelineentry"],
            {
                "registry_person": people_where,
                "registry_residence": "true",
                "registry_timelineentry": "action IN ('person.register', 'residence.start')",
            },
        )
        rate = args.rows / elapsed
        print(
            f"run {run + 1}: dry run (read + validate + duplicate checks): {dry:.2f} s "
            f"({args.rows / dry:,.0f} rows/s)"
        )
        print(
            f"run {run + 1}: import {args.rows:,} people (+{residences:,} residences, {timeline:,} timeline "
            f"entries): {elapsed:.2f} s = {rate:,.0f} rows/s"
        )
        print(
            f"run {run + 1}: of which Python CPU in this process: {cpu:.2f} s "
            f"({args.rows / cpu:,.0f} rows per CPU-second); load average {load:.1f} on {os.cpu_count()} CPUs"
        )
        print(
            f"run {run + 1}: raw COPY of the same people rows:          {copy_people:.2f} s  "
            f"ratio {elapsed / copy_people:.1f}x"
        )
        print(
            f"run {run + 1}: raw COPY of all rows written (3 tables):   {copy_all:.2f} s  "
            f"ratio {elapsed / copy_all:.1f}x"
        )
        rest_wall = elapsed - sum(clock.wall.values())
        rest_cpu = cpu - sum(clock.cpu.values())
        for phase in [*clock.wall, "rest: row dicts, commit (deferred FK checks), audit"]:
            wall, phase_cpu = clock.wall.get(phase, rest_wall), clock.cpu.get(phase, rest_cpu)
            print(f"run {run + 1}:   {phase:<55} {wall:6.2f} s wall, {phase_cpu:6.2f} s CPU")
        total_cpu = cpu + workers_cpu + db_cpu
        print(
            f"run {run + 1}: CPU seconds: import {total_cpu:.2f} (Python {cpu:.2f}, worker processes "
            f"{workers_cpu:.2f}, PostgreSQL backend {db_cpu:.2f}); raw COPY of all rows {copy_all_cpu:.2f} "
            f"(people only {copy_people_cpu:.2f}): ratio {total_cpu / copy_all_cpu:.1f}x"
        )
        print(f"target ≥ 30,000 rows/s: {'met' if rate >= 30_000 else 'NOT met'}")
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(30)
            stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
