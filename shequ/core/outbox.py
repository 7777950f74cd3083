"""Domain events through a transactional outbox.

``emit(event)`` writes one ``OutboxTask`` row per registered handler in the caller's transaction,
so the event exists exactly when the change that caused it does. ``shequ worker`` claims due tasks
(``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serializes writers) and runs them.

Two kinds of handler:

* database handlers (the default) run inside the claiming transaction, which also marks the task
  done. A worker killed mid-task leaves the row unclaimed and its partial work rolled back, so
  nothing is lost and nothing is applied twice.
* ``external=True`` handlers talk to the outside world (SMTP, SMS gateways, webhooks). Holding a
  database transaction open across network I/O would block every writer on SQLite, so the worker
  takes a lease (``available_at`` moves ``SHEQU_OUTBOX_LEASE_SECONDS`` ahead, ``attempts`` is the
  fencing token), commits, calls the handler, and settles the task afterwards. A worker that dies
  leaves the lease to expire and the task runs again: at least once, so such handlers must skip work
  already done and pass an idempotency reference to the other side. A database that is away when the
  result is to be recorded is waited for until the lease ends, so that a short outage sends nothing
  twice.

The long-running loop (:func:`work`) survives database outages: it logs one line when the database
goes away and one when it is back, retries with backoff, and records a heartbeat for ``/readyz``.

Failures are retried with exponential backoff and kept with their (scrubbed) error after the
last attempt; ``on_give_up`` lets a handler record the final failure on its own rows.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from pydantic import BaseModel, ConfigDict

from shequ.core import outage
from shequ.core.health import Heartbeat
from shequ.core.models import OutboxStatus, OutboxTask, ScheduledJob

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 3600
BATCH = 100


def lease_seconds() -> float:
    """How long an external handler may run before another worker may take its task over."""
    return float(settings.OUTBOX_LEASE_SECONDS)


class DomainEvent(BaseModel):
    """Base of every domain event: typed, immutable, and rejecting unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ClassVar[str] = ""


E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[Any], None]
GiveUp = Callable[[Any, str], None]


@dataclass(frozen=True)
class HandlerSpec:
    key: str
    func: Handler
    external: bool = False
    on_give_up: GiveUp | None = None


_EVENTS: dict[str, type[DomainEvent]] = {}
# The id of the emission whose handler is running (shared by all handlers of one emit), so that a
# handler can make its effects idempotent per event: see messaging.notify(dedupe_key=...).
_CURRENT_EVENT_ID: ContextVar[str] = ContextVar("outbox_event_id", default="")


def current_event_id() -> str:
    """The running handler's event id ("" outside a handler, e.g. a test calling it directly)."""
    return _CURRENT_EVENT_ID.get()


def _call(task: OutboxTask, spec: HandlerSpec, event: DomainEvent) -> None:
    token = _CURRENT_EVENT_ID.set(str(task.event_id))
    try:
        spec.func(event)
    finally:
        _CURRENT_EVENT_ID.reset(token)


_HANDLERS: dict[str, dict[str, HandlerSpec]] = {}


def register_event(cls: type[E]) -> type[E]:
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a name")
    known = _EVENTS.get(cls.name)
    if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
        raise TypeError(f"event name {cls.name!r} is already used by {known.__qualname__}")
    _EVENTS[cls.name] = cls
    return cls


def handles(
    event_cls: type[E],
    *,
    external: bool = False,
    on_give_up: Callable[[E, str], None] | None = None,
) -> Callable[[Callable[[E], None]], Callable[[E], None]]:
    """Register ``func`` to run for every ``event_cls`` emitted. Handlers must be idempotent.

    ``external=True``: the handler does network I/O and runs outside a database transaction (see the
    module docstring). ``on_give_up(event, error)`` runs when the last attempt has failed.
    """

    def decorator(func: Callable[[E], None]) -> Callable[[E], None]:
        key = f"{func.__module__}.{func.__qualname__}"
        _HANDLERS.setdefault(event_cls.name, {})[key] = HandlerSpec(key, func, external, on_give_up)
        return func

    return decorator


def emit(event: DomainEvent, *, delay: timedelta | None = None) -> int:
    """Queue ``event`` for its handlers; must run inside the transaction of the change."""
    return emit_many([event], delay=delay)


def emit_many(events: Iterable[DomainEvent], *, delay: timedelta | None = None) -> int:
    """Queue several events with one INSERT (a notice to thousands of people is one transaction)."""
    if not connection.in_atomic_block:
        raise RuntimeError("emit() must be called inside transaction.atomic() with the change it reports")
    now = timezone.now()
    available = now + delay if delay else now
    rows: list[OutboxTask] = []
    for event in events:
        if _EVENTS.get(event.name) is not type(event):
            raise TypeError(f"{type(event).__name__} is not a registered event (use @register_event)")
        payload = event.model_dump(mode="json")
        event_id = uuid.uuid4()  # one id for all handlers of this emission
        rows.extend(
            OutboxTask(
                event_id=event_id,
                event_type=event.name,
                handler=key,
                payload=payload,
                created_at=now,
                available_at=available,
            )
            for key in _HANDLERS.get(event.name, {})
        )
    OutboxTask.objects.bulk_create(rows, batch_size=500)
    if rows:
        _announce()
    return len(rows)


# Waking the worker: a task queued by a request is picked up at once instead of after the worker's
# idle sleep (an urgent alert's SMS waited up to a second). In the same process (`serve
# --with-worker`) an event set when the transaction commits; across processes on PostgreSQL a
# NOTIFY sent after the commit (none after a rollback). Without either (a separate
# worker on SQLite) the worker polls as before.
WAKE_CHANNEL = "shequ_outbox"
_WAKE = threading.Event()


def _announce() -> None:
    """Wake the worker once the transaction commits: one wake-up per transaction, however many
    events it queues (a 12345 import queues thousands)."""
    if any(entry[1] is _wake for entry in connection.run_on_commit):
        return
    transaction.on_commit(_wake)


def _wake() -> None:
    _WAKE.set()
    if connection.vendor == "postgresql":
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"NOTIFY {WAKE_CHANNEL}")
        except Exception:  # the task is committed; a worker of another process finds it when it polls
            log.debug("outbox: NOTIFY failed", exc_info=True)


def _idle(seconds: float) -> None:
    """Sleep until ``seconds`` pass or a task is queued (see ``_announce``); ``work`` clears the
    event before each pass."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        try:
            connection.ensure_connection()
            raw = connection.connection
            raw.execute(f"LISTEN {WAKE_CHANNEL}")
            if _WAKE.is_set():
                return
            # Notifications that came during the last pass are buffered: they end the wait at once.
            for _note in raw.notifies(timeout=seconds, stop_after=1):
                break
            return
        except Exception:  # the database away (the next pass notices and waits it out), or no LISTEN
            log.debug("outbox: cannot listen for new tasks, polling", exc_info=True)
    _WAKE.wait(seconds)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: 5 s, 10 s, 20 s … capped at an hour."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** (attempts - 1), BACKOFF_MAX_SECONDS))


_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![\dXx])(\d{6})\d{8}(\d{3}[\dXx])(?![\dXx])")


def scrub(text: str) -> str:
    """Mask mobile and ID numbers that an error message might carry (security requirement 11)."""
    return _MOBILE.sub(r"\1****\2", _ID_NUMBER.sub(r"\1********\2", text))


def _error_text(exc: BaseException) -> str:
    return scrub("".join(traceback.format_exception_only(exc)).strip())[:2000]


def _spec(task: OutboxTask) -> HandlerSpec | None:
    return _HANDLERS.get(task.event_type, {}).get(task.handler)


def _event(task: OutboxTask, spec: HandlerSpec | None) -> DomainEvent:
    if spec is None or task.event_type not in _EVENTS:
        # Maybe a worker running older code: fail this attempt and let a newer worker retry it.
        raise LookupError(f"no handler {task.handler} for {task.event_type} in this worker")
    return _EVENTS[task.event_type].model_validate(task.payload)


def _lock(qs: QuerySet[OutboxTask], *, skip_locked: bool) -> QuerySet[OutboxTask]:
    if connection.features.has_select_for_update_skip_locked and skip_locked:
        return qs.select_for_update(skip_locked=True)
    if connection.features.has_select_for_update:
        return qs.select_for_update()
    return qs  # SQLite: the IMMEDIATE transaction already holds the write lock


def _settle(task: OutboxTask, spec: HandlerSpec | None, event: DomainEvent | None, error: str | None) -> None:
    """Record the outcome of an attempt; call inside a transaction holding the task."""
    now = timezone.now()
    if error is None:
        task.status = OutboxStatus.DONE
        task.done_at = now
        task.last_error = ""
    else:
        log.warning("outbox task %s (%s) attempt %s failed: %s", task.pk, task.handler, task.attempts, error)
        task.last_error = error
        if task.attempts >= MAX_ATTEMPTS:
            task.status = OutboxStatus.FAILED
            if spec is not None and spec.on_give_up is not None and event is not None:
                try:
                    with transaction.atomic():
                        spec.on_give_up(event, error)
                except Exception:
                    log.exception("on_give_up of outbox task %s failed", task.pk)
        else:
            task.available_at = now + backoff(task.attempts)
    task.save(update_fields=["attempts", "status", "available_at", "last_error", "done_at"])


def run_one(stop: Callable[[], bool] | None = None) -> bool:
    """Claim and run one due task. Returns False when nothing was due."""
    with transaction.atomic():
        due = OutboxTask.objects.filter(status=OutboxStatus.PENDING, available_at__lte=timezone.now())
        task = _lock(due.order_by("available_at", "id"), skip_locked=True).first()
        if task is None:
            return False
        spec = _spec(task)
        if spec is not None and spec.external:
            if task.attempts >= MAX_ATTEMPTS:  # its lease ran out on the last attempt: the worker died
                try:
                    event: DomainEvent | None = _event(task, spec)
                except Exception:
                    event = None
                _settle(task, spec, event, "worker stopped during the last attempt")
                return True
            task.attempts += 1
            task.available_at = timezone.now() + timedelta(seconds=lease_seconds())
            task.save(update_fields=["attempts", "available_at"])
        else:
            _run_in_transaction(task, spec)
            return True
    _run_external(task, spec, stop)
    return True


def _run_in_transaction(task: OutboxTask, spec: HandlerSpec | None) -> None:
    task.attempts += 1
    event: DomainEvent | None = None
    error: str | None = None
    try:
        with transaction.atomic():  # a savepoint: a failing handler's writes are undone
            event = _event(task, spec)
            assert spec is not None
            _call(task, spec, event)
    except Exception as exc:
        error = _error_text(exc)
    _settle(task, spec, event, error)


def _run_external(task: OutboxTask, spec: HandlerSpec, stop: Callable[[], bool] | None = None) -> None:
    token = task.attempts
    lease_ends = task.available_at
    event: DomainEvent | None = None
    error: str | None = None
    try:
        event = _event(task, spec)
        _call(task, spec, event)
    except Exception as exc:
        error = _error_text(exc)
    watch = outage.OutageWatch(f"worker settling outbox task {task.pk}")
    while True:
        try:
            _settle_if_held(task.pk, token, spec, event, error)
            watch.ok()
            return
        except outage.DATABASE_ERRORS as exc:
            # The message went out; recording it may wait for the database while the lease holds.
            wait = watch.failed(exc)
            if timezone.now() + timedelta(seconds=wait) >= lease_ends or (stop and stop()):
                raise
            outage.sleep(wait, stop)


def _settle_if_held(
    pk: int, token: int, spec: HandlerSpec, event: DomainEvent | None, error: str | None
) -> None:
    with transaction.atomic():
        # Settle only if the lease is still ours: same attempt number, still pending.
        held = _lock(
            OutboxTask.objects.filter(pk=pk, status=OutboxStatus.PENDING, attempts=token),
            skip_locked=False,
        ).first()
        if held is None:
            log.warning("outbox task %s: lease lost before the handler finished", pk)
            return
        _settle(held, spec, event, error)


def run_pending(limit: int | None = None, *, stop: Callable[[], bool] | None = None) -> int:
    """Run due tasks until none is left (or ``limit``, or ``stop()``); used by tests and the worker."""
    count = 0
    while (limit is None or count < limit) and not (stop and stop()) and run_one():
        count += 1
    return count


def requeue_failed(*, task_ids: Iterable[int] | None = None) -> int:
    """Give failed tasks a fresh set of attempts (after the cause has been fixed)."""
    qs = OutboxTask.objects.filter(status=OutboxStatus.FAILED)
    if task_ids is not None:
        qs = qs.filter(pk__in=list(task_ids))
    return qs.update(status=OutboxStatus.PENDING, attempts=0, available_at=timezone.now())


# Periodic jobs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    func: Callable[[], None]


_PERIODIC: dict[str, PeriodicJob] = {}


def periodic(name: str, every: timedelta) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Run the decorated function about once per ``every`` in one of the workers.

    At most once per period: a worker that dies inside the job does not retry it before the next
    period, so a job that must not be skipped should only queue events (which are retried).
    """

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
        row, _ = ScheduledJob.objects.get_or_create(name=job.name, defaults={"next_run_at": now})
        if row.next_run_at > now:
            continue
        claimed = ScheduledJob.objects.filter(name=job.name, next_run_at__lte=now).update(
            next_run_at=now + job.every, last_run_at=now
        )
        if not claimed:
            continue  # another worker took this period
        try:
            job.func()
        except Exception as exc:
            log.error("periodic job %s failed: %s", job.name, _error_text(exc))
        ran.append(job.name)
    return ran


def work(
    *,
    once: bool = False,
    drain: bool = False,
    idle_sleep: float = 1.0,
    stop: Callable[[], bool] | None = None,
) -> None:
    """The worker loop behind ``shequ worker``.

    ``once``: one pass over what is due; ``drain``: until nothing is due; otherwise until ``stop()``.
    A long-running worker seals the audit log in a thread of its own, so that a long batch of tasks
    never delays sealing, records a heartbeat, and waits out database outages (one log line when the
    database goes away, one when it is back); ``once``/``drain`` seal in each pass and let a database
    error end the run.
    """
    from shequ.core import audit

    should_stop = stop or (lambda: False)
    long_running = not (once or drain)
    heartbeat = Heartbeat() if long_running else None
    watch = outage.OutageWatch("worker")
    if long_running:
        audit.start_sealer(should_stop)
    try:
        while True:
            # Cleared before the pass, not after the sleep: a task queued while the pass runs keeps
            # the event set, and the next sleep ends at once.
            _WAKE.clear()
            try:
                did = _pass(seal=not long_running, heartbeat=heartbeat, stop=should_stop)
            except outage.DATABASE_ERRORS as exc:
                if not long_running:
                    raise
                outage.sleep(watch.failed(exc), should_stop)
                if should_stop():
                    return
                continue
            watch.ok()
            if once or (drain and not did) or should_stop():
                return
            if not did:
                _idle(idle_sleep)
    finally:
        if heartbeat is not None:
            heartbeat.end()


def _pass(*, seal: bool, heartbeat: Heartbeat | None, stop: Callable[[], bool]) -> int:
    """Periodic jobs, then up to ``BATCH`` due tasks; returns how many tasks ran."""
    from shequ.core import audit

    if not connection.in_atomic_block:  # (never inside a caller's transaction, e.g. a test's)
        close_old_connections()  # drop connections the database closed while we slept
    if heartbeat is not None:
        heartbeat.beat()
    if seal:
        audit.seal_all()
    run_due_periodic()
    did = 0
    while did < BATCH and not stop():
        if heartbeat is not None:
            heartbeat.beat()  # (a write only every WORKER_HEARTBEAT_SECONDS)
        if not run_one(stop):
            break
        did += 1
    return did
