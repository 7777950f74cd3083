"""Account and role services under separation of duties (三权分立, security requirement 7) and
region scope (requirement 8): who may create, disable, grant and revoke what, where."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from shequ.conftest import PASSWORD, World
from shequ.core import accounts, crypto
from shequ.core.models import (
    AuditEntry,
    Department,
    DepartmentKind,
    Membership,
    Region,
    RegionKind,
    RegionLevel,
    Role,
    User,
    UserSession,
)

NEW_PASSWORD = "Initial-Pass-42"


@dataclass
class Counties:
    """Two sibling counties with their own admins, next to the province-level admins of ``world``."""

    world: World
    sys_a: User  # system admin of 岳麓区 430104
    sec_a: User  # security admin of 岳麓区
    aud_a: User  # auditor of 岳麓区
    sys_b: User  # system admin of 开福区 430105
    sec_b: User
    grid_b_county: Region  # a grid in 开福区
    community_b_county: Region

    def __getitem__(self, persona: str) -> User:
        return self.world[persona]


def _region(code: str, name: str, level: str, kind: str, parent: Region) -> Region:
    return Region.objects.create(code=code, name=name, level=level, kind=kind, parent=parent)


@pytest.fixture
def counties(world: World) -> Counties:
    kaifu = _region("430105", "开福区", RegionLevel.COUNTY, RegionKind.COUNTY, world.regions["4301"])
    street = _region("430105001", "东风路街道", RegionLevel.STREET, RegionKind.STREET, kaifu)
    community = _region("430105001001", "新河社区", RegionLevel.COMMUNITY, RegionKind.COMMUNITY, street)
    grid = _region("430105001001001", "第一网格", RegionLevel.GRID, RegionKind.GRID, community)
    yuelu = world.regions["430104"]

    def admin(username: str, role: str, region: Region) -> User:
        user = accounts.user_create(actor=None, username=username, display_name=username, password=PASSWORD)
        accounts.membership_grant(actor=None, user=user, role=role, region=region)
        return user

    return Counties(
        world=world,
        sys_a=admin("sys_yuelu", Role.SYSTEM_ADMIN, yuelu),
        sec_a=admin("sec_yuelu", Role.SECURITY_ADMIN, yuelu),
        aud_a=admin("aud_yuelu", Role.AUDITOR, yuelu),
        sys_b=admin("sys_kaifu", Role.SYSTEM_ADMIN, kaifu),
        sec_b=admin("sec_kaifu", Role.SECURITY_ADMIN, kaifu),
        grid_b_county=grid,
        community_b_county=community,
    )


def last(action: str) -> AuditEntry:
    entry = AuditEntry.objects.filter(action=action).order_by("-id").first()
    assert entry is not None, action
    return entry


def create(
    actor: User | None, username: str = "newbie", region_code: str = "430104002001", **kw: str
) -> User:
    args = {"display_name": "新人", "password": NEW_PASSWORD, "phone": "13912345678", "email": ""} | kw
    return accounts.user_create(actor=actor, username=username, region_code=region_code, **args)  # type: ignore[arg-type]


# --- Accounts -----------------------------------------------------------------------------------


def test_system_admin_creates_an_account_that_must_change_its_password(world: World) -> None:
    user = create(world["sysadmin"], phone="１３９ １２３４ ５６７８")
    user.refresh_from_db()
    assert user.region_code == "430104002001" and user.region is not None
    assert user.password_changed_at is None  # temporary: changed at first sign-in
    assert user.check_password(NEW_PASSWORD) and user.phone == "13912345678"
    assert User.objects.get(phone_index=crypto.blind_index("13912345678", "phone")) == user
    entry = last("user.create")
    assert (entry.actor_id, entry.role, entry.region_code, entry.object_id, entry.result) == (
        world["sysadmin"].pk,
        "system_admin",
        "430104002001",
        str(user.pk),
        "success",
    )
    # Accounts made by the platform itself (bootstrap, demo) keep their password.
    assert create(None, "boot").password_changed_at is not None


BAD_ACCOUNT_INPUT = [
    ({"username": "grid_a"}, "username"),  # taken
    ({"username": "GRID_A"}, "username"),  # taken, whatever the case
    ({"username": "  "}, "username"),
    ({"username": "bad name!"}, "username"),
    ({"username": "x" * 151}, "username"),
    ({"display_name": "名" * 51}, "display_name"),
    ({"display_name": "新\x00人"}, "display_name"),  # core/text.py: control characters refused
    ({"phone": "12345"}, "phone"),
    ({"email": "not-an-email"}, "email"),
    ({"password": "short"}, "password"),
    ({"password": "alllowercaseletters"}, "password"),
    ({"region_code": "430104999"}, "region"),
]


def test_bad_account_input_is_refused_and_changes_nothing(world: World) -> None:
    before = User.objects.count(), AuditEntry.objects.count()
    for kwargs, field in BAD_ACCOUNT_INPUT:
        with pytest.raises(ValidationError) as exc:
            create(None, **kwargs)
        assert field in exc.value.message_dict, kwargs
    assert (User.objects.count(), AuditEntry.objects.count()) == before


def test_only_system_admins_create_accounts_and_only_in_their_region(counties: Counties) -> None:
    refused = [
        (counties["secadmin"], "430104002001"),  # security admin: roles, not accounts
        (counties["auditor"], "430104002001"),  # auditor: read-only
        (counties["head_a"], "430104002001"),  # staff
        (counties.sys_a, "430105001001"),  # county admin, sibling county
        (counties.sys_a, "4301"),  # county admin, above their county
        (counties.sys_a, ""),  # an admin must place the account somewhere
    ]
    for actor, code in refused:
        with pytest.raises(PermissionDenied):
            create(actor, f"x{actor.pk}{code}", region_code=code)
        entry = last("user.create")
        assert (entry.result, entry.actor_id) == ("denied", actor.pk)
    assert not User.objects.filter(username__startswith="x").exists()
    assert create(counties.sys_a, "ok_a", region_code="430104003001").region_code == "430104003001"
    assert create(counties.sys_b, "ok_b", region_code="430105001001").region_code == "430105001001"


def test_disable_ends_sessions_and_enable_restores(world: World) -> None:
    grid_a = world["grid_a"]
    session = SessionStore()
    session.create()
    assert session.session_key is not None
    UserSession.objects.create(user=grid_a, session_key=session.session_key)
    accounts.user_set_active(actor=world["sysadmin"], user=grid_a, active=False, reason="离职")
    grid_a.refresh_from_db()
    assert not grid_a.is_active and not UserSession.objects.filter(user=grid_a).exists()
    assert not SessionStore().exists(session.session_key)
    entry = last("user.disable")
    assert (entry.reason, entry.region_code, entry.detail) == (
        "离职",
        "430104002001001",
        {"sessions_ended": 1},
    )
    accounts.user_set_active(actor=world["sysadmin"], user=grid_a, active=True, reason="返岗")
    grid_a.refresh_from_db()
    assert grid_a.is_active and last("user.enable").reason == "返岗"
    with pytest.raises(ValidationError):
        accounts.user_set_active(actor=world["sysadmin"], user=grid_a, active=False, reason="  ")
    assert User.objects.get(pk=grid_a.pk).is_active


def test_who_may_not_disable_whom(counties: Counties) -> None:
    # Someone who works in both counties is outside each county admin's reach.
    both = create(None, "both", region_code="430104002001")
    accounts.membership_grant(actor=None, user=both, role=Role.GRID_WORKER, region=counties.grid_b_county)
    refused = [
        (counties["sysadmin"], counties["sysadmin"]),  # own account
        (counties["sysadmin"], counties["auditor"]),  # admin accounts: the role is revoked first
        (counties["sysadmin"], counties["secadmin"]),
        (counties.sys_a, counties.sys_b),
        (counties.sys_a, both),  # also works in the sibling county
        (counties.sys_b, counties["grid_a"]),  # sibling county
        (counties.sys_a, counties["nobody"]),  # an account with no region: province admins only
        (counties["secadmin"], counties["grid_a"]),  # not an account manager
        (counties["auditor"], counties["grid_a"]),
        (counties["head_a"], counties["grid_a"]),
    ]
    for actor, target in refused:
        with pytest.raises(PermissionDenied):
            accounts.user_set_active(actor=actor, user=target, active=False, reason="test")
        entry = last("user.disable")
        assert (entry.result, entry.actor_id, entry.object_id) == ("denied", actor.pk, str(target.pk))
    assert User.objects.filter(is_active=False).count() == 0
    accounts.user_set_active(actor=counties.sys_a, user=counties["grid_a"], active=False, reason="ok")
    accounts.user_set_active(actor=counties["sysadmin"], user=both, active=False, reason="ok")
    accounts.user_set_active(actor=counties["sysadmin"], user=counties["nobody"], active=False, reason="ok")


# --- Roles --------------------------------------------------------------------------------------


def test_security_admin_grants_and_revokes_with_audit(world: World) -> None:
    user = create(world["sysadmin"])
    community = world.regions["430104002001"]
    membership = accounts.membership_grant(
        actor=world["secadmin"], user=user, role=Role.COMMUNITY_WORKER, region=community
    )
    assert membership.granted_by == world["secadmin"] and membership.region_code == "430104002001"
    entry = last("membership.grant")
    assert (entry.actor_id, entry.role, entry.result, entry.region_code) == (
        world["secadmin"].pk,
        "security_admin",
        "success",
        "430104002001",
    )
    assert entry.detail == {"role": "community_worker", "user": user.pk, "membership": membership.pk}
    with pytest.raises(ValidationError):
        accounts.membership_revoke(actor=world["secadmin"], membership=membership, reason="")
    accounts.membership_revoke(actor=world["secadmin"], membership=membership, reason="调岗")
    membership.refresh_from_db()
    assert membership.revoked_at is not None and membership.revoked_by == world["secadmin"]
    entry = last("membership.revoke")
    assert (entry.reason, entry.detail, entry.object_id) == (
        "调岗",
        {"role": "community_worker", "user": user.pk},
        str(membership.pk),
    )
    with translation.override("en"), pytest.raises(ValidationError, match="already revoked"):
        accounts.membership_revoke(actor=world["secadmin"], membership=membership, reason="again")


def test_who_may_not_grant(counties: Counties) -> None:
    community = counties.world.regions["430104002001"]
    target = counties["grid_b"]
    refused = [
        (counties["sysadmin"], target, community, "no role management permission in this region"),
        (counties["auditor"], target, community, "no role management permission in this region"),
        (counties["head_a"], target, community, "no role management permission in this region"),
        (counties["secadmin"], counties["secadmin"], community, "self-grant"),
        (counties.sec_a, counties.sec_a, community, "self-grant"),
        (counties.sec_a, target, counties.community_b_county, "no role management permission in this region"),
        (
            counties.sec_a,
            target,
            counties.world.regions["43"],
            "no role management permission in this region",
        ),
        (counties.sec_b, target, counties.community_b_county, "account outside the admin's region"),
        (
            counties.sec_b,
            counties["nobody"],
            counties.community_b_county,
            "account outside the admin's region",
        ),
    ]
    before = Membership.objects.count()
    for actor, user, region, why in refused:
        with pytest.raises(PermissionDenied):
            accounts.membership_grant(actor=actor, user=user, role=Role.COMMUNITY_WORKER, region=region)
        entry = last("membership.grant")
        assert (entry.result, entry.actor_id, entry.detail["why"]) == ("denied", actor.pk, why)
    assert Membership.objects.count() == before
    # The county security admin can act inside the county, for an account of the county.
    accounts.membership_grant(actor=counties.sec_a, user=target, role=Role.COMMUNITY_WORKER, region=community)


def test_nobody_grants_themselves_even_an_admin_role(world: World) -> None:
    for persona in ("secadmin", "sysadmin", "auditor"):
        with pytest.raises(PermissionDenied):
            accounts.membership_grant(
                actor=world[persona],
                user=world[persona],
                role=Role.SECURITY_ADMIN,
                region=world.regions["43"],
            )
    assert not Membership.objects.filter(
        user__in=[world["sysadmin"], world["auditor"]], role=Role.SECURITY_ADMIN
    ).exists()


def test_admin_roles_are_mutually_exclusive_and_exclusive_of_staff_roles(world: World) -> None:
    province, community = world.regions["43"], world.regions["430104002001"]
    sec = world["secadmin"]
    cases = [
        (world["sysadmin"], Role.AUDITOR, province),
        (world["sysadmin"], Role.SECURITY_ADMIN, province),
        (world["auditor"], Role.SYSTEM_ADMIN, province),
        (world["auditor"], Role.COMMUNITY_WORKER, community),  # an admin account holds no other role
        (world["head_a"], Role.AUDITOR, province),  # and staff do not become admins on the side
    ]
    for user, role, region in cases:
        with pytest.raises(ValidationError) as exc:
            accounts.membership_grant(actor=sec, user=user, role=role, region=region)
        assert "role" in exc.value.message_dict
    # The same admin role in a second region is fine.
    accounts.membership_grant(
        actor=sec, user=world["auditor"], role=Role.AUDITOR, region=world.regions["430104"]
    )


def test_grant_input_is_checked(world: World) -> None:
    sec, user = world["secadmin"], world["grid_b"]
    dept = world.department
    other = Department.objects.create(
        code="water",
        name="水务",
        kind=DepartmentKind.WATER,
        region=world.regions["430104003"],
        region_code="430104003",
    )
    cases = [
        (Role.GRID_WORKER, world.regions["430104002001"], None, "region"),  # a grid worker needs a grid
        (Role.SYSTEM_ADMIN, world.regions["430104002"], None, "region"),  # admins: province/city/county
        ("mayor", world.regions["430104002"], None, "role"),
        (Role.DEPARTMENT_STAFF, world.regions["430104002"], None, "department"),
        (Role.DEPARTMENT_STAFF, world.regions["430104002"], other, "region"),  # outside the department's area
        (Role.COMMUNITY_WORKER, world.regions["430104002001"], dept, "department"),
        (Role.GRID_WORKER, world.regions["430104002001002"], None, "role"),  # already holds it there
    ]
    before = Membership.objects.count()
    for role, region, department, field in cases:
        with pytest.raises(ValidationError) as exc:
            accounts.membership_grant(actor=sec, user=user, role=role, region=region, department=department)
        assert field in exc.value.message_dict, (role, region.code)
    accounts.user_set_active(actor=None, user=user, active=False, reason="test")
    with translation.override("en"), pytest.raises(ValidationError, match="disabled"):
        accounts.membership_grant(
            actor=sec, user=user, role=Role.COMMUNITY_WORKER, region=world.regions["430104002001"]
        )
    assert Membership.objects.count() == before


def test_who_may_not_revoke(counties: Counties) -> None:
    grid_a = counties["grid_a"].memberships.get()
    own = counties["secadmin"].memberships.get()
    refused = [
        (counties["sysadmin"], grid_a),
        (counties["auditor"], grid_a),
        (counties["head_a"], grid_a),
        (counties["secadmin"], own),  # own role
        (counties.sec_b, grid_a),  # sibling county
        (counties.sec_a, own),  # province-level role, above the county
    ]
    for actor, membership in refused:
        with pytest.raises(PermissionDenied):
            accounts.membership_revoke(actor=actor, membership=membership, reason="test")
        entry = last("membership.revoke")
        assert (entry.result, entry.actor_id) == ("denied", actor.pk)
    assert Membership.objects.filter(revoked_at__isnull=False).count() == 0
    accounts.membership_revoke(actor=counties.sec_a, membership=grid_a, reason="调岗")


def test_the_auditor_cannot_change_anything(world: World) -> None:
    auditor = world["auditor"]
    target = world["grid_a"]
    attempts = [
        lambda: create(auditor, "by_auditor"),
        lambda: accounts.user_set_active(actor=auditor, user=target, active=False, reason="x"),
        lambda: accounts.membership_grant(
            actor=auditor, user=target, role=Role.COMMUNITY_WORKER, region=world.regions["430104002001"]
        ),
        lambda: accounts.membership_revoke(actor=auditor, membership=target.memberships.get(), reason="x"),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    assert AuditEntry.objects.filter(actor_id=auditor.pk, result="denied").count() == len(attempts)
    assert AuditEntry.objects.filter(actor_id=auditor.pk, result="success").count() == 0


# --- Reads --------------------------------------------------------------------------------------


def test_user_list_is_region_scoped(counties: Counties) -> None:
    in_b = create(counties.sys_b, "in_kaifu", region_code="430105001001")

    def names(viewer: User, **kw: str) -> set[str]:
        return set(accounts.user_list(viewer=viewer, **kw).values_list("username", flat=True))

    county_a = names(counties.sys_a)
    assert {"grid_a", "grid_b", "head_b", "outsider", "street", "sys_yuelu"} <= county_a
    assert not county_a & {"in_kaifu", "sys_kaifu", "nobody", "sysadmin"}  # sibling, unplaced, province
    assert names(counties.sys_b) == {"in_kaifu", "sys_kaifu", "sec_kaifu"}
    province = names(counties["sysadmin"])
    assert {"in_kaifu", "nobody", "grid_a", "sysadmin"} <= province
    assert names(counties["head_a"]) == set()  # no account management permission
    assert names(counties["sysadmin"], query="1391234") == set()  # phones match whole, through the index
    assert names(counties["sysadmin"], query="139 1234 5678") == {"in_kaifu"}
    assert names(counties["sysadmin"], query="in_k") == {"in_kaifu"}
    assert accounts.user_get_for(counties.sys_b, in_b.pk) == in_b
    for junk in (counties["grid_a"].pk, "abc", None, 10**12):
        with pytest.raises(Exception) as exc:
            accounts.user_get_for(counties.sys_b, junk)
        assert type(exc.value).__name__ == "Http404"


def test_property_managers_belong_to_a_property_company(world: World) -> None:
    from shequ.core.models import DepartmentKind

    company = Department.objects.create(
        code="lushan-property",
        name="麓山物业",
        kind=DepartmentKind.PROPERTY,
        region=world.regions["430104002001"],
        region_code="430104002001",
    )
    user = accounts.user_create(actor=None, username="pm", display_name="pm", password=PASSWORD)
    community = world.regions["430104002001"]
    with pytest.raises(ValidationError):
        accounts.membership_grant(actor=None, user=user, role=Role.PROPERTY_MANAGER, region=community)
    with pytest.raises(ValidationError):  # a police station is no property company
        accounts.membership_grant(
            actor=None, user=user, role=Role.PROPERTY_MANAGER, region=community, department=world.department
        )
    with pytest.raises(ValidationError):  # outside the company's area
        accounts.membership_grant(
            actor=None,
            user=user,
            role=Role.PROPERTY_MANAGER,
            region=world.regions["430104002003"],
            department=company,
        )
    membership = accounts.membership_grant(
        actor=None, user=user, role=Role.PROPERTY_MANAGER, region=community, department=company
    )
    assert membership.department == company
    with pytest.raises(ValidationError):  # a grid worker has no department
        accounts.membership_grant(
            actor=None,
            user=user,
            role=Role.GRID_WORKER,
            region=world.regions["430104002001001"],
            department=company,
        )
