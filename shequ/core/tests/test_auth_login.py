"""Sign-in: generic errors, per-account lockout, per-IP throttle, audit (security requirement 3)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.utils import timezone

from shequ.conftest import PASSWORD, World
from shequ.core import auth
from shequ.core.models import AuditEntry, LoginThrottle, User, UserSession

WRONG = "Wrong!pass-9"


def post_login(client: Client, username: str, password: str) -> tuple[int, str]:
    response = client.post("/login/", {"username": username, "password": password})
    return response.status_code, response.content.decode()


def error_text(page: str) -> str:
    found = re.search(r'<div class="error" role="alert" id="login-error"><p>(.*?)</p></div>', page, re.S)
    return found.group(1) if found else ""


def test_success_logs_in_resets_counter_rotates_key_and_records_session(world: World) -> None:
    client = Client()
    anonymous = client.session
    anonymous["probe"] = 1
    anonymous.save()
    old_key = anonymous.session_key
    User.objects.filter(pk=world["head_a"].pk).update(failed_login_count=3)

    response = client.post("/login/", {"username": "head_a", "password": PASSWORD})

    assert response.status_code == 302 and response["Location"] == "/"
    new_key = client.session.session_key
    assert new_key != old_key
    assert not Session.objects.filter(session_key=old_key).exists()
    assert UserSession.objects.filter(user=world["head_a"], session_key=new_key).exists()
    world["head_a"].refresh_from_db()
    assert world["head_a"].failed_login_count == 0
    assert world["head_a"].last_login is not None
    row = AuditEntry.objects.get(action="auth.login")
    assert row.actor_id == world["head_a"].pk and row.result == "success"
    assert row.detail == {"method": "password", "second_factor": False}
    assert client.get("/").status_code == 200


def test_same_generic_message_for_every_failure(world: World) -> None:
    locked = world["grid_a"]
    locked.locked_until = timezone.now() + timedelta(minutes=10)
    locked.save(update_fields=["locked_until"])
    disabled = world["grid_b"]
    disabled.is_active = False
    disabled.save(update_fields=["is_active"])

    attempts = {
        "unknown_user": ("no_such_user", PASSWORD),
        "bad_password": ("head_a", WRONG),
        "locked": ("grid_a", PASSWORD),  # the right password does not help while locked
        "inactive": ("grid_b", PASSWORD),
    }
    texts = set()
    for reason, (username, password) in attempts.items():
        status, page = post_login(Client(), username, password)
        assert status == 200, reason
        texts.add(error_text(page))
        row = AuditEntry.objects.filter(action="auth.login_failed").first()
        assert row is not None and row.detail["reason"] == reason and row.result == "failure"
        assert row.actor_name == username
    assert len(texts) == 1
    assert texts.pop() == str(auth.GENERIC_LOGIN_ERROR)
    assert not AuditEntry.objects.filter(action="auth.login").exists()


def test_lockout_after_five_failures_and_unlock_after_thirty_minutes(world: World) -> None:
    client = Client()
    for _ in range(settings.LOCKOUT_FAILURES - 1):
        post_login(client, "grid_a", WRONG)
    user = User.objects.get(username="grid_a")
    assert user.failed_login_count == settings.LOCKOUT_FAILURES - 1 and user.locked_until is None

    post_login(client, "grid_a", WRONG)
    user.refresh_from_db()
    assert user.locked_until is not None
    minutes = (user.locked_until - timezone.now()).total_seconds() / 60
    assert settings.LOCKOUT_MINUTES - 1 < minutes <= settings.LOCKOUT_MINUTES
    lockouts = AuditEntry.objects.filter(action="auth.lockout")
    assert lockouts.count() == 1 and lockouts[0].object_id == str(user.pk) and lockouts[0].result == "denied"

    # Locked: the right password is refused with the generic text, and does not extend the lock.
    until = user.locked_until
    _, page = post_login(client, "grid_a", PASSWORD)
    assert error_text(page) == str(auth.GENERIC_LOGIN_ERROR)
    user.refresh_from_db()
    assert user.locked_until == until
    assert client.get("/").status_code == 302

    # Thirty minutes later (moved by editing the lock, not by sleeping) the account works again.
    User.objects.filter(pk=user.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    response = client.post("/login/", {"username": "grid_a", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    user.refresh_from_db()
    assert user.failed_login_count == 0 and user.locked_until is None


def test_django_authenticate_also_refuses_a_locked_account(world: World) -> None:
    User.objects.filter(pk=world["head_a"].pk).update(locked_until=timezone.now() + timedelta(minutes=5))
    assert Client().login(username="head_a", password=PASSWORD) is False
    assert Client().login(username="head_b", password=PASSWORD) is True


@override_settings(IP_THROTTLE_FAILURES=3)
def test_ip_throttle_refuses_further_attempts_from_that_address(world: World) -> None:
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for name in ("alpha", "beta", "gamma"):  # spread over names: no account is locked
        post_login(attacker, name, WRONG)
    assert LoginThrottle.objects.get(ip="203.0.113.9").failures == 3

    status, page = post_login(attacker, "head_a", PASSWORD)
    assert status == 429
    assert error_text(page) == str(auth.GENERIC_LOGIN_ERROR)
    assert attacker.get("/").status_code == 302
    throttled = AuditEntry.objects.get(action="auth.throttled")
    assert throttled.ip == "203.0.113.9" and throttled.result == "denied"
    world["head_a"].refresh_from_db()
    assert world["head_a"].failed_login_count == 0

    # Another address is not affected.
    other = Client(REMOTE_ADDR="198.51.100.7")
    assert other.post("/login/", {"username": "head_a", "password": PASSWORD}).status_code == 302

    # After the window the address may try again.
    LoginThrottle.objects.filter(ip="203.0.113.9").update(
        window_start=timezone.now() - timedelta(minutes=settings.IP_THROTTLE_MINUTES + 1)
    )
    assert attacker.post("/login/", {"username": "head_a", "password": PASSWORD}).status_code == 302


def test_empty_form_is_a_field_error_not_a_counted_failure(world: World) -> None:
    status, page = post_login(Client(), "head_a", "")
    assert status == 200
    assert 'aria-invalid="true"' in page
    assert not AuditEntry.objects.filter(action="auth.login_failed").exists()


def test_audit_never_contains_a_password(world: World) -> None:
    client = Client()
    post_login(client, "head_a", WRONG)
    post_login(client, "nobody_here", WRONG)
    client.post("/login/", {"username": "head_a", "password": PASSWORD})
    client.post("/logout/")
    dump = json.dumps(list(AuditEntry.objects.values()), default=str)
    assert "auth.login_failed" in dump and "auth.logout" in dump
    assert PASSWORD not in dump and WRONG not in dump


def test_login_page_is_accessible_and_redirects_signed_in_users(world: World) -> None:
    client = Client()
    page = client.get("/login/").content.decode()
    assert page.count("<h1>") == 1
    assert 'for="id_username"' in page and 'autocomplete="username"' in page
    assert 'for="id_password"' in page and 'autocomplete="current-password"' in page
    assert "style=" not in page and "<script>" not in page
    client.force_login(world["head_a"])
    assert client.get("/login/")["Location"] == "/"


def test_next_parameter_is_followed_only_when_local(world: World) -> None:
    response = Client().post("/login/?next=/inbox/", {"username": "head_a", "password": PASSWORD})
    assert response["Location"] == "/inbox/"
    credentials = {"username": "head_a", "password": PASSWORD}
    response = Client().post("/login/?next=https://evil.example/", credentials)
    assert response["Location"] == "/"


@pytest.mark.parametrize("username", ["HEAD_A", " head_a "])
def test_user_name_is_found_case_insensitively(world: World, username: str) -> None:
    assert Client().post("/login/", {"username": username, "password": PASSWORD}).status_code == 302
