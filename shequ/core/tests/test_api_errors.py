"""The API's error contract for every status, the OpenAPI document and the docs page under our CSP."""

from __future__ import annotations

import logging
import re
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from shequ.conftest import World
from shequ.core import apiauth, messaging
from shequ.core.apiauth import known_scopes
from shequ.core.apierrors import COMMON_ERROR_STATUSES
from shequ.core.tests.api_helpers import (
    _fresh_rate_limits,
    assert_error,
    get,
    issue,
    post,
)

__all__ = ["_fresh_rate_limits"]  # fixtures


def test_400_lists_each_invalid_field(world: World) -> None:
    client = Client()
    client.force_login(world["auditor"])
    body = assert_error(get(client, "/audit", page=0, result="maybe"), 400, "validation_error")
    fields = {(e["location"], e["field"]) for e in body["details"]["errors"]}
    assert fields == {("query", "page"), ("query", "result")}
    assert all(e["error"] for e in body["details"]["errors"])


def test_401_403_404_405_409(world: World) -> None:
    assert_error(get(Client(), "/regions"), 401, "not_authenticated")
    assert_error(get(Client(), "/regions", "shq_nope"), 401, "invalid_token")
    assert_error(get(Client(), "/audit", issue(world, "resident")), 403, "permission_denied")
    assert_error(get(Client(), "/regions/430104003", issue(world, "head_a")), 404, "not_found")
    assert_error(Client().get("/api/v1/no/such/thing"), 404, "not_found")

    response = Client().delete("/api/v1/me")
    body = assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"
    assert body["details"]["allowed"] == ["GET"]
    assert_error(Client().get("/api/v1/messages/1/read"), 405, "method_not_allowed")

    message = messaging.notify(sender=None, recipients=[world["head_a"]], subject="Hi", body="")[0]
    assert_error(
        post(Client(), f"/messages/{message.pk}/ack", issue(world, "head_a")), 409, "ack_not_requested"
    )


def test_429_when_the_rate_is_exceeded(world: World, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.API_RATE = "3/min"
    # One fixed window for the whole test: on a slow machine the calls could straddle a minute.
    monkeypatch.setattr(apiauth, "time", SimpleNamespace(time=lambda: 1_800_000_010.0))
    raw, other = issue(world, "head_a"), issue(world, "head_b")
    for _ in range(3):
        assert get(Client(), "/me", raw).status_code == 200
    body = assert_error(get(Client(), "/me", raw), 429, "rate_limited")
    assert 0 < body["details"]["retry_after"] <= 60
    assert get(Client(), "/me", other).status_code == 200  # every token has its own budget


def test_500_is_generic_json_without_a_trace_even_in_debug(
    world: World, settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings.DEBUG = True

    def explode(**kwargs: Any) -> None:
        raise RuntimeError("secret internals 13800001234")

    monkeypatch.setattr("shequ.core.api.selectors.viewer_regions", explode)
    with caplog.at_level(logging.ERROR, logger="shequ.api"):
        response = get(Client(), "/me", issue(world, "head_a"))
    body = assert_error(response, 500, "server_error")
    text = response.content.decode()
    assert "secret internals" not in text and "RuntimeError" not in text and "File " not in text
    assert re.fullmatch(r"[0-9a-f]{12}", body["details"]["error_id"])
    assert body["details"]["error_id"] in caplog.text  # operators find the trace by the id


# --- OpenAPI ---------------------------------------------------------------------------------------


TOKEN_ONLY = {("/api/v1/grid/sensor-alerts", "post")}
# Operations a device calls with its own token (``dev_…``), not a person's: no user, so no scope.
DEVICE_TOKEN = {
    ("/api/v1/iot/ingest/{device}/{channel}", "post"),
    ("/api/v1/iot/gate/{device}/check", "post"),
}

GATEWAY_TOKEN = {("/api/v1/sms/inbound", "post")}
# The public catalog (政务信息资源目录, shequ/sharing/api.py): no credentials, no scope.
PUBLIC = {("/api/v1/sharing/catalog", "get")}
# Shared data (shequ/sharing/api.py): a department token only (no session), its scope checked in the
# operation so that a token without it is logged as a refused sharing call.
SHARING_TOKEN = {("/api/v1/sharing/{resource}/rows", "get")}


def test_openapi_documents_errors_scopes_and_auth(db: None) -> None:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    assert doc["components"]["securitySchemes"]["TokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "shq_<prefix>_<secret>",
        "description": doc["components"]["securitySchemes"]["TokenAuth"]["description"],
    }
    assert doc["components"]["securitySchemes"]["SessionAuth"]["in"] == "cookie"
    assert set(doc["components"]["schemas"]["ErrorOut"]["properties"]) == {"code", "message", "details"}
    operations = [(path, method, op) for path, ops in doc["paths"].items() for method, op in ops.items()]
    assert {(p, m) for p, m, _ in operations} >= {
        ("/api/v1/me", "get"),
        ("/api/v1/regions", "get"),
        ("/api/v1/regions/{code}", "get"),
        ("/api/v1/messages", "get"),
        ("/api/v1/messages/{message_id}/read", "post"),
        ("/api/v1/messages/{message_id}/ack", "post"),
        ("/api/v1/audit", "get"),
    }
    assert {(p, m) for p, m, op in operations if "security" not in op} == PUBLIC
    assert {(p, m) for p, m, op in operations if op.get("security") == [{"DeviceToken": []}]} == DEVICE_TOKEN
    # The SMS gateway's callback takes the gateway's own token (core/api.py), not a user's.
    gateway = {(p, m) for p, m, op in operations if op.get("security") == [{"SmsGatewayToken": []}]}
    assert gateway == GATEWAY_TOKEN
    for path, method, op in operations:
        for status in COMMON_ERROR_STATUSES:
            schema = op["responses"][str(status)]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (path, method, status)
        if (path, method) in DEVICE_TOKEN | GATEWAY_TOKEN | PUBLIC:
            assert "x-token-scope" not in op, (path, method)
            continue
        assert op["x-token-scope"] in known_scopes(), (path, method)
        # Machine-only operations (a sensor gateway posting alerts) take a token and no session.
        if (path, method) in SHARING_TOKEN:
            assert op["security"] == [{"SharingTokenAuth": []}], (path, method)
            assert doc["components"]["securitySchemes"]["SharingTokenAuth"]["scheme"] == "bearer"
            continue
        expected: list[dict[str, list[str]]] = [{"TokenAuth": []}]
        if (path, method) not in TOKEN_ONLY:
            expected.append({"SessionAuth": []})
        assert op["security"] == expected, (path, method)
    ack = doc["paths"]["/api/v1/messages/{message_id}/ack"]["post"]
    assert ack["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")


def test_api_index_is_json(db: None) -> None:
    body = Client().get("/api/v1/").json()
    assert body["openapi"].endswith("/api/v1/openapi.json")
    assert set(body["token_scopes"]) == set(known_scopes())


# --- the docs page ---------------------------------------------------------------------------------


def test_docs_page_uses_only_our_own_static_files(db: None) -> None:
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    srcs = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html)
    assert srcs and all(s.startswith("/static/ninja/") for s in srcs)
    # Only JSON data blocks are inline, and the CSP does not apply to data (it is never executed).
    inline = re.findall(r"<script(?![^>]*\ssrc=)([^>]*)>", html)
    assert all('type="application/json"' in attrs for attrs in inline)
    assert "http://" not in html and "https://" not in html and "style=" not in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_docs_page_renders_in_chromium_without_csp_violations(browser: Any, live_server: Any) -> None:
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        page.goto("/api/v1/docs")
        page.wait_for_selector("#swagger-ui .info .title", timeout=15000)
        assert "Shequ API" in page.inner_text("#swagger-ui .info .title")
        page.locator('[data-path="/api/v1/regions/{code}"]').first.wait_for(timeout=15000)
        assert problems == []  # CSP refusals show up here as console errors
    finally:
        context.close()
