"""``/healthz``, ``/readyz`` and ``/metrics``: thin views over ``core/health.py``.

Served by ``ProbeMiddleware`` ahead of the session, login and host middleware (no session row, no
redirect), without login, never cached, and with no personal data in them.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from shequ.core import health

RETRY_AFTER_SECONDS = 10


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """The process answers: no database access."""
    return _no_store(HttpResponse("ok\n", content_type="text/plain; charset=utf-8"))


@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    ready, payload = health.ready_payload(health.readiness())
    response = JsonResponse(payload, status=200 if ready else 503)
    if not ready:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        # Not logged as a server error: a balancer asks every few seconds, the worker logs the outage.
        response._has_been_logged = True  # type: ignore[attr-defined]
    return _no_store(response)


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    if not health.metrics_allowed(request):
        return _no_store(HttpResponse("forbidden\n", status=403, content_type="text/plain; charset=utf-8"))
    return _no_store(HttpResponse(generate_latest(health.REGISTRY), content_type=CONTENT_TYPE_LATEST))
