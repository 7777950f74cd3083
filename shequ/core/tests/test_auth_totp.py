"""TOTP second factor (security requirement 5): who needs it, enrolment, wrong codes, replay,
pages and API blocked until it is passed, and the demo helper command."""

from __future__ import annotations

import io
import re
import time

import pyotp
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client, override_settings

from shequ.conftest import PASSWORD, World
from shequ.core import accounts, auth, crypto
from shequ.core.models import AuditEntry, Role, User

TOTP_SETUP = "/account/totp/"
SECOND_FACTOR = "/login/second-factor/"


def password_step(client: Client, username: str) -> str:
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return str(response["Location"])


def enrol(user: User) -> pyotp.TOTP:
    return pyotp.TOTP(auth.totp_enrol_directly(user))


def wrong_code(totp: pyotp.TOTP) -> str:
    """A code that is valid in no step near now (so never accepted, whatever the clock does)."""
    now = time.time()
    valid = {totp.at(now + d * totp.interval) for d in (-2, -1, 0, 1, 2)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c not in valid)


def shown_secret(html: str) -> str:
    found = re.search(r"<code[^>]*>([A-Z2-7 ]+)</code>", html)
    assert found is not None
    return found.group(1).replace(" ", "")


@pytest.mark.parametrize("persona", ["sysadmin", "secadmin", "auditor", "street", "dept"])
def test_second_factor_required_for_admins_and_cross_community_staff(world: World, persona: str) -> None:
    client = Client()
    assert password_step(client, persona) == TOTP_SETUP  # not enrolled yet: enrolment first
    # Not signed in: the session only waits for the second factor.
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("persona", ["grid_a", "worker_a", "head_a", "resident", "nobody"])
def test_no_second_factor_for_community_level_staff_and_residents(world: World, persona: str) -> None:
    client = Client()
    assert password_step(client, persona) == "/"
    assert client.get("/").status_code == 200


def test_enrolment_shows_qr_and_secret_and_stores_it_encrypted(world: World) -> None:
    client = Client(headers={"Accept-Language": "en"})  # messages are checked in English
    password_step(client, "street")
    page = client.get(TOTP_SETUP)
    html = page.content.decode()
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    assert re.search(r'<img class="qr" src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', html)
    assert 'inputmode="numeric"' in html and 'autocomplete="one-time-code"' in html
    assert 'for="id_code"' in html and html.count("<h1>") == 1
    secret = shown_secret(html)
    # The same secret while the enrolment is open (reloading the page does not change it).
    assert shown_secret(client.get(TOTP_SETUP).content.decode()) == secret
    street = User.objects.get(username="street")
    assert street.totp_confirmed_at is None and street.totp_secret == ""  # nothing stored before confirming

    wrong = client.post(TOTP_SETUP, {"code": wrong_code(pyotp.TOTP(secret))})
    assert wrong.status_code == 400 and "not correct" in wrong.content.decode()

    response = client.post(TOTP_SETUP, {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    street.refresh_from_db()
    assert street.totp_confirmed_at is not None and street.totp_secret == secret
    with connection.cursor() as cursor:
        cursor.execute("SELECT totp_secret FROM core_user WHERE id = %s", [street.pk])
        raw = cursor.fetchone()[0]
    assert secret not in raw and raw.startswith(crypto.PREFIX + ":")
    assert AuditEntry.objects.filter(action="auth.totp_enrol", actor_id=street.pk).exists()
    login = AuditEntry.objects.get(action="auth.login", actor_id=street.pk)
    assert login.detail == {"method": "password", "second_factor": True}


def test_pages_and_api_are_blocked_until_the_second_factor(world: World) -> None:
    totp = enrol(world["sysadmin"])
    client = Client()
    assert password_step(client, "sysadmin") == SECOND_FACTOR
    for page in ("/", "/inbox/", "/account/security/", "/admin/accounts/", "/regions/"):
        response = client.get(page)
        assert response.status_code == 302 and response["Location"] == SECOND_FACTOR, page
    api = client.get("/api/v1/openapi.json")
    assert api.status_code == 403
    body = api.json()
    assert body["code"] == "second_factor_required" and body["message"] and body["details"] == {}
    form = client.get(SECOND_FACTOR)
    assert form.status_code == 200
    html = form.content.decode()
    assert 'inputmode="numeric"' in html and 'autocomplete="one-time-code"' in html
    assert 'for="id_code"' in html

    response = client.post(SECOND_FACTOR, {"code": totp.now()})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_wrong_code_counts_towards_lockout(world: World) -> None:
    totp = enrol(world["auditor"])
    client = Client(headers={"Accept-Language": "en"})  # messages are checked in English
    password_step(client, "auditor")
    response = client.post(SECOND_FACTOR, {"code": wrong_code(totp)})
    assert response.status_code == 400
    assert "not correct" in response.content.decode()
    user = User.objects.get(username="auditor")
    assert user.failed_login_count == 1
    failed = AuditEntry.objects.get(action="auth.login_failed")
    assert failed.detail == {"reason": "bad_code", "method": "totp"}

    # A new password step does not reset the count: codes cannot be guessed by starting over.
    for _ in range(settings.LOCKOUT_FAILURES - 1):
        password_step(client, "auditor")
        response = client.post(SECOND_FACTOR, {"code": wrong_code(totp)})
    assert response.status_code == 302 and response["Location"] == "/login/"
    user.refresh_from_db()
    assert user.locked_until is not None
    assert AuditEntry.objects.filter(action="auth.lockout", object_id=str(user.pk)).count() == 1
    # Locked: even the right password and code do not get in.
    client.post("/login/", {"username": "auditor", "password": PASSWORD})
    assert client.get("/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_code_works_only_once(world: World) -> None:
    totp = enrol(world["secadmin"])
    client = Client()
    password_step(client, "secadmin")
    code = totp.now()
    assert client.post(SECOND_FACTOR, {"code": code})["Location"] == "/"
    client.post("/logout/")

    password_step(client, "secadmin")
    replay = client.post(SECOND_FACTOR, {"code": code})
    assert replay.status_code == 400
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="auth.login_failed", detail__reason="bad_code").count() == 1


def test_malformed_code_is_a_field_error(world: World) -> None:
    enrol(world["street"])
    client = Client(headers={"Accept-Language": "en"})  # messages are checked in English
    password_step(client, "street")
    response = client.post(SECOND_FACTOR, {"code": "12ab"})
    assert response.status_code == 400 and "6-digit" in response.content.decode()
    assert User.objects.get(username="street").failed_login_count == 0


def test_pending_second_factor_expires(world: World) -> None:
    enrol(world["street"])
    client = Client()
    password_step(client, "street")
    session = client.session
    session[auth.PENDING_KEY]["at"] -= auth.PENDING_SECONDS + 1
    session.save()
    assert client.get(SECOND_FACTOR)["Location"] == "/login/"
    assert client.get("/")["Location"].startswith("/login/")


def test_gaining_a_cross_community_role_mid_session_asks_for_the_second_factor(world: World) -> None:
    client = Client()
    assert password_step(client, "head_a") == "/"
    accounts.membership_grant(
        actor=world["secadmin"],
        user=world["head_a"],
        role=Role.STREET_OFFICER,
        region=world.regions["430104002"],
    )
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == SECOND_FACTOR
    assert "_auth_user_id" not in client.session
    assert client.get(SECOND_FACTOR)["Location"] == TOTP_SETUP


def test_signed_in_user_can_set_up_and_replace_the_authenticator(world: World) -> None:
    client = Client()
    password_step(client, "grid_a")
    html = client.get(TOTP_SETUP).content.decode()
    assert 'autocomplete="current-password"' in html  # re-authentication asked
    secret = shown_secret(html)
    bad = client.post(TOTP_SETUP, {"code": pyotp.TOTP(secret).now(), "password": "nope"})
    assert bad.status_code == 400
    assert User.objects.get(username="grid_a").totp_confirmed_at is None
    ok = client.post(TOTP_SETUP, {"code": pyotp.TOTP(secret).now(), "password": PASSWORD})
    assert ok["Location"] == "/account/security/"
    # Having enrolled, grid_a is now asked for a code at sign-in as well.
    client.post("/logout/")
    assert password_step(client, "grid_a") == SECOND_FACTOR


def _demo_totp(username: str) -> str:
    out = io.StringIO()
    call_command("demo_totp", username, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def _make_demo_account(username: str) -> None:
    User.objects.filter(username=username).update(email=f"{username}@{auth.DEMO_EMAIL_DOMAIN}")


def test_demo_totp_refuses_accounts_the_demo_did_not_make(world: World) -> None:
    for demo_env in (False, True):  # SHEQU_DEMO=1 opens nothing more
        with override_settings(DEMO=demo_env), pytest.raises(CommandError, match="not a demo account"):
            _demo_totp("sysadmin")  # sysadmin@example.test
    User.objects.filter(username="secadmin").update(email="secadmin@demo.shequ.local.example.test")
    with pytest.raises(CommandError, match="not a demo account"):
        _demo_totp("secadmin")
    assert not User.objects.filter(totp_confirmed_at__isnull=False).exists()


def test_demo_totp_refuses_in_production_even_for_a_demo_account(world: World) -> None:
    _make_demo_account("sysadmin")
    with override_settings(PRODUCTION=True, DEMO=True), pytest.raises(CommandError, match="production"):
        _demo_totp("sysadmin")
    assert User.objects.get(username="sysadmin").totp_confirmed_at is None


def test_demo_totp_enrols_and_prints_a_working_code_without_shequ_demo_set(world: World) -> None:
    _make_demo_account("sysadmin")
    with override_settings(DEMO=False):  # as the README runs it: no SHEQU_DEMO in the environment
        code = _demo_totp("sysadmin")
    assert re.fullmatch(r"\d{6}", code)
    client = Client()
    assert password_step(client, "sysadmin") == SECOND_FACTOR
    assert client.post(SECOND_FACTOR, {"code": code})["Location"] == "/"
    with pytest.raises(CommandError, match="No account"):
        _demo_totp("no_such_user")
