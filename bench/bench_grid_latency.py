"""Latency from a ticket's submission to its department's notification being queued, on PostgreSQL.

A 12345 hotline ticket of a category whose routing rule dispatches at once (``auto_dispatch``:
crime clues → the police station) is submitted through ``services.ticket_submit``; the submit commits the
ticket, its dispatch and the ``TicketDispatched`` outbox row in one transaction. A separate
``shequ worker`` process (the production loop, ``shequ.core.outbox.work``) claims the row and runs
``handlers.tell_department``, which queues the inbox message (``Message``, topic ``grid.dispatch``)
for the station's staff. Measured per ticket: ``Message.created_at − Ticket.submitted_at``, both
written by the database's clients on this machine.

Tickets are submitted at a steady ``--rate`` per second, alternating with the baseline measured in
the same run: the same submit of a category without a routing rule (no dispatch, no
notification), timed from the call to its commit. The worker's idle sleep (``--idle-sleep``, the
worker's default is 1 s) bounds the wait of a ticket that arrives while the worker sleeps.

    SHEQU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/shequ_bench_grid_latency \\
        .venv/bin/python bench/bench_grid_latency.py [--tickets 400] [--rate 10] [--idle-sleep 1.0]
"""

from __future__ import annotations

import argparse
import os
import subprocess
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
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from shequ.core import outbox  # noqa: E402
from shequ.core.models import Department, Message, Region, User  # noqa: E402
from shequ.grid import services  # noqa: E402
from shequ.grid.models import Category, Dispatch, Source, Ticket  # noqa: E402

STREET = "430104002"
GRID = "430104002001001"
ROUTED = "security.crime_clue"
UNROUTED = "environment.noise"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def setup(fresh: bool) -> tuple[Region, Category, Category]:
    from shequ.demo import generator

    if fresh:
        common.recreate_database()
    call_command("migrate", verbosity=0)
    if not User.objects.filter(username="police").exists():
        generator.generate_registry = lambda **kw: None  # type: ignore[assignment,misc]
        generator.generate_tickets = lambda **kw: None  # type: ignore[assignment,misc]
        generator.generate(size=1)
    police = Department.objects.get(code="yuelu-police")
    routed = Category.objects.get(code=ROUTED)
    unrouted = Category.objects.get(code=UNROUTED)
    services.routing_rule_set(
        actor=None,
        category=routed,
        region=Region.objects.get(code=STREET),
        department=police,
        auto_dispatch=True,
    )
    assert services.route(unrouted, GRID) is None and services.default_department(unrouted, GRID) is None
    outbox.run_pending()  # what the set-up queued, before the clock starts
    return Region.objects.get(code=GRID), routed, unrouted


def start_worker(idle_sleep: float) -> subprocess.Popen[str]:
    worker = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "manage.py"), "worker", "--idle-sleep", str(idle_sleep)],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    line = worker.stdout.readline()
    if "worker started" not in line:
        sys.exit(f"the worker did not start: {line!r}")
    return worker


def submit(region: Region, category: Category, n: int) -> Ticket:
    return services.ticket_submit(
        actor=None,
        source=Source.HOTLINE,
        region=region,
        title="来电反映可疑人员",
        description="来电人反映：小区附近有可疑人员多次出没，请派出所核查。",
        category=category,
        external_ref=f"bench-{time.time_ns()}-{n}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=400, help="routed tickets (as many baseline ones)")
    parser.add_argument("--rate", type=float, default=10.0, help="submissions per second (both kinds)")
    parser.add_argument("--idle-sleep", type=float, default=1.0)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("this benchmark needs PostgreSQL: set SHEQU_DATABASE_URL")
    region, routed, unrouted = setup(args.fresh)
    print(f"database: {settings.DATABASES['default']['NAME']}; machine: {common.machine()}")
    worker = start_worker(args.idle_sleep)
    routed_ids: list[int] = []
    submit_ms: dict[str, list[float]] = {"routed": [], "baseline": []}
    try:
        interval = 1.0 / args.rate
        next_at = time.perf_counter()
        for n in range(2 * args.tickets):
            time.sleep(max(0.0, next_at - time.perf_counter()))
            next_at += interval
            kind = "routed" if n % 2 == 0 else "baseline"
            started = time.perf_counter()
            ticket = submit(region, routed if kind == "routed" else unrouted, n)
            submit_ms[kind].append((time.perf_counter() - started) * 1000)
            if kind == "routed":
                routed_ids.append(ticket.pk)
        dispatches = dict(Dispatch.objects.filter(ticket_id__in=routed_ids).values_list("pk", "ticket_id"))
        assert len(dispatches) == len(routed_ids), "every routed ticket is dispatched at submission"
        deadline = time.time() + 120
        while True:
            told = Message.objects.filter(topic="grid.dispatch", topic_ref__in=[str(k) for k in dispatches])
            if told.values("topic_ref").distinct().count() == len(dispatches) or time.time() > deadline:
                break
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    first: dict[int, Any] = {}
    for ref, created in Message.objects.filter(
        topic="grid.dispatch", topic_ref__in=[str(k) for k in dispatches]
    ).values_list("topic_ref", "created_at"):
        ticket_id = dispatches[int(ref)]
        first[ticket_id] = min(created, first.get(ticket_id, created))
    submitted = dict(Ticket.objects.filter(pk__in=routed_ids).values_list("pk", "submitted_at"))
    latency = [(first[pk] - submitted[pk]).total_seconds() * 1000 for pk in routed_ids if pk in first]
    missing = len(routed_ids) - len(latency)
    base = submit_ms["baseline"]
    print(
        f"{len(routed_ids)} routed + {len(base)} baseline tickets at {args.rate:g}/s; worker idle sleep "
        f"{args.idle_sleep:g} s; {missing} without a notification"
    )
    print(f"{'':<48} {'p50':>8} {'p95':>8} {'p99':>8}  ms")
    rows = [
        ("baseline: submit without routing (call → commit)", base),
        ("submit with auto-dispatch (call → commit)", submit_ms["routed"]),
        ("submitted → department notification queued", latency),
    ]
    for label, values in rows:
        p50, p95, p99 = (percentile(values, p) for p in (50, 95, 99))
        print(f"{label:<48} {p50:8.1f} {p95:8.1f} {p99:8.1f}")
    print(
        f"ratio p50 notification / p50 baseline submit: "
        f"{percentile(latency, 50) / percentile(base, 50):.1f}x; machine after: {common.machine()}"
    )


if __name__ == "__main__":
    main()
