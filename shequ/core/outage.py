"""Surviving a database outage in the long-running loops (the worker, its scheduler, the audit sealer).

A loop catches :data:`DATABASE_ERRORS`, hands them to an :class:`OutageWatch` (one log line when the
database goes away, one when it is back; the broken connection is dropped) and waits the delay it
returns: none after a first error (maybe just a stale connection), then exponential backoff with
jitter between ``DB_RETRY_MIN_SECONDS`` and ``DB_RETRY_MAX_SECONDS``, so that a restarted database
is not hit by every worker at the same instant.

:func:`database_unavailable` tells the web side the same thing about one request's error: a 503 with
``Retry-After`` instead of a 500 (``core/views_errors.py``, ``core/apierrors.py``). It is stricter
than :data:`DATABASE_ERRORS`: SQLite also raises ``OperationalError`` for mistakes in SQL ("no such
column"), and those stay 500s with an error id.

:func:`supervise` runs a loop in a daemon thread and starts it again (with the same backoff) whenever
it dies of any exception: the in-process worker of ``shequ serve --with-worker`` and the audit sealer.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable

import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

log = logging.getLogger(__name__)

# What a database that is gone (restarting, unreachable, locked too long) raises. Django wraps the
# driver's errors in its own classes; the drivers' are listed for the few paths it does not wrap.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
)


# SQLite's messages for a database that cannot be used right now, as opposed to a wrong statement.
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "unable to open database",
    "disk i/o error",
    "database disk image is malformed",
    "readonly database",
)

# How long clients are asked to wait before sending again (seconds).
RETRY_AFTER_SECONDS = 30


def database_unavailable(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what it was raised from) says the database cannot be reached now."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sqlite3.Error):
            return str(exc).lower().startswith(_SQLITE_UNAVAILABLE)
        if isinstance(exc, InterfaceError | psycopg.InterfaceError | psycopg.OperationalError):
            return True
        if isinstance(exc, OperationalError):
            # Django re-raises the driver's error as its own, ``from`` the original.
            if isinstance(exc.__cause__, sqlite3.Error):
                return str(exc.__cause__).lower().startswith(_SQLITE_UNAVAILABLE)
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def describe(exc: BaseException) -> str:
    """The error's class and first line: enough to tell "refused" from "timed out", no stack."""
    from shequ.core.outbox import scrub

    first = (str(exc).strip().splitlines() or [""])[0]
    return scrub(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)[:300]


def drop_connection() -> None:
    """Close this thread's connection (it may be half-dead); the next query opens a new one.
    Never inside a caller's transaction (a test's), whose connection must stay."""
    if connection.in_atomic_block:
        return
    try:
        connection.close()
    except Exception:  # closing a broken connection may fail too; it is gone either way
        log.debug("closing the broken database connection failed", exc_info=True)


class Backoff:
    """Delays of about 1, 2, 4 … seconds up to a cap, each drawn from its upper half (jitter)."""

    def __init__(self, first: float | None = None, cap: float | None = None) -> None:
        self.first = settings.DB_RETRY_MIN_SECONDS if first is None else first
        self.cap = max(self.first, settings.DB_RETRY_MAX_SECONDS if cap is None else cap)
        self.failures = 0

    def next(self) -> float:
        delay = min(self.cap, self.first * 2 ** min(self.failures, 30))
        self.failures += 1
        return random.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.failures = 0


class _ProcessState:
    """Whether this process currently sees the database as gone: the loops of one process (worker,
    sealer, a settling task) share it, so an outage is one log line, not one per thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_since: float | None = None


_process = _ProcessState()


class OutageWatch:
    """One loop's view of the database: its own backoff, and the process's one log line when the
    database goes away and one when it is back."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.backoff = Backoff()
        self.failing = False

    def failed(self, exc: BaseException) -> float:
        """Record a failed attempt; returns how long to wait before the next one."""
        drop_connection()
        if not self.failing:
            # The first error may come from a connection that the server closed while this loop
            # slept (a restart or outage it never saw): try again at once on a new connection
            # before calling it an outage.
            self.failing = True
            return 0.0
        with _process.lock:
            if _process.down_since is None:
                _process.down_since = time.monotonic()
                log.error(
                    "database unavailable (%s, seen by the %s); retrying with backoff up to %g s "
                    "until it is back",
                    describe(exc),
                    self.what,
                    self.backoff.cap,
                )
        return self.backoff.next()

    def ok(self) -> None:
        """Record a successful round trip; the first loop to get through logs the end of the outage."""
        if self.failing:
            self.failing = False
            self.backoff.reset()
        if _process.down_since is None:  # the usual case: no lock taken
            return
        with _process.lock:
            if _process.down_since is not None:
                log.warning(
                    "database available again after %.1f s (seen by the %s)",
                    time.monotonic() - _process.down_since,
                    self.what,
                )
                _process.down_since = None


def sleep(seconds: float, stop: Callable[[], bool] | None = None) -> None:
    """Wait ``seconds``, or less when ``stop()`` turns true (checked a few times a second)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if stop is not None and stop():
            return
        time.sleep(min(left, 0.2))


def supervise(
    name: str, target: Callable[[], None], stop: Callable[[], bool] | None = None
) -> threading.Thread:
    """Run ``target`` in a daemon thread; if it raises (or returns before ``stop()``), log it and run
    it again after a backoff delay. A run that lasted longer than the longest delay starts the
    backoff afresh."""
    should_stop = stop or (lambda: False)

    def run() -> None:
        backoff = Backoff()
        while not should_stop():
            started = time.monotonic()
            try:
                target()
                if should_stop():
                    return
                log.error("%s stopped unexpectedly; starting it again", name)
            except Exception:
                log.exception("%s died; starting it again", name)
            finally:
                drop_connection()
            if time.monotonic() - started > backoff.cap:
                backoff.reset()
            sleep(backoff.next(), should_stop)

    thread = threading.Thread(target=run, daemon=True, name=name)
    thread.start()
    return thread
