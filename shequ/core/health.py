"""Health of the platform for load balancers and monitoring (docs/operations.md).

* :class:`Heartbeat` — a running worker's sign of life (one small UPDATE every few seconds).
* :func:`readiness` — the checks behind ``/readyz``: database reachable, migrations applied, a worker
  alive, outbox lag below a setting.
* :class:`PlatformCollector` — the numbers behind ``/metrics`` (Prometheus), read from the database on
  each scrape with a handful of indexed queries.
* :func:`metrics_allowed` — who may read ``/metrics``.

Nothing here reads or returns personal data: counts, ages and handler names only.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min
from django.http import HttpRequest
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from shequ.core.models import AuditCheckpoint, AuditEntry, OutboxStatus, OutboxTask, WorkerHeartbeat
from shequ.core.outage import DATABASE_ERRORS, describe

log = logging.getLogger(__name__)

# Answered by ProbeMiddleware before sessions, host checks and redirects (shequ/core/middleware.py).
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
HEARTBEAT_KEEP = timedelta(days=1)


def _version() -> str:
    try:
        return package_version("shequ")
    except PackageNotFoundError:
        return ""


# --- worker heartbeat ---------------------------------------------------------------------------


class Heartbeat:
    """One worker's row in ``WorkerHeartbeat``; :meth:`beat` writes at most every
    ``WORKER_HEARTBEAT_SECONDS`` and is cheap to call between tasks."""

    def __init__(self) -> None:
        self.host = socket.gethostname()[:100]
        self.pid = os.getpid()
        self.name = f"{self.host}:{self.pid}:{threading.current_thread().name}"[:200]
        self.started_at = timezone.now()
        self._next: datetime | None = None

    def beat(self) -> None:
        now = timezone.now()
        if self._next is not None and now < self._next:
            return
        if not WorkerHeartbeat.objects.filter(name=self.name).update(beat_at=now):
            WorkerHeartbeat.objects.filter(beat_at__lt=now - HEARTBEAT_KEEP).delete()
            WorkerHeartbeat.objects.update_or_create(
                name=self.name,
                defaults={"beat_at": now},
                create_defaults={
                    "beat_at": now,
                    "host": self.host,
                    "pid": self.pid,
                    "version": _version(),
                    "started_at": self.started_at,
                },
            )
        self._next = now + timedelta(seconds=settings.WORKER_HEARTBEAT_SECONDS)

    def end(self) -> None:
        """A worker that stops cleanly is no longer counted as alive."""
        with contextlib.suppress(*DATABASE_ERRORS):  # the database is gone: the row just grows old
            WorkerHeartbeat.objects.filter(name=self.name).delete()


def newest_heartbeat_age(now: datetime) -> float | None:
    newest = WorkerHeartbeat.objects.aggregate(newest=Max("beat_at"))["newest"]
    return (now - newest).total_seconds() if newest else None


def outbox_lag(now: datetime) -> float:
    """Seconds the oldest due pending task has been waiting (0 when nothing is due)."""
    due = OutboxTask.objects.filter(status=OutboxStatus.PENDING, available_at__lte=now)
    oldest = due.aggregate(oldest=Min("available_at"))["oldest"]
    return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0


# --- readiness ----------------------------------------------------------------------------------

OK, FAILING, SKIPPED = "ok", "failing", "skipped"


@dataclass
class Check:
    name: str
    state: str
    detail: str = ""


_migrations_applied = False  # once true for this process, never checked again


def _migrations_pending() -> int:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def readiness() -> list[Check]:
    """Each check with its state; ready when none is failing."""
    global _migrations_applied
    checks: list[Check] = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DATABASE_ERRORS as exc:
        checks.append(Check("database", FAILING, describe(exc).split(":", 1)[0]))
        rest = ("migrations", "worker", "outbox")
        return checks + [Check(name, SKIPPED, "database unreachable") for name in rest]
    checks.append(Check("database", OK))
    try:
        if _migrations_applied:
            checks.append(Check("migrations", OK))
        elif pending := _migrations_pending():
            checks.append(Check("migrations", FAILING, f"{pending} unapplied"))
        else:
            _migrations_applied = True
            checks.append(Check("migrations", OK))
        now = timezone.now()
        checks.append(_worker_check(now))
        checks.append(_outbox_check(now))
    except DATABASE_ERRORS as exc:  # it went away between two queries
        checks.append(Check("database", FAILING, describe(exc).split(":", 1)[0]))
    return checks


def _worker_check(now: datetime) -> Check:
    limit = settings.READY_WORKER_SECONDS
    if limit <= 0:
        return Check("worker", SKIPPED, "SHEQU_READY_WORKER_SECONDS is 0")
    age = newest_heartbeat_age(now)
    if age is None:
        return Check("worker", FAILING, "no worker has reported")
    state = OK if age <= limit else FAILING
    return Check("worker", state, f"newest heartbeat {age:.0f} s ago (limit {limit:g} s)")


def _outbox_check(now: datetime) -> Check:
    limit = settings.READY_OUTBOX_LAG_SECONDS
    if limit <= 0:
        return Check("outbox", SKIPPED, "SHEQU_READY_OUTBOX_LAG_SECONDS is 0")
    lag = outbox_lag(now)
    state = OK if lag <= limit else FAILING
    return Check("outbox", state, f"oldest due task waiting {lag:.0f} s (limit {limit:g} s)")


def ready_payload(checks: list[Check]) -> tuple[bool, dict[str, object]]:
    ready = all(c.state != FAILING for c in checks)
    return ready, {"status": "ready" if ready else "unready", "checks": [asdict(c) for c in checks]}


# --- metrics ------------------------------------------------------------------------------------


class PlatformCollector(Collector):
    """Reads the outbox, worker heartbeats and audit log on each scrape."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("shequ_database_up", "1 if the database answered this scrape's queries.")
        try:
            metrics = list(self._from_database())
        except DATABASE_ERRORS:  # (not logged: a scrape every few seconds would flood the log)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _from_database(self) -> Iterator[Metric]:
        now = timezone.now()
        pending = GaugeMetricFamily(
            "shequ_outbox_tasks",
            "Outbox tasks waiting (pending) or given up (failed).",
            labels=["handler", "status"],
        )
        rows = (
            OutboxTask.objects.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED])
            .values("handler", "status")
            .annotate(n=Count("id"))
            .order_by()
        )
        for row in rows:
            pending.add_metric([row["handler"], row["status"]], row["n"])
        yield pending
        due = OutboxTask.objects.filter(status=OutboxStatus.PENDING, available_at__lte=now).count()
        yield GaugeMetricFamily(
            "shequ_outbox_due_tasks", "Pending outbox tasks whose time has come.", value=due
        )
        yield GaugeMetricFamily(
            "shequ_outbox_oldest_due_age_seconds",
            "How long the oldest due pending task has been waiting (0 if none).",
            value=outbox_lag(now),
        )
        alive_since = now - timedelta(seconds=settings.READY_WORKER_SECONDS)
        alive = WorkerHeartbeat.objects.filter(beat_at__gte=alive_since).count()
        yield GaugeMetricFamily(
            "shequ_workers_alive",
            "Workers whose heartbeat is within SHEQU_READY_WORKER_SECONDS.",
            value=alive,
        )
        age = newest_heartbeat_age(now)
        if age is not None:
            yield GaugeMetricFamily(
                "shequ_worker_heartbeat_age_seconds", "Age of the newest worker heartbeat.", value=age
            )
        unsealed = AuditEntry.objects.filter(seq__isnull=True).count()
        yield GaugeMetricFamily(
            "shequ_audit_unsealed_entries", "Audit entries not yet chained by the sealer.", value=unsealed
        )
        sealed = AuditEntry.objects.aggregate(head=Max("seq"))["head"] or 0
        yield GaugeMetricFamily("shequ_audit_sealed_entries", "Entries in the audit chain.", value=sealed)
        last = AuditCheckpoint.objects.order_by("-seq").values_list("seq", "at").first()
        yield GaugeMetricFamily(
            "shequ_audit_checkpointed_entries",
            "Entries covered by the newest signed audit checkpoint.",
            value=last[0] if last else 0,
        )
        if last is not None:
            yield GaugeMetricFamily(
                "shequ_audit_last_checkpoint_age_seconds",
                "Seconds since the newest signed audit checkpoint.",
                value=(now - last[1]).total_seconds(),
            )


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(PlatformCollector())


def metrics_allowed(request: HttpRequest) -> bool:
    """The bearer token, or a direct (not proxied) client in ``METRICS_ALLOW``. Behind nginx every
    request comes from 127.0.0.1: a forwarding header marks it as not local."""
    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header[7:].strip().encode(), token.encode())
    if any(h in request.META for h in ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED")):
        return False
    try:
        address = ipaddress.ip_address(str(request.META.get("REMOTE_ADDR", "")).strip())
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(cidr, strict=False) for cidr in settings.METRICS_ALLOW)
