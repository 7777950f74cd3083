"""Inbox pages: own messages only (404 for anyone else's), unread first, filters, reading marks read,
acknowledging is a CSRF-protected POST, and the unread badge follows."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shequ.core import messaging
from shequ.core.models import Message, User


@pytest.fixture
def two(db: None) -> tuple[User, User]:
    now = timezone.now()  # a password of their own, not a temporary one that must be changed first
    return (
        User.objects.create(username="mei", display_name="Mei", password_changed_at=now),
        User.objects.create(username="lin", password_changed_at=now),
    )


def client_for(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf, headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def notify(user: User, subject: str, **kw: object) -> Message:
    [message] = messaging.notify(
        sender=None,
        recipients=[user],
        subject=subject,
        body=f"{subject} body",
        **kw,  # type: ignore[arg-type]
    )
    return message


def subjects(html: str) -> list[str]:
    return re.findall(r'<a href="/inbox/\d+/">(?:<span class="sr-only">[^<]*</span>)?([^<]+)</a>', html)


def test_inbox_needs_login(client: Client) -> None:
    response = client.get(reverse("core:inbox"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_inbox_lists_own_messages_unread_first_with_filters(two: tuple[User, User]) -> None:
    mei, lin = two
    old_unread = notify(mei, "Old unread")
    read = notify(mei, "Already read")
    new_unread = notify(mei, "New unread")
    notify(lin, "Not for Mei")
    messaging.mark_read(user=mei, message=read)
    client = client_for(mei)

    page = client.get(reverse("core:inbox")).content.decode()
    assert subjects(page) == ["New unread", "Old unread", "Already read"]
    assert subjects(client.get(reverse("core:inbox"), {"show": "unread"}).content.decode()) == [
        "New unread",
        "Old unread",
    ]
    assert subjects(client.get(reverse("core:inbox"), {"show": "read"}).content.decode()) == ["Already read"]
    assert subjects(client.get(reverse("core:inbox"), {"show": "bogus"}).content.decode()) == subjects(page)
    assert old_unread.pk and new_unread.pk
    assert page.count("<h1") == 1


def test_reading_a_message_marks_it_read_and_lowers_the_badge(two: tuple[User, User]) -> None:
    mei, _ = two
    message = notify(mei, "Meeting", link="/regions/")
    notify(mei, "Another")
    client = client_for(mei)
    assert re.search(r'class="badge"[^>]*>2<', client.get(reverse("core:inbox")).content.decode())

    page = client.get(reverse("core:message", args=[message.pk])).content.decode()
    assert "Meeting body" in page and 'href="/regions/"' in page
    assert reverse("core:message_ack", args=[message.pk]) not in page
    message.refresh_from_db()
    assert message.read_at is not None
    assert re.search(r'class="badge"[^>]*>1<', client.get(reverse("core:inbox")).content.decode())


def test_acknowledge_is_a_csrf_protected_post(two: tuple[User, User]) -> None:
    mei, _ = two
    message = notify(mei, "Flood warning", requires_ack=True)
    client = client_for(mei, csrf=True)
    detail = client.get(reverse("core:message", args=[message.pk])).content.decode()
    assert reverse("core:message_ack", args=[message.pk]) in detail
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', detail)
    assert token is not None

    ack_url = reverse("core:message_ack", args=[message.pk])
    assert client.get(ack_url).status_code == 405
    assert client.post(ack_url).status_code == 403  # no CSRF token
    message.refresh_from_db()
    assert message.acknowledged_at is None

    response = client.post(ack_url, {"csrfmiddlewaretoken": token.group(1)})
    assert response.status_code == 302 and response["Location"] == reverse("core:message", args=[message.pk])
    message.refresh_from_db()
    assert message.acknowledged_at is not None
    after = client.get(reverse("core:message", args=[message.pk])).content.decode()
    assert ack_url not in after  # no button once acknowledged


def test_acknowledging_a_message_that_did_not_ask_changes_nothing(two: tuple[User, User]) -> None:
    mei, _ = two
    message = notify(mei, "Plain")
    response = client_for(mei).post(reverse("core:message_ack", args=[message.pk]), follow=True)
    assert response.status_code == 200
    assert "does not ask for an acknowledgement" in response.content.decode()
    message.refresh_from_db()
    assert message.acknowledged_at is None


def test_other_peoples_messages_do_not_exist(two: tuple[User, User]) -> None:
    mei, lin = two
    message = notify(mei, "Private", requires_ack=True)
    intruder = client_for(lin)
    assert intruder.get(reverse("core:message", args=[message.pk])).status_code == 404
    assert intruder.post(reverse("core:message_ack", args=[message.pk])).status_code == 404
    assert intruder.get(reverse("core:message", args=[999999])).status_code == 404
    assert "Private" not in intruder.get(reverse("core:inbox")).content.decode()
    message.refresh_from_db()
    assert message.read_at is None and message.acknowledged_at is None
