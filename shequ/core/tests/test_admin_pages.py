"""The administration pages (accounts, roles, audit log): who reaches them, that every action is
region-scoped, and that they show masked personal data only."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shequ.conftest import PASSWORD, PERSONAS, World
from shequ.core import accounts, audit
from shequ.core.models import AuditEntry, Membership, Region, RegionKind, RegionLevel, Role, User

PAGES = {"/admin/accounts/": "sysadmin", "/admin/memberships/": "secadmin", "/admin/audit/": "auditor"}


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def html(response: Any) -> str:
    return response.content.decode()


def errors(response: Any) -> list[str]:
    return re.findall(r'<ul class="errorlist.*?</ul>|<div class="error".*?</div>', html(response), re.S)


def assert_page_shape(response: Any) -> None:
    body = html(response)
    assert body.count("<h1") == 1
    assert " style=" not in body and not re.search(r"<script(?![^>]*\bsrc=)", body)  # the CSP forbids them
    assert response["Cache-Control"] == "no-store"


@pytest.fixture
def kaifu(world: World) -> dict[str, Any]:
    """A sibling county with its own system, security and audit admins, next to county admins of 岳麓区."""
    county = Region.objects.create(
        code="430105",
        name="开福区",
        level=RegionLevel.COUNTY,
        kind=RegionKind.COUNTY,
        parent=world.regions["4301"],
    )
    community = Region.objects.create(
        code="430105001001",
        name="新河社区",
        level=RegionLevel.COMMUNITY,
        kind=RegionKind.COMMUNITY,
        parent=county,
    )
    people: dict[str, Any] = {"county": county, "community": community}
    for name, role, region in [
        ("sys_kaifu", Role.SYSTEM_ADMIN, county),
        ("sec_kaifu", Role.SECURITY_ADMIN, county),
        ("aud_kaifu", Role.AUDITOR, county),
        ("sys_yuelu", Role.SYSTEM_ADMIN, world.regions["430104"]),
        ("sec_yuelu", Role.SECURITY_ADMIN, world.regions["430104"]),
        ("aud_yuelu", Role.AUDITOR, world.regions["430104"]),
    ]:
        user = accounts.user_create(
            actor=None, username=name, display_name=name, password=PASSWORD, phone="13955550000"
        )
        accounts.membership_grant(actor=None, user=user, role=role, region=region)
        people[name] = user
    people["resident_kaifu"] = accounts.user_create(
        actor=people["sys_kaifu"],
        username="resident_kaifu",
        display_name="开福居民",
        password="Kaifu-Pass-77",
        phone="13966660000",
        region_code="430105001001",
    )
    return people


# --- Who reaches which page ---------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, world: World) -> None:
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_each_page_only_for_its_duty_and_denials_are_audited(client: Client, world: World) -> None:
    for path, allowed in PAGES.items():
        for persona in PERSONAS:
            response = signed_in(client, world[persona]).get(path)
            if persona == allowed:
                assert response.status_code == 200, (path, persona)
                assert_page_shape(response)
                continue
            assert response.status_code == 403, (path, persona)
            entry = AuditEntry.objects.order_by("-id").first()
            assert entry is not None
            assert (entry.action, entry.result, entry.actor_id, entry.object_id) == (
                "access.denied",
                "denied",
                world[persona].pk,
                path,
            )
    denials = AuditEntry.objects.filter(action="access.denied").count()
    assert denials == len(PAGES) * (len(PERSONAS) - 1)


def test_refused_posts_change_nothing(client: Client, world: World) -> None:
    grid_a = world["grid_a"]
    membership = grid_a.memberships.get()
    for persona in ("auditor", "secadmin", "head_a", "street"):
        signed_in(client, world[persona])
        response = client.post(
            "/admin/accounts/", {"op": "status", "user": grid_a.pk, "active": "0", "reason": "x"}
        )
        assert response.status_code == 403
        response = client.post(
            "/admin/accounts/",
            {
                "op": "create",
                "new-username": "sneaky",
                "new-display_name": "x",
                "new-region": "430104002001",
                "new-password": "Sneaky-Pass-99",
                "new-password_again": "Sneaky-Pass-99",
            },
        )
        assert response.status_code == 403
    for persona in ("auditor", "sysadmin", "head_a"):
        signed_in(client, world[persona])
        response = client.post(
            "/admin/memberships/", {"op": "revoke", "membership": membership.pk, "reason": "x"}
        )
        assert response.status_code == 403
    assert signed_in(client, world["auditor"]).post("/admin/audit/").status_code == 405  # read-only
    assert User.objects.get(pk=grid_a.pk).is_active and not User.objects.filter(username="sneaky").exists()
    assert Membership.objects.get(pk=membership.pk).revoked_at is None


# --- Accounts page ------------------------------------------------------------------------------


def test_accounts_page_shows_masked_phones_only(client: Client, world: World) -> None:
    body = html(signed_in(client, world["sysadmin"]).get("/admin/accounts/"))
    for persona in PERSONAS:
        phone = world[persona].phone
        assert phone not in body
    assert "138****0000" in body and "grid_a" in body


def test_accounts_page_is_region_scoped(client: Client, world: World, kaifu: dict[str, Any]) -> None:
    body = html(signed_in(client, kaifu["sys_kaifu"]).get("/admin/accounts/"))
    assert "resident_kaifu" in body and "开福区" in body
    for persona in ("grid_a", "head_b", "outsider", "sysadmin", "sys_yuelu"):
        assert f"<td>{persona}</td>" not in body
    body = html(signed_in(client, kaifu["sys_yuelu"]).get("/admin/accounts/"))
    assert "<td>grid_a</td>" in body and "<td>outsider</td>" in body and "resident_kaifu" not in body
    # Acting on an account of the sibling county: as if it did not exist.
    response = client.post(
        "/admin/accounts/",
        {"op": "status", "user": kaifu["resident_kaifu"].pk, "active": "0", "reason": "test"},
    )
    assert response.status_code == 404
    assert User.objects.get(pk=kaifu["resident_kaifu"].pk).is_active


def test_accounts_search_by_name_and_by_whole_phone(client: Client, world: World) -> None:
    signed_in(client, world["sysadmin"])
    body = html(client.get("/admin/accounts/", {"q": "head"}))
    assert "<td>head_a</td>" in body and "<td>head_b</td>" in body and "<td>grid_a</td>" not in body
    body = html(
        client.get("/admin/accounts/", {"q": "１３８ ００００ ０００１"})
    )  # grid_b's phone, full-width
    assert "<td>grid_b</td>" in body and "<td>grid_a</td>" not in body


def test_create_an_account(client: Client, world: World) -> None:
    signed_in(client, world["sysadmin"])
    form = {
        "op": "create",
        "new-username": "li_si",
        "new-display_name": "李四",
        "new-phone": "139 8765 4321",
        "new-email": "",
        "new-region": "430104002001",
        "new-password": "Li-Si-Start-1",
        "new-password_again": "Li-Si-Start-1",
    }
    response = client.post("/admin/accounts/", form)
    assert response.status_code == 302
    user = User.objects.get(username="li_si")
    assert (
        user.region_code == "430104002001"
        and user.password_changed_at is None
        and user.phone == "13987654321"
    )
    page = html(client.get("/admin/accounts/"))
    assert "li_si" in page and "139****4321" in page and "13987654321" not in page


CREATE_FORM = {
    "op": "create",
    "new-username": "wang",
    "new-display_name": "王五",
    "new-region": "430104002001",
    "new-password": "Start-Pass-91",
    "new-password_again": "Start-Pass-91",
}


def test_the_create_form_used_below_is_valid(client: Client, world: World) -> None:
    assert signed_in(client, world["sysadmin"]).post("/admin/accounts/", CREATE_FORM).status_code == 302


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"new-region": "430199"}, 400, "No region found with the code 430199"),
        ({"new-region": "43-01"}, 400, "No region in your area is called 43-01"),
        ({"new-region": ""}, 400, "This field is required"),
        ({"new-password_again": "Other-Pass-123"}, 400, "The two passwords differ"),
        ({"new-password": "password", "new-password_again": "password"}, 400, "password"),
        ({"new-phone": "123"}, 400, "11-digit mainland mobile number"),
        ({"new-username": "grid_a"}, 400, "This user name is taken"),
    ],
)
def test_create_account_errors_are_specific(
    client: Client, world: World, change: dict[str, str], status: int, message: str
) -> None:
    form = CREATE_FORM | change
    response = signed_in(client, world["sysadmin"]).post("/admin/accounts/", form, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == status
    assert message in html(response)
    assert 'aria-invalid="true"' in html(response)
    assert not User.objects.filter(username="wang").exists()


def test_county_admin_cannot_create_outside_the_county(
    client: Client, world: World, kaifu: dict[str, Any]
) -> None:
    form = {
        "op": "create",
        "new-username": "wang",
        "new-display_name": "王五",
        "new-region": "430104002001",
        "new-password": "Start-Pass-91",
        "new-password_again": "Start-Pass-91",
    }
    response = signed_in(client, kaifu["sys_kaifu"]).post("/admin/accounts/", form, HTTP_ACCEPT_LANGUAGE="en")
    # The picker refuses a region outside the admin's county before the service is asked.
    assert response.status_code == 400
    assert "岳麓区 (430104002001) is not within your area." not in html(response)
    assert "枇杷塘社区 (430104002001) is not within your area." in html(response)
    assert not User.objects.filter(username="wang").exists()
    # A full 12-digit statistical code of the own county is understood.
    response = client.post("/admin/accounts/", form | {"new-region": "430105000000"})
    assert response.status_code == 302, errors(response)
    assert User.objects.get(username="wang").region_code == "430105"


def test_disable_and_enable_from_the_page(client: Client, world: World) -> None:
    signed_in(client, world["sysadmin"])
    target = world["grid_a"]
    response = client.post(
        "/admin/accounts/", {"op": "status", "user": target.pk, "active": "0", "reason": ""}
    )
    assert response.status_code == 400 and User.objects.get(pk=target.pk).is_active
    response = client.post(
        "/admin/accounts/", {"op": "status", "user": target.pk, "active": "0", "reason": "离职"}
    )
    assert response.status_code == 302 and not User.objects.get(pk=target.pk).is_active
    response = client.post(
        "/admin/accounts/", {"op": "status", "user": target.pk, "active": "1", "reason": "返岗"}
    )
    assert response.status_code == 302 and User.objects.get(pk=target.pk).is_active
    # An admin account: refused with the reason why.
    response = client.post(
        "/admin/accounts/",
        {"op": "status", "user": world["auditor"].pk, "active": "0", "reason": "x"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 403 and User.objects.get(pk=world["auditor"].pk).is_active
    for junk in ({"op": "status", "user": "abc", "active": "0", "reason": "x"}, {"op": "explode"}):
        assert client.post("/admin/accounts/", junk).status_code == 400


# --- Roles page ---------------------------------------------------------------------------------


def test_grant_and_revoke_from_the_page(client: Client, world: World) -> None:
    signed_in(client, world["secadmin"])
    response = client.post(
        "/admin/memberships/",
        {
            "op": "grant",
            "grant-username": "grid_b",
            "grant-role": Role.COMMUNITY_WORKER,
            "grant-region": "430104002001",
        },
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=world["grid_b"], role=Role.COMMUNITY_WORKER)
    assert membership.granted_by == world["secadmin"]
    page = html(client.get("/admin/memberships/"))
    assert "grid_b" in page and "枇杷塘社区" in page
    response = client.post(
        "/admin/memberships/", {"op": "revoke", "membership": membership.pk, "reason": "调岗"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(pk=membership.pk).revoked_at is not None
    assert "revoked" in html(client.get("/admin/memberships/", {"revoked": "1"}, HTTP_ACCEPT_LANGUAGE="en"))


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"grant-region": "430104002999"}, 400, "No region found with the code 430104002999"),
        ({"grant-region": "abc"}, 400, "No region in your area is called abc"),
        ({"grant-region": "430104002"}, 400, "Community worker is bound to a region of this level"),
        ({"grant-username": "ghost"}, 400, "No account with this user name in your region"),
        ({"grant-role": "mayor"}, 400, "Select a valid choice"),
        ({"grant-role": Role.AUDITOR, "grant-region": "43"}, 400, "mutually exclusive"),
        ({"grant-username": "secadmin"}, 403, "Nobody can grant rights to themselves"),
        ({"grant-department": "nope"}, 400, "No active department in your area has the code nope"),
    ],
)
def test_grant_errors_are_specific(
    client: Client, world: World, change: dict[str, str], status: int, message: str
) -> None:
    form = {
        "op": "grant",
        "grant-username": "grid_b",
        "grant-role": Role.COMMUNITY_WORKER,
        "grant-region": "430104002001",
    } | change
    if change.get("grant-role") == Role.AUDITOR:
        form["grant-username"] = "sysadmin"
    before = Membership.objects.count()
    response = signed_in(client, world["secadmin"]).post(
        "/admin/memberships/", form, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == status
    assert message in html(response)
    assert Membership.objects.count() == before


def test_roles_page_is_region_scoped(client: Client, world: World, kaifu: dict[str, Any]) -> None:
    body = html(signed_in(client, kaifu["sec_kaifu"]).get("/admin/memberships/"))
    assert "sys_kaifu" in body and "grid_a" not in body and "head_b" not in body
    grid_a_membership = world["grid_a"].memberships.get()
    response = client.post(
        "/admin/memberships/", {"op": "revoke", "membership": grid_a_membership.pk, "reason": "x"}
    )
    assert response.status_code == 404
    # An account of the other county cannot be found by name, nor granted a role in the own county.
    response = client.post(
        "/admin/memberships/",
        {
            "op": "grant",
            "grant-username": "grid_a",
            "grant-role": Role.COMMUNITY_WORKER,
            "grant-region": "430105001001",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400 and "No account with this user name in your region" in html(response)
    # A region outside the county: refused.
    response = client.post(
        "/admin/memberships/",
        {
            "op": "grant",
            "grant-username": "resident_kaifu",
            "grant-role": Role.COMMUNITY_WORKER,
            "grant-region": "430104002001",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400 and "枇杷塘社区 (430104002001) is not within your area." in html(
        response
    )
    response = client.post(
        "/admin/memberships/",
        {
            "op": "grant",
            "grant-username": "resident_kaifu",
            "grant-role": Role.RESIDENT,
            "grant-region": "430105001001",
        },
    )
    assert response.status_code == 302
    assert Membership.objects.filter(user=kaifu["resident_kaifu"], role=Role.RESIDENT).exists()
    # 岳麓区's security admin does not see 开福区's roles.
    body = html(signed_in(client, kaifu["sec_yuelu"]).get("/admin/memberships/"))
    assert "grid_a" in body and "resident_kaifu" not in body and "sys_kaifu" not in body


# --- Audit page ---------------------------------------------------------------------------------


def test_audit_page_filters(client: Client, world: World) -> None:
    audit.record(
        "personal.reveal",
        actor=world["head_a"],
        region_code="430104002001",
        object_type="core.user",
        object_id=world["resident"].pk,
        fields=["phone"],
        reason="回访核实",
    )
    audit.record("personal.reveal", actor=world["head_b"], region_code="430104002003", result="denied")
    audit.seal_all()
    signed_in(client, world["auditor"])

    def seqs(**params: str) -> list[str]:
        response = client.get("/admin/audit/", params)
        assert response.status_code == 200
        return re.findall(r'<td class="code">(\d+)</td>', html(response))

    reveal_head_a = str(AuditEntry.objects.get(action="personal.reveal", actor_id=world["head_a"].pk).seq)
    reveal_head_b = str(AuditEntry.objects.get(action="personal.reveal", actor_id=world["head_b"].pk).seq)
    assert seqs(action="personal.reveal") == [reveal_head_b, reveal_head_a]
    assert seqs(action="personal", actor="head_a") == [reveal_head_a]
    assert seqs(action="personal", result="denied") == [reveal_head_b]
    assert seqs(action="personal", region="430104002001") == [reveal_head_a]
    today = timezone.localdate().isoformat()
    assert seqs(action="personal", since=today, until=today) == [reveal_head_b, reveal_head_a]
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert seqs(action="personal", since=tomorrow) == []
    body = html(client.get("/admin/audit/", {"action": "personal.reveal", "actor": "head_a"}))
    assert "回访核实" in body and "枇杷塘社区" in body and "phone" in body
    # The auditor's reading is itself audited.
    assert AuditEntry.objects.filter(action="audit.view", actor_id=world["auditor"].pk).exists()


def test_audit_page_shows_labels_and_keeps_the_codes(client: Client, world: World) -> None:
    """Not `auth.login`, `community_head`, `user 16`: their words, each code still on the page."""
    audit.record("auth.login", actor=world["head_a"], object_type="user", object_id=world["head_a"].pk)
    audit.record("grid.dispatch", actor=world["worker_a"], object_type="grid.ticket", object_id=7)
    audit.record("registry.person_correct", actor=world["grid_a"], object_type="registry.person", object_id=9)
    audit.record("test.unnamed", object_type="test.thing", object_id=1)
    audit.seal_all()
    body = html(signed_in(client, world["auditor"]).get("/admin/audit/"))
    assert '登录<br><span class="code">auth.login</span>' in body
    assert '<span class="muted" title="community_head">社区负责人</span>' in body
    assert f'<span title="user {world["head_a"].pk}">账号 {world["head_a"].pk}</span>' in body
    assert '派单到部门<br><span class="code">grid.dispatch</span>' in body  # the app's manifest names it
    assert '<span class="code">registry.person_correct</span>' in body and "更正人员信息" in body
    assert '<td><span class="code">test.unnamed</span></td>' in body  # nobody named it: the code alone
    assert '<span title="test.thing 1">test.thing 1</span>' in body
    assert ">community_head<" not in body


@pytest.mark.parametrize(
    "params",
    [
        {"result": "maybe"},
        {"region": "43a"},
        {"since": "yesterday"},
        {"since": "2026-02-30"},
        {"since": "2026-03-02", "until": "2026-03-01"},
        {"action": "x" * 65},
    ],
)
def test_audit_filter_errors_are_reported(client: Client, world: World, params: dict[str, str]) -> None:
    response = signed_in(client, world["auditor"]).get("/admin/audit/", params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Correct the marked filters" in html(response) and 'aria-invalid="true"' in html(response)


def test_audit_page_is_paginated(client: Client, world: World) -> None:
    for i in range(60):
        audit.record("test.bulk", object_id=i)
    signed_in(client, world["auditor"])
    first = html(client.get("/admin/audit/", {"action": "test.bulk"}))
    second = html(client.get("/admin/audit/", {"action": "test.bulk", "page": "2"}))
    assert first.count("test.bulk</span>") == 50 and second.count("test.bulk</span>") == 10
    assert "action=test.bulk&amp;page=2" in first
    assert client.get("/admin/audit/", {"page": "zzz"}).status_code == 200  # junk page: the first


def test_audit_page_is_region_scoped(client: Client, world: World, kaifu: dict[str, Any]) -> None:
    audit.record("test.in_yuelu", region_code="430104002001")
    audit.record("test.in_kaifu", region_code="430105001001")
    audit.record("test.platform")  # no region: province-level auditors only
    body = html(signed_in(client, kaifu["aud_kaifu"]).get("/admin/audit/", {"action": "test."}))
    assert "test.in_kaifu" in body and "test.in_yuelu" not in body and "test.platform" not in body
    body = html(signed_in(client, kaifu["aud_yuelu"]).get("/admin/audit/", {"action": "test."}))
    assert "test.in_yuelu" in body and "test.in_kaifu" not in body and "test.platform" not in body
    body = html(signed_in(client, world["auditor"]).get("/admin/audit/", {"action": "test."}))
    assert "test.in_yuelu" in body and "test.in_kaifu" in body and "test.platform" in body
    # Asking for another county's region narrows the own scope; it never widens it.
    body = html(signed_in(client, kaifu["aud_kaifu"]).get("/admin/audit/", {"region": "430104"}))
    assert "test.in_yuelu" not in body


def test_list_pages_use_a_fixed_number_of_queries(client: Client, world: World) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured)

    pages = [
        ("sysadmin", "/admin/accounts/"),
        ("secadmin", "/admin/memberships/"),
        ("auditor", "/admin/audit/"),
    ]

    def counts() -> dict[str, int]:
        result = {}
        for persona, path in pages:
            signed_in(client, world[persona])
            result[path] = queries(path)
        return result

    before = counts()
    for i in range(25):
        user = accounts.user_create(
            actor=None,
            username=f"extra{i}",
            display_name="",
            password=None,
            phone=f"1370000{i:04d}",
            region_code="430104002001",
        )
        accounts.membership_grant(
            actor=None, user=user, role=Role.RESIDENT, region=world.regions["430104002001"]
        )
    assert counts() == before  # 25 more accounts and roles, not one query more
