"""The worker wakes when a task is queued instead of after its idle sleep: in the same process (an
event set at commit) and, on PostgreSQL, from another process (NOTIFY at commit)."""

from __future__ import annotations

import threading
import time
from typing import ClassVar

import pytest
from django.db import connection, transaction

from shequ.core import outbox
from shequ.core.models import OutboxTask
from shequ.core.outbox import DomainEvent, handles, register_event

pytestmark = pytest.mark.django_db(transaction=True)
DONE: list[float] = []


@register_event
class WakeProbe(DomainEvent):
    name: ClassVar[str] = "test.wake_probe"
    sent: float


@handles(WakeProbe)
def _probe(event: WakeProbe) -> None:
    DONE.append(time.monotonic() - event.sent)


def _worker(stop: threading.Event) -> threading.Thread:
    def run() -> None:
        try:
            outbox.work(idle_sleep=30.0, stop=stop.is_set)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _stop(stop: threading.Event, worker: threading.Thread) -> None:
    """Ask the worker to leave, and wake it (one more task) so that it sees the request now."""
    stop.set()
    with transaction.atomic():
        outbox.emit(WakeProbe(sent=time.monotonic()))
    worker.join(timeout=10)
    assert not worker.is_alive(), "the worker did not wake to stop"


def test_a_task_queued_wakes_the_idle_worker_at_once() -> None:
    DONE.clear()
    outbox.run_pending()
    stop = threading.Event()
    worker = _worker(stop)
    time.sleep(1.0)  # the worker is asleep (its idle sleep is 30 s)
    with transaction.atomic():
        outbox.emit(WakeProbe(sent=time.monotonic()))
    deadline = time.monotonic() + 10
    while not DONE and time.monotonic() < deadline:
        time.sleep(0.05)
    _stop(stop, worker)
    assert DONE, "the queued task was not run"
    assert DONE[0] < 5.0  # far below the 30 s idle sleep
    # The probe that woke it to stop is left for the next worker, as a stopping worker should.
    assert OutboxTask.objects.filter(event_type=WakeProbe.name, status="pending").count() == 1


@pytest.mark.postgres
def test_postgresql_wakes_a_worker_of_another_process() -> None:
    """No shared event: the worker's own LISTEN hears the NOTIFY that committed with the task."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (set SHEQU_DATABASE_URL)")
    DONE.clear()
    outbox.run_pending()
    stop = threading.Event()
    worker = _worker(stop)
    time.sleep(1.0)
    outbox._WAKE.clear()
    with transaction.atomic():
        outbox.emit(WakeProbe(sent=time.monotonic()))
        transaction.on_commit(outbox._WAKE.clear)  # undo the in-process wake: only NOTIFY remains
    deadline = time.monotonic() + 10
    while not DONE and time.monotonic() < deadline:
        time.sleep(0.05)
    _stop(stop, worker)
    assert DONE and DONE[0] < 5.0
