"""Roles, permission codes and region scopes.

A user's scopes are the region codes of their active memberships; a row is in scope when its
``region_code`` starts with one of them. Each app declares its permission codes in its
``component.py``; the role → permission policy lives here so that it can be read in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from django.db.models import Q, QuerySet

from shequ.core.models import LEVEL_CODE_LENGTH, Membership, RegionLevel, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from shequ.core.models import User

# Who reads or acts: an account, or — for a page's request — possibly the anonymous user (who holds
# no scope, so every check refuses and every scoped read is empty).
Viewer: TypeAlias = "User | AnonymousUser"


class Perm:
    VIEW_REGION = "core.view_region"
    REVEAL_PERSONAL_DATA = "core.reveal_personal_data"
    VIEW_AUDIT = "core.view_audit"
    MANAGE_USERS = "core.manage_users"
    MANAGE_MEMBERSHIPS = "core.manage_memberships"
    MANAGE_TOKENS = "core.manage_tokens"
    SEND_NOTICE = "core.send_notice"
    EXPORT_DATA = "core.export_data"
    MANAGE_DUTY = "core.manage_duty"  # the on-duty roster of a community or street (core/duty.py)


STAFF_ROLES = frozenset(
    {
        Role.GRID_WORKER,
        Role.COMMUNITY_WORKER,
        Role.COMMUNITY_HEAD,
        Role.STREET_OFFICER,
        Role.COUNTY_OFFICER,
        Role.CITY_OFFICER,
        Role.PROVINCE_OFFICER,
        Role.DEPARTMENT_STAFF,
        Role.PROPERTY_MANAGER,
    }
)
# 三权分立: a person holds at most one of these.
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR})
OFFICER_ROLES = frozenset(
    {Role.COMMUNITY_HEAD, Role.STREET_OFFICER, Role.COUNTY_OFFICER, Role.CITY_OFFICER, Role.PROVINCE_OFFICER}
)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.GRID_WORKER: frozenset({Perm.VIEW_REGION}),
    Role.COMMUNITY_WORKER: frozenset({Perm.VIEW_REGION, Perm.SEND_NOTICE, Perm.MANAGE_DUTY}),
    Role.COMMUNITY_HEAD: frozenset(
        {Perm.VIEW_REGION, Perm.SEND_NOTICE, Perm.REVEAL_PERSONAL_DATA, Perm.EXPORT_DATA, Perm.MANAGE_DUTY}
    ),
    Role.STREET_OFFICER: frozenset({Perm.VIEW_REGION, Perm.SEND_NOTICE, Perm.EXPORT_DATA, Perm.MANAGE_DUTY}),
    Role.COUNTY_OFFICER: frozenset({Perm.VIEW_REGION, Perm.SEND_NOTICE, Perm.EXPORT_DATA}),
    Role.CITY_OFFICER: frozenset({Perm.VIEW_REGION, Perm.SEND_NOTICE}),
    Role.PROVINCE_OFFICER: frozenset({Perm.VIEW_REGION, Perm.SEND_NOTICE}),
    Role.DEPARTMENT_STAFF: frozenset({Perm.VIEW_REGION}),
    Role.RESIDENT: frozenset(),
    Role.PROPERTY_MANAGER: frozenset({Perm.VIEW_REGION}),
    Role.VOLUNTEER: frozenset(),
    # The system admin runs accounts; the security admin grants roles; the auditor only reads the log.
    Role.SYSTEM_ADMIN: frozenset({Perm.MANAGE_USERS, Perm.MANAGE_TOKENS, Perm.VIEW_REGION}),
    Role.SECURITY_ADMIN: frozenset({Perm.MANAGE_MEMBERSHIPS, Perm.VIEW_REGION}),
    Role.AUDITOR: frozenset({Perm.VIEW_AUDIT, Perm.VIEW_REGION}),
}


@dataclass(frozen=True)
class Scope:
    role: str
    region_code: str
    department_id: int | None


def active_memberships(user: Viewer | None) -> list[Membership]:
    """The user's active memberships, cached on the user object for the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_shequ_memberships", None)
    if cached is None:
        cached = list(
            Membership.objects.filter(user_id=user.pk, revoked_at__isnull=True)
            .select_related("region", "department")
            .order_by("region_code", "role")
        )
        user.__dict__["_shequ_memberships"] = cached
    return cached


def forget_memberships(user: User) -> None:
    user.__dict__.pop("_shequ_memberships", None)


def roles_of(user: Viewer | None) -> set[str]:
    return {m.role for m in active_memberships(user)}


def scopes_for(user: Viewer | None, perm: str | None = None) -> list[str]:
    """Region codes under which ``user`` holds ``perm`` (any role when ``perm`` is None)."""
    codes = {
        m.region_code
        for m in active_memberships(user)
        if perm is None or perm in ROLE_PERMISSIONS.get(m.role, frozenset())
    }
    # Drop codes already covered by a shorter one.
    return sorted(c for c in codes if not any(c != o and c.startswith(o) for o in codes))


def has_perm(user: Viewer | None, perm: str, region_code: str | None = None) -> bool:
    return any(region_code is None or region_code.startswith(code) for code in scopes_for(user, perm))


def codes_q(codes: Iterable[str], field: str = "region_code") -> Q:
    """A filter for rows under any of these region codes (a prefix each); none: matches nothing."""
    q = Q(pk__in=[])
    for code in codes:
        q |= Q(**{f"{field}__startswith": code})
    return q


def scope_q(user: Viewer | None, perm: str | None = None, field: str = "region_code") -> Q:
    """A filter for rows in the user's scope; matches nothing when the user has none."""
    return codes_q(scopes_for(user, perm), field)


def scoped(
    qs: QuerySet[Any], user: Viewer | None, perm: str | None = None, field: str = "region_code"
) -> QuerySet[Any]:
    return qs.filter(scope_q(user, perm, field))


def needs_second_factor(user: Viewer) -> bool:
    """Admins and staff whose scope is wider than one community must use TOTP (requirement 5)."""
    community_len = LEVEL_CODE_LENGTH[RegionLevel.COMMUNITY]
    for m in active_memberships(user):
        if m.role in ADMIN_ROLES:
            return True
        if m.role in STAFF_ROLES and len(m.region_code) < community_len:
            return True
    return False


def is_staff_account(user: Viewer) -> bool:
    return any(m.role in STAFF_ROLES | ADMIN_ROLES for m in active_memberships(user))


def primary_role(user: Viewer) -> str | None:
    """The role used for the home page and audit rows: the widest-scoped staff role first."""
    ms = active_memberships(user)
    if not ms:
        return None
    order = {role: i for i, role in enumerate(Role.values)}
    return sorted(ms, key=lambda m: (len(m.region_code), order[m.role]))[0].role


def all_permission_codes(extra: Iterable[str] = ()) -> set[str]:
    codes = {p for perms in ROLE_PERMISSIONS.values() for p in perms}
    return codes | set(extra)
