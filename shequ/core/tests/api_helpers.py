"""Helpers shared by the API tests: issue tokens and call the API with them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from shequ.conftest import World
from shequ.core.apiauth import known_scopes, token_create
from shequ.core.models import User

API = "/api/v1"
ALL_SCOPES = sorted(known_scopes())


def issue(world: World, user: User | str, scopes: list[str] | None = None, days: int = 30) -> str:
    """A raw token for ``user`` issued by the system admin."""
    owner = world[user] if isinstance(user, str) else user
    _token, raw = token_create(
        actor=None if owner == world["sysadmin"] else world["sysadmin"],
        user=owner,
        name="test",
        scopes=ALL_SCOPES if scopes is None else scopes,
        expires_at=timezone.now() + timedelta(days=days),
    )
    return raw


def bearer(raw: str) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def get(client: Client, path: str, raw: str | None = None, **params: Any) -> Any:
    return client.get(API + path, params, **(bearer(raw) if raw else {}))


def post(client: Client, path: str, raw: str | None = None, **extra: Any) -> Any:
    return client.post(API + path, **(bearer(raw) if raw else {}), **extra)


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The error contract: JSON ``{code, message, details}`` with the given status."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    if code is not None:
        assert body["code"] == code, body
    assert "Traceback" not in response.content.decode()
    return body


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """Rate-limit counters live in the cache; start every test with none."""
    cache.clear()
    yield
    cache.clear()
