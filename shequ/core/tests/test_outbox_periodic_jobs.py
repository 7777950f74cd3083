"""Core's own periodic jobs."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from shequ.conftest import World
from shequ.core.handlers import clear_expired_sessions
from shequ.core.models import UserSession


@pytest.mark.django_db
def test_clear_sessions_drops_expired_sessions_and_their_links(world: World) -> None:
    live, dead = SessionStore(), SessionStore()
    live.create()
    dead.create()
    Session.objects.filter(session_key=dead.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    for key in (str(live.session_key), str(dead.session_key)):
        UserSession.objects.create(user=world["head_a"], session_key=key)
    clear_expired_sessions()
    assert set(UserSession.objects.values_list("session_key", flat=True)) == {live.session_key}
    assert not Session.objects.filter(session_key=dead.session_key).exists()
