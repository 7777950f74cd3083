"""Password policy (security requirements 1 and 2): strength rules, history of five, staff expiry
after 90 days; the password-change and account-security pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from shequ.conftest import PASSWORD, World
from shequ.core import accounts
from shequ.core.models import AuditEntry, User

EN = {"Accept-Language": "en"}
CHANGE = "/account/password/"


def signed_in(username: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def change(client: Client, new: str, *, current: str = PASSWORD, repeat: str = "") -> tuple[int, str]:
    data = {"current": current, "new": new, "repeat": repeat or new}
    response = client.post(CHANGE, data, headers=EN)
    return response.status_code, response.content.decode()


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Ab1!xyz", "password_too_short"),  # 7 characters
        ("Password1", "password_too_common"),
        ("lowercaseonly", "password_too_simple"),  # one class
        ("lowercase123", "password_too_simple"),  # two classes
        ("My-grid_a-Pass1", "password_has_username"),
    ],
)
def test_each_rejection_reason(world: World, password: str, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_password(password, world["grid_a"])
    assert code in [e.code for e in caught.value.error_list]


def test_a_strong_password_passes(world: World) -> None:
    validate_password("Quiet-Lantern-42", world["grid_a"])


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("Ab1!xyz", "too short"),
        ("Password1", "too common"),
        ("lowercaseonly", "at least three of"),
        ("Zz9!grid_a", "must not contain the user name"),
        (PASSWORD, "used recently"),
    ],
)
def test_change_page_shows_the_specific_reason_and_changes_nothing(
    world: World, new: str, message: str
) -> None:
    client = signed_in("grid_a")
    before = User.objects.get(username="grid_a").password
    status, page = change(client, new)
    assert status == 400
    assert message in page
    assert User.objects.get(username="grid_a").password == before


def test_change_page_checks_current_password_and_repeat(world: World) -> None:
    client = signed_in("grid_a")
    status, page = change(client, "Quiet-Lantern-42", current="not-it")
    assert status == 400 and "current password is not correct" in page
    status, page = change(client, "Quiet-Lantern-42", repeat="Quiet-Lantern-43")
    assert status == 400 and "differ" in page
    assert User.objects.get(username="grid_a").check_password(PASSWORD)


def test_change_keeps_this_session_and_ends_the_others(world: World) -> None:
    client, other = signed_in("grid_a"), signed_in("grid_a")
    status, _ = change(client, "Quiet-Lantern-42")
    assert status == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    user = User.objects.get(username="grid_a")
    assert user.check_password("Quiet-Lantern-42")
    assert user.sessions.filter(session_key=client.session.session_key).exists()
    assert AuditEntry.objects.filter(action="user.password_change", actor_id=user.pk).exists()
    dump = str(list(AuditEntry.objects.values()))
    assert "Quiet-Lantern-42" not in dump


def test_last_five_passwords_cannot_be_reused(world: World) -> None:
    user = world["grid_a"]
    history = [f"Quiet-Lantern-{n}x" for n in range(1, settings.PASSWORD_HISTORY + 1)]
    for password in history:
        accounts.user_set_password(user=user, new_password=password)
    for old in history:
        with pytest.raises(ValidationError) as caught:
            validate_password(old, user)
        assert [e.code for e in caught.value.error_list] == ["password_reused"]
    # The original password is now six changes back: allowed again.
    accounts.user_set_password(user=user, new_password=PASSWORD)
    assert user.password_history.count() == settings.PASSWORD_HISTORY


def test_expired_staff_password_forces_a_change(world: World) -> None:
    User.objects.filter(pk=world["head_a"].pk).update(
        password_changed_at=timezone.now() - timedelta(days=settings.PASSWORD_MAX_AGE_DAYS + 1)
    )
    client = signed_in("head_a")
    for page in ("/", "/inbox/", "/account/security/"):
        response = client.get(page)
        assert response.status_code == 302 and response["Location"] == CHANGE, page
    api = client.get("/api/v1/openapi.json")
    assert api.status_code == 403 and api.json()["code"] == "password_expired"
    page = client.get(CHANGE, headers=EN).content.decode()
    assert "older than 90 days" in page
    status, _ = change(client, "Quiet-Lantern-42")
    assert status == 302
    assert client.get("/").status_code == 200


def test_password_age_within_limit_and_residents_do_not_expire(world: World) -> None:
    User.objects.filter(pk=world["head_a"].pk).update(
        password_changed_at=timezone.now() - timedelta(days=settings.PASSWORD_MAX_AGE_DAYS - 1)
    )
    User.objects.filter(pk=world["resident"].pk).update(
        password_changed_at=timezone.now() - timedelta(days=settings.PASSWORD_MAX_AGE_DAYS * 3)
    )
    assert signed_in("head_a").get("/").status_code == 200
    assert signed_in("resident").get("/").status_code == 200


def test_temporary_password_must_be_changed_by_residents_too(world: World) -> None:
    User.objects.filter(pk=world["resident"].pk).update(password_changed_at=None)
    client = signed_in("resident")
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == CHANGE
    assert "set by an administrator" in client.get(CHANGE, headers=EN).content.decode()
    status, _ = change(client, "Quiet-Lantern-42")
    assert status == 302
    assert client.get("/").status_code == 200


def test_security_page(world: World) -> None:
    User.objects.filter(pk=world["head_a"].pk).update(password_changed_at=timezone.now() - timedelta(days=10))
    client = signed_in("head_a")
    response = client.get("/account/security/", headers=EN)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert page.count("<h1>") == 1
    assert "changed 10 days ago" in page
    User.objects.filter(pk=world["head_a"].pk).update(password_changed_at=timezone.now())
    assert "今天修改" in client.get("/account/security/").content.decode()  # not "0 天前修改"
    assert "Last sign-in" in page and timezone.localtime().strftime("%Y-%m-%d") in page
    assert 'href="/account/password/"' in page and 'href="/account/totp/"' in page
    assert "off" in page
    assert Client().get("/account/security/").status_code == 302
