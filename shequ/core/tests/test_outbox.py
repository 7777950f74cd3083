"""The transactional outbox in-process: emission with the change, retries, backoff, failures, leases,
periodic jobs. Worker subprocesses (kill mid-batch, several workers) are in test_outbox_worker.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import ClassVar

import pytest
from django.db import connection, transaction
from django.utils import timezone
from pytest_django.fixtures import Settings

from shequ.core import outbox
from shequ.core.models import Message, OutboxStatus, OutboxTask, ScheduledJob, User
from shequ.core.outbox import DomainEvent, handles, register_event
from shequ.core.tests.outbox_probe import ProbeEvent

# Events and handlers used only in this process ------------------------------------------------

flaky_failures: dict[int, int] = {}  # n → failures still to produce
given_up: list[tuple[int, str]] = []
external_calls: list[tuple[int, bool]] = []  # (n, inside a transaction?)
died: set[int] = set()


class WorkerDied(BaseException):
    """Stands for the process dying in the middle of a handler (not an ordinary exception)."""


@register_event
class FlakyEvent(DomainEvent):
    name: ClassVar[str] = "test.flaky"
    n: int
    recipient_id: int


def _flaky_gave_up(event: FlakyEvent, error: str) -> None:
    given_up.append((event.n, error))


@handles(FlakyEvent, on_give_up=_flaky_gave_up)
def flaky(event: FlakyEvent) -> None:
    # Written before failing: the savepoint must undo it.
    Message.objects.create(recipient_id=event.recipient_id, subject=f"flaky {event.n}")
    if flaky_failures.get(event.n, 0) > 0:
        flaky_failures[event.n] -= 1
        raise ValueError("gateway said no for 13812345678 / 430104199001011234")


@register_event
class ExternalEvent(DomainEvent):
    name: ClassVar[str] = "test.external"
    n: int
    mode: str = "ok"  # ok | die | die_once | steal


def _external_gave_up(event: ExternalEvent, error: str) -> None:
    given_up.append((event.n, error))


@handles(ExternalEvent, external=True, on_give_up=_external_gave_up)
def external(event: ExternalEvent) -> None:
    external_calls.append((event.n, connection.in_atomic_block))
    if event.mode == "die" or (event.mode == "die_once" and event.n not in died):
        died.add(event.n)
        raise WorkerDied
    if event.mode == "steal":  # another worker took the task over after our lease ran out
        OutboxTask.objects.filter(event_type=ExternalEvent.name, payload__n=event.n).update(
            attempts=99, available_at=timezone.now() + timedelta(minutes=5)
        )


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    flaky_failures.clear()
    given_up.clear()
    external_calls.clear()
    died.clear()
    yield


@pytest.fixture
def someone(db: None) -> User:
    """The person whose inbox receives the handlers' effects (no password: hashing is slow)."""
    return User.objects.create(username="someone")


def make_due() -> None:
    OutboxTask.objects.filter(status=OutboxStatus.PENDING).update(available_at=timezone.now())


def emit(*events: DomainEvent) -> None:
    with transaction.atomic():
        outbox.emit_many(events)


# Emission ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_emit_refuses_to_run_outside_a_transaction(someone: User) -> None:
    with pytest.raises(RuntimeError):
        outbox.emit(ProbeEvent(n=1, recipient_id=someone.pk))
    assert not OutboxTask.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_event_exists_exactly_when_the_change_commits(someone: User) -> None:
    user = someone
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        Message.objects.create(recipient=user, subject="the change")
        outbox.emit(ProbeEvent(n=1, recipient_id=user.pk))
        1 / 0  # the change fails after emitting
    assert not OutboxTask.objects.exists()
    assert not Message.objects.exists()

    with transaction.atomic():
        Message.objects.create(recipient=user, subject="the change")
        assert outbox.emit(ProbeEvent(n=2, recipient_id=user.pk)) == 1
    task = OutboxTask.objects.get()
    assert (task.event_type, task.status, task.payload["n"]) == ("test.probe", OutboxStatus.PENDING, 2)


@pytest.mark.django_db
def test_unregistered_or_malformed_events_are_refused() -> None:
    class Stray(DomainEvent):
        name: ClassVar[str] = "test.stray"

    with transaction.atomic(), pytest.raises(TypeError):
        outbox.emit(Stray())
    with pytest.raises(ValueError):
        ProbeEvent(n=1, recipient_id=1, surprise=True)  # type: ignore[call-arg]
    assert not OutboxTask.objects.exists()


def test_event_names_are_unique() -> None:
    with pytest.raises(TypeError):

        @register_event
        class Impostor(DomainEvent):
            name: ClassVar[str] = "test.probe"


@pytest.mark.django_db
def test_handler_runs_once_and_the_task_is_done(someone: User) -> None:
    emit(ProbeEvent(n=7, recipient_id=someone.pk))
    assert outbox.run_pending() == 1
    assert outbox.run_pending() == 0
    task = OutboxTask.objects.get()
    assert (task.status, task.attempts, task.last_error) == (OutboxStatus.DONE, 1, "")
    assert task.done_at is not None
    assert Message.objects.filter(subject="probe 7").count() == 1


# Retries, backoff and failures ------------------------------------------------------------------


def test_backoff_doubles_and_is_capped() -> None:
    assert [outbox.backoff(n).total_seconds() for n in range(1, 6)] == [5, 10, 20, 40, 80]
    assert outbox.backoff(30) == timedelta(seconds=outbox.BACKOFF_MAX_SECONDS)


@pytest.mark.django_db
def test_failure_is_retried_with_backoff_then_recorded(
    someone: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "MAX_ATTEMPTS", 3)
    flaky_failures[1] = 10
    emit(FlakyEvent(n=1, recipient_id=someone.pk))

    for attempt in (1, 2):
        before = timezone.now()
        assert outbox.run_one()
        after = timezone.now()
        task = OutboxTask.objects.get()
        assert (task.status, task.attempts) == (OutboxStatus.PENDING, attempt)
        wait = outbox.backoff(attempt)
        assert before + wait <= task.available_at <= after + wait
        assert outbox.run_pending() == 0  # not due before its backoff has passed
        make_due()

    assert outbox.run_one()
    task = OutboxTask.objects.get()
    assert (task.status, task.attempts) == (OutboxStatus.FAILED, 3)
    assert "ValueError: gateway said no" in task.last_error
    # The error is kept, but without the plaintext mobile or ID number it carried.
    assert "13812345678" not in task.last_error and "430104199001011234" not in task.last_error
    assert "138****5678" in task.last_error and "430104********1234" in task.last_error
    assert given_up == [(1, task.last_error)]
    assert not Message.objects.filter(subject="flaky 1").exists()  # each failed attempt was rolled back
    make_due()
    assert outbox.run_pending() == 0  # failed tasks stay failed


@pytest.mark.django_db
def test_a_retry_that_succeeds_clears_the_error(someone: User) -> None:
    flaky_failures[2] = 2
    emit(FlakyEvent(n=2, recipient_id=someone.pk))
    for _ in range(3):
        outbox.run_pending()
        make_due()
    task = OutboxTask.objects.get()
    assert (task.status, task.attempts, task.last_error) == (OutboxStatus.DONE, 3, "")
    assert Message.objects.filter(subject="flaky 2").count() == 1
    assert given_up == []


@pytest.mark.django_db
def test_requeue_failed_gives_fresh_attempts(someone: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox, "MAX_ATTEMPTS", 1)
    flaky_failures[3] = 1
    emit(FlakyEvent(n=3, recipient_id=someone.pk))
    outbox.run_pending()
    assert OutboxTask.objects.get().status == OutboxStatus.FAILED
    assert outbox.requeue_failed() == 1
    assert outbox.run_pending() == 1
    assert OutboxTask.objects.get().status == OutboxStatus.DONE


@pytest.mark.django_db
def test_a_task_whose_handler_this_worker_lacks_is_retried_not_lost() -> None:
    OutboxTask.objects.create(
        event_type="test.probe", handler="somewhere.else", payload={"n": 1, "recipient_id": 1}
    )
    assert outbox.run_one()
    task = OutboxTask.objects.get()
    assert (task.status, task.attempts) == (OutboxStatus.PENDING, 1)
    assert "no handler somewhere.else" in task.last_error


# External handlers: leases instead of a long transaction --------------------------------------


@pytest.mark.django_db(transaction=True)
def test_external_handler_runs_outside_any_transaction() -> None:
    emit(ExternalEvent(n=1))
    assert outbox.run_pending() == 1
    assert external_calls == [(1, False)]
    task = OutboxTask.objects.get()
    assert (task.status, task.attempts) == (OutboxStatus.DONE, 1)


@pytest.mark.django_db(transaction=True)
def test_external_task_of_a_dead_worker_runs_again_after_its_lease() -> None:
    emit(ExternalEvent(n=2, mode="die_once"))
    before = timezone.now()
    with pytest.raises(WorkerDied):
        outbox.run_one()
    task = OutboxTask.objects.get()
    assert task.status == OutboxStatus.PENDING and task.attempts == 1
    assert task.available_at >= before + timedelta(seconds=outbox.lease_seconds())
    assert outbox.run_pending() == 0  # leased: nobody else takes it yet

    OutboxTask.objects.update(available_at=timezone.now())  # the lease ran out
    assert outbox.run_pending() == 1
    task.refresh_from_db()
    assert (task.status, task.attempts) == (OutboxStatus.DONE, 2)
    assert [n for n, _ in external_calls] == [2, 2]


@pytest.mark.django_db(transaction=True)
def test_the_lease_is_a_setting(settings: Settings) -> None:
    settings.OUTBOX_LEASE_SECONDS = 42
    emit(ExternalEvent(n=5, mode="die_once"))
    before = timezone.now()
    with pytest.raises(WorkerDied):
        outbox.run_one()
    after = timezone.now()
    task = OutboxTask.objects.get()
    assert before + timedelta(seconds=42) <= task.available_at <= after + timedelta(seconds=42)


@pytest.mark.django_db(transaction=True)
def test_external_task_dead_on_its_last_attempt_is_recorded_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox, "MAX_ATTEMPTS", 1)
    emit(ExternalEvent(n=3, mode="die"))
    with pytest.raises(WorkerDied):
        outbox.run_one()
    OutboxTask.objects.update(available_at=timezone.now())
    assert outbox.run_one()
    task = OutboxTask.objects.get()
    assert task.status == OutboxStatus.FAILED
    assert task.last_error == "worker stopped during the last attempt"
    assert given_up == [(3, task.last_error)]
    assert len(external_calls) == 1  # not run a second time


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_lost_its_lease_does_not_settle_the_task() -> None:
    emit(ExternalEvent(n=4, mode="steal"))
    assert outbox.run_one()
    task = OutboxTask.objects.get()
    assert (task.status, task.attempts) == (OutboxStatus.PENDING, 99)  # the new holder's state stands


# Periodic jobs and the loop -------------------------------------------------------------------


@pytest.mark.django_db
def test_periodic_job_runs_once_per_period(monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[str] = []
    monkeypatch.setattr(outbox, "_PERIODIC", {})
    outbox.periodic("test.every_hour", every=timedelta(hours=1))(lambda: runs.append("hour"))

    def broken() -> None:
        raise RuntimeError("boom")

    outbox.periodic("test.broken", every=timedelta(hours=1))(broken)

    assert outbox.run_due_periodic() == ["test.every_hour", "test.broken"]
    assert outbox.run_due_periodic() == []
    assert runs == ["hour"]
    job = ScheduledJob.objects.get(name="test.every_hour")
    assert job.last_run_at is not None
    assert job.next_run_at == job.last_run_at + timedelta(hours=1)

    an_hour_later = timezone.now() - timedelta(seconds=1)
    ScheduledJob.objects.filter(name="test.every_hour").update(next_run_at=an_hour_later)
    assert outbox.run_due_periodic() == ["test.every_hour"]
    assert runs == ["hour", "hour"]


@pytest.mark.django_db
def test_work_drains_the_queue_and_stops_on_request(someone: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox, "_PERIODIC", {})
    monkeypatch.setattr(outbox, "BATCH", 3)
    emit(*(ProbeEvent(n=n, recipient_id=someone.pk) for n in range(7)))
    outbox.work(once=True)
    assert OutboxTask.objects.filter(status=OutboxStatus.DONE).count() == 3
    outbox.work(drain=True)
    assert not OutboxTask.objects.exclude(status=OutboxStatus.DONE).exists()

    emit(ProbeEvent(n=99, recipient_id=someone.pk))
    outbox.work(stop=lambda: True)  # asked to stop: leaves without taking the next task
    assert OutboxTask.objects.filter(status=OutboxStatus.PENDING).count() == 1
