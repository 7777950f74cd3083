"""Telling "the database is unreachable" apart from a bug.

The error pages answer the first with a 503 and ``Retry-After`` (the request can simply be sent
again), the worker and the audit sealer wait and reconnect; anything else stays a 500 with an error
id. PostgreSQL reports a lost or refused connection as ``OperationalError``/``InterfaceError``;
SQLite also uses ``OperationalError`` for mistakes in SQL ("no such column"), so for SQLite only the
messages of a busy, missing or failing file count.
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

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
        if isinstance(exc, InterfaceError):
            return True
        if isinstance(exc, OperationalError):
            # Django re-raises the driver's error as its own, ``from`` the original.
            cause = exc.__cause__
            if cause is not None and type(cause).__module__.startswith("sqlite3"):
                return str(cause).lower().startswith(_SQLITE_UNAVAILABLE)
            return True
        exc = exc.__cause__ or exc.__context__
    return False
