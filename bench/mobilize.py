"""One-click mobilization at street scale (issue 12): a call-out to 100,000 residents, and the
roll-call while their 100,000 answers arrive.

(a) ``services.mobilization.mobilization_start`` for the street's residents: resolving the targets
to people (``registry.outreach.people_to_reach``), one message and one SMS delivery per person,
the deliveries queued in outbox rows of ``messaging.DELIVERY_BATCH`` (200: ~500 rows, not
100,000), one ``Recipient`` row per person for the roll-call, the timeline entry and one audit
entry for the call-out — timed from the call to its commit ("every message queued for delivery";
nothing is sent: the gateway is not running). Baseline, same run: inserting the same number of
plain rows (id, call-out, person, name, grid, time) into an indexed table of their own, with
``COPY … FROM STDIN`` on PostgreSQL; on SQLite, which has no COPY, with ``executemany`` of one
INSERT in one transaction.

(b) The roll-call (``selectors.roll_call``: counts per grid and answer, the first silent names of
each grid, everyone who asked for help) read again and again by a street officer while a writer
process records the 100,000 answers in batches of 500 through ``services.answers.record`` (the
path an SMS gateway callback batch takes: one UPDATE per batch, the messages acknowledged in
bulk, one audit entry per person in their own name, an urgent-task event per "need help").
Printed: the roll-call's p50/p95 under that load and on the quiet database (baseline, same run),
the answers' throughput, and the time to record all of them against the COPY baseline.

The people are built directly (regions, roads, buildings, houses with ``bulk_create``; people with
``bulk_create`` of model instances, so that the encrypted phone and its blind index are made by
the fields' ``pre_save``): set-up, not timed.

SQLite by default (a scratch file ``var/bench/mobilize.sqlite3``, made anew each run)::

    .venv/bin/python bench/mobilize.py [--people 100000] [--batch 500]

PostgreSQL (the database is dropped and created again; its name must contain ``bench``)::

    SHEQU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/shequ_bench_mobilize \\
        .venv/bin/python bench/mobilize.py --people 100000
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH = ROOT / "var" / "bench" / "mobilize.sqlite3"
if "SHEQU_DATABASE_URL" not in os.environ:
    SCRATCH.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{SCRATCH}{suffix}").unlink(missing_ok=True)
    os.environ["SHEQU_DATABASE_URL"] = f"sqlite:///{SCRATCH}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
os.environ.setdefault("SHEQU_DEBUG", "0")  # no SQL logging in the process being timed
os.environ.setdefault("SHEQU_DEMO", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.utils import timezone  # noqa: E402

from shequ.core import accounts  # noqa: E402
from shequ.core.models import (  # noqa: E402
    AuditEntry,
    Delivery,
    Message,
    OutboxTask,
    Region,
    RegionKind,
    RegionLevel,
    Role,
    User,
)
from shequ.emergency import selectors  # noqa: E402
from shequ.emergency.models import Answer, Mobilization, Recipient, Response, Via  # noqa: E402
from shequ.emergency.services import answers, mobilization  # noqa: E402
from shequ.registry.models import Building, House, Person, Road  # noqa: E402

TREE = [
    ("43", "湖南省", RegionLevel.PROVINCE, RegionKind.PROVINCE),
    ("4301", "长沙市", RegionLevel.CITY, RegionKind.CITY),
    ("430104", "岳麓区", RegionLevel.COUNTY, RegionKind.COUNTY),
    ("430104002", "岳麓街道", RegionLevel.STREET, RegionKind.STREET),
]
STREET = "430104002"
COMMUNITIES = 4
GRIDS_PER_COMMUNITY = 5  # 20 grids: 5,000 people each at 100,000
PEOPLE_PER_HOUSE = 3
HOUSES_PER_BUILDING = 60
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华建国志红文辉玉梅丹萍鹏飞斌宇浩凯欣怡轩涵"


def postgres() -> bool:
    return connection.vendor == "postgresql"


def machine() -> str:
    load = os.getloadavg()
    if postgres():
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            db = f"PostgreSQL {cursor.fetchone()[0]}"
    else:
        import sqlite3

        db = f"SQLite {sqlite3.sqlite_version} (WAL)"
    return f"{os.cpu_count()} CPUs, load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, {db}"


def prepare_database() -> None:
    if postgres():
        sys.path.insert(0, str(ROOT / "bench"))
        import bench_registry_generate as common

        common.recreate_database()
    call_command("migrate", verbosity=0)


def build_street(n: int) -> tuple[User, list[str]]:
    """The street, its communities and grids, a street officer, and ``n`` people with a mobile
    number spread over the grids' houses."""
    regions: dict[str, Region] = {}
    parent: Region | None = None
    for code, name, level, kind in TREE:
        parent = regions[code] = Region.objects.create(
            code=code, name=name, level=level, kind=kind, parent=parent
        )
    grids: list[Region] = []
    for c in range(1, COMMUNITIES + 1):
        community = Region.objects.create(
            code=f"{STREET}{c:03d}",
            name=f"第{c}社区",
            level=RegionLevel.COMMUNITY,
            kind=RegionKind.COMMUNITY,
            parent=regions[STREET],
        )
        for g in range(1, GRIDS_PER_COMMUNITY + 1):
            grids.append(
                Region.objects.create(
                    code=f"{community.code}{g:03d}",
                    name=f"第{g}网格",
                    level=RegionLevel.GRID,
                    kind=RegionKind.GRID,
                    parent=community,
                )
            )
    officer = accounts.user_create(
        actor=None, username="bench_street", display_name="周敏", password=None, phone="13700000001"
    )
    accounts.membership_grant(actor=None, user=officer, role=Role.STREET_OFFICER, region=regions[STREET])

    houses_needed = -(-n // PEOPLE_PER_HOUSE)
    per_grid = -(-houses_needed // len(grids))
    buildings_per_grid = -(-per_grid // HOUSES_PER_BUILDING)
    roads = Road.objects.bulk_create(
        Road(region=g, region_code=g.code, name=f"麓山南路{i}段") for i, g in enumerate(grids, 1)
    )
    buildings = Building.objects.bulk_create(
        Building(
            region=g,
            region_code=g.code,
            road=road,
            door_number=str(b),
            number=str(b),
            floors=20,
            address=f"{road.name}{b}号",
        )
        for g, road in zip(grids, roads, strict=True)
        for b in range(1, buildings_per_grid + 1)
    )
    by_grid: dict[str, list[Building]] = {}
    for b in buildings:
        by_grid.setdefault(b.region_code, []).append(b)
    house_rows = []
    for g in grids:
        for h in range(per_grid):
            b = by_grid[g.code][h // HOUSES_PER_BUILDING]
            number = f"{h % HOUSES_PER_BUILDING // 4 + 1}{h % 4 + 1:02d}"
            house_rows.append(
                House(
                    region=g, region_code=g.code, building=b, number=number, address=f"{b.address}{number}室"
                )
            )
    houses = House.objects.bulk_create(house_rows, batch_size=2000)[:houses_needed]
    rng = random.Random(20261206)
    grid_of = {g.code: g for g in grids}
    started = time.perf_counter()
    for start in range(0, n, 5000):
        people = []
        for i in range(start, min(n, start + 5000)):
            house = houses[i // PEOPLE_PER_HOUSE]
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            people.append(
                Person(
                    region=grid_of[house.region_code],
                    region_code=house.region_code,
                    name=name,
                    name_pinyin="",
                    name_initials="",
                    phone=f"13{i:09d}",
                    house=house,
                )
            )
        Person.objects.bulk_create(people, batch_size=1000)
    analyze()
    print(
        f"set-up: {len(grids)} grids, {len(buildings):,} buildings, {len(houses):,} houses, {n:,} people "
        f"with a mobile number in {time.perf_counter() - started:.1f} s (encrypted by pre_save)"
    )
    return officer, [g.code for g in grids]


def analyze() -> None:
    """Fresh planner statistics, as autovacuum gives a loaded table within its naptime (a minute):
    without them PostgreSQL plans the just-filled tables as empty (nested loops over 100,000 rows)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- baseline: plain rows ------------------------------------------------------------------------

PLAIN = "bench_plain_rows"


def plain_rows(n: int) -> list[tuple[int, int, int, str, str, str]]:
    at = timezone.now().isoformat()
    return [(i + 1, 1, i + 1, f"姓名{i}", f"{STREET}{i % 20:06d}", at) for i in range(n)]


def copy_baseline(n: int) -> float:
    """Seconds to insert ``n`` plain rows into an indexed table: COPY (PostgreSQL) or one
    ``executemany`` INSERT in one transaction (SQLite)."""
    rows = plain_rows(n)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN}")
        cursor.execute(
            f"CREATE TABLE {PLAIN} (id bigint PRIMARY KEY, call_out integer NOT NULL, "
            "person bigint NOT NULL, name varchar(50) NOT NULL, region_code varchar(15) NOT NULL, "
            "at varchar(40) NOT NULL)"
        )
        cursor.execute(f"CREATE INDEX {PLAIN}_grid ON {PLAIN} (call_out, region_code)")
    started = time.perf_counter()
    if postgres():
        raw = connection.connection
        with raw.transaction(), raw.cursor() as cur, cur.copy(f"COPY {PLAIN} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.executemany(f"INSERT INTO {PLAIN} VALUES (%s, %s, %s, %s, %s, %s)", rows)
            cursor.execute("COMMIT")
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {PLAIN}")
        assert cursor.fetchone()[0] == n
        cursor.execute(f"DROP TABLE {PLAIN}")
    return elapsed


# --- (a) the call-out ------------------------------------------------------------------------------


def call_out(officer: User, title: str) -> tuple[Mobilization, float]:
    started = time.perf_counter()
    call = mobilization.mobilization_start(
        actor=officer,
        title=title,
        body="今晚有特大暴雨，低洼处住户请做好转移准备，听从社区安排。",
        response=Response.STATUS,
        targets=[{"kind": "residents", "region": STREET}],
    )
    return call, time.perf_counter() - started


# --- (b) answers arriving, roll-call read -------------------------------------------------------


def _writer(call_id: int, batch: int, help_every: int, done: Any) -> None:
    """The answers, in batches (a child process: its own database connection)."""
    connections.close_all()
    ids = list(Recipient.objects.filter(mobilization_id=call_id).order_by("pk").values_list("pk", flat=True))
    random.Random(7).shuffle(ids)
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        people = Recipient.objects.select_related("mobilization").filter(pk__in=chunk)
        answers.record(
            [
                answers.Given(
                    r, Answer.HELP if r.pk % help_every == 0 else Answer.SAFE, Via.SMS, at=timezone.now()
                )
                for r in people
            ]
        )
        done.value = start + len(chunk)
    connections.close_all()


class RollCallReader:
    """The live roll-call as the page polls it: ``GET /emergency/callouts/<pk>/`` with htmx's
    header (the counts per grid and the silent names, rendered) through Django's test client,
    signed in as the officer; the selector alone when the page is not installed."""

    def __init__(self, call: Mobilization, viewer: User) -> None:
        from django.test import Client
        from django.urls import NoReverseMatch, reverse

        self.call, self.viewer = call, viewer
        try:
            self.url = reverse("emergency:callout", args=[call.pk])
        except NoReverseMatch:
            self.url = ""
        self.client = Client()
        self.client.force_login(viewer)

    @property
    def what(self) -> str:
        return f"the page {self.url} (htmx refresh)" if self.url else "selectors.roll_call"

    def __call__(self) -> float:
        started = time.perf_counter()
        if self.url:
            response = self.client.get(self.url, HTTP_HX_REQUEST="true")
            if response.status_code != 200:
                sys.exit(f"the roll-call page answered {response.status_code}")
        else:
            view = selectors.roll_call(mobilization=self.call, viewer=self.viewer)
            assert view.total == self.call.total
        return time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    p50, p95 = pct(values, 0.5) * 1000, pct(values, 0.95) * 1000
    return f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(values) * 1000:.0f} ms"


def answers_arrive(
    call: Mobilization, read: RollCallReader, batch: int
) -> tuple[list[float], list[float], float]:
    """Roll-call latencies on the quiet database, then while the answers arrive; the seconds the
    answers took to be recorded."""
    quiet = [read() for _ in range(30)]
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    done = ctx.Value("i", 0)
    writer = ctx.Process(target=_writer, args=(call.pk, batch, 1000, done))
    started = time.perf_counter()
    writer.start()
    loaded: list[float] = []
    while writer.is_alive():
        loaded.append(read())
        time.sleep(0.05)  # a page polling every few seconds, from many officers
    writer.join()
    took = time.perf_counter() - started
    if writer.exitcode != 0:
        sys.exit(f"the writer failed (exit code {writer.exitcode})")
    return quiet, loaded, took


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500, help="answers per batch (an SMS callback)")
    parser.add_argument("--profile", action="store_true", help="cProfile the call-out (top 25)")
    args = parser.parse_args()
    n = args.people
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/sms"  # queued, never sent: no worker runs
    prepare_database()
    print(f"machine: {machine()}")
    officer, _grids = build_street(n)

    # (a) -------------------------------------------------------------------------------------
    baseline = copy_baseline(n)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    call, took = call_out(officer, "暴雨转移")
    if args.profile:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    messages = Message.objects.filter(topic=answers.TOPIC, topic_ref=str(call.pk)).count()
    deliveries = Delivery.objects.filter(
        message__topic=answers.TOPIC, message__topic_ref=str(call.pk)
    ).count()
    outbox_rows = OutboxTask.objects.filter(event_type="core.deliveries_queued").count()
    audit_rows = AuditEntry.objects.filter(action="emergency.mobilize").count()
    recipients = Recipient.objects.filter(mobilization=call).count()
    how = "COPY" if postgres() else "executemany INSERT (SQLite has no COPY)"
    print()
    print(f"(a) call-out to {call.total:,} people")
    print(
        f"    written: {messages:,} messages, {deliveries:,} SMS deliveries, {recipients:,} roll-call rows, "
        f"{outbox_rows} outbox rows (batches of 200), {audit_rows} audit entry for the call-out"
    )
    print(f"    mobilization_start → every message queued: {took:.2f} s ({call.total / took:,.0f} people/s)")
    print(f"    baseline, {n:,} plain rows by {how}: {baseline:.2f} s")
    print(f"    ratio call-out / baseline: {took / baseline:.1f}")

    # (b) -------------------------------------------------------------------------------------
    analyze()  # the call-out's 300,000 new rows, as autovacuum would see them before most answers
    read = RollCallReader(call, officer)
    quiet, loaded, answering = answers_arrive(call, read, args.batch)
    answered = Recipient.objects.filter(mobilization=call).exclude(answer=Answer.PENDING).count()
    answer_audits = AuditEntry.objects.filter(action="emergency.answer").count()
    print()
    print(
        f"(b) roll-call of {call.total:,} people while {answered:,} answers arrive in batches of {args.batch}"
    )
    print(f"    read: {read.what}")
    print(f"    roll-call under load ({len(loaded)} reads): {ms(loaded)}")
    print(f"    roll-call on the quiet database (baseline, {len(quiet)} reads): {ms(quiet)}")
    print(f"    ratio of the p95s (load / quiet): {pct(loaded, 0.95) / pct(quiet, 0.95):.1f}")
    print(
        f"    answers recorded: {answered:,} in {answering:.1f} s ({answered / answering:,.0f}/s), "
        f"{answer_audits:,} audit entries in the people's own names"
    )
    print(f"    ratio answers / baseline ({how} of as many rows): {answering / baseline:.1f}")
    after = statistics.median([read() for _ in range(10)])
    print(f"    roll-call after the last answer: {after * 1000:.0f} ms")


if __name__ == "__main__":
    main()
