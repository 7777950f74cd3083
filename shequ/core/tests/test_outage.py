"""Database outages in-process (SQLite or PostgreSQL): the worker loop, the scheduler and the audit
sealer wait out database errors with backoff and lose nothing; supervised threads come back after a
crash; periodic jobs catch up once. The real outage, with PostgreSQL behind a cut proxy, is in
test_outage_postgres.py."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, transaction
from django.utils import timezone
from pytest_django.fixtures import Settings

from shequ.core import audit, outage, outbox
from shequ.core.models import (
    AuditEntry,
    Message,
    OutboxStatus,
    OutboxTask,
    ScheduledJob,
    User,
    WorkerHeartbeat,
)
from shequ.core.tests.outbox_probe import ProbeEvent

OUTAGE_LINE = "database unavailable"
BACK_LINE = "database available again"


@pytest.fixture(autouse=True)
def _fast_retries(settings: Settings) -> Iterator[None]:
    settings.DB_RETRY_MIN_SECONDS = 0.01
    settings.DB_RETRY_MAX_SECONDS = 0.05
    settings.AUDIT_SEAL_SECONDS = 0.02
    outage._process.down_since = None  # each test starts with the database seen as up
    yield
    outage._process.down_since = None


@pytest.fixture
def no_sealer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker loop alone (the sealer thread has its own tests)."""
    monkeypatch.setattr(audit, "start_sealer", lambda stop: None)


@pytest.fixture
def someone(db: None) -> User:
    return User.objects.create(username="someone")


def failing_twice(real: Callable[..., Any], error: Exception) -> tuple[Callable[..., Any], list[int]]:
    """``real`` behind a stand-in that raises ``error`` on its first two calls."""
    calls = [0]

    def stand_in(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] <= 2:
            raise error
        return real(*args, **kwargs)

    return stand_in, calls


def lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    backoff = outage.Backoff(first=1, cap=30)
    delays = [backoff.next() for _ in range(8)]
    for delay, ceiling in zip(delays, [1, 2, 4, 8, 16, 30, 30, 30], strict=True):
        assert ceiling / 2 <= delay <= ceiling
    backoff.reset()
    assert backoff.next() <= 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("no_sealer")
def test_worker_loop_survives_database_errors_and_loses_no_task(
    someone: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(outbox, "_PERIODIC", {})
    with transaction.atomic():
        outbox.emit_many(ProbeEvent(n=n, recipient_id=someone.pk) for n in range(5))
    stand_in, calls = failing_twice(outbox.run_one, OperationalError("server closed the connection"))
    monkeypatch.setattr(outbox, "run_one", stand_in)

    def done() -> bool:
        return not OutboxTask.objects.exclude(status=OutboxStatus.DONE).exists()

    with caplog.at_level(logging.INFO, logger="shequ.core.outage"):
        outbox.work(idle_sleep=0.01, stop=done)  # the long-running loop, as in `shequ worker`

    assert calls[0] >= 3
    effects = list(Message.objects.filter(topic="test.probe").values_list("subject", flat=True))
    assert sorted(effects) == [f"probe {n}" for n in range(5)]  # each once
    assert set(OutboxTask.objects.values_list("attempts", flat=True)) == {1}
    assert len(lines(caplog, OUTAGE_LINE)) == 1  # one line for the outage, not one per retry
    assert "server closed the connection" in lines(caplog, OUTAGE_LINE)[0]
    assert len(lines(caplog, BACK_LINE)) == 1
    assert not WorkerHeartbeat.objects.exists()  # a worker that stops removes its heartbeat


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("no_sealer")
def test_scheduler_outage_is_waited_out_too(
    someone: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[int] = []
    monkeypatch.setattr(outbox, "_PERIODIC", {})
    outbox.periodic("test.outage_tick", every=timedelta(hours=1))(lambda: runs.append(1))
    stand_in, calls = failing_twice(outbox.run_due_periodic, OperationalError("database is locked"))
    monkeypatch.setattr(outbox, "run_due_periodic", stand_in)
    with caplog.at_level(logging.INFO, logger="shequ.core.outage"):
        outbox.work(idle_sleep=0.01, stop=lambda: bool(runs))
    assert runs == [1] and calls[0] == 3
    assert len(lines(caplog, OUTAGE_LINE)) == 1


@pytest.mark.django_db
def test_one_shot_runs_still_fail_on_a_database_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--once``/``--drain`` (cron, tests) report the failure instead of waiting."""
    monkeypatch.setattr(
        outbox, "run_due_periodic", failing_twice(outbox.run_due_periodic, OperationalError())[0]
    )
    with pytest.raises(OperationalError):
        outbox.work(drain=True)


@pytest.mark.django_db(transaction=True)
def test_external_result_is_recorded_after_a_short_outage_without_resending(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from shequ.core.tests.test_outbox import ExternalEvent, external_calls

    external_calls.clear()
    with transaction.atomic():
        outbox.emit(ExternalEvent(n=7))
    stand_in, calls = failing_twice(outbox._settle_if_held, OperationalError("connection refused"))
    monkeypatch.setattr(outbox, "_settle_if_held", stand_in)
    with caplog.at_level(logging.INFO, logger="shequ.core.outage"):
        assert outbox.run_one()
    task = OutboxTask.objects.get()
    assert (task.status, task.attempts) == (OutboxStatus.DONE, 1)
    assert [n for n, _ in external_calls] == [7]  # sent once: the result waited for the database
    assert calls[0] == 3
    assert len(lines(caplog, OUTAGE_LINE)) == len(lines(caplog, BACK_LINE)) == 1


@pytest.mark.django_db(transaction=True)
def test_external_result_gives_up_waiting_when_the_lease_ends(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """Past the lease another worker may run the task: this one must not settle it any more."""
    from shequ.core.tests.test_outbox import ExternalEvent, external_calls

    external_calls.clear()
    settings.OUTBOX_LEASE_SECONDS = 0
    with transaction.atomic():
        outbox.emit(ExternalEvent(n=8))
    monkeypatch.setattr(
        outbox, "_settle_if_held", failing_twice(outbox._settle_if_held, OperationalError())[0]
    )
    with pytest.raises(OperationalError):
        outbox.run_one()
    task = OutboxTask.objects.get()
    assert (task.status, task.attempts) == (OutboxStatus.PENDING, 1)  # runs again: at least once


@pytest.mark.django_db(transaction=True)
def test_sealer_survives_database_errors_and_seals_afterwards(
    someone: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with transaction.atomic():
        audit.record("test.outage", object_type="user", object_id=someone.pk)
    stand_in, calls = failing_twice(audit.seal, OperationalError("the database system is shutting down"))
    monkeypatch.setattr(audit, "seal", stand_in)
    with caplog.at_level(logging.INFO, logger="shequ.core.outage"):
        audit.sealer_loop(lambda: not AuditEntry.objects.filter(seq__isnull=True).exists())
    assert calls[0] >= 3
    assert len(lines(caplog, OUTAGE_LINE)) == len(lines(caplog, BACK_LINE)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_refused_checkpoint_is_logged_once_per_cause_not_every_second(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    causes = iter(["the chain was rewritten"] * 5 + ["another cause"] * 3)

    def refuse(**kwargs: Any) -> None:
        raise audit.CheckpointRefused(next(causes))

    monkeypatch.setattr(audit, "checkpoint", refuse)
    rounds: list[int] = []

    def stop() -> bool:
        rounds.append(1)
        return len(rounds) > 8

    with caplog.at_level(logging.CRITICAL, logger="shequ.core.audit"):
        audit.sealer_loop(stop, interval=0)
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert said == [
        "audit checkpoint refused: the chain was rewritten",
        "audit checkpoint refused: another cause",
    ]


def test_supervised_thread_is_started_again_after_it_dies(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    finished = threading.Event()

    def target() -> None:
        runs.append(len(runs) + 1)
        if len(runs) < 3:
            raise RuntimeError(f"crash {len(runs)}")
        finished.set()
        while not stopping.is_set():
            stopping.wait(0.01)

    stopping = threading.Event()
    with caplog.at_level(logging.INFO, logger="shequ.core.outage"):
        thread = outage.supervise("test loop", target, stopping.is_set)
        assert finished.wait(30)
        stopping.set()
        thread.join(30)
    assert not thread.is_alive()
    assert runs == [1, 2, 3]
    died = [r for r in caplog.records if "test loop died" in r.getMessage()]
    assert len(died) == 2 and all(r.exc_info for r in died)  # each death logged with its traceback


def test_supervised_thread_that_returns_early_is_started_again(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    stopping = threading.Event()

    def target() -> None:
        runs.append(1)
        if len(runs) == 2:
            stopping.set()

    with caplog.at_level(logging.INFO, logger="shequ.core.outage"):
        outage.supervise("quitter", target, stopping.is_set).join(30)
    assert len(runs) == 2
    assert any("quitter stopped unexpectedly" in r.getMessage() for r in caplog.records)


def test_a_worker_restarted_in_process_starts_no_second_sealer(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    stopping = threading.Event()

    def loop(stop: Callable[[], bool], *, interval: float | None = None) -> None:
        started.append("sealer")
        while not stop():
            stopping.wait(0.01)

    monkeypatch.setattr(audit, "sealer_loop", loop)
    monkeypatch.setattr(audit, "_sealer", None)
    first = audit.start_sealer(stopping.is_set)
    assert audit.start_sealer(stopping.is_set) is first
    stopping.set()
    first.join(30)
    assert started == ["sealer"]


# Periodic jobs after an outage ------------------------------------------------------------------


@pytest.mark.django_db
def test_periodic_job_overdue_for_many_periods_runs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[str] = []
    monkeypatch.setattr(outbox, "_PERIODIC", {})
    outbox.periodic("test.hourly", every=timedelta(hours=1))(lambda: runs.append("run"))
    ten_hours_ago = timezone.now() - timedelta(hours=10)
    ScheduledJob.objects.create(name="test.hourly", next_run_at=ten_hours_ago, last_run_at=ten_hours_ago)

    assert outbox.run_due_periodic() == ["test.hourly"]
    assert outbox.run_due_periodic() == []  # not once per missed hour
    assert runs == ["run"]
    job = ScheduledJob.objects.get(name="test.hourly")
    assert job.last_run_at is not None and job.last_run_at > ten_hours_ago
    assert job.next_run_at == job.last_run_at + timedelta(hours=1)  # the next one an hour from now
