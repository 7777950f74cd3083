"""The API's error contract: every error is ``{"code", "message", "details"}`` with a 4xx/5xx status.

Apps raise :class:`ApiError` (or Django's ``Http404``/``PermissionDenied``/``ValidationError`` from
services and selectors); :func:`install` registers the handlers that turn them into that body.
Unexpected exceptions become a generic 500 with an error id that is also in the server log — never a
stack trace.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import Field

from shequ.core.outage import RETRY_AFTER_SECONDS, database_unavailable

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger("shequ.api")


class ErrorOut(Schema):
    """The body of every error response."""

    code: str = Field(description="Machine-readable error code, e.g. `not_found` or `validation_error`.")
    message: str = Field(description="Human-readable explanation in the request's language.")
    details: dict[str, Any] = Field(default_factory=dict, description="Structured extra information.")


class UnsupportedMediaType(Exception):
    """A body in another format than the operation reads (raised by the API's JSON parser)."""

    def __init__(self, content_type: str) -> None:
        super().__init__(content_type)
        self.content_type = content_type


class ApiError(Exception):
    """An error with a status, a machine code and a human message; raise it from views and auth."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


# Messages for the statuses that ninja or Django raise without a code of ours.
DEFAULT_CODES: dict[int, str] = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "server_error",
    503: "service_unavailable",
}

# The statuses documented on every operation (besides the ones an operation declares itself).
COMMON_ERROR_STATUSES: tuple[int, ...] = (400, 401, 403, 404, 429, 500, 503)


def default_message(status: int) -> str:
    messages = {
        400: _("The request is not valid."),
        401: _("Authentication is required."),
        403: _("You are not allowed to do this."),
        404: _("Not found."),
        405: _("This method is not allowed here."),
        409: _("The request conflicts with the current state."),
        413: _("The request body is too large."),
        415: _("Send the request body as JSON, with the header Content-Type: application/json."),
        429: _("Too many requests; slow down."),
        500: _("An unexpected error happened. It has been logged."),
        503: _("The service cannot reach its database right now; retry after the time in Retry-After."),
    }
    return messages.get(status, _("The request failed."))


def error_response(
    status: int, code: str | None = None, message: str | None = None, details: dict[str, Any] | None = None
) -> HttpResponse:
    body = {
        "code": code or DEFAULT_CODES.get(status, "error"),
        "message": message or default_message(status),
        "details": details or {},
    }
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def _field_errors(raw: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """ninja/pydantic error dicts → ``[{"location", "field", "error"}]``."""
    out = []
    for err in raw:
        loc = [str(p) for p in err.get("loc", ())]
        location = loc[0] if loc else ""
        # ninja wraps each parameter group under its own name (e.g. query.filters.page); keep the leaf path.
        field = ".".join(loc[1:]) if len(loc) > 1 else ""
        out.append({"location": location, "field": field, "error": str(err.get("msg", "invalid"))})
    return out


def _django_field_errors(exc: DjangoValidationError) -> list[dict[str, str]]:
    if hasattr(exc, "error_dict"):
        return [
            {"location": "body", "field": name, "error": str(message)}
            for name, errors in exc.message_dict.items()
            for message in errors
        ]
    return [{"location": "body", "field": "", "error": str(message)} for message in exc.messages]


def install(api: NinjaAPI) -> None:
    """Register the error handlers on ``api`` (replacing ninja's defaults)."""

    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    def on_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        return error_response(
            400,
            "validation_error",
            _("Some request fields are not valid."),
            {"errors": _field_errors(exc.errors)},
        )

    def on_django_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return error_response(
            400,
            "validation_error",
            _("Some request fields are not valid."),
            {"errors": _django_field_errors(exc)},
        )

    def on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        # Out-of-scope objects are reported exactly like missing ones.
        return error_response(404, "not_found", _("Not found."))

    def on_permission_denied(request: HttpRequest, exc: Exception) -> HttpResponse:
        message = str(exc) or default_message(403)
        return error_response(403, "permission_denied", message)

    def on_throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        details = {"retry_after": round(exc.wait)} if exc.wait is not None else {}
        return error_response(429, "rate_limited", default_message(429), details)

    def on_authentication(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(401, "not_authenticated", default_message(401))

    def on_authorization(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(403, "permission_denied", default_message(403))

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # ninja raises these for malformed bodies ("Cannot parse request body") and the like; it
        # wraps what the parser raised, so a body that is not JSON at all is told apart here.
        if isinstance(exc.__cause__, UnsupportedMediaType):
            return error_response(415, details={"content_type": exc.__cause__.content_type[:100]})
        status = exc.status_code if 400 <= exc.status_code < 600 else 500
        return error_response(status, DEFAULT_CODES.get(status, "error"), default_message(status))

    def on_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        # Handed on to Django, whose handler400 (core/views_errors.py) answers these for every
        # area in one place: a body over the upload limit (RequestDataTooBig) becomes a 413.
        raise exc

    def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        error_id = uuid.uuid4().hex[:12]
        if database_unavailable(exc):  # not the request's fault: send it again later
            logger.warning(
                "API %s on %s %s: database unavailable (%s: %s)",
                error_id,
                request.method,
                request.path,
                type(exc).__name__,
                exc,
            )
            response = error_response(503, details={"error_id": error_id})
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        logger.exception("API error %s on %s %s", error_id, request.method, request.path)
        return error_response(500, "server_error", default_message(500), {"error_id": error_id})

    handlers: list[tuple[type[Exception], Callable[[HttpRequest, Any], HttpResponse]]] = [
        (ApiError, on_api_error),
        (NinjaValidationError, on_validation),
        (DjangoValidationError, on_django_validation),
        (Http404, on_not_found),
        (PermissionDenied, on_permission_denied),
        (Throttled, on_throttled),
        (AuthenticationError, on_authentication),
        (AuthorizationError, on_authorization),
        (HttpError, on_http_error),
        (SuspiciousOperation, on_suspicious),
        (Exception, on_unexpected),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)
