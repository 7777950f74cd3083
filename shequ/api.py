"""The JSON API at /api/v1/: mounts each app's router.

To add an app's API, write ``router = Router()`` in ``shequ/<app>/api.py`` (operations take
``auth=api_auth("<area>:read")`` from ``shequ.core.apiauth``) and add one line to ``ROUTERS`` below.
Errors, authentication, rate limits and the OpenAPI error documentation are shared by all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.urls import URLPattern, URLResolver, path, re_path
from ninja import NinjaAPI
from ninja.openapi.schema import REF_TEMPLATE, OpenAPISchema
from ninja.operation import Operation
from ninja.parser import Parser

from shequ.core import apierrors
from shequ.core.apiauth import ApiThrottle, known_scopes

# (prefix, router import path): one line per app.
ROUTERS: list[tuple[str, str]] = [
    ("/", "shequ.core.api.router"),
    ("/registry/", "shequ.registry.api.router"),
    ("/grid/", "shequ.grid.api.router"),
    ("/iot/", "shequ.iot.api.router"),
    ("/iot/", "shequ.iot.api_access.router"),
    ("/govservice/", "shequ.govservice.api.router"),
    ("/sharing/", "shequ.sharing.api.router"),
]

DESCRIPTION = """\
The Shequ platform API.

**Authentication.** Systems send `Authorization: Bearer shq_<prefix>_<secret>` (tokens are issued with
`shequ token create`); each operation names the token scope it needs in `x-token-scope`. A token acts
as its owner, so the owner's region scope applies too. Browser pages use the session cookie; unsafe
methods then need the `X-CSRFToken` header. IoT devices call their two operations (`/iot/ingest`,
`/iot/gate`) with their own device token (`DeviceToken`, `dev_…`), which names a device, not a person.

**Errors.** Every error has the body `{"code": "...", "message": "...", "details": {...}}`:
400 `validation_error` (`details.errors` lists `location`, `field`, `error`), 401 `not_authenticated` /
`invalid_token`, 403 `permission_denied` / `insufficient_scope` / `csrf_failed` /
`second_factor_required`, 404 `not_found` (also for objects outside the caller's regions),
405 `method_not_allowed`, 409 conflicts, 413 `payload_too_large` (a body over 2.5 MB; photo files
excepted), 415 `unsupported_media_type` (a JSON body needs `Content-Type: application/json`),
429 `rate_limited` (`details.retry_after` seconds),
500 `server_error` (`details.error_id` is in the server log).
"""


class ShequOpenAPISchema(OpenAPISchema):
    """Adds the shared error responses and each operation's token scope to the document."""

    def operation_details(self, operation: Operation) -> dict[str, Any]:
        result: dict[str, Any] = super().operation_details(operation)
        self.schemas.setdefault("ErrorOut", apierrors.ErrorOut.model_json_schema(ref_template=REF_TEMPLATE))
        error = {"content": {"application/json": {"schema": {"$ref": REF_TEMPLATE.format(model="ErrorOut")}}}}
        responses = result.setdefault("responses", {})
        sources = {getattr(m, "__ninja_param_source__", "") for m in operation.models}
        statuses = list(apierrors.COMMON_ERROR_STATUSES)
        if sources & {"body", "form", "file"}:
            statuses.append(413)  # core/views_errors.py: a body over the upload limit
        if "body" in sources:
            statuses.append(415)  # JsonBodyParser: a body that is not application/json
        for status in statuses:
            if status not in responses and str(status) not in responses:
                responses[status] = {"description": apierrors.default_message(status), **error}
        scopes = sorted({getattr(a, "scope", None) or "" for a in operation.auth_callbacks} - {""})
        if scopes:
            result["x-token-scope"] = scopes[0] if len(scopes) == 1 else scopes
        return result


class JsonBodyParser(Parser):
    """Reads an operation's JSON body only when it says it is JSON: text/plain, XML or a form sent
    where JSON is expected is a 415 (``apierrors``), not a guess. Operations taking multipart
    forms (photo uploads) never come here."""

    def parse_body(self, request: HttpRequest) -> Any:
        if (request.content_type or "").lower() != "application/json":
            raise apierrors.UnsupportedMediaType(request.content_type or "")
        return super().parse_body(request)


class ShequAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return ShequOpenAPISchema(self, path_prefix)

    def _get_urls(self) -> list[URLPattern | URLResolver]:
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern) and pattern.name not in ("openapi-view",):
                pattern.callback = _json_method_not_allowed(pattern.callback)
        # ninja's root view raises a plain 404 page; ours answers in JSON, as does every unknown path.
        urls = [u for u in urls if getattr(u, "name", None) != "api-root"]
        urls.append(path("", api_index, name="api-root"))
        urls.append(re_path(r"^.*$", api_not_found, name="not-found"))
        return urls


def _json_method_not_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """ninja answers a wrong method with an empty 405; give it the JSON error body (keeping Allow)."""

    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = apierrors.error_response(
                405, details={"allowed": [m.strip() for m in allowed.split(",")]}
            )
            response["Allow"] = allowed
        return response

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]  # the auth classes check CSRF themselves
    return wrapper


def api_index(request: HttpRequest) -> HttpResponse:
    return JsonResponse(
        {
            "openapi": request.build_absolute_uri("openapi.json"),
            "docs": request.build_absolute_uri("docs"),
            "token_scopes": known_scopes(),
        }
    )


def api_not_found(request: HttpRequest) -> HttpResponse:
    return apierrors.error_response(404)


api = ShequAPI(
    title="Shequ API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    parser=JsonBodyParser(),
    throttle=[ApiThrottle()],
)
apierrors.install(api)
for prefix, router in ROUTERS:
    api.add_router(prefix, router)
