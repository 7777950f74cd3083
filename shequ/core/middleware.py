"""Probes first, then session policy (idle and absolute timeouts, second factor, password expiry)
and cache headers."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.middleware.gzip import GZipMiddleware
from django.urls import resolve, reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from shequ.core import auth
from shequ.core.health import PROBE_PATHS
from shequ.core.permissions import needs_second_factor

API_PREFIX = "/api/"

# Pages that stay reachable while a second factor or a new password is awaited.
_PENDING_OPEN = (
    "core:login",
    "core:logout",
    "core:second_factor",
    "core:totp_setup",
    "core:toggle_elderly",
    "set_language",
)
_EXPIRED_PASSWORD_OPEN = ("core:password_change", "core:logout", "core:toggle_elderly", "set_language")


def _api_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "details": {}}, status=status)


def _open(request: HttpRequest, names: tuple[str, ...]) -> bool:
    path = request.path_info
    if path.startswith(settings.STATIC_URL):
        return True
    return any(path == reverse(name) for name in names)


class ProbeMiddleware:
    """First in the chain: a load balancer's ``/healthz`` and ``/readyz`` and Prometheus's ``/metrics``
    skip the rest of it. They write no session row, need no allowed Host (a balancer asks by IP),
    are not redirected to HTTPS, and stay cheap."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in PROBE_PATHS:
            response: HttpResponse = resolve(request.path_info).func(request)
            return response
        return self.get_response(request)


class SessionPolicyMiddleware:
    """Requirement 4 and 5: timeouts, the second factor and expired staff passwords, for every request.

    Runs after AuthenticationMiddleware and before MessageMiddleware, so notices for the login page
    travel in the session (``auth.NOTICE_KEY``), not in ``django.contrib.messages``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.check(request) or self.get_response(request)

    def check(self, request: HttpRequest) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated:
            pending = auth.PENDING_KEY in request.session and auth.pending_login(request) is not None
            if pending and not _open(request, _PENDING_OPEN):
                return self._second_factor_needed(request)
            return None
        now = time.time()
        if auth.AUTH_AT not in request.session:
            auth.track_session(request, user)
        why = auth.session_expiry(request, user, now)
        if why is not None:
            return self._expired(request, why)
        auth.touch(request, now)
        # Explicitly False: this session was opened without the second factor and now needs it.
        if request.session.get(auth.MFA_KEY) is False and needs_second_factor(user):
            auth.demote_to_pending(request, user)
            return self._second_factor_needed(request)
        if auth.password_expired(user) and not _open(request, _EXPIRED_PASSWORD_OPEN):
            if request.path_info.startswith(API_PREFIX):
                return _api_error(403, "password_expired", _("Your password has expired; change it first."))
            return HttpResponseRedirect(reverse("core:password_change"))
        return None

    def _second_factor_needed(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(API_PREFIX):
            return _api_error(
                403,
                "second_factor_required",
                _("Sign-in is not complete: enter the code from your authenticator app first."),
            )
        return HttpResponseRedirect(reverse("core:second_factor"))

    def _expired(self, request: HttpRequest, why: str) -> HttpResponse:
        auth.end_session(request, action="auth.session_expired", detail={"why": why})
        request.session[auth.NOTICE_KEY] = "expired"
        if request.path_info.startswith(API_PREFIX):
            return _api_error(401, "session_expired", _("Your session has expired; sign in again."))
        login_url = reverse("core:login")
        if request.method == "GET":
            login_url += "?" + urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(login_url)


class NoStoreMiddleware:
    """Pages for signed-in users may show personal data: never let a browser or proxy keep them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            response["Cache-Control"] = "no-store"
        return response


# Answers worth compressing: HTML, JSON, CSV and other text (spreadsheets and images already are).
_COMPRESSIBLE = ("text/", "application/json", "application/javascript", "application/xml")
# Requests the browser says our own pages or the person made (Fetch Metadata, set by the browser).
_OWN_REQUEST = ("same-origin", "none")


class SameOriginGZipMiddleware(GZipMiddleware):
    """Gzips pages and API answers, but only for requests the browser marks as made by our own pages
    or by the person (``Sec-Fetch-Site: same-origin`` or ``none``).

    Compressing a page that holds a secret next to text an attacker chose lets the attacker, who
    can see response sizes on the network, guess the secret byte by byte (BREACH): that needs many
    requests made from the attacker's page, which the browser marks ``cross-site``, and those are
    answered uncompressed. Django also pads each gzip answer with random bytes, and masks the CSRF
    token anew in each response (docs/security.md). Static files are compressed ahead of time by
    WhiteNoise and never pass here."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        patch_vary_headers(response, ("Sec-Fetch-Site",))
        if request.headers.get("Sec-Fetch-Site") not in _OWN_REQUEST:
            return response
        if not response.get("Content-Type", "").startswith(_COMPRESSIBLE):
            return response
        return super().process_response(request, response)


class RequestSizeMiddleware:
    """Refuses a request whose declared ``Content-Length`` is over the limit with a 413 before
    anything reads its body (Django itself would only refuse once a view reads it).

    Uploads (``multipart/form-data``) may be up to ``MAX_REQUEST_BYTES``; every other body up to
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``, Django's limit for what is held in memory. Last in the middleware
    list, so the answer still carries the security headers and, for pages, the signed-in shell; the
    CSRF check reads the body only later, in ``process_view``. ``shequ serve`` also gives waitress the
    same limit, since waitress reads a whole body before it calls the application.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from shequ.core.views_errors import error_response

        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            return error_response(request, 400, _("The request's Content-Length is not a number."))
        if length > limit_for(request.META.get("CONTENT_TYPE", "")):
            return error_response(request, 413)
        return self.get_response(request)


def limit_for(content_type: str) -> int:
    """The largest body accepted for a request of ``content_type``."""
    if content_type.lower().startswith("multipart/form-data"):
        return int(settings.MAX_REQUEST_BYTES)
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or settings.MAX_REQUEST_BYTES)
