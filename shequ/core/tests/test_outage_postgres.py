"""A database outage staged with a real PostgreSQL behind a TCP proxy that the test cuts and restores:
a ``shequ worker`` process and the in-process worker of ``shequ serve --with-worker`` keep running,
run every task exactly once, and say so in one log line per outage; ``/readyz`` follows the
database while ``/healthz`` stays up."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from django.db import connection, transaction
from pytest_django.fixtures import Settings

from shequ.core import messaging, outbox
from shequ.core.models import Channel, Delivery, DeliveryStatus, Message, OutboxStatus, OutboxTask, User
from shequ.core.tests.fakes import SmsGateway, TcpProxy, free_port, start_serve, start_worker, worker_env
from shequ.core.tests.outbox_probe import ProbeEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PROBE = "shequ.core.tests.outbox_probe"
TIMEOUT = 90
OUTAGE_LINE = "database unavailable"
BACK_LINE = "database available again"
# Short retries and heartbeats so that the test takes seconds, not minutes.
FAST = {
    "SHEQU_DB_RETRY_MIN_SECONDS": "0.05",
    "SHEQU_DB_RETRY_MAX_SECONDS": "0.3",
    "SHEQU_WORKER_HEARTBEAT_SECONDS": "0.2",
    "SHEQU_AUDIT_SEAL_SECONDS": "0.2",
}


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (set SHEQU_DATABASE_URL)")


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    settings = connection.settings_dict
    with TcpProxy(settings.get("HOST") or "127.0.0.1", int(settings.get("PORT") or 5432)) as relay:
        yield relay


def through(proxy: TcpProxy, **extra: str) -> dict[str, str]:
    """A subprocess environment whose database connections go through the proxy."""
    env = worker_env(**FAST, **extra)
    url = urlsplit(env["SHEQU_DATABASE_URL"])
    auth = url.netloc.rpartition("@")[0]
    env["SHEQU_DATABASE_URL"] = urlunsplit(url._replace(netloc=f"{auth}@127.0.0.1:{proxy.port}"))
    return env


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture
def someone() -> User:
    return User.objects.create(username="someone")


def wait_for(predicate: Callable[[], object], what: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"process exited ({proc.returncode}) before {what}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text()}")
        time.sleep(0.05)


def probe_effects() -> Counter[str]:
    return Counter(Message.objects.filter(topic="test.probe").values_list("subject", flat=True))


def emit_probes(someone: User, numbers: range, sleep_ms: int = 0) -> None:
    with transaction.atomic():
        outbox.emit_many(ProbeEvent(n=n, recipient_id=someone.pk, sleep_ms=sleep_ms) for n in numbers)


def all_done() -> bool:
    return not OutboxTask.objects.exclude(status=OutboxStatus.DONE).exists()


def test_worker_process_survives_the_database_going_away(
    someone: User, proxy: TcpProxy, tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    log = tmp_path / "worker.log"
    worker = start_worker("--import", PROBE, log=log, env=through(proxy))
    procs.append(worker)
    emit_probes(someone, range(1, 21))
    wait_for(all_done, "the first tasks", worker, log)

    # Slow tasks, cut while the worker is in the middle of them (inside a task's transaction).
    emit_probes(someone, range(21, 61), sleep_ms=20)
    wait_for(lambda: len(probe_effects()) >= 30, "some slow tasks", worker, log)
    proxy.cut()
    emit_probes(someone, range(61, 81))  # straight to PostgreSQL while the worker cannot reach it
    wait_for(lambda: OUTAGE_LINE in log.read_text(), "the worker to notice", worker, log)
    time.sleep(1)  # several failed retries
    assert worker.poll() is None, log.read_text()

    proxy.restore()
    wait_for(all_done, "every task", worker, log)
    effects = probe_effects()
    assert set(effects) == {f"probe {n}" for n in range(1, 81)}  # none lost
    assert max(effects.values()) == 1  # none applied twice
    text = log.read_text()
    assert text.count(OUTAGE_LINE) == 1, text
    assert text.count(BACK_LINE) == 1, text
    assert "Traceback" not in text

    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=TIMEOUT) == 0, log.read_text()
    assert "worker stopped" in log.read_text()


def test_serve_with_worker_recovers_and_readyz_follows_the_database(
    proxy: TcpProxy, tmp_path: Path, procs: list[subprocess.Popen[bytes]], settings: Settings
) -> None:
    people = [User.objects.create(username=f"p{i}", phone=f"1380000{i:04d}") for i in range(40)]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"

    def get(path: str) -> httpx.Response:
        return httpx.get(base + path, timeout=10)

    def ready() -> bool:
        try:
            return get("/readyz").status_code == 200
        except httpx.TransportError:
            return False

    def sms_to(batch: list[User]) -> None:
        with transaction.atomic():
            messaging.notify(sender=None, recipients=batch, subject="Water", body="Cut", channels=("sms",))

    def sent() -> int:
        return Delivery.objects.filter(channel=Channel.SMS, status=DeliveryStatus.SENT).count()

    with SmsGateway() as sms:
        settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_TOKEN = sms.url, sms.token
        env = through(proxy, SHEQU_SMS_GATEWAY_URL=sms.url, SHEQU_SMS_GATEWAY_TOKEN=sms.token)
        serve = start_serve(port, log=log, env=env)
        procs.append(serve)
        wait_for(ready, "/readyz to answer 200", serve, log)
        sms_to(people[:10])
        wait_for(lambda: sent() == 10, "the first messages", serve, log)

        proxy.cut()
        sms_to(people[10:30])  # queued while the server cannot reach the database
        wait_for(lambda: get("/readyz").status_code == 503, "/readyz to answer 503", serve, log)
        unready = get("/readyz")
        assert unready.headers["Retry-After"]
        assert unready.headers["Cache-Control"] == "no-store"
        checks = {c["name"]: c["state"] for c in unready.json()["checks"]}
        assert checks["database"] == "failing"
        for _ in range(5):
            health = get("/healthz")
            assert (health.status_code, health.text) == (200, "ok\n")
        wait_for(lambda: OUTAGE_LINE in log.read_text(), "the worker to notice", serve, log)

        proxy.restore()
        wait_for(ready, "/readyz to answer 200 again", serve, log)
        assert get("/healthz").status_code == 200
        sms_to(people[30:])  # new work after the outage
        wait_for(lambda: sent() == 40, "every message", serve, log)
        refs = Counter(request["ref"] for request in sms.received)
        assert len(refs) == 40 and max(refs.values()) == 1, refs  # each sent once
        assert serve.poll() is None
        text = log.read_text()
        assert text.count(OUTAGE_LINE) == 1, text
        assert text.count(BACK_LINE) == 1, text
