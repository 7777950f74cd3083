"""``shequ worker`` as real processes on the test database (SQLite file or PostgreSQL):
a worker killed mid-batch loses no event and applies none twice; several workers share the queue;
a periodic job runs once per period however many workers there are."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import transaction

from shequ.core import outbox
from shequ.core.models import Message, OutboxStatus, OutboxTask, ScheduledJob, User
from shequ.core.tests.fakes import start_worker, worker_env
from shequ.core.tests.outbox_probe import ProbeEvent
from shequ.core.tests.outbox_probe_periodic import JOB_NAME, TICK_SUBJECT

PROBE = "shequ.core.tests.outbox_probe"
EVENTS = 300
HANG_AT = 120
TIMEOUT = 120

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def someone() -> User:
    return User.objects.create(username="someone")


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:  # never leave a worker behind, whatever happened
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_for(predicate: object, what: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not predicate():  # type: ignore[operator]
        if proc.poll() is not None:
            pytest.fail(f"worker exited ({proc.returncode}) before {what}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text()}")
        time.sleep(0.05)


def finish(proc: subprocess.Popen[bytes], log: Path) -> None:
    try:
        code = proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"worker did not finish:\n{log.read_text()}")
    assert code == 0, log.read_text()


def probe_effects() -> Counter[str]:
    return Counter(Message.objects.filter(topic="test.probe").values_list("subject", flat=True))


def test_worker_killed_mid_batch_loses_nothing_and_repeats_nothing(
    someone: User, tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    with transaction.atomic():
        outbox.emit_many(ProbeEvent(n=n, recipient_id=someone.pk, sleep_ms=2) for n in range(1, EVENTS + 1))
    assert OutboxTask.objects.filter(status=OutboxStatus.PENDING).count() == EVENTS

    # The first worker hangs inside event HANG_AT's transaction, after writing its effect; kill it there.
    signal_file = tmp_path / "inside-task"
    log = tmp_path / "killed.log"
    env = worker_env(SHEQU_PROBE_HANG_AT=str(HANG_AT), SHEQU_PROBE_SIGNAL=str(signal_file))
    victim = start_worker("--import", PROBE, log=log, env=env)
    procs.append(victim)
    wait_for(signal_file.exists, f"the worker to enter event {HANG_AT}", victim, log)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=TIMEOUT)

    # Mid-batch: the events before it are done, its own half-done work is gone, the rest wait.
    effects = probe_effects()
    assert set(effects) == {f"probe {n}" for n in range(1, HANG_AT)}
    assert OutboxTask.objects.filter(status=OutboxStatus.DONE).count() == HANG_AT - 1
    hung = OutboxTask.objects.get(payload__n=HANG_AT)
    assert (hung.status, hung.attempts) == (OutboxStatus.PENDING, 0)

    # Two workers finish the queue side by side.
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    pair = [start_worker("--import", PROBE, "--drain", log=log) for log in logs]
    procs.extend(pair)
    for proc, log in zip(pair, logs, strict=True):
        finish(proc, log)

    effects = probe_effects()
    assert set(effects) == {f"probe {n}" for n in range(1, EVENTS + 1)}  # none lost
    assert max(effects.values()) == 1  # none applied twice
    assert OutboxTask.objects.filter(status=OutboxStatus.DONE, attempts=1).count() == EVENTS


def test_periodic_job_runs_once_per_period_across_workers(
    someone: User, tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    def run_two_workers(round_: int) -> None:
        logs = [tmp_path / f"{round_}-{i}.log" for i in range(2)]
        pair = [start_worker("--import", f"{PROBE}_periodic", "--once", log=log) for log in logs]
        procs.extend(pair)
        for proc, log in zip(pair, logs, strict=True):
            finish(proc, log)

    def ticks() -> int:
        return Message.objects.filter(subject=TICK_SUBJECT).count()

    run_two_workers(1)
    assert ticks() == 1
    run_two_workers(2)  # same period: nobody runs it again
    assert ticks() == 1

    job = ScheduledJob.objects.get(name=JOB_NAME)
    assert job.last_run_at is not None
    ScheduledJob.objects.filter(name=JOB_NAME).update(next_run_at=job.last_run_at)  # the hour has passed
    run_two_workers(3)
    assert ticks() == 2


def test_worker_finishes_its_task_and_stops_on_sigterm(
    someone: User, tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    log = tmp_path / "worker.log"
    proc = start_worker("--import", PROBE, log=log)
    procs.append(proc)
    wait_for(lambda: "worker started" in log.read_text(), "the worker to start", proc, log)
    with transaction.atomic():
        outbox.emit(ProbeEvent(n=1, recipient_id=someone.pk))
    wait_for(lambda: OutboxTask.objects.filter(status=OutboxStatus.DONE).exists(), "the event", proc, log)
    proc.send_signal(signal.SIGTERM)
    finish(proc, log)
    assert "worker stopped" in log.read_text()
    assert probe_effects() == Counter({"probe 1": 1})
