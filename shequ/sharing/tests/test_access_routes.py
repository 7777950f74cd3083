"""The scope matrix of the catalog, client, grant and access-log pages (the core matrix leaves
``sharing:`` to the app): every persona of the shared world on every page, with the expected answer
written from the personas' roles, not computed by the code under test."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import URLPattern

from shequ.conftest import PERSONAS
from shequ.core.models import ApiToken, AuditEntry
from shequ.sharing import urls_access
from shequ.sharing.models import SharingCall
from shequ.sharing.tests import access_fixtures as fx
from shequ.sharing.tests.access_fixtures import COMMUNITY_B, Shared

shared, fast_hasher, fresh_rate_windows = fx.shared, fx.fast_hasher, fx.fresh_rate_windows

ALL = set(PERSONAS)
SECADMIN = {"secadmin"}
# sharing.access_log: community and street staff, the security administrator and the auditor.
LOG_READERS = {"worker_a", "head_a", "head_b", "street", "outsider", "secadmin", "auditor"}
# Readers whose regions hold community A's rows (the call below returned rows of A only).
A_READERS = {"worker_a", "head_a", "street", "secadmin", "auditor"}

Paths = dict[str, Callable[[Shared], str]]


def _grant(s: Shared) -> str:
    grant = s.grant("people", ["name"])
    return f"/sharing/grants/{grant.pk}/"


def _token(s: Shared, action: str) -> str:
    token = ApiToken.objects.get(user=s.client)
    return f"/sharing/tokens/{token.pk}/{action}/"


def _call_on_a(s: Shared) -> str:
    s.grant("people", ["name"])
    body = s.get("people/rows").json()
    return f"/sharing/log/{body['call']}/"


# route name → (path maker, personas answered 200; the others with a role get 403, or 404 where
# the page is about an object outside their regions; "nobody" is sent to sign in).
MATRIX: dict[str, tuple[Callable[[Shared], str], set[str], set[str]]] = {
    "sharing:catalog": (lambda s: "/sharing/catalog/", ALL, set()),
    "sharing:catalog_resource": (lambda s: "/sharing/catalog/people/", ALL, set()),
    "sharing:clients": (lambda s: "/sharing/clients/", SECADMIN, set()),
    "sharing:client_new": (lambda s: "/sharing/clients/new/", SECADMIN, set()),
    "sharing:token_new": (lambda s: _token(s, "new"), SECADMIN, set()),
    "sharing:token_revoke": (lambda s: _token(s, "revoke"), SECADMIN, set()),
    "sharing:grants": (lambda s: "/sharing/grants/", SECADMIN, set()),
    "sharing:grant_new": (lambda s: "/sharing/grants/new/?resource=people", SECADMIN, set()),
    "sharing:grant_detail": (_grant, SECADMIN, set()),
    "sharing:grant_revoke": (lambda s: _grant(s) + "revoke/", SECADMIN, set()),  # POSTed below
    "sharing:access_log": (lambda s: "/sharing/log/", LOG_READERS, set()),
    "sharing:access_log_detail": (_call_on_a, A_READERS, LOG_READERS - A_READERS),
}
PUBLIC = {"sharing:catalog", "sharing:catalog_resource"}
POSTED = {"sharing:grant_revoke"}


def test_every_access_route_is_in_the_matrix() -> None:
    names = {f"sharing:{p.name}" for p in urls_access.urlpatterns if isinstance(p, URLPattern) and p.name}
    assert names == set(MATRIX)


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_access_pages_follow_the_persona(shared: Shared, route: str) -> None:
    make, ok, not_found = MATRIX[route]
    path = make(shared)
    for persona in sorted(PERSONAS):
        client = Client()
        if persona != "nobody":
            client.force_login(shared.world[persona])
        posted = route in POSTED
        response = client.post(path, {"reason": "核查结束"}) if posted else client.get(path)
        if persona == "nobody" and route not in PUBLIC:
            expected = 302  # to the sign-in page
        elif persona in ok:
            expected = 302 if posted else 200  # a revocation goes back to the grant
        elif persona in not_found:
            expected = 404
        else:
            expected = 403
        assert response.status_code == expected, (route, persona, response.status_code)
    if route in POSTED:
        assert AuditEntry.objects.filter(action="sharing.grant_revoke", result="success").count() == 1


def test_a_sibling_community_cannot_open_a_call_on_another_community(shared: Shared) -> None:
    path = _call_on_a(shared)
    client = Client()
    client.force_login(shared.world["head_b"])
    assert client.get(path).status_code == 404
    call = SharingCall.objects.get()
    assert not call.regions.filter(region_code=COMMUNITY_B).exists()
