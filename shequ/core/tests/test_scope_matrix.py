"""The scope matrix (DESIGN.md rule 2, security requirement 8): every page and every API operation,
tried by every persona of sibling grids, communities and streets.

Adding a page or an API operation without a row here fails ``test_every_route_is_in_the_matrix``.
Expected outcomes are written from the personas' memberships, not computed by the code under test.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from shequ.conftest import PERSONAS, TREE, World
from shequ.core import duty, messaging
from shequ.core.models import AuditEntry, DutyFallback, DutyShift, Role

# Pages open to everyone (they handle their own state).
PUBLIC = {"core:login", "core:logout", "core:second_factor", "core:toggle_elderly", "set_language"}
# The installable app's files: the same for everyone, no personal data (test_app_shell.py).
APP_FILES = {"core:manifest", "core:service_worker", "core:offline"}
# Pages for any signed-in user, about themselves only.
SELF = {
    "core:home",
    "core:me",
    "core:regions",
    "core:security",
    "core:password_change",
    "core:totp_setup",
    "core:inbox",
}
# Pages about one object, checked object by object below.
OBJECT = {"core:region", "core:pick_region", "core:region_lookup", "core:message", "core:message_ack"}
# The on-duty roster: the picker and one region's roster, checked persona by persona below.
DUTY = {"core:duty", "core:duty_roster"}
# Administration pages and the one persona that may open each (三权分立).
ADMIN = {"core:accounts": "sysadmin", "core:memberships": "secadmin", "core:audit": "auditor"}
# Probes and metrics for balancers and monitoring: no login and no personal data by design; what
# they show and who may read /metrics is tested in test_health.py.
PROBES = {"healthz", "readyz", "metrics"}
# Mounted elsewhere with their own matrix (the API, below) or only when configured (OIDC).
# Open311 (shequ/grid/urls_open311.py) is public or keyed by api_key, with its own suite
# (shequ/grid/tests/test_open311*.py, key scopes included).
ELSEWHERE_PREFIXES = ("api/v1/", "oidc/", "open311/")
# Apps whose pages have a matrix of their own (shequ/registry/tests/test_registry_scope_matrix.py,
# shequ/grid/tests/test_grid_scope_matrix.py, shequ/iot/tests/test_iot_routes.py,
# shequ/emergency/tests/test_emergency_routes.py, shequ/govservice/tests/test_govservice_routes.py,
# shequ/participation/tests/test_participation_routes.py, shequ/reports/tests/test_pages_routes.py
# (reports and ledgers), shequ/sharing/tests/test_sharing_routes.py).
ELSEWHERE_NAMESPACES = (
    "registry:",
    "grid:",
    "iot:",
    "emergency:",
    "govservice:",
    "participation:",
    "reports:",
    "sharing:",
)

# Roles whose holders browse the region tree (Perm.VIEW_REGION).
REGION_VIEWERS = {
    Role.GRID_WORKER,
    Role.COMMUNITY_WORKER,
    Role.COMMUNITY_HEAD,
    Role.STREET_OFFICER,
    Role.DEPARTMENT_STAFF,
    Role.SYSTEM_ADMIN,
    Role.SECURITY_ADMIN,
    Role.AUDITOR,
}


def named_routes() -> set[str]:
    found: set[str] = set()

    def walk(patterns: list[Any], namespace: str, prefix: str) -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if route.startswith(ELSEWHERE_PREFIXES):
                continue
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, ns, route)
            elif isinstance(p, URLPattern) and p.name:
                found.add(namespace + p.name)

    walk(get_resolver().url_patterns, "", "")
    return found


def test_every_route_is_in_the_matrix() -> None:
    covered = PUBLIC | APP_FILES | SELF | OBJECT | PROBES | DUTY | set(ADMIN)
    ours = {name for name in named_routes() if not name.startswith(ELSEWHERE_NAMESPACES)}
    assert ours - covered == set(), "add the new pages to the scope matrix"


def expected_region_access(persona: str, code: str) -> bool:
    role, home, _dept = PERSONAS[persona]
    return role in REGION_VIEWERS and code.startswith(home)


@pytest.fixture
def as_persona(world: World) -> Any:
    def make(persona: str) -> Client:
        client = Client()
        client.force_login(world[persona])
        return client

    return make


@pytest.mark.django_db
def test_anonymous_is_sent_to_login_everywhere(client: Client, world: World) -> None:
    message = messaging.notify(sender=None, recipients=[world["grid_a"]], subject="s", body="b")[0]
    paths = [
        "/",
        "/me/",
        "/regions/",
        "/account/security/",
        "/account/password/",
        "/account/totp/",
        "/inbox/",
        "/regions/430104002001/",
        f"/inbox/{message.pk}/",
        "/admin/accounts/",
        "/admin/memberships/",
        "/admin/audit/",
        "/region/lookup/?q=岳麓",
        "/duty/",
        "/duty/430104002001/",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path
    assert client.post("/region/pick/", {"code": "430104002001"}).status_code == 302
    assert client.post(f"/inbox/{message.pk}/ack/").status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_region_pages_follow_the_persona_scope(as_persona: Any, persona: str) -> None:
    client = as_persona(persona)
    for code, *_ in TREE:
        allowed = expected_region_access(persona, code)
        page = client.get(f"/regions/{code}/")
        assert page.status_code == (200 if allowed else 404), (persona, code, page.status_code)
        pick = client.post("/region/pick/", {"code": code})
        assert pick.status_code == (302 if allowed else 404), (persona, code, pick.status_code)
        if allowed:
            # Nothing outside the scope leaks through the children list or the breadcrumb.
            shown = set(re.findall(r'href="/regions/(\d+)/"', page.content.decode()))
            assert all(expected_region_access(persona, c) for c in shown), (persona, code, shown)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_region_lookup_follows_the_persona_scope(as_persona: Any, persona: str) -> None:
    """The region picker's source: children of a region only inside the scope (404 outside, like
    a missing one), and a name search that never returns a region outside it."""
    client = as_persona(persona)
    for code, *_ in TREE:
        allowed = expected_region_access(persona, code)
        children = client.get("/region/lookup/", {"parent": code})
        assert children.status_code == (200 if allowed else 404), (persona, code, children.status_code)
        if allowed:
            found = {r["code"] for r in children.json()["results"]}
            below = {c for c, *_ in TREE if c.startswith(code) and len(c) > len(code)}
            assert found <= below and all(expected_region_access(persona, c) for c in found), (persona, code)
    for q in ("社区", "网格", "4301", "街道", ""):
        answer = client.get("/region/lookup/", {"q": q})
        assert answer.status_code == 200
        found = {r["code"] for r in answer.json()["results"]}
        assert all(expected_region_access(persona, c) for c in found), (persona, q, found)
        if (
            q == "网格"
            and PERSONAS[persona][0] in REGION_VIEWERS
            and PERSONAS[persona][1] in ("430104002001", "43")
        ):
            assert "430104002001001" in found, persona
    # A narrower permission narrows the answer, never widens it.
    narrowed = client.get("/region/lookup/", {"q": "社区", "perm": "core.manage_memberships"})
    assert narrowed.status_code == 200
    if persona != "secadmin":
        assert narrowed.json()["results"] == [], persona
    else:
        assert {r["code"] for r in narrowed.json()["results"]} >= {"430104002001", "430104002003"}
    assert client.get("/region/lookup/", {"parent": "abc"}).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_pages_about_oneself_open_for_every_signed_in_persona(as_persona: Any, persona: str) -> None:
    client = as_persona(persona)
    for path in [
        "/",
        "/me/",
        "/regions/",
        "/account/security/",
        "/account/password/",
        "/account/totp/",
        "/inbox/",
    ]:
        response = client.get(path, follow=True)
        assert response.status_code == 200, (persona, path)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_admin_pages_only_for_their_admin(as_persona: Any, persona: str) -> None:
    client = as_persona(persona)
    for name, admin in ADMIN.items():
        path = {
            "core:accounts": "/admin/accounts/",
            "core:memberships": "/admin/memberships/",
            "core:audit": "/admin/audit/",
        }[name]
        status = client.get(path).status_code
        if persona == admin:
            assert status == 200, (persona, path)
        else:
            assert status in (403, 404), (persona, path, status)


@pytest.mark.django_db
def test_messages_are_only_their_recipients(world: World, as_persona: Any) -> None:
    message = messaging.notify(
        sender=None, recipients=[world["grid_a"]], subject="s", body="b", requires_ack=True
    )[0]
    for persona in PERSONAS:
        client = as_persona(persona)
        own = persona == "grid_a"
        assert client.get(f"/inbox/{message.pk}/").status_code == (200 if own else 404), persona
        if not own:
            assert client.post(f"/inbox/{message.pk}/ack/").status_code == 404, persona
    message.refresh_from_db()
    assert message.acknowledged_at is None


# Roles that change a roster (Perm.MANAGE_DUTY) in their own region and below.
DUTY_MANAGERS = {Role.COMMUNITY_WORKER, Role.COMMUNITY_HEAD, Role.STREET_OFFICER}
# Regions that keep a roster, and someone who may be on duty in each.
DUTY_REGIONS = {
    "430104002": "street",
    "430104002001": "worker_a",
    "430104002003": "head_b",
    "430104003": "outsider",
    "430104003001": "outsider",
}


def expected_duty_manager(persona: str, code: str) -> bool:
    role, home, _dept = PERSONAS[persona]
    return role in DUTY_MANAGERS and code.startswith(home)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_duty_rosters_follow_the_persona_scope(world: World, as_persona: Any, persona: str) -> None:
    """Every roster page, read and each of its changes, by every persona: a sibling community or
    street gets 404 (as for a missing region), a reader 403; the community's own staff and the
    street officer above change it."""
    client = as_persona(persona)
    start = timezone.now() + timedelta(days=1)
    for code, person in DUTY_REGIONS.items():
        url = f"/duty/{code}/"
        readable = expected_region_access(persona, code)
        manages = expected_duty_manager(persona, code)
        # Outside the scope looks like a missing region (404); those who read no region at all are
        # stopped by the page guard (403), readers who may not change the roster too.
        refused = 403 if readable or PERSONAS[persona][0] not in REGION_VIEWERS else 404
        page = client.get(url)
        assert page.status_code == (200 if readable else refused), (persona, code, page.status_code)
        if readable:
            assert ('value="add"' in page.content.decode()) == manages, (persona, code)
        shift = duty.shift_add(
            actor=None,
            region_code=code,
            user=world[person],
            starts_at=start,
            ends_at=start + timedelta(hours=9),
        )
        # Two days on: the shift above (9 h from ``start``) never reaches that day's 08:30, at any hour
        # the test runs (one day on, it did when run after 23:30 Beijing time).
        day = timezone.localtime(start + timedelta(days=2), duty.local_zone()).date().isoformat()
        attempts = {
            "add": {
                "op": "add",
                "shift-user": world[person].pk,
                "shift-day": day,
                "shift-start": "08:30",
                "shift-end": "17:30",
            },
            "fallback": {"op": "fallback", "fallback-user": world[person].pk},
            "copy": {"op": "copy"},
            "remove": {"op": "remove", "shift": shift.pk},
        }
        for op, data in attempts.items():
            response = client.post(url, data)
            assert response.status_code == (302 if manages else refused), (
                persona,
                code,
                op,
                response.status_code,
            )
        assert DutyShift.objects.filter(pk=shift.pk).exists() != manages, (persona, code)
        assert DutyFallback.objects.filter(region_code=code).exists() == manages, (persona, code)
        if not manages and readable:
            assert AuditEntry.objects.filter(action="access.denied", object_id=url).count() >= 4
        DutyShift.objects.filter(region_code=code).delete()
        DutyFallback.objects.filter(region_code=code).delete()
    # A shift of another roster posted to one's own roster: 404 (it is outside the scope) or refused.
    other = duty.shift_add(
        actor=None,
        region_code="430104003001",
        user=world["outsider"],
        starts_at=start,
        ends_at=start + timedelta(hours=1),
    )
    response = client.post("/duty/430104002001/", {"op": "remove", "shift": other.pk})
    assert response.status_code in (400, 403, 404) and DutyShift.objects.filter(pk=other.pk).exists()


# The API: every operation in the OpenAPI document refuses anonymous callers.
def api_operations() -> list[tuple[str, str]]:
    from shequ.api import api

    schema = api.get_openapi_schema()
    ops = []
    for path, item in schema["paths"].items():
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                ops.append((method, path))
    return ops


PUBLIC_API = {("get", "/api/v1/"), ("get", "/api/v1/sharing/catalog")}


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), api_operations())
def test_every_api_operation_refuses_anonymous_callers(client: Client, method: str, path: str) -> None:
    if (method, path) in PUBLIC_API:
        pytest.skip("public index")
    concrete = re.sub(r"\{[^}]+\}", "1", path.replace("{code}", "430104002001"))
    response = getattr(client, method)(concrete)
    assert response.status_code == 401, (method, path, response.status_code)
