"""The scope matrix of the data-request and subscription pages (the core matrix leaves ``sharing:``
to the app): every persona of the world, plus a county officer who owns the data, a sibling
county's officer and security administrator and another department's staff, on every route, with
the expected answer written from their roles."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern

from shequ.conftest import PERSONAS
from shequ.sharing import urls_requests, urls_subscriptions
from shequ.sharing.models import DeliveryState, Subscription, SubscriptionState, WebhookDelivery
from shequ.sharing.services import requests as request_services
from shequ.sharing.services import subscriptions
from shequ.sharing.tests.reqsub_world import COMMUNITY_A, Sharing, sharing_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

EXTRA = {"owner", "owner_b", "secadmin_b", "dept_b"}
EVERYONE = (set(PERSONAS) | EXTRA) - {"nobody"}
ADMINS = {"secadmin", "secadmin_b"}


def _request(s: Sharing) -> str:
    req = request_services.request_create(
        actor=s["dept"],
        resource="people",
        fields=["name"],
        unmasked=[],
        region_codes=[COMMUNITY_A],
        row_filters={},
        purpose="入户走访核对住址",
        legal_basis="《城市居民委员会组织法》",
        duration_days=30,
    )
    return f"/sharing/requests/{req.pk}/"


def _subscription(s: Sharing) -> Subscription:
    sub, _secret = subscriptions.subscription_create(
        actor=s["secadmin"],
        grant=s.grant(["name"]),
        events=["registry.person_moved_out"],
        region_codes=[COMMUNITY_A],
        url="https://police.example/hook",
    )
    return sub


def _dead(s: Sharing) -> WebhookDelivery:
    _subscription(s)
    with transaction.atomic():
        [delivery] = subscriptions.fan_out(
            "registry.person_moved_out", "people", s.people["a"].pk, COMMUNITY_A
        )
    subscriptions.delivery_give_up(delivery.pk, "HTTP 502")
    return delivery


# route → (method, path maker, personas answered 200/302, personas answered 404); everyone else
# with an account gets the audited 403, and "nobody" is sent to sign in.
MATRIX: dict[str, tuple[str, Callable[[Sharing], str], set[str], set[str]]] = {
    "sharing:requests": ("get", lambda s: "/sharing/requests/", {"dept", "dept_b"}, set()),
    "sharing:request_new": ("get", lambda s: "/sharing/requests/new/", {"dept", "dept_b"}, set()),
    "sharing:request_queue": (
        "get",
        lambda s: "/sharing/requests/queue/",
        {"owner", "owner_b", "secadmin", "secadmin_b"},
        set(),
    ),
    "sharing:request_detail": (
        "get",
        _request,
        {"dept", "owner", "secadmin"},
        {"dept_b", "owner_b", "secadmin_b"},
    ),
    "sharing:subscriptions": (
        "get",
        lambda s: "/sharing/subscriptions/",
        {"secadmin", "secadmin_b", "dept", "dept_b"},
        set(),
    ),
    "sharing:subscription_new": (
        "get",
        lambda s: "/sharing/subscriptions/new/",
        {"secadmin", "secadmin_b"},
        set(),
    ),
    "sharing:subscription_detail": (
        "get",
        lambda s: f"/sharing/subscriptions/{_subscription(s).pk}/",
        {"secadmin", "dept"},
        {"secadmin_b", "dept_b"},
    ),
    "sharing:subscription_action": (
        "post",
        lambda s: f"/sharing/subscriptions/{_subscription(s).pk}/pause/",
        {"secadmin"},
        {"secadmin_b"},
    ),
    "sharing:dead_letters": (
        "get",
        lambda s: "/sharing/subscriptions/dead/",
        {"secadmin", "secadmin_b"},
        set(),
    ),
    "sharing:dead_letter_action": (
        "post",
        lambda s: f"/sharing/subscriptions/dead/{_dead(s).pk}/redeliver/",
        {"secadmin"},
        {"secadmin_b"},
    ),
}


def test_every_route_is_in_the_matrix() -> None:
    names = {
        f"sharing:{p.name}"
        for module in (urls_requests, urls_subscriptions)
        for p in module.urlpatterns
        if isinstance(p, URLPattern) and p.name
    }
    assert names == set(MATRIX)


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_pages_follow_the_persona(sharing: Sharing, route: str) -> None:
    method, make, ok, not_found = MATRIX[route]
    path = make(sharing)
    for persona in sorted(EVERYONE | {"nobody"}):
        if method == "post" and persona in ok:
            continue  # the manager's own POST changes the object: test_subscriptions_pages.py
        client = Client()
        if persona != "nobody":
            client.force_login(sharing[persona])
        answer = getattr(client, method)(path)
        if persona == "nobody":
            expected = {302}
        elif persona in ok:
            expected = {200, 302}
        elif persona in not_found:
            expected = {404}
        else:
            expected = {403}
        assert answer.status_code in expected, (persona, answer.status_code)
        if answer.status_code in (403, 404):
            assert "入户走访核对住址" not in answer.content.decode()
            assert "police.example" not in answer.content.decode()
    # Nothing the refused personas posted changed anything.
    assert not Subscription.objects.exclude(state=SubscriptionState.ACTIVE).exists()
    assert not WebhookDelivery.objects.exclude(state=DeliveryState.DEAD).filter(attempts__gt=0).exists()
