"""Security requirement 6: ``check --deploy`` is clean with production settings; security headers,
no-store on signed-in pages, CSRF on state changes."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.test import Client

from shequ.conftest import PASSWORD, World

REPO = Path(settings.BASE_DIR)


def production_env(var_dir: Path) -> dict[str, str]:
    # A clean environment: nothing from the test process (SHEQU_*, DJANGO_ALLOW_ASYNC_UNSAFE set by
    # the browser tests, ...) may leak into what a production server would see.
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        SHEQU_ENV="production",
        SHEQU_SECRET_KEY=secrets.token_urlsafe(64),
        SHEQU_FIELD_KEYS=json.dumps({"k1": secrets.token_hex(16), "k2": secrets.token_hex(16)}),
        SHEQU_FIELD_KEY_CURRENT="k2",
        SHEQU_INDEX_KEY=secrets.token_hex(32),
        SHEQU_AUDIT_KEY=secrets.token_hex(32),
        SHEQU_ALLOWED_HOSTS="shequ.example.cn",
        SHEQU_VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="shequ.settings",
    )
    return env


def run_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shequ.cli", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = run_check(production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_on_a_weak_configuration(tmp_path: Path) -> None:
    """The check can fail: the same command with debug on and a short key reports problems."""
    env = production_env(tmp_path) | {"SHEQU_DEBUG": "1", "SHEQU_SECRET_KEY": "short"}
    result = run_check(env)
    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout  # DEBUG on in deployment


def test_production_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["SHEQU_INDEX_KEY"]
    result = run_check(env)
    assert result.returncode != 0 and "SHEQU_INDEX_KEY must be set" in result.stderr


def test_security_headers_and_no_store_on_signed_in_pages(world: World) -> None:
    client = Client()
    response = client.get("/login/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    client.post("/login/", {"username": "head_a", "password": PASSWORD})
    page = client.get("/")
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    assert page["X-Content-Type-Options"] == "nosniff" and page["X-Frame-Options"] == "DENY"
    assert page["Referrer-Policy"] == "same-origin"
    assert "object-src 'none'" in page["Content-Security-Policy"]
    assert 'style="' not in page.content.decode()


def test_csrf_is_required_on_posts(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post("/login/", {"username": "head_a", "password": PASSWORD}).status_code == 403  # no token
    client.get("/login/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    credentials = {"username": "head_a", "password": PASSWORD}
    response = client.post("/login/", credentials | {"csrfmiddlewaretoken": token})
    assert response.status_code == 302

    # Signed in: state changes without the token are refused too.
    assert client.post("/logout/").status_code == 403
    assert (
        client.post(
            "/account/password/",
            {"current": PASSWORD, "new": "Quiet-Lantern-42", "repeat": "Quiet-Lantern-42"},
        ).status_code
        == 403
    )
    assert client.get("/").status_code == 200  # still signed in: nothing happened
