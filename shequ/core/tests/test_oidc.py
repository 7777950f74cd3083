"""Unified identity login against a real, local OIDC provider (authorization code + PKCE, RS256
id_token, JWKS, userinfo), driven through Django's test client.

The provider below is a small threaded HTTP server; its ``person`` is whoever "signed in" at the
provider. The test settings switch OIDC on and use this module as the URL configuration (the
project's ``shequ/urls.py`` mounts ``oidc/`` only when SHEQU_OIDC_ISSUER is set at start-up).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.test import Client, override_settings
from django.urls import include, path
from jwt.algorithms import RSAAlgorithm

from shequ.conftest import World
from shequ.core import auth
from shequ.core.models import AuditEntry, User

urlpatterns = [
    path("oidc/", include("shequ.core.oidc")),
    path("", include("shequ.urls")),
]

CLIENT_ID = "shequ-test"
CLIENT_SECRET = secrets.token_urlsafe(24)


@dataclass
class Provider:
    """A minimal OpenID Provider with one signed-in person at a time."""

    base: str = ""
    person: dict[str, Any] = field(default_factory=dict)
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    signing_key: rsa.RSAPrivateKey | None = None  # set to sign with a key the JWKS does not publish
    audience: str = CLIENT_ID
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: int = 0

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update(kid="k1", alg="RS256", use="sig")
        return {"keys": [jwk]}

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.base,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "userinfo_endpoint": f"{self.base}/userinfo",
            "jwks_uri": f"{self.base}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return 400, {}, {"error": "invalid_request"}
        if "openid" not in query.get("scope", "").split():
            return 400, {}, {"error": "invalid_scope"}
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "redirect_uri": query["redirect_uri"],
            "nonce": query.get("nonce"),
            "person": dict(self.person),
            "challenge": query.get("code_challenge"),
            "method": query.get("code_challenge_method"),
        }
        location = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
        return 302, {"Location": location}, None

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        self.token_requests += 1
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if (
            grant is None
            or form.get("grant_type") != "authorization_code"
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
            or form.get("redirect_uri") != grant["redirect_uri"]
        ):
            return 400, {}, {"error": "invalid_grant"}
        if grant["challenge"]:
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
                return 400, {}, {"error": "invalid_grant", "error_description": "PKCE"}
        now = int(time.time())
        person = grant["person"]
        claims = {
            "iss": self.base,
            "sub": person["sub"],
            "aud": self.audience,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
        }
        id_token = jwt.encode(claims, self.signing_key or self.key, algorithm="RS256", headers={"kid": "k1"})
        access = secrets.token_urlsafe(16)
        self.tokens[access] = person
        body = {"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": id_token}
        return 200, {}, body

    def userinfo(self, authorization: str) -> tuple[int, dict[str, str], Any]:
        person = self.tokens.get(authorization.removeprefix("Bearer "))
        if person is None:
            return 401, {}, {"error": "invalid_token"}
        return 200, {}, person


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, result: tuple[int, dict[str, str], Any]) -> None:
            status, headers, body = result
            payload = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._send((200, {}, provider.discovery()))
            elif url.path == "/jwks":
                self._send((200, {}, provider.jwks()))
            elif url.path == "/authorize":
                self._send(provider.authorize(query))
            elif url.path == "/userinfo":
                self._send(provider.userinfo(self.headers.get("Authorization", "")))
            else:
                self._send((404, {}, {"error": "not_found"}))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if urlsplit(self.path).path == "/token":
                self._send(provider.token(form))
            else:
                self._send((404, {}, {"error": "not_found"}))

    return Handler


@pytest.fixture
def provider() -> Iterator[Provider]:
    op = Provider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(op))
    op.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield op
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def oidc_on(provider: Provider) -> Iterator[Provider]:
    """Settings as ``shequ/settings.py`` makes them when SHEQU_OIDC_ISSUER points at the provider."""
    discovery = httpx.get(f"{provider.base}/.well-known/openid-configuration").json()
    with override_settings(
        ROOT_URLCONF=__name__,
        OIDC_ENABLED=True,
        AUTHENTICATION_BACKENDS=[*settings.AUTHENTICATION_BACKENDS, "shequ.core.oidc.ShequOIDCBackend"],
        OIDC_RP_CLIENT_ID=CLIENT_ID,
        OIDC_RP_CLIENT_SECRET=CLIENT_SECRET,
        OIDC_RP_SIGN_ALGO="RS256",
        OIDC_OP_ISSUER=discovery["issuer"],
        OIDC_OP_AUTHORIZATION_ENDPOINT=discovery["authorization_endpoint"],
        OIDC_OP_TOKEN_ENDPOINT=discovery["token_endpoint"],
        OIDC_OP_USER_ENDPOINT=discovery["userinfo_endpoint"],
        OIDC_OP_JWKS_ENDPOINT=discovery["jwks_uri"],
        OIDC_CREATE_USER=False,
        OIDC_TIMEOUT=10,
    ):
        yield provider


def sign_in_at_provider(client: Client, provider: Provider, person: dict[str, Any]) -> Any:
    """Run the browser's part of the code flow; returns Django's answer to the callback."""
    provider.person = person
    start = client.get("/oidc/authenticate/")
    assert start.status_code == 302
    authorize = str(start["Location"])
    assert authorize.startswith(f"{provider.base}/authorize?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    at_provider = httpx.get(authorize, follow_redirects=False)
    assert at_provider.status_code == 302
    callback = urlsplit(at_provider.headers["Location"])
    assert callback.netloc == "testserver" and callback.path == "/oidc/callback/"
    return client.get(f"{callback.path}?{callback.query}")


def verified(user: User, **extra: Any) -> dict[str, Any]:
    return {
        "sub": f"hn-{user.username}-0001",
        "email": user.email,
        "email_verified": True,
        "name": user.name,
        **extra,
    }


def test_login_page_offers_the_provider_only_when_enabled(world: World, oidc_on: Provider) -> None:
    page = Client().get("/login/", headers={"Accept-Language": "en"}).content.decode()
    assert "Sign in with the provincial identity" in page and 'href="/oidc/authenticate/"' in page
    with override_settings(OIDC_ENABLED=False):
        page = Client().get("/login/", headers={"Accept-Language": "en"}).content.decode()
    assert "provincial identity" not in page


def test_first_login_binds_by_verified_email_then_by_subject(world: World, oidc_on: Provider) -> None:
    head = world["head_a"]
    client = Client()
    response = sign_in_at_provider(client, oidc_on, verified(head))
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    head.refresh_from_db()
    assert head.oidc_subject == "hn-head_a-0001"
    assert AuditEntry.objects.get(action="auth.oidc_bind").detail == {"subject": "hn-head_a-0001"}
    login = AuditEntry.objects.get(action="auth.login")
    assert login.actor_id == head.pk and login.detail == {"method": "oidc", "second_factor": False}
    assert head.sessions.filter(session_key=client.session.session_key).exists()

    # Later logins use the subject, whatever e-mail the provider reports now.
    again = Client()
    response = sign_in_at_provider(again, oidc_on, verified(head, email="changed@example.test"))
    assert response["Location"] == "/"
    assert again.get("/").status_code == 200
    assert AuditEntry.objects.filter(action="auth.oidc_bind").count() == 1


def test_oidc_login_still_needs_the_second_factor(world: World, oidc_on: Provider) -> None:
    admin = world["sysadmin"]
    secret = auth.totp_enrol_directly(admin)
    client = Client()
    response = sign_in_at_provider(client, oidc_on, verified(admin))
    assert response["Location"] == "/login/second-factor/"
    assert client.get("/")["Location"] == "/login/second-factor/"
    assert client.get("/api/v1/openapi.json").status_code == 403
    response = client.post("/login/second-factor/", {"code": pyotp.TOTP(secret).now()})
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    login = AuditEntry.objects.get(action="auth.login")
    assert login.detail == {"method": "oidc", "second_factor": True}


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"sub": "hn-stranger", "email": "stranger@example.test", "email_verified": True}, "no_account"),
        ({"sub": "hn-x", "email": "head_a@example.test", "email_verified": False}, "no_account"),
        ({"sub": "hn-y", "email": "head_a@example.test"}, "no_account"),
    ],
)
def test_unknown_or_unverified_identities_are_refused_and_no_account_is_created(
    world: World, oidc_on: Provider, claims: dict[str, Any], reason: str
) -> None:
    users = User.objects.count()
    client = Client()
    response = sign_in_at_provider(client, oidc_on, claims)
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
    assert User.objects.count() == users
    assert not User.objects.exclude(oidc_subject="").exists()
    failed = AuditEntry.objects.get(action="auth.login_failed")
    assert failed.detail["reason"] == reason and failed.detail["method"] == "oidc"
    page = client.get("/login/", headers={"Accept-Language": "en"}).content.decode()
    assert str(auth.GENERIC_LOGIN_ERROR) in page


def test_disabled_account_is_refused(world: World, oidc_on: Provider) -> None:
    User.objects.filter(pk=world["grid_a"].pk).update(is_active=False)
    client = Client()
    response = sign_in_at_provider(client, oidc_on, verified(world["grid_a"]))
    assert response["Location"] == "/login/"
    assert AuditEntry.objects.get(action="auth.login_failed").detail["reason"] == "inactive"


def test_username_claim_binds_only_when_configured(world: World, oidc_on: Provider) -> None:
    claims = {"sub": "hn-77", "preferred_username": "grid_b"}
    assert sign_in_at_provider(Client(), oidc_on, claims)["Location"] == "/login/"
    with override_settings(OIDC_BIND_USERNAME_CLAIM="preferred_username"):
        client = Client()
        assert sign_in_at_provider(client, oidc_on, claims)["Location"] == "/"
    assert User.objects.get(username="grid_b").oidc_subject == "hn-77"


def test_token_signed_with_an_unpublished_key_is_refused(world: World, oidc_on: Provider) -> None:
    oidc_on.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client = Client()
    response = sign_in_at_provider(client, oidc_on, verified(world["head_a"]))
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.get(action="auth.login_failed").detail["reason"] == "provider_error"


def test_token_for_another_client_is_refused(world: World, oidc_on: Provider) -> None:
    oidc_on.audience = "some-other-app"
    response = sign_in_at_provider(Client(), oidc_on, verified(world["head_a"]))
    assert response["Location"] == "/login/"
    world["head_a"].refresh_from_db()
    assert world["head_a"].oidc_subject == ""


def test_replayed_callback_is_refused(world: World, oidc_on: Provider) -> None:
    client = Client()
    oidc_on.person = verified(world["head_a"])
    start = client.get("/oidc/authenticate/")
    callback = urlsplit(httpx.get(str(start["Location"]), follow_redirects=False).headers["Location"])
    assert client.get(f"{callback.path}?{callback.query}")["Location"] == "/"
    client.post("/logout/")
    replay = client.get(f"{callback.path}?{callback.query}")
    assert replay.status_code in (302, 400)
    assert "_auth_user_id" not in client.session
