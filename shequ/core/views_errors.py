"""The platform's own error answers, for every area of the site in its own format.

Django calls these handlers (``shequ/urls.py``: ``handler400`` … ``handler500``, and
``CSRF_FAILURE_VIEW``) for every error no view answered itself: pages get a page of ours in the
user's language with the site's navigation, the JSON API its error body (``apierrors``), and an
area that registers its own format (Open311: the spec's error list) gets that. It is the one
place where a request body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` becomes a 413: Django raises
``RequestDataTooBig`` wherever the body is first read (a view, the CSRF check, ninja's parser,
which hands it on) and answers it through ``handler400``; a declared ``Content-Length`` over the
limit is refused earlier still, before the body is read (``core/middleware.RequestSizeMiddleware``).

An unexpected exception is a 500 with an error id, shown to the user and added to the server log's
line for the request (``ErrorIdFilter``), so the help desk can find the traceback. A database that
cannot be reached (``core/outage``) is a 503 with ``Retry-After`` instead: nothing is wrong with the
request, it can be sent again, and the page is rendered without touching the database.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from shequ.core import apierrors
from shequ.core.outage import RETRY_AFTER_SECONDS, database_unavailable

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# (path prefix, renderer(request, status, message)): areas with an error format of their own.
ErrorRenderer = Callable[[HttpRequest, int, str], HttpResponse]
_AREAS: list[tuple[str, ErrorRenderer]] = []


def register_area(prefix: str, renderer: ErrorRenderer) -> None:
    """Answer errors under ``prefix`` with ``renderer`` (an app calls this from ``ready()``)."""
    if all(p != prefix for p, _r in _AREAS):
        _AREAS.append((prefix, renderer))


def _titles() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood. Go back and try again.")),
        403: (_("Not allowed"), _("You are not allowed to do this here.")),
        404: (
            _("Page not found"),
            _("There is no page at this address. Check the address, or start again from the home page."),
        ),
        413: (
            _("Too much at once"),
            _(
                "What you sent is too large to be accepted. "
                "Send less at once, for example fewer or smaller photos."
            ),
        ),
        500: (_("Something went wrong"), _("An unexpected error happened. It has been logged.")),
        503: (
            _("Briefly unavailable"),
            _(
                "The platform cannot reach its database right now. What you sent may not have been "
                "saved: wait a minute, check, and send it again if it is not there."
            ),
        ),
    }


# What the web server in front answers itself, when the platform cannot: a body over its limit,
# the platform stopped or restarting (502), or too slow to answer (504).
FRONT_STATUSES = (413, 502, 503, 504)


def _front_titles() -> dict[int, tuple[str, str]]:
    restarting = (
        _("Briefly unavailable"),
        _(
            "The platform is restarting or too busy to answer right now. What you sent may not have "
            "been saved: wait a minute, check, and send it again if it is not there."
        ),
    )
    return {**_titles(), 502: restarting, 503: restarting, 504: restarting}


def write_front_error_pages(folder: Path) -> list[Path]:
    """The error pages for nginx's ``error_page`` (docs/operations.md), in the default language
    with the site's look: ``folder/413.html`` …, rendered from the page the platform answers with
    itself, so the web server's own answers are not in English. Written at every ``shequ serve``
    start (the stylesheet's fingerprinted name changes with a release)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with translation.override(settings.LANGUAGE_CODE):
        titles = _front_titles()
        for status in FRONT_STATUSES:
            title, text = titles[status]
            context = {"status": status, "title": title, "message": text, "hint": "", "error_id": ""}
            path = folder / f"{status}.html"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(render_to_string("core/error_plain.html", context), encoding="utf-8")
            tmp.replace(path)  # nginx never reads a half-written page
            written.append(path)
    return written


def new_error_id() -> str:
    """A short id the user can read out to the help desk; the log line of the request carries it."""
    return uuid.uuid4().hex[:12]


def error_response(
    request: HttpRequest,
    status: int,
    message: str = "",
    *,
    hint: str = "",
    error_id: str = "",
    plain: bool = False,
) -> HttpResponse:
    """The error ``status`` as the area of ``request.path`` answers errors.

    ``plain``: render the page without the parts of the shell that read the database (navigation,
    the current region), for when the database is the problem.
    """
    path = request.path_info
    if path.startswith(API_PREFIX):
        details = {"error_id": error_id} if error_id else {}
        return apierrors.error_response(
            status, message=message or apierrors.default_message(status), details=details
        )
    title, default = _titles().get(status, (_("Error"), _("The request failed.")))
    text = message or default
    for prefix, renderer in _AREAS:
        if path.startswith(prefix):
            return renderer(request, status, f"{text} ({error_id})" if error_id else text)
    context = {"status": status, "title": title, "message": text, "hint": hint, "error_id": error_id}
    if plain:
        return HttpResponse(render_to_string("core/error_plain.html", context), status=status)
    try:
        body = render_to_string("core/error.html", context, request=request)
    except Exception:  # the page shell needs the database (navigation); never fail twice
        logger.exception("error page %s could not be rendered with the site's shell", status)
        body = render_to_string("core/error_plain.html", context)
    return HttpResponse(body, status=status)


def unavailable_response(request: HttpRequest, error_id: str) -> HttpResponse:
    """The 503 for a database that cannot be reached, with ``Retry-After``."""
    response = error_response(request, 503, error_id=error_id, plain=True)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        return error_response(request, 413)
    return error_response(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # A PermissionDenied raised with a message says what exactly is not allowed.
    return error_response(
        request,
        403,
        str(exception or ""),
        hint=_(
            "Nothing was changed. If you need this, ask your community head or the security administrator."
        ),
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # Never the resolver's message: it lists the site's URL patterns.
    return error_response(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception, which is still the current one here.
    error_id = new_error_id()
    request.shequ_error_id = error_id  # type: ignore[attr-defined]  # for core/logs.ErrorIdFilter
    if database_unavailable(sys.exc_info()[1]):
        request.shequ_database_unavailable = True  # type: ignore[attr-defined]
        return unavailable_response(request, error_id)
    return error_response(request, 500, error_id=error_id)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without a valid CSRF token: usually a page left open past the session."""
    return error_response(
        request,
        403,
        _("This form has expired or was not sent from this site, so nothing was changed."),
        hint=_("Go back, reload the page and send the form again."),
    )
