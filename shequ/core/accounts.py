"""Account services: every write to users and memberships goes through here (audited)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.models import Department, Membership, PasswordHistory, Region, RegionLevel, Role, User, UserSession
from shequ.core.permissions import ADMIN_ROLES, Perm, active_memberships, forget_memberships, has_perm

# Which region levels a role may be bound to.
ROLE_LEVELS: dict[str, set[str]] = {
    Role.GRID_WORKER: {RegionLevel.GRID},
    Role.COMMUNITY_WORKER: {RegionLevel.COMMUNITY},
    Role.COMMUNITY_HEAD: {RegionLevel.COMMUNITY},
    Role.STREET_OFFICER: {RegionLevel.STREET},
    Role.COUNTY_OFFICER: {RegionLevel.COUNTY},
    Role.CITY_OFFICER: {RegionLevel.CITY},
    Role.PROVINCE_OFFICER: {RegionLevel.PROVINCE},
    Role.DEPARTMENT_STAFF: {RegionLevel.STREET, RegionLevel.COUNTY, RegionLevel.CITY, RegionLevel.COMMUNITY},
    Role.RESIDENT: {RegionLevel.GRID, RegionLevel.COMMUNITY},
    Role.PROPERTY_MANAGER: {RegionLevel.COMMUNITY, RegionLevel.GRID},
    Role.VOLUNTEER: {RegionLevel.COMMUNITY, RegionLevel.STREET},
    Role.SYSTEM_ADMIN: {RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY},
    Role.SECURITY_ADMIN: {RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY},
    Role.AUDITOR: {RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY},
}


def _check_actor(actor: User | None, perm: str, region_code: str) -> None:
    """``actor=None`` is the platform itself (bootstrap and demo commands run by an operator)."""
    if actor is not None and not has_perm(actor, perm, region_code):
        raise PermissionDenied(_("You may not do this in this region."))


def user_create(
    *,
    actor: User | None,
    username: str,
    display_name: str,
    password: str | None,
    phone: str = "",
    email: str = "",
    region_code: str = "",
) -> User:
    """Create an account. ``password=None`` creates one that can only sign in through OIDC."""
    _check_actor(actor, Perm.MANAGE_USERS, region_code)
    username = username.strip()
    if not username:
        raise ValidationError({"username": _("A user name is required.")})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This user name is taken.")})
    user = User(username=username, display_name=display_name.strip(), phone=phone, email=email.strip())
    if password is None:
        user.set_unusable_password()
    else:
        validate_password(password, user)
        user.set_password(password)
        user.password_changed_at = timezone.now()
    with transaction.atomic():
        user.save()
        if password is not None:
            PasswordHistory.objects.create(user=user, password=user.password)
        audit.record("user.create", actor=actor, region_code=region_code, object_type="user", object_id=user.pk)
    return user


def user_set_password(*, user: User, new_password: str, actor: User | None = None, request: Any = None) -> None:
    """Change a password under the policy: strength, not one of the last five (requirement 1, 2)."""
    validate_password(new_password, user)
    with transaction.atomic():
        user.set_password(new_password)
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "password_changed_at"])
        PasswordHistory.objects.create(user=user, password=user.password)
        stale = user.password_history.values_list("pk", flat=True)[settings.PASSWORD_HISTORY :]
        PasswordHistory.objects.filter(pk__in=list(stale)).delete()
        audit.record("user.password_change", actor=actor or user, request=request, object_type="user",
                     object_id=user.pk)


def user_set_elderly_mode(*, user: User, enabled: bool) -> None:
    user.elderly_mode = enabled
    user.save(update_fields=["elderly_mode"])


def end_sessions(user: User) -> int:
    """Delete every session of ``user`` (logout everywhere)."""
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(user=user).delete()
    return len(keys)


def user_set_active(*, actor: User | None, user: User, active: bool, reason: str, request: Any = None) -> None:
    """Disable or re-enable an account; disabling ends all its sessions (requirement 4)."""
    scope = _user_region(user)
    _check_actor(actor, Perm.MANAGE_USERS, scope)
    if actor is not None and actor.pk == user.pk:
        raise PermissionDenied(_("You cannot change your own account status."))
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason.")})
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        if not active:
            end_sessions(user)
        audit.record("user.enable" if active else "user.disable", actor=actor, request=request,
                     region_code=scope, object_type="user", object_id=user.pk, reason=reason)


def _user_region(user: User) -> str:
    codes = sorted({m.region_code for m in active_memberships(user)}, key=len)
    return codes[0] if codes else ""


def membership_grant(
    *,
    actor: User | None,
    user: User,
    role: str,
    region: Region,
    department: Department | None = None,
    request: Any = None,
) -> Membership:
    """Give ``user`` a role in a region. Security requirement 7: the three admin roles are mutually
    exclusive, nobody grants themselves anything, and only a security admin grants roles."""
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    if region.level not in ROLE_LEVELS[role]:
        raise ValidationError({"region": _("This role cannot be bound to a region of this level.")})
    if role == Role.DEPARTMENT_STAFF:
        if department is None:
            raise ValidationError({"department": _("Department staff need a department.")})
        if not region.code.startswith(department.region_code):
            raise ValidationError({"region": _("The region lies outside the department's area.")})
    with transaction.atomic():
        if actor is not None:
            if actor.pk == user.pk:
                audit.record("membership.grant", actor=actor, request=request, region_code=region.code,
                             object_type="user", object_id=user.pk, result="denied",
                             detail={"role": role, "why": "self-grant"})
                raise PermissionDenied(_("Nobody can grant rights to themselves."))
            if not has_perm(actor, Perm.MANAGE_MEMBERSHIPS, region.code):
                audit.record("membership.grant", actor=actor, request=request, region_code=region.code,
                             object_type="user", object_id=user.pk, result="denied", detail={"role": role})
                raise PermissionDenied(_("You may not grant roles in this region."))
        held = {m.role for m in active_memberships(user)}
        if role in ADMIN_ROLES and (held & ADMIN_ROLES) - {role}:
            raise ValidationError({"role": _("System, security and audit administrator roles are mutually exclusive.")})
        if Membership.objects.filter(user=user, role=role, region=region, revoked_at__isnull=True).exists():
            raise ValidationError({"role": _("The user already has this role here.")})
        membership = Membership.objects.create(
            user=user, role=role, region=region, region_code=region.code, department=department, granted_by=actor
        )
        forget_memberships(user)
        audit.record("membership.grant", actor=actor, request=request, region_code=region.code,
                     object_type="user", object_id=user.pk, detail={"role": role, "membership": membership.pk})
    return membership


def membership_revoke(*, actor: User | None, membership: Membership, reason: str = "", request: Any = None) -> None:
    with transaction.atomic():
        if actor is not None:
            if actor.pk == membership.user_id:
                raise PermissionDenied(_("You cannot change your own roles."))
            if not has_perm(actor, Perm.MANAGE_MEMBERSHIPS, membership.region_code):
                audit.record("membership.revoke", actor=actor, request=request, region_code=membership.region_code,
                             object_type="membership", object_id=membership.pk, result="denied")
                raise PermissionDenied(_("You may not revoke roles in this region."))
        membership.revoked_at = timezone.now()
        membership.revoked_by = actor
        membership.save(update_fields=["revoked_at", "revoked_by"])
        forget_memberships(membership.user)
        audit.record("membership.revoke", actor=actor, request=request, region_code=membership.region_code,
                     object_type="membership", object_id=membership.pk, reason=reason,
                     detail={"role": membership.role, "user": membership.user_id})
