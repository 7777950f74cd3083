"""API authentication: hashed tokens with scopes, session with CSRF and second factor, token services."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.utils import timezone

from shequ.conftest import PASSWORD, World
from shequ.core import accounts, messaging
from shequ.core.apiauth import token_create, token_revoke
from shequ.core.models import ApiToken, AuditEntry, AuditResult
from shequ.core.tests.api_helpers import (
    _fresh_rate_limits,
    assert_error,
    get,
    issue,
    post,
)

__all__ = ["_fresh_rate_limits"]  # fixtures

SOON = timedelta(days=30)
EN = {"Accept-Language": "en"}  # messages are checked in English


# --- tokens on the wire ----------------------------------------------------------------------------


def test_valid_token_acts_as_its_owner_and_records_last_use(world: World) -> None:
    raw = issue(world, "head_a", ["regions:read"])
    token = ApiToken.objects.get(user=world["head_a"])
    assert token.last_used_at is None
    response = get(Client(), "/regions", raw)
    assert response.status_code == 200
    assert [r["code"] for r in response.json()["items"]] == ["430104002001"]
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_only_the_hash_of_a_token_is_stored(world: World) -> None:
    raw = issue(world, "head_a")
    token = ApiToken.objects.get(user=world["head_a"])
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    secret = raw.rsplit("_", 1)[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM core_apitoken")
        rows = repr(cursor.fetchall())
    assert secret not in rows
    assert raw.startswith(f"shq_{token.prefix}_")


def test_token_without_the_scope_gets_403_and_is_audited(world: World) -> None:
    raw = issue(world, "auditor", ["regions:read"])
    body = assert_error(get(Client(), "/audit", raw), 403, "insufficient_scope")
    assert "audit:read" in body["message"]
    entry = AuditEntry.objects.filter(action="api.denied", actor_id=world["auditor"].pk).get()
    assert entry.result == AuditResult.DENIED
    assert entry.detail["scope"] == "audit:read"
    for path in ("/me", "/messages"):
        assert_error(get(Client(), path, raw), 403, "insufficient_scope")
    assert_error(
        post(Client(), "/messages/1/read", issue(world, "head_a", ["messages:read"])),
        403,
        "insufficient_scope",
    )


def test_token_scope_does_not_widen_the_owners_rights(world: World) -> None:
    """audit:read on a community head's token still does not make them an auditor."""
    raw = issue(world, "head_a", ["audit:read"])
    assert_error(get(Client(), "/audit", raw), 403, "permission_denied")
    assert get(Client(), "/audit", issue(world, "auditor", ["audit:read"])).status_code == 200


def test_expired_token_is_401_and_audited(world: World) -> None:
    raw = issue(world, "head_a")
    ApiToken.objects.filter(user=world["head_a"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    body = assert_error(get(Client(headers=EN), "/me", raw), 401, "invalid_token")
    assert "expired" in body["message"]
    entry = AuditEntry.objects.get(action="api.token_rejected")
    assert entry.actor_id == world["head_a"].pk and entry.detail["why"] == "expired"


def test_revoked_token_is_401(world: World) -> None:
    raw = issue(world, "head_a")
    token = ApiToken.objects.get(user=world["head_a"])
    assert get(Client(), "/me", raw).status_code == 200
    assert token_revoke(actor=world["sysadmin"], token=token, reason="leaked") is True
    body = assert_error(get(Client(headers=EN), "/me", raw), 401, "invalid_token")
    assert "revoked" in body["message"]


def test_token_of_a_disabled_account_is_401(world: World) -> None:
    raw = issue(world, "head_a")
    accounts.user_set_active(actor=world["sysadmin"], user=world["head_a"], active=False, reason="left")
    assert_error(get(Client(), "/me", raw), 401, "invalid_token")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer abc",
        "Bearer shq_zz_123",
        "Bearer shq_0123abcd_" + "0" * 47,
        "Bearer shq_0123ABCD_" + "0" * 48,
        "Bearer shq_0123abcd_" + "0" * 48 + "\x00",
        "Basic aGVhZF9hOnNlY3JldA==",
        "Token shq_0123abcd_" + "0" * 48,
        "shq_0123abcd_" + "0" * 48,
    ],
)
def test_malformed_or_unknown_tokens_are_401(world: World, header: str) -> None:
    assert_error(Client().get("/api/v1/me", HTTP_AUTHORIZATION=header), 401, "invalid_token")


def test_unknown_well_formed_token_and_tampered_secret_are_401(world: World) -> None:
    raw = issue(world, "head_a")
    assert_error(get(Client(), "/me", "shq_0123abcd_" + "0" * 48), 401, "invalid_token")
    tampered = raw[:-1] + ("0" if raw[-1] != "0" else "1")
    assert_error(get(Client(), "/me", tampered), 401, "invalid_token")


def test_a_bad_token_is_not_rescued_by_a_session(world: World) -> None:
    client = Client()
    client.force_login(world["head_a"])
    assert get(client, "/me").status_code == 200
    assert_error(get(client, "/me", "shq_0123abcd_" + "0" * 48), 401, "invalid_token")


# --- session: CSRF and the second factor --------------------------------------------------------------


def test_session_post_needs_the_csrf_token(world: World) -> None:
    message = messaging.notify(sender=None, recipients=[world["head_a"]], subject="Hello", body="")[0]
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["head_a"])
    assert get(client, "/messages").status_code == 200  # safe methods need no CSRF token
    assert_error(client.post(f"/api/v1/messages/{message.pk}/read"), 403, "csrf_failed")
    message.refresh_from_db()
    assert message.read_at is None
    csrf = _get_new_csrf_string()
    client.cookies["csrftoken"] = csrf
    assert_error(
        client.post(f"/api/v1/messages/{message.pk}/read", HTTP_X_CSRFTOKEN="wrong" * 6 + "xx"),
        403,
        "csrf_failed",
    )
    response = client.post(f"/api/v1/messages/{message.pk}/read", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200
    assert response.json()["read_at"] is not None


def test_token_post_needs_no_csrf_token(world: World) -> None:
    message = messaging.notify(sender=None, recipients=[world["head_a"]], subject="Hello", body="")[0]
    client = Client(enforce_csrf_checks=True)
    assert post(client, f"/messages/{message.pk}/read", issue(world, "head_a")).status_code == 200


def test_anonymous_post_is_401_not_a_csrf_error(world: World) -> None:
    assert_error(Client(enforce_csrf_checks=True).post("/api/v1/messages/1/read"), 401, "not_authenticated")


def test_session_waiting_for_the_second_factor_is_refused(world: World) -> None:
    client = Client()
    client.force_login(world["head_a"])
    session = client.session
    session["otp_pending"] = True
    session.save()
    assert_error(get(client, "/me"), 403, "second_factor_required")


def test_password_only_login_of_an_admin_cannot_use_the_api(world: World) -> None:
    """The auditor must pass TOTP; after the password alone the API answers 403, never data."""
    client = Client()
    client.post("/login/", {"username": "auditor", "password": PASSWORD})
    assert_error(get(client, "/audit"), 403, "second_factor_required")


def test_session_of_a_community_head_after_password_login_works(world: World) -> None:
    client = Client()
    assert client.post("/login/", {"username": "head_a", "password": PASSWORD}).status_code == 302
    assert get(client, "/me").json()["username"] == "head_a"


# --- token services ----------------------------------------------------------------------------------


def test_token_create_needs_the_manage_tokens_permission(world: World) -> None:
    for actor in ("head_a", "secadmin", "auditor", "street"):
        with pytest.raises(PermissionDenied):
            token_create(
                actor=world[actor],
                user=world["grid_a"],
                name="x",
                scopes=["regions:read"],
                expires_at=timezone.now() + SOON,
            )
    assert not ApiToken.objects.exists()
    assert AuditEntry.objects.filter(action="token.create", result=AuditResult.DENIED).count() == 4


def test_nobody_issues_a_token_for_themselves(world: World) -> None:
    with pytest.raises(PermissionDenied):
        token_create(
            actor=world["sysadmin"],
            user=world["sysadmin"],
            name="x",
            scopes=["regions:read"],
            expires_at=timezone.now() + SOON,
        )


def test_token_create_is_audited_without_the_secret(world: World) -> None:
    token, raw = token_create(
        actor=world["sysadmin"],
        user=world["dept"],
        name="police sync",
        scopes=["regions:read", "messages:read", "regions:read"],
        expires_at=timezone.now() + SOON,
    )
    assert token.scopes == ["messages:read", "regions:read"]
    entry = AuditEntry.objects.get(action="token.create", result=AuditResult.SUCCESS)
    assert entry.actor_id == world["sysadmin"].pk
    assert entry.region_code == "430104002"
    assert entry.detail["prefix"] == token.prefix and entry.detail["scopes"] == token.scopes
    assert raw.rsplit("_", 1)[1] not in repr(entry.detail)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["regions:read", "everything:write"]}, "scopes"),
        ({"name": "  "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"expires_at": None}, "expires_at"),
        ({"expires_at": "past"}, "expires_at"),
        ({"expires_at": "far"}, "expires_at"),
    ],
)
def test_token_create_validates_its_input(world: World, kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "name": "sync",
        "scopes": ["regions:read"],
        "expires_at": timezone.now() + SOON,
    }
    args.update(kwargs)
    if args["expires_at"] == "past":
        args["expires_at"] = timezone.now() - timedelta(minutes=1)
    elif args["expires_at"] == "far":
        args["expires_at"] = timezone.now() + timedelta(days=400)
    with pytest.raises(ValidationError) as info:
        token_create(actor=world["sysadmin"], user=world["dept"], **args)  # type: ignore[arg-type]
    assert field in info.value.message_dict
    assert not ApiToken.objects.exists()


def test_token_revoke_by_owner_admin_and_not_by_others(world: World) -> None:
    issue(world, "head_a")
    token = ApiToken.objects.get(user=world["head_a"])
    with pytest.raises(PermissionDenied):
        token_revoke(actor=world["head_b"], token=token)
    assert token_revoke(actor=world["head_a"], token=token, reason="not needed") is True
    assert token_revoke(actor=world["sysadmin"], token=token) is False  # already revoked: no second entry
    assert AuditEntry.objects.filter(action="token.revoke", result=AuditResult.SUCCESS).count() == 1


# --- the management command ---------------------------------------------------------------------------


def test_token_command_create_list_revoke(world: World) -> None:
    out, err = StringIO(), StringIO()
    call_command(
        "token",
        "create",
        "dept",
        "--name",
        "police sync",
        "--scope",
        "regions:read",
        "--scope",
        "profile:read",
        "--days",
        "30",
        stdout=out,
        stderr=err,
    )
    raw = out.getvalue().strip()
    assert raw.startswith("shq_")
    assert "shown only now" in err.getvalue()
    assert get(Client(), "/me", raw).json()["username"] == "dept"
    token = ApiToken.objects.get(user=world["dept"])
    assert token.expires_at is not None and (token.expires_at - timezone.now()).days in (29, 30)

    listing = StringIO()
    call_command("token", "list", "dept", stdout=listing)
    assert token.prefix in listing.getvalue() and "active" in listing.getvalue()
    assert raw.rsplit("_", 1)[1] not in listing.getvalue()

    call_command("token", "revoke", token.prefix, "--reason", "test", stdout=StringIO())
    assert_error(get(Client(), "/me", raw), 401, "invalid_token")
    listing = StringIO()
    call_command("token", "list", stdout=listing)
    assert "revoked" in listing.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        ["create", "ghost", "--name", "x", "--scope", "regions:read"],
        ["create", "dept", "--name", "x", "--scope", "nope:read"],
        ["create", "dept", "--name", "x"],
        ["create", "dept", "--name", "x", "--scope", "regions:read", "--days", "0"],
        ["create", "dept", "--name", "x", "--scope", "regions:read", "--days", "999"],
        ["revoke", "deadbeef"],
    ],
)
def test_token_command_rejects_bad_input(world: World, argv: list[str]) -> None:
    with pytest.raises(CommandError):
        call_command("token", *argv, stdout=StringIO(), stderr=StringIO())
    assert not ApiToken.objects.exists()
