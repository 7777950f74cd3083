"""Session policy (security requirement 4): staff idle timeout, absolute timeout, logout and
account disabling end sessions server-side."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from shequ.conftest import PASSWORD, World
from shequ.core import accounts, auth
from shequ.core.models import AuditEntry, UserSession


def signed_in(username: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    return client


def shift(client: Client, key: str, seconds: float) -> None:
    """Move a session timestamp into the past (instead of waiting)."""
    session = client.session
    session[key] = float(session[key]) - seconds
    session.save()


def test_staff_idle_timeout(world: World) -> None:
    client = signed_in("head_a")
    key = client.session.session_key
    shift(client, auth.SEEN_AT, settings.SESSION_IDLE_SECONDS - 60)
    assert client.get("/").status_code == 200  # 29 minutes idle: still fine, and the clock restarts
    shift(client, auth.SEEN_AT, settings.SESSION_IDLE_SECONDS + 1)

    response = client.get("/inbox/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=%2Finbox%2F"
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(session_key=key).exists()
    expired = AuditEntry.objects.get(action="auth.session_expired")
    assert expired.actor_id == world["head_a"].pk and expired.detail == {"why": "idle"}
    page = client.get(response["Location"], headers={"Accept-Language": "en"}).content.decode()
    assert "Your session has expired" in page
    assert client.get("/").status_code == 302


def test_residents_have_no_idle_timeout_but_the_absolute_one(world: World) -> None:
    client = signed_in("resident")
    shift(client, auth.SEEN_AT, settings.SESSION_IDLE_SECONDS * 4)
    assert client.get("/").status_code == 200
    shift(client, auth.AUTH_AT, settings.SESSION_ABSOLUTE_SECONDS + 1)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert AuditEntry.objects.get(action="auth.session_expired").detail == {"why": "absolute"}


def test_staff_absolute_timeout_even_when_active(world: World) -> None:
    client = signed_in("grid_a")
    shift(client, auth.AUTH_AT, settings.SESSION_ABSOLUTE_SECONDS + 1)
    assert client.get("/").status_code == 302
    assert AuditEntry.objects.get(action="auth.session_expired").detail == {"why": "absolute"}


def test_expired_api_request_gets_a_json_error(world: World) -> None:
    client = signed_in("grid_a")
    shift(client, auth.SEEN_AT, settings.SESSION_IDLE_SECONDS + 1)
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"


def test_logout_kills_the_session_server_side(world: World) -> None:
    client = signed_in("grid_a")
    key = client.session.session_key
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get("/logout/").status_code == 405  # only POST (with CSRF) signs out
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(session_key=key).exists()
    assert AuditEntry.objects.get(action="auth.logout").actor_id == world["grid_a"].pk
    # Replaying the old cookie does not bring the session back.
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert thief.get("/").status_code == 302


def test_disabling_an_account_ends_all_its_sessions(world: World) -> None:
    phone, laptop = signed_in("grid_a"), signed_in("grid_a")
    other = signed_in("grid_b")
    keys = [phone.session.session_key, laptop.session.session_key]
    assert UserSession.objects.filter(user=world["grid_a"]).count() == 2

    accounts.user_set_active(
        actor=world["sysadmin"], user=world["grid_a"], active=False, reason="left the job"
    )

    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not UserSession.objects.filter(user=world["grid_a"]).exists()
    assert phone.get("/").status_code == 302 and laptop.get("/").status_code == 302
    assert other.get("/").status_code == 200


def test_sessions_opened_by_test_helpers_are_tracked_too(world: World) -> None:
    client = Client()
    client.force_login(world["head_b"])
    assert client.get("/").status_code == 200
    key = client.session.session_key
    assert UserSession.objects.filter(user=world["head_b"], session_key=key).exists()
    assert abs(float(client.session[auth.AUTH_AT]) - time.time()) < 3600
    accounts.end_sessions(world["head_b"])
    assert client.get("/").status_code == 302
