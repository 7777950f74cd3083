"""Domain events through a transactional outbox.

``emit(event)`` writes one ``OutboxTask`` row per registered handler in the caller's transaction,
so the event exists exactly when the change that caused it does. ``shequ worker`` claims a task
(``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serializes writers), runs the handler
and marks the task done in that same transaction: a worker killed mid-task leaves the row
unclaimed and its partial work rolled back, so nothing is lost and nothing is applied twice.
Failures are retried with exponential backoff and kept with their error after the last attempt.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from django.db import connection, transaction
from django.utils import timezone
from pydantic import BaseModel, ConfigDict

from shequ.core.models import OutboxStatus, OutboxTask, ScheduledJob

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 3600


class DomainEvent(BaseModel):
    """Base of every domain event: typed, immutable, and rejecting unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ClassVar[str] = ""


E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[Any], None]

_EVENTS: dict[str, type[DomainEvent]] = {}
_HANDLERS: dict[str, list[tuple[str, Handler]]] = {}


def register_event(cls: type[E]) -> type[E]:
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a name")
    _EVENTS[cls.name] = cls
    return cls


def handles(event_cls: type[E]) -> Callable[[Callable[[E], None]], Callable[[E], None]]:
    """Register ``func`` to run for every ``event_cls`` emitted. Handlers must be idempotent."""

    def decorator(func: Callable[[E], None]) -> Callable[[E], None]:
        key = f"{func.__module__}.{func.__qualname__}"
        handlers = _HANDLERS.setdefault(event_cls.name, [])
        if all(existing != key for existing, _ in handlers):
            handlers.append((key, func))
        return func

    return decorator


def handlers_for(event_name: str) -> list[tuple[str, Handler]]:
    return list(_HANDLERS.get(event_name, []))


def emit(event: DomainEvent, *, delay: timedelta | None = None) -> int:
    """Queue ``event`` for its handlers; must run inside the transaction of the change."""
    if not connection.in_atomic_block:
        raise RuntimeError("emit() must be called inside transaction.atomic() with the change it reports")
    now = timezone.now()
    available = now + delay if delay else now
    payload = event.model_dump(mode="json")
    rows = [
        OutboxTask(event_type=event.name, handler=key, payload=payload, created_at=now, available_at=available)
        for key, _ in handlers_for(event.name)
    ]
    if rows:
        # One event id for all handlers of this emission.
        event_id = rows[0].event_id
        for row in rows:
            row.event_id = event_id
        OutboxTask.objects.bulk_create(rows)
    return len(rows)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** (attempts - 1), BACKOFF_MAX_SECONDS))


def _resolve(task: OutboxTask) -> tuple[Handler, DomainEvent]:
    event_cls = _EVENTS[task.event_type]
    for key, func in _HANDLERS.get(task.event_type, []):
        if key == task.handler:
            return func, event_cls.model_validate(task.payload)
    raise LookupError(f"no handler {task.handler} for {task.event_type}")


def run_one() -> bool:
    """Claim and run one due task. Returns False when nothing was due."""
    with transaction.atomic():
        qs = OutboxTask.objects.filter(status=OutboxStatus.PENDING, available_at__lte=timezone.now()).order_by(
            "available_at", "id"
        )
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        task = qs.first()
        if task is None:
            return False
        task.attempts += 1
        try:
            with transaction.atomic():  # a savepoint: a failing handler's writes are undone
                func, event = _resolve(task)
                func(event)
        except Exception as exc:
            log.warning("outbox task %s (%s) failed: %s", task.pk, task.handler, exc)
            task.last_error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
            if task.attempts >= MAX_ATTEMPTS:
                task.status = OutboxStatus.FAILED
            else:
                task.available_at = timezone.now() + _backoff(task.attempts)
        else:
            task.status = OutboxStatus.DONE
            task.done_at = timezone.now()
            task.last_error = ""
        task.save(update_fields=["attempts", "status", "available_at", "last_error", "done_at"])
    return True


def run_pending(limit: int | None = None) -> int:
    """Run due tasks until none is left (or ``limit``); used by tests and by the worker."""
    count = 0
    while (limit is None or count < limit) and run_one():
        count += 1
    return count


# Periodic jobs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    func: Callable[[], None]


_PERIODIC: dict[str, PeriodicJob] = {}


def periodic(name: str, every: timedelta) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def decorator(func: Callable[[], None]) -> Callable[[], None]:
        _PERIODIC[name] = PeriodicJob(name, every, func)
        return func

    return decorator


def periodic_jobs() -> list[PeriodicJob]:
    return list(_PERIODIC.values())


def run_due_periodic() -> list[str]:
    """Run each periodic job whose time has come; a conditional UPDATE lets one worker win."""
    ran: list[str] = []
    now = timezone.now()
    for job in periodic_jobs():
        ScheduledJob.objects.get_or_create(name=job.name, defaults={"next_run_at": now})
        claimed = ScheduledJob.objects.filter(name=job.name, next_run_at__lte=now).update(
            next_run_at=now + job.every, last_run_at=now
        )
        if not claimed:
            continue
        try:
            job.func()
        except Exception:
            log.exception("periodic job %s failed", job.name)
        ran.append(job.name)
    return ran


def work(*, once: bool = False, idle_sleep: float = 1.0, stop: Callable[[], bool] | None = None) -> None:
    """The worker loop behind ``shequ worker``."""
    while True:
        run_due_periodic()
        did = run_pending(limit=100)
        if once or (stop and stop()):
            return
        if not did:
            time.sleep(idle_sleep)
