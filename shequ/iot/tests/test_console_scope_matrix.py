"""Scope matrix of the staff console pages (shequ/iot/urls_console.py): every console route tried by
every persona on the objects of two communities (console_fixtures.py) —

* ``a``: grid A of community A: the smoke detector ``smoke-1``, its alert, the community's smoke
  rule, house ``a``;
* ``b``: grid 1 of the sibling community B: ``smoke-b``, its alert, community B's rule, house ``b``.

Who sees what is written out by hand below from the personas' roles and regions
(shequ/conftest.py PERSONAS) and the role table of shequ/iot/permissions.py — not computed by the
code under test. Object pages answer 404 to those who may not see the object; a persona without
the page's permission gets the audited 403. Steps are posted with an empty form (and on alerts
already acknowledged and linked to a ticket): one who may not act gets 403 or 404, one who may
gets 400 — and nothing changes either way.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from shequ.conftest import PERSONAS, World
from shequ.core.models import AuditEntry, AuditResult
from shequ.iot import services
from shequ.iot.models import Alert, Device, Rule
from shequ.iot.tests.console_fixtures import Console, console  # noqa: F401  (fixture)

# Every console route, as "iot:<name>"; test_iot_routes.py checks that none is missing.
COVERED: set[str] = {
    "iot:devices",
    "iot:device_new",
    "iot:device",
    "iot:device_token",
    "iot:device_retire",
    "iot:map",
    "iot:map_data",
    "iot:alerts",
    "iot:alert",
    "iot:alert_ack",
    "iot:alert_clear",
    "iot:alert_ticket",
    "iot:house",
    "iot:rules",
    "iot:rule_new",
    "iot:rule_toggle",
    "iot:dead_letters",
}

# Region staff holding iot.view (and iot.alert, iot.access): grid, community and street roles.
STAFF = {"grid_a", "grid_b", "worker_a", "head_a", "head_b", "street", "outsider"}
MANAGERS = {"worker_a", "head_a", "head_b", "street", "outsider"}  # iot.manage
RULE_MAKERS = {"head_a", "head_b", "street", "outsider"}  # iot.rules

# Who sees the devices, alerts and houses of each side (exact region scope).
SEES: dict[str, set[str]] = {
    "a": {"grid_a", "worker_a", "head_a", "street"},
    "b": {"head_b", "street"},
}
# Rules in force: a grid's staff also see their community's rules.
SEES_RULE: dict[str, set[str]] = {
    "a": {"grid_a", "grid_b", "worker_a", "head_a", "street"},
    "b": {"head_b", "street"},
}

# Pages without an object → who may open them.
LIST_PAGES: dict[str, set[str]] = {
    "iot:devices": STAFF,
    "iot:map": STAFF,
    "iot:map_data": STAFF,
    "iot:alerts": STAFF,
    "iot:rules": STAFF,
    "iot:device_new": MANAGERS,
    "iot:rule_new": RULE_MAKERS,
    "iot:dead_letters": MANAGERS,
}
LIST_POSTS: dict[str, set[str]] = {"iot:device_new": MANAGERS, "iot:rule_new": RULE_MAKERS}
# Object pages (GET) and steps (POST): the object, who may see it, and who may take the step.
DEVICE_POSTS = {"iot:device_token": MANAGERS, "iot:device_retire": MANAGERS}
ALERT_POSTS = {"iot:alert_ack": STAFF, "iot:alert_clear": STAFF, "iot:alert_ticket": STAFF}
RULE_POSTS = {"iot:rule_toggle": RULE_MAKERS}

assert set().union(*SEES.values(), *SEES_RULE.values()) <= set(PERSONAS)
OBJECT_PAGES = {"iot:device", "iot:alert", "iot:house"}
assert set(LIST_PAGES) | OBJECT_PAGES | set(DEVICE_POSTS) | set(ALERT_POSTS) | set(RULE_POSTS) == COVERED


@pytest.fixture
def objects(console: Console) -> dict[str, dict[str, Any]]:  # noqa: F811
    """Alerts acknowledged and linked to a ticket, so that every step on them is refused (400)."""
    for alert in console.alerts.values():
        services.alert_acknowledge(actor=console.site.world["street"], alert=alert)
        services.alert_link_ticket(alert_id=alert.pk, ticket_id=900 + alert.pk)
    return {
        "device": {"a": console.devices["smoke-1"], "b": console.devices["smoke-b"]},
        "alert": {"a": console.alerts["a"], "b": console.alerts["b"]},
        "rule": {"a": console.rules["smoke"], "b": console.rules["b"]},
        "house": {"a": console.houses["a"], "b": console.houses["b"]},
    }


def state() -> tuple[Any, ...]:
    return (
        tuple(Device.objects.order_by("pk").values_list("pk", "token_hash", "active")),
        tuple(Alert.objects.order_by("pk").values_list("pk", "state", "open", "ticket_id", "clear_reason")),
        tuple(Rule.objects.order_by("pk").values_list("pk", "enabled")),
    )


def denials() -> int:
    return AuditEntry.objects.filter(result=AuditResult.DENIED).count()


def expect(status: int, allowed: bool, sees: bool, *, ok: int) -> int:
    """The answer to a persona: 403 without the page's permission, 404 for an object out of
    scope, ``ok`` otherwise."""
    if not allowed:
        return 403
    return ok if sees else 404


def signed_in(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world[persona])
    return client


def _check(client: Client, method: str, url: str, expected: int, what: Any) -> None:
    before = denials()
    response = client.get(url) if method == "get" else client.post(url, {})
    assert response.status_code == expected, (*what, response.status_code)
    if expected == 403:  # every refusal is audited
        assert denials() > before, what


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_object_pages_and_steps(world: World, objects: dict[str, dict[str, Any]], persona: str) -> None:
    client = signed_in(world, persona)
    before = state()
    staff = persona in STAFF
    for side in ("a", "b"):
        sees, sees_rule = persona in SEES[side], persona in SEES_RULE[side]
        device, alert = objects["device"][side], objects["alert"][side]
        rule, house = objects["rule"][side], objects["house"][side]
        _check(
            client,
            "get",
            reverse("iot:device", args=[device.pk]),
            expect(0, staff, sees, ok=200),
            ("device", side, persona),
        )
        _check(
            client,
            "get",
            reverse("iot:alert", args=[alert.pk]),
            expect(0, staff, sees, ok=200),
            ("alert", side, persona),
        )
        _check(
            client,
            "get",
            reverse("iot:house", args=[house.pk]),
            expect(0, staff, sees, ok=200),
            ("house", side, persona),
        )
        for name, who in DEVICE_POSTS.items():
            # Seen but not theirs to manage: the audited 403 after the 404 check.
            code = 404 if staff and not sees else 400 if persona in who else 403
            _check(client, "post", reverse(name, args=[device.pk]), code, (name, side, persona))
        for name, who in ALERT_POSTS.items():
            code = 404 if staff and not sees else 400 if persona in who else 403
            _check(client, "post", reverse(name, args=[alert.pk]), code, (name, side, persona))
        for name, who in RULE_POSTS.items():
            code = 404 if staff and not sees_rule else 400 if persona in who else 403
            _check(client, "post", reverse(name, args=[rule.pk]), code, (name, side, persona))
    assert state() == before, persona


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_pages_without_an_object(world: World, objects: dict[str, dict[str, Any]], persona: str) -> None:
    client = signed_in(world, persona)
    before = state()
    counts = Device.objects.count(), Rule.objects.count()
    for name, allowed in sorted(LIST_PAGES.items()):
        _check(client, "get", reverse(name), 200 if persona in allowed else 403, (name, persona))
    for name, allowed in sorted(LIST_POSTS.items()):
        _check(client, "post", reverse(name), 400 if persona in allowed else 403, (name, persona))
    assert state() == before and (Device.objects.count(), Rule.objects.count()) == counts, persona


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(STAFF))
def test_lists_hold_only_the_viewers_objects(
    world: World, objects: dict[str, dict[str, Any]], persona: str
) -> None:
    client = signed_in(world, persona)
    for side in ("a", "b"):
        device, alert, rule = objects["device"][side], objects["alert"][side], objects["rule"][side]
        devices = client.get(reverse("iot:devices")).content.decode()
        assert (reverse("iot:device", args=[device.pk]) in devices) == (persona in SEES[side]), (
            side,
            persona,
        )
        alerts = client.get(reverse("iot:alerts")).content.decode()
        assert (reverse("iot:alert", args=[alert.pk]) in alerts) == (persona in SEES[side]), (side, persona)
        rules = client.get(reverse("iot:rules")).content.decode()
        assert (f"<strong>{rule.name}</strong>" in rules) == (persona in SEES_RULE[side]), (side, persona)
        features = client.get(reverse("iot:map_data")).json()["features"]
        ids = {f["properties"]["id"] for f in features if f["properties"]["kind"] == "device"}
        # smoke-b has a point; smoke-1 too (console_fixtures.py).
        assert (device.pk in ids) == (persona in SEES[side]), (side, persona)


@pytest.mark.django_db
def test_map_of_a_region_outside_the_scope_is_404(world: World, objects: dict[str, dict[str, Any]]) -> None:
    head_a = signed_in(world, "head_a")
    for name in ("iot:map", "iot:map_data"):
        assert head_a.get(reverse(name), {"region": "430104002003"}).status_code == 404, name
        assert head_a.get(reverse(name), {"region": "43010400200x"}).status_code == 404, name
        assert head_a.get(reverse(name), {"region": "430104002001001"}).status_code == 200, name
    street = signed_in(world, "street")
    data = street.get(reverse("iot:map_data"), {"region": "430104002003"}).json()
    ids = {f["properties"]["id"] for f in data["features"] if f["properties"]["kind"] == "device"}
    assert ids == {objects["device"]["b"].pk}


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(objects: dict[str, dict[str, Any]]) -> None:
    client = Client()
    pk = objects["device"]["a"].pk
    for name in sorted(COVERED):
        args = [] if name in LIST_PAGES or name in LIST_POSTS else [pk]
        response = client.get(reverse(name, args=args))
        assert response.status_code == 302 and "/login" in response["Location"], name
