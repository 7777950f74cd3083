"""Open311 GeoReport v2 endpoints (shequ/grid/open311.py holds the mapping; these views parse the
request, pick the format from the path's suffix and write JSON or XML, errors included).

Plain views rather than the ninja API: the spec fixes its own paths, XML bodies and error shape. Keys
come as the ``api_key`` parameter, never from cookies, so the views are exempt from CSRF.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from shequ.core.apiauth import ApiThrottle
from shequ.core.models import ApiToken
from shequ.grid import open311
from shequ.grid.open311 import Open311Error

CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# XML element of each item in a list, by the list's name (the spec's plural → singular).
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
# Characters XML 1.0 cannot carry at all (a description may hold them; they are dropped).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# --- Rendering ----------------------------------------------------------------------------------------


def _xml_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_ILLEGAL.sub("", str(value))


def _xml_fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_fill(ET.SubElement(element, key), item)
    elif isinstance(value, list):
        child_name = ITEM_NAMES[element.tag]
        for item in value:
            _xml_fill(ET.SubElement(element, child_name), item)
    else:
        element.text = _xml_text(value)


def to_xml(root: str, data: Any) -> bytes:
    element = ET.Element(root)
    _xml_fill(element, data)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(
        element, encoding="utf-8", xml_declaration=False
    )


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def render(fmt: str, root: str, data: Any, status: int = 200) -> HttpResponse:
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False, default=_json_safe).encode()
    else:
        body = to_xml(root, data)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def error_response(fmt: str, status: int, descriptions: list[str]) -> HttpResponse:
    errors = [{"code": status, "description": d} for d in descriptions]
    response = render(fmt if fmt in CONTENT_TYPES else "xml", "errors", errors, status)
    return response


def spec_error(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """The platform's error answers under /open311/ (413, 404, 500 …) as the spec's error list, in
    the format the path asks for (XML, the spec's default, unless it ends in .json)."""
    return error_response("json" if request.path_info.endswith(".json") else "xml", status, [message])


# --- Plumbing -----------------------------------------------------------------------------------------

View = Callable[..., HttpResponse]


def endpoint(methods: tuple[str, ...]) -> Callable[[View], View]:
    """Method check, jurisdiction, rate limit and spec errors around a view ``(request, fmt, …)``."""

    def wrap(view: View) -> View:
        @csrf_exempt
        def inner(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())
            if request.method not in allowed:
                response = error_response(
                    fmt, 405, [_("This method is not allowed here; use %(m)s.") % {"m": ", ".join(methods)}]
                )
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            throttle = ApiThrottle()
            try:
                params = request.POST if request.method == "POST" else request.GET
                open311.check_jurisdiction(params)
                token = _optional_token(request, params)
                if not throttle.allow_request(request):
                    wait = math.ceil(throttle.wait() or 1)
                    response = error_response(
                        fmt, 429, [_("Too many requests; retry in %(s)d seconds.") % {"s": wait}]
                    )
                    response["Retry-After"] = str(wait)
                    return response
                return view(request, fmt, token=token, **kwargs)
            except Open311Error as exc:
                return error_response(fmt, exc.status, exc.descriptions)
            except (MultiPartParserError, TooManyFieldsSent):
                # A body over the size limit is not caught here: core/views_errors.py answers it (413)
                # through spec_error below, as for every other area.
                return error_response(fmt, 400, [_("The request body cannot be read.")])

        return inner

    return wrap


def _optional_token(request: HttpRequest, params: Any) -> ApiToken | None:
    """A GET may carry an api_key (its owner then sees its own requests in full); a wrong one is a 403."""
    raw = str(params.get("api_key") or "")
    if request.method != "POST" and not raw:
        return None
    token = open311.authenticate(raw, request)
    request.api_token = token  # type: ignore[attr-defined]  # the throttle counts per key
    request.user = token.user
    return token


# --- Endpoints ----------------------------------------------------------------------------------------


@endpoint(("GET",))
def discovery(request: HttpRequest, fmt: str, token: ApiToken | None) -> HttpResponse:
    url = request.build_absolute_uri(reverse("open311:root"))
    return render(fmt, "discovery", open311.discovery(url))


@endpoint(("GET",))
def service_list(request: HttpRequest, fmt: str, token: ApiToken | None) -> HttpResponse:
    return render(fmt, "services", open311.service_list())


@endpoint(("GET",))
def service_definition(request: HttpRequest, fmt: str, code: str, token: ApiToken | None) -> HttpResponse:
    return render(fmt, "service_definition", open311.service_definition(code))


@endpoint(("GET", "POST"))
def requests(request: HttpRequest, fmt: str, token: ApiToken | None) -> HttpResponse:
    if request.method == "POST":
        assert token is not None
        ticket = open311.submit_request(token, request.POST, request)
        created = {
            "service_request_id": ticket.number,
            "token": str(ticket.uid),
            "service_notice": open311.created_notice(ticket),
            "account_id": None,
        }
        return render(fmt, "service_requests", [created])
    query = open311.parse_query(request.GET)
    return render(fmt, "service_requests", open311.request_list(query, token))


@endpoint(("GET",))
def request_detail(request: HttpRequest, fmt: str, number: str, token: ApiToken | None) -> HttpResponse:
    return render(fmt, "service_requests", [open311.get_request(number, token)])


@endpoint(("GET",))
def token_detail(request: HttpRequest, fmt: str, token_id: str, token: ApiToken | None) -> HttpResponse:
    return render(fmt, "service_requests", [open311.get_token(token_id)])


def root(request: HttpRequest) -> HttpResponse:
    """The endpoint's base URL answers with the discovery document in XML (the required format)."""
    return discovery(request, "xml")


@csrf_exempt
def not_found(request: HttpRequest, path: str) -> HttpResponse:
    fmt = "json" if path.endswith(".json") else "xml"
    return error_response(fmt, 404, [_("There is no such resource; see discovery.xml.")])
