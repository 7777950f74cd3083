"""Time from a resident's life-safety report to the on-duty person's notification being queued (the
``Message`` and its SMS ``Delivery`` written by the worker), p50/p99, with a worker running as in
production (``outbox.work``: it sleeps ``idle_sleep`` when nothing is due).

Reports arrive one at a time at random moments, as they do, so the figure is the worker's pick-up
delay, not a backlog. Baseline, same run: the cost of the submission itself with the detector and
with the detector switched off (the ratio is what reading every text costs at intake). The bench
tickets, their alerts and messages are deleted afterwards. Needs the demo data:

    SHEQU_DEMO=1 .venv/bin/python bench/bench_lifesafety.py --latency 100
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import threading
import time

from django.db import close_old_connections, transaction

from shequ.core import outbox
from shequ.core.models import Membership, Message, Role, User
from shequ.grid import lifesafety, services
from shequ.grid.models import Source, Ticket, UrgentAlert


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(n: int, idle_sleep: float = 1.0) -> None:
    member = (
        Membership.objects.filter(
            role=Role.RESIDENT, revoked_at__isnull=True, region_code__startswith="430104"
        )
        .select_related("user", "region")
        .order_by("pk")
        .first()
    )
    if member is None:
        raise SystemExit("no demo resident: run `SHEQU_DEMO=1 .venv/bin/shequ demo --no-serve` first")
    user: User = member.user
    region = member.region
    texts = [t for t, k in lifesafety.labelled(lifesafety.EVAL_PATH) if k != lifesafety.ORDINARY]
    rng = random.Random(7)
    lifesafety.get_model()

    stop = threading.Event()

    def work() -> None:
        try:
            outbox.work(idle_sleep=idle_sleep, stop=stop.is_set)
        finally:
            close_old_connections()

    # Earlier tasks of the demo first, so that only the bench's reports are timed.
    outbox.run_pending()
    worker = threading.Thread(target=work, name="bench-worker", daemon=True)
    worker.start()
    made: list[int] = []
    submit_with: list[float] = []

    def submit(title: str) -> float:
        """One resident report; the seconds the submission took."""
        started = time.perf_counter()
        with transaction.atomic():
            ticket = services.ticket_submit(
                actor=user,
                source=Source.RESIDENT,
                region=region,
                title=title,
                description=rng.choice(texts),
                external_ref=f"app:bench-lifesafety-{time.time_ns()}",
            )
        made.append(ticket.pk)
        return time.perf_counter() - started

    def run(count: int, prefix: str) -> list[float]:
        """``count`` reports at random moments; the seconds from each alert to its first message."""
        start = len(made)
        for i in range(count):
            time.sleep(rng.uniform(0.0, 1.5))
            submit_with.append(submit(f"{prefix} {i}"))
        alerts = list(UrgentAlert.objects.filter(ticket_id__in=made[start:]).values_list("pk", "raised_at"))
        refs = [str(a) for a, _r in alerts]
        deadline = time.time() + 60
        while time.time() < deadline:
            if Message.objects.filter(topic="grid.urgent", topic_ref__in=refs).count() >= len(alerts):
                break
            time.sleep(0.2)
        first: dict[int, dt.datetime] = {}
        for ref, created in Message.objects.filter(topic="grid.urgent", topic_ref__in=refs).values_list(
            "topic_ref", "created_at"
        ):
            first[int(ref)] = min(created, first.get(int(ref), created))
        all_alerts.extend(alerts)
        return [(first[a] - raised).total_seconds() for a, raised in alerts if a in first]

    all_alerts: list[tuple[int, dt.datetime]] = []
    announce = outbox._announce
    try:
        waits = run(n, "bench")
        # Baseline, same run: the worker not woken when a task commits (it polls after its sleep).
        outbox._announce = lambda: None
        polled = run(max(10, n // 2), "bench polled")
    finally:
        outbox._announce = announce
        stop.set()
        outbox._WAKE.set()
        worker.join(timeout=30)
    alerts = all_alerts

    # Baseline: the same submissions with the detector switched off.
    submit_without: list[float] = []
    original = lifesafety.detect

    def detector_off(text: str, **_kw: object) -> lifesafety.Triage:
        return lifesafety.NOT_URGENT

    lifesafety.detect = detector_off
    try:
        for i in range(min(n, 50)):
            submit_without.append(submit(f"bench off {i}"))
    finally:
        lifesafety.detect = original

    Message.objects.filter(
        topic__startswith="grid.urgent", topic_ref__in=[str(a) for a, _r in alerts]
    ).delete()
    Ticket.objects.filter(pk__in=made).delete()

    print()
    print(f"{len(alerts)} bench reports read as life-safety; notified {len(waits) + len(polled)}")
    for label, values in (("worker woken at commit", waits), ("worker polling (baseline)", polled)):
        if values:
            print(
                f"submission → on-duty notification queued, {label}: p50 {_pct(values, 0.5) * 1000:.0f} ms, "
                f"p99 {_pct(values, 0.99) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"
            )
    if waits and polled:
        print(
            f"ratio of the medians (woken / polling, idle sleep {idle_sleep:.1f} s): "
            f"{_pct(waits, 0.5) / _pct(polled, 0.5):.3f}"
        )
    with_ms = statistics.median(submit_with) * 1000
    without_ms = statistics.median(submit_without) * 1000
    print(
        f"submission itself (median): {with_ms:.1f} ms with the detector and the alert, "
        f"{without_ms:.1f} ms without (ratio {with_ms / without_ms:.2f})"
    )
