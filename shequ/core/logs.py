"""Logging filters named in ``settings.LOGGING`` (kept free of imports that need the apps loaded)."""

from __future__ import annotations

import logging


class ErrorIdFilter(logging.Filter):
    """On ``django.request``: adds the error id shown to the user to the line that logs the failed
    request, and turns an unreachable database into a warning line without a traceback (during an
    outage every request fails the same way)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # dictConfig adds filters again when logging is configured twice (django.setup() by the
        # command, then by the WSGI module): change each record once.
        if getattr(record, "shequ_error_id_done", False):
            return True
        record.shequ_error_id_done = True
        request = getattr(record, "request", None)
        error_id = getattr(request, "shequ_error_id", "")
        if error_id:
            record.msg = f"{record.msg} [error id {error_id}]"
        if getattr(request, "shequ_database_unavailable", False):
            exc = record.exc_info[1] if record.exc_info else None
            said = f"{type(exc).__name__}: {exc}".replace("%", "%%")  # msg is %-formatted with args
            record.msg = f"{record.msg}: database unavailable ({said})"
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
