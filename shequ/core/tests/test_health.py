"""``/healthz``, ``/readyz`` and ``/metrics``: what they check, who may read the metrics, and that a
load balancer's probes touch no session, need no allowed Host and are never cached."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.db import OperationalError, transaction
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from pytest_django.fixtures import Settings

from shequ.core import audit, health, outbox
from shequ.core.models import OutboxStatus, OutboxTask, User, WorkerHeartbeat
from shequ.core.tests.outbox_probe import ProbeEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def someone() -> User:
    return User.objects.create(username="someone")


@pytest.fixture
def worker_alive() -> health.Heartbeat:
    beat = health.Heartbeat()
    beat.beat()
    return beat


def checks(response: Any) -> dict[str, str]:
    return {c["name"]: c["state"] for c in response.json()["checks"]}


class BrokenConnection:
    """Stands for a database that refuses connections."""

    def cursor(self) -> Any:
        raise OperationalError('connection to server at "10.0.0.7", port 5432 failed: Connection refused')


# /healthz --------------------------------------------------------------------------------------


def test_healthz_answers_without_the_database(client: Client, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok\n")
    assert response["Cache-Control"] == "no-store"


def test_probes_skip_host_checks_redirects_and_sessions(
    settings: Settings, someone: User, worker_alive: health.Heartbeat
) -> None:
    """A balancer asks by IP over plain HTTP; a browser with a session cookie changes nothing."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["shequ.example.cn"]
    client = Client()
    client.force_login(someone)
    before = list(Session.objects.values_list("session_key", "session_data", "expire_date"))
    for path in ("/healthz", "/readyz", "/metrics"):
        response = client.get(path, HTTP_HOST="10.1.2.3:8000")
        assert response.status_code == 200, (path, response.status_code)
        assert "Set-Cookie" not in response.headers and not response.cookies
        assert response["Cache-Control"] == "no-store"
    assert list(Session.objects.values_list("session_key", "session_data", "expire_date")) == before
    assert client.get("/", HTTP_HOST="10.1.2.3:8000").status_code == 400  # other pages: the usual checks


def test_probes_answer_get_and_head_only(client: Client) -> None:
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


# /readyz ---------------------------------------------------------------------------------------


def test_readyz_ready(
    client: Client, worker_alive: health.Heartbeat, django_assert_max_num_queries: Any
) -> None:
    client.get("/readyz")  # the first answer also checks the migrations
    with django_assert_max_num_queries(3):  # then: SELECT 1, the newest heartbeat, the oldest due task
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert checks(response) == {"database": "ok", "migrations": "ok", "worker": "ok", "outbox": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_without_a_worker_is_503_with_retry_after(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "unready"
    assert checks(response)["worker"] == "failing"
    assert checks(response)["database"] == "ok"


def test_readyz_with_an_old_heartbeat_is_503(client: Client, worker_alive: health.Heartbeat) -> None:
    WorkerHeartbeat.objects.update(beat_at=timezone.now() - timedelta(minutes=5))
    assert checks(client.get("/readyz"))["worker"] == "failing"


def test_readyz_worker_check_can_be_turned_off(client: Client, settings: Settings) -> None:
    settings.READY_WORKER_SECONDS = 0
    response = client.get("/readyz")
    assert response.status_code == 200
    assert checks(response)["worker"] == "skipped"


def test_readyz_outbox_lag(
    client: Client, someone: User, worker_alive: health.Heartbeat, settings: Settings
) -> None:
    settings.READY_OUTBOX_LAG_SECONDS = 60
    with transaction.atomic():
        outbox.emit(ProbeEvent(n=1, recipient_id=someone.pk))
    assert client.get("/readyz").status_code == 200  # due just now
    OutboxTask.objects.update(available_at=timezone.now() - timedelta(minutes=10))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert checks(response)["outbox"] == "failing"
    # A task waiting out its retry delay (or a lease) is not late.
    OutboxTask.objects.update(available_at=timezone.now() + timedelta(minutes=10))
    assert client.get("/readyz").status_code == 200
    OutboxTask.objects.update(status=OutboxStatus.FAILED, available_at=timezone.now() - timedelta(hours=1))
    assert client.get("/readyz").status_code == 200  # failed tasks are for /metrics and the operator


def test_readyz_with_the_database_down(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "connection", BrokenConnection())
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"][0] == {"name": "database", "state": "failing", "detail": "OperationalError"}
    assert checks(response) == {
        "database": "failing",
        "migrations": "skipped",
        "worker": "skipped",
        "outbox": "skipped",
    }
    assert "10.0.0.7" not in response.content.decode()  # no connection details


def test_readyz_unapplied_migrations_then_cached(
    client: Client, worker_alive: health.Heartbeat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "_migrations_applied", False)
    answers = [2, 0]
    calls: list[int] = []

    def pending() -> int:
        calls.append(1)
        return answers[len(calls) - 1]

    monkeypatch.setattr(health, "_migrations_pending", pending)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"][1] == {"name": "migrations", "state": "failing", "detail": "2 unapplied"}
    assert client.get("/readyz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert len(calls) == 2  # not checked again once applied


def test_real_migration_check_finds_nothing_unapplied() -> None:
    assert health._migrations_pending() == 0


# Heartbeat -------------------------------------------------------------------------------------


def test_heartbeat_writes_at_most_once_per_interval(
    settings: Settings, django_assert_num_queries: Any
) -> None:
    settings.WORKER_HEARTBEAT_SECONDS = 60
    WorkerHeartbeat.objects.create(
        name="gone:1:MainThread",
        host="gone",
        pid=1,
        started_at=timezone.now() - timedelta(days=3),
        beat_at=timezone.now() - timedelta(days=2),
    )
    beat = health.Heartbeat()
    beat.beat()
    row = WorkerHeartbeat.objects.get()  # a worker gone for days is cleared away
    assert (row.name, row.pid) == (beat.name, os.getpid())
    with django_assert_num_queries(0):
        beat.beat()
    beat._next = timezone.now()  # the interval has passed
    with django_assert_num_queries(1):
        beat.beat()  # one UPDATE
    beat.end()
    assert not WorkerHeartbeat.objects.exists()


# /metrics --------------------------------------------------------------------------------------


def scrape(client: Client, **extra: Any) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    families: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        families[family.name] = [(s.labels, s.value) for s in family.samples]
    return families


@pytest.mark.django_db(transaction=True)
def test_metrics_parse_and_report_the_outbox_workers_and_audit_log(
    client: Client, someone: User, worker_alive: health.Heartbeat
) -> None:
    with transaction.atomic():
        outbox.emit_many(ProbeEvent(n=n, recipient_id=someone.pk) for n in range(3))
        audit.record("test.metrics", object_type="user", object_id=someone.pk)
    OutboxTask.objects.filter(pk=OutboxTask.objects.order_by("pk")[0].pk).update(
        status=OutboxStatus.FAILED, available_at=timezone.now()
    )
    OutboxTask.objects.filter(status=OutboxStatus.PENDING).update(
        available_at=timezone.now() - timedelta(seconds=120)
    )
    m = scrape(client)
    handler = "shequ.core.tests.outbox_probe.write_effect"
    assert m["shequ_database_up"] == [({}, 1.0)]
    tasks = {(labels["handler"], labels["status"]): value for labels, value in m["shequ_outbox_tasks"]}
    assert tasks == {(handler, "pending"): 2.0, (handler, "failed"): 1.0}
    assert m["shequ_outbox_due_tasks"] == [({}, 2.0)]
    [(_, lag)] = m["shequ_outbox_oldest_due_age_seconds"]
    assert lag >= 120
    assert m["shequ_workers_alive"] == [({}, 1.0)]
    [(_, age)] = m["shequ_worker_heartbeat_age_seconds"]
    assert age >= 0
    assert m["shequ_audit_unsealed_entries"] == [({}, 1.0)]
    assert m["shequ_audit_sealed_entries"] == m["shequ_audit_checkpointed_entries"] == [({}, 0.0)]
    assert "shequ_audit_last_checkpoint_age_seconds" not in m  # none signed yet

    audit.seal_all()
    audit.checkpoint(force=True)
    m = scrape(client)
    assert m["shequ_audit_unsealed_entries"] == [({}, 0.0)]
    head = float(audit.head()[0])
    assert head >= 1
    assert m["shequ_audit_sealed_entries"] == m["shequ_audit_checkpointed_entries"] == [({}, head)]
    [(_, since)] = m["shequ_audit_last_checkpoint_age_seconds"]
    assert since >= 0


def test_metrics_with_the_database_down(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(health.PlatformCollector, "_from_database", refuse)
    assert scrape(client) == {"shequ_database_up": [({}, 0.0)]}


def test_metrics_are_refused_to_other_clients(client: Client) -> None:
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert b"shequ_" not in response.content
    assert response["Cache-Control"] == "no-store"


def test_metrics_through_a_proxy_are_not_local(client: Client) -> None:
    """Behind nginx every request arrives from 127.0.0.1: a forwarded one is not local."""
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403
    assert client.get("/metrics", HTTP_X_REAL_IP="203.0.113.9").status_code == 403
    assert client.get("/metrics", HTTP_FORWARDED="for=203.0.113.9").status_code == 403


def test_metrics_allow_list_and_token(client: Client, settings: Settings) -> None:
    settings.METRICS_ALLOW = ["10.8.0.0/16", "::1/128"]
    assert client.get("/metrics", REMOTE_ADDR="10.8.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.8.3.4").status_code == 200  # dual-stack form
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403  # no longer listed
    assert client.get("/metrics", REMOTE_ADDR="not an address").status_code == 403

    settings.METRICS_TOKEN = "s3cret-token-for-prometheus"

    def remote(authorization: str) -> int:
        return client.get(
            "/metrics",
            HTTP_AUTHORIZATION=authorization,
            REMOTE_ADDR="203.0.113.9",
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        ).status_code

    assert remote("Bearer s3cret-token-for-prometheus") == 200
    assert remote("Bearer wrong") == 403
    # A wrong token is refused even from an allowed address.
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong", REMOTE_ADDR="10.8.3.4")
    assert wrong.status_code == 403


def test_a_bad_metrics_allow_list_stops_start_up() -> None:
    env = dict(os.environ, SHEQU_METRICS_ALLOW="10.0.0.0/8,intranet", DJANGO_SETTINGS_MODULE="shequ.settings")
    result = subprocess.run(
        [sys.executable, "-m", "shequ.cli", "check"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "SHEQU_METRICS_ALLOW: 'intranet' is not an address or network" in result.stderr
