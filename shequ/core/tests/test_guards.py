"""The page guard (``core/guards.py``): who passes, what a refusal writes to the audit log, and
what the user gets back (the app's 403 page, Django's 403, or the API's 403 body)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.utils import translation

from shequ.conftest import World
from shequ.core import guards
from shequ.core.apierrors import ApiError
from shequ.core.models import AuditEntry, AuditResult, User
from shequ.core.permissions import Perm

COMMUNITY_A = "430104002001"
COMMUNITY_B = "430104002003"


def request_as(user: User | AnonymousUser, method: str = "GET", path: str = "/guarded/page/") -> HttpRequest:
    request = getattr(RequestFactory(), method.lower())(path)
    request.user = user
    request.session = SessionStore()
    return request


def last_entry() -> AuditEntry:
    entry = AuditEntry.objects.order_by("-pk").first()
    assert entry is not None
    return entry


def ok_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def refusing_view(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("the service said no")


def test_allows_takes_a_code_several_codes_a_check_or_nothing(world: World) -> None:
    head = world["head_a"]
    assert guards.allows(head, Perm.SEND_NOTICE)
    assert guards.allows(head, Perm.SEND_NOTICE, COMMUNITY_A)
    assert not guards.allows(head, Perm.SEND_NOTICE, COMMUNITY_B)
    assert not guards.allows(head, Perm.VIEW_AUDIT)
    assert guards.allows(head, (Perm.VIEW_AUDIT, Perm.SEND_NOTICE))  # any one suffices
    assert not guards.allows(head, ())
    assert guards.allows(head, lambda user: user.username == "head_a")
    assert not guards.allows(world["nobody"], lambda user: user.username == "head_a")
    assert guards.allows(world["nobody"], None)
    assert not guards.allows(AnonymousUser(), Perm.VIEW_REGION)


def test_page_lets_holders_through_without_an_audit_entry(world: World) -> None:
    before = AuditEntry.objects.count()
    view = guards.page(Perm.SEND_NOTICE)(ok_view)
    response = view(request_as(world["head_a"]))
    assert isinstance(response, HttpResponse) and response.content == b"ok"
    assert AuditEntry.objects.count() == before


def test_page_refusal_is_audited_and_raises_without_a_template(world: World) -> None:
    view = guards.page(Perm.VIEW_AUDIT, methods=("GET", "POST"))(ok_view)
    with pytest.raises(PermissionDenied):
        view(request_as(world["head_a"], "POST"))
    entry = last_entry()
    assert (entry.action, entry.result, entry.actor_id) == (
        "access.denied",
        AuditResult.DENIED,
        world["head_a"].pk,
    )
    assert (entry.object_type, entry.object_id, entry.region_code) == ("page", "/guarded/page/", "")
    assert entry.detail == {"perm": Perm.VIEW_AUDIT, "method": "POST"}


def test_page_refusal_names_every_accepted_code_or_none_for_a_check(world: World) -> None:
    with pytest.raises(PermissionDenied):
        guards.page((Perm.VIEW_AUDIT, Perm.MANAGE_USERS))(ok_view)(request_as(world["head_a"]))
    assert last_entry().detail == {"perm": [Perm.VIEW_AUDIT, Perm.MANAGE_USERS], "method": "GET"}
    with pytest.raises(PermissionDenied):
        guards.page(lambda user: False)(ok_view)(request_as(world["head_a"]))
    assert last_entry().detail == {"method": "GET"}


def test_page_checks_the_method_and_sign_in_first(world: World) -> None:
    before = AuditEntry.objects.count()
    view = guards.page(Perm.VIEW_AUDIT)(ok_view)
    assert view(request_as(world["head_a"], "POST")).status_code == 405
    anonymous = view(request_as(AnonymousUser()))
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    assert AuditEntry.objects.count() == before


def test_a_refusal_inside_the_view_is_the_403_without_a_second_entry(world: World) -> None:
    before = AuditEntry.objects.count()
    view = guards.page(Perm.SEND_NOTICE)(refusing_view)
    with pytest.raises(PermissionDenied, match="the service said no"):
        view(request_as(world["head_a"]))
    assert AuditEntry.objects.count() == before  # the service audits its own refusals


def test_require_in_a_region_audits_the_region_and_says_why(world: World) -> None:
    request = request_as(world["head_a"])
    guards.require(request, Perm.SEND_NOTICE, COMMUNITY_A)
    guards.require(request, Perm.SEND_NOTICE)
    with translation.override("en"), pytest.raises(PermissionDenied) as refused:
        guards.require(request, Perm.SEND_NOTICE, COMMUNITY_B)
    assert str(refused.value) == "You may not do this in this region."
    entry = last_entry()
    assert (entry.action, entry.region_code, entry.object_type) == ("access.denied", COMMUNITY_B, "page")
    assert entry.detail == {"perm": Perm.SEND_NOTICE, "method": "GET"}
    with pytest.raises(PermissionDenied) as refused:
        guards.require(request, Perm.VIEW_AUDIT, message="custom")
    assert str(refused.value) == "custom"


def test_require_api_returns_the_caller_or_raises_the_audited_api_403(world: World) -> None:
    request = request_as(world["head_a"])
    request.auth = world["head_a"]  # type: ignore[attr-defined]
    assert guards.require_api(request, Perm.SEND_NOTICE, "no") == world["head_a"]
    with pytest.raises(ApiError) as refused:
        guards.require_api(request, Perm.SEND_NOTICE, "Not in that region.", region_code=COMMUNITY_B)
    assert (refused.value.status, refused.value.code, refused.value.message) == (
        403,
        "permission_denied",
        "Not in that region.",
    )
    entry = last_entry()
    assert (entry.action, entry.result, entry.actor_id) == (
        "api.denied",
        AuditResult.DENIED,
        world["head_a"].pk,
    )
    assert entry.detail == {
        "path": "/guarded/page/",
        "method": "GET",
        "needs": Perm.SEND_NOTICE,
        "region": COMMUNITY_B,
    }


@pytest.mark.parametrize(("path", "method"), [("/registry/people/", "get"), ("/grid/supervision/", "get")])
def test_apps_render_their_own_403_page_with_the_audit_entry(
    client: Client, world: World, path: str, method: str
) -> None:
    client.force_login(world["nobody"])
    response = getattr(client, method)(path, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    # The registry's and the grid's 403 pages (not Django's bare one) say that nothing changed.
    assert "Nothing was changed." in response.content.decode()
    entry = last_entry()
    assert (entry.action, entry.object_type, entry.object_id, entry.actor_id) == (
        "access.denied",
        "page",
        path,
        world["nobody"].pk,
    )
    assert entry.detail["method"] == method.upper()


def test_the_resident_report_page_refuses_with_the_resident_403(client: Client, world: World) -> None:
    client.force_login(world["auditor"])
    response = client.post("/grid/report/suggest/", {"text": "路灯坏了"})
    assert response.status_code == 403
    entry = last_entry()
    assert (entry.action, entry.object_id) == ("access.denied", "/grid/report/suggest/")
    assert entry.detail == {"perm": "grid.report", "method": "POST"}  # core imports no domain app
