"""Scope matrix of the access-control pages (shequ/iot/urls_access.py): every page tried by every
persona (shequ/conftest.py PERSONAS) plus a resident and a street officer of other places.

Objects: person a and house a[0] in grid A of community A with a card; the resident persona's
pass (house a[1]); a feed the street officer authorized for community A. Who gets what is written
out by hand from the role table (shequ/iot/permissions.py) and the registry's scopes: 200/302 for
those who may, 404 for objects outside the viewer's regions (or another resident's pass), an
audited 403 for a missing permission, the login page for the anonymous.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from shequ.conftest import PERSONAS
from shequ.core import accounts
from shequ.core.models import AuditEntry, AuditResult, Role
from shequ.iot import services
from shequ.iot.models import AccessCredential, FeedSubscription, VisitorPass
from shequ.iot.services import imports
from shequ.iot.tests.access_world import Estate, pass_times
from shequ.iot.tests.test_device_import import workbook

pytestmark = pytest.mark.django_db

# Every access-control route, as "iot:<name>"; test_iot_routes.py checks that none is missing.
COVERED: set[str] = {
    "iot:passes",
    "iot:pass_detail",
    "iot:pass_revoke",
    "iot:gate_check",
    "iot:person_credentials",
    "iot:house_credentials",
    "iot:credential_revoke",
    "iot:plates",
    "iot:feeds",
    "iot:feed_new",
    "iot:feed_detail",
    "iot:feed_revoke",
    "iot:device_import",
    "iot:device_import_template",
    "iot:device_import_report",
    "iot:device_import_errors",
    "iot:device_import_commit",
}

EVERYONE = set(PERSONAS) | {"resident_b", "street_c"}
# iot.access / iot.guard: region staff (not departments, residents or the admins).
REGION_STAFF = {"grid_a", "grid_b", "worker_a", "head_a", "head_b", "street", "outsider", "street_c"}
MANAGERS = {"worker_a", "head_a", "head_b", "street", "outsider", "street_c"}
# Who sees person a / house a[0] in the registry (grid A of community A).
SEES_A = {"grid_a", "worker_a", "head_a", "street"}


def expect(allowed: set[str], in_scope: set[str], ok: int) -> dict[str, int]:
    """``ok`` for ``in_scope``, 404 for the rest of ``allowed``, 403 for everyone else."""
    return {p: ok if p in in_scope else 404 if p in allowed else 403 for p in EVERYONE}


@pytest.fixture
def things(estate: Estate) -> dict[str, Any]:
    world = estate.world
    extra = {
        "resident_b": (Role.RESIDENT, "430104002003001"),
        "street_c": (Role.STREET_OFFICER, "430104003"),
    }
    for name, (role, code) in extra.items():
        user = accounts.user_create(
            actor=None, username=name, display_name=name, password="Tq7!correct-Horse"
        )
        accounts.membership_grant(actor=None, user=user, role=role, region=world.regions[code])
        world.users[name] = user
    person = estate.reg.people["a"]
    vp = services.visitor_pass_create(
        actor=world["resident"], house=estate.me.house, visitor_name="钱七", **pass_times()
    )
    feed, _secret = services.feed_authorize(
        actor=world["street"],
        name="派出所",
        department=world.department,
        client=world["dept"],
        regions=[world.regions["430104002001"]],
        kinds=["gate"],
        mode="pull",
        authorization="岳公函〔2026〕12号",
    )
    bad_row = ["door-1", "", "冰箱", "海康威视", "", "SN1", "430104002001001", "", "", "", "", ""]
    token = imports.upload_check(actor=world["head_a"], filename="设备.xlsx", content=workbook([bad_row]))
    return {
        "estate": estate,
        "person": person,
        "house": estate.reg.houses["a"][0],
        "pass": vp,
        "feed": feed,
        "upload": token,
    }


def credential(things: dict[str, Any]) -> AccessCredential:
    return services.credential_register(
        actor=None,
        person=things["person"],
        kind="card",
        value=str(10_000_000 + AccessCredential.objects.count()),
    )


GETS: dict[str, tuple[Any, dict[str, int]]] = {
    "iot:passes": (
        lambda t: "/iot/passes/",
        expect({"resident", "resident_b"}, {"resident", "resident_b"}, 200),
    ),
    "iot:pass_detail": (
        lambda t: f"/iot/passes/{t['pass'].pk}/",
        expect({"resident", "resident_b"}, {"resident"}, 200),
    ),
    "iot:gate_check": (lambda t: "/iot/gate/", expect(REGION_STAFF, REGION_STAFF, 200)),
    "iot:person_credentials": (
        lambda t: f"/iot/access/people/{t['person'].pk}/credentials/",
        expect(REGION_STAFF, SEES_A, 200),
    ),
    "iot:house_credentials": (
        lambda t: f"/iot/access/houses/{t['house'].pk}/credentials/",
        expect(REGION_STAFF, SEES_A, 200),
    ),
    "iot:plates": (lambda t: "/iot/access/plates/", expect(REGION_STAFF, REGION_STAFF, 200)),
    "iot:feeds": (lambda t: "/iot/feeds/", expect({"street", "street_c"}, {"street", "street_c"}, 200)),
    "iot:feed_new": (
        lambda t: "/iot/feeds/new/",
        expect({"street", "street_c"}, {"street", "street_c"}, 200),
    ),
    "iot:feed_detail": (
        lambda t: f"/iot/feeds/{t['feed'].pk}/",
        expect({"street", "street_c"}, {"street"}, 200),
    ),
    "iot:device_import": (lambda t: "/iot/devices/import/", expect(MANAGERS, MANAGERS, 200)),
    "iot:device_import_template": (
        lambda t: "/iot/devices/import/template.xlsx",
        expect(MANAGERS, MANAGERS, 200),
    ),
    # An upload is its uploader's (head_a's) only: every other manager gets 404 (test_device_import.py).
    "iot:device_import_report": (
        lambda t: f"/iot/devices/import/{t['upload']}/",
        expect(MANAGERS, {"head_a"}, 200),
    ),
    "iot:device_import_errors": (
        lambda t: f"/iot/devices/import/{t['upload']}/problems.xlsx",
        expect(MANAGERS, {"head_a"}, 200),
    ),
}


def login(client: Client, world: Any, persona: str) -> None:
    client.logout()
    if persona != "anonymous":
        client.force_login(world.users[persona])


@pytest.mark.parametrize("route", sorted(GETS))
def test_pages(things: dict[str, Any], client: Client, route: str) -> None:
    url_of, expected = GETS[route]
    url = url_of(things)
    world = things["estate"].world
    for persona, status in sorted(expected.items()):
        login(client, world, persona)
        before = AuditEntry.objects.filter(action="access.denied", result=AuditResult.DENIED).count()
        response = client.get(url)
        assert response.status_code == status, (route, persona, response.status_code)
        if status == 403:
            after = AuditEntry.objects.filter(action="access.denied", result=AuditResult.DENIED).count()
            assert after == before + 1, (route, persona, "403 not audited")
    login(client, world, "anonymous")
    assert client.get(url).status_code == 302


def test_pass_revoke(things: dict[str, Any], client: Client) -> None:
    vp: VisitorPass = things["pass"]
    world = things["estate"].world
    expected = expect({"resident", "resident_b"}, {"resident"}, 302)
    for persona, status in sorted(expected.items(), key=lambda kv: kv[1] == 302):
        login(client, world, persona)
        assert client.post(f"/iot/passes/{vp.pk}/revoke/").status_code == status, persona
        vp.refresh_from_db()
        assert (vp.revoked_at is not None) == (status == 302), persona


def test_credential_revoke(things: dict[str, Any], client: Client) -> None:
    world = things["estate"].world
    expected = expect(MANAGERS, {"worker_a", "head_a", "street"}, 302)
    for persona, status in sorted(expected.items()):
        card = credential(things)
        login(client, world, persona)
        assert client.post(f"/iot/access/credentials/{card.pk}/revoke/").status_code == status, persona
        card.refresh_from_db()
        assert card.active == (status != 302), persona


def test_credential_add(things: dict[str, Any], client: Client) -> None:
    """Adding on the person's page: managers who see the person; the readers get 403."""
    world = things["estate"].world
    url = f"/iot/access/people/{things['person'].pk}/credentials/"
    expected = {**expect(REGION_STAFF, SEES_A, 302), "grid_a": 403}
    for persona, status in sorted(expected.items()):
        login(client, world, persona)
        value = str(20_000_000 + AccessCredential.objects.count())
        assert client.post(url, {"kind": "card", "value": value}).status_code == status, persona
        assert AccessCredential.objects.filter(masked=f"****{value[-4:]}").exists() == (status == 302), (
            persona
        )


def test_device_import_commit(things: dict[str, Any], client: Client) -> None:
    """Committing an upload: its uploader (here a file with nothing valid: a 302 back to the
    report); other managers 404; the rest 403."""
    world = things["estate"].world
    for persona, status in sorted(expect(MANAGERS, {"head_a"}, 302).items()):
        login(client, world, persona)
        url = f"/iot/devices/import/{things['upload']}/commit/"
        assert client.post(url, {"expect": "0"}).status_code == status, persona


def test_feed_revoke(things: dict[str, Any], client: Client) -> None:
    feed: FeedSubscription = things["feed"]
    world = things["estate"].world
    expected = expect({"street", "street_c"}, {"street"}, 302)
    for persona, status in sorted(expected.items(), key=lambda kv: kv[1] == 302):
        login(client, world, persona)
        assert client.post(f"/iot/feeds/{feed.pk}/revoke/").status_code == status, persona
        feed.refresh_from_db()
        assert feed.active == (status != 302), persona
