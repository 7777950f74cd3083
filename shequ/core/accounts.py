"""Account services: every write to users and memberships goes through here (audited).

Separation of duties (三权分立, security requirement 7):

* the system admin (``Perm.MANAGE_USERS``) creates, disables and enables accounts, but grants no roles;
* the security admin (``Perm.MANAGE_MEMBERSHIPS``) grants and revokes roles, but creates no accounts;
* the auditor (``Perm.VIEW_AUDIT``) only reads the audit log;
* the three roles are mutually exclusive, nobody changes their own account or roles, and an admin
  acts only inside their region subtree. Refusals are written to the audit log.

``actor=None`` is the platform itself (bootstrap and demo commands run by an operator).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit, crypto
from shequ.core.models import (
    AuditResult,
    Department,
    DepartmentKind,
    Membership,
    PasswordHistory,
    Region,
    RegionLevel,
    Role,
    User,
    UserSession,
)
from shequ.core.permissions import (
    ADMIN_ROLES,
    Perm,
    Viewer,
    forget_memberships,
    has_perm,
    scope_q,
    scopes_for,
)
from shequ.core.personal import clean_mobile
from shequ.core.text import clean_text

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
PROVINCE_CODE_LENGTH = 2
REASON_MAX_LENGTH = 500


# --- Regions of an account ----------------------------------------------------------------------


def user_region_codes(user: User) -> list[str]:
    """Where an account belongs: its home region and the regions of its active roles (also for a
    disabled account, whose roles ``active_memberships`` hides)."""
    codes = set(
        Membership.objects.filter(user=user, revoked_at__isnull=True).values_list("region_code", flat=True)
    )
    if user.region_code:
        codes.add(user.region_code)
    return sorted(codes, key=lambda c: (len(c), c))


def _province_wide(actor: Viewer | None, perm: str) -> bool:
    return any(len(code) <= PROVINCE_CODE_LENGTH for code in scopes_for(actor, perm))


def user_visible_to(actor: Viewer | None, perm: str, user: User) -> bool:
    """An admin sees an account when any of its regions lies in their scope; accounts with no
    region at all (made by the platform, no role yet) only province-wide admins see."""
    codes = user_region_codes(user)
    if not codes:
        return _province_wide(actor, perm)
    return any(has_perm(actor, perm, code) for code in codes)


def user_within(actor: Viewer | None, perm: str, user: User) -> bool:
    """An admin changes an account only when all of its regions lie in their scope: a county admin
    cannot disable someone who also works for the city."""
    codes = user_region_codes(user)
    if not codes:
        return _province_wide(actor, perm)
    return all(has_perm(actor, perm, code) for code in codes)


# --- Reads for the administration pages (region-scoped) ----------------------------------------


def user_list(*, viewer: Viewer, perm: str = Perm.MANAGE_USERS, query: str = "") -> QuerySet[User]:
    """Accounts an admin may see. ``query`` matches the start of the user name or display name, or
    a whole mobile number through its blind index (phones are never compared in plaintext)."""
    codes = scopes_for(viewer, perm)
    if not codes:
        return User.objects.none()
    active = Membership.objects.filter(user=OuterRef("pk"), revoked_at__isnull=True)
    visible = scope_q(viewer, perm) | Q(Exists(active.filter(scope_q(viewer, perm))))
    if _province_wide(viewer, perm):
        visible |= Q(region_code="") & ~Q(Exists(active))
    qs = User.objects.filter(visible)
    query = query.strip()
    if query:
        match = Q(username__istartswith=query) | Q(display_name__istartswith=query)
        with contextlib.suppress(ValidationError):
            match |= Q(phone_index=crypto.blind_index(clean_mobile(query), "phone"))
        qs = qs.filter(match)
    return qs.order_by("username")


def user_get_for(viewer: Viewer, pk: Any, perm: str = Perm.MANAGE_USERS) -> User:
    """One account the viewer may see, or 404 (also for junk ids)."""
    try:
        return user_list(viewer=viewer, perm=perm).get(pk=int(pk))
    except (User.DoesNotExist, TypeError, ValueError) as exc:
        raise Http404 from exc


def membership_list(*, viewer: Viewer, include_revoked: bool = False) -> QuerySet[Membership]:
    qs = Membership.objects.filter(scope_q(viewer, Perm.MANAGE_MEMBERSHIPS))
    if not include_revoked:
        qs = qs.filter(revoked_at__isnull=True)
    return qs.select_related("user", "region", "department", "granted_by").order_by(
        "region_code", "role", "pk"
    )


def membership_get_for(viewer: Viewer, pk: Any) -> Membership:
    try:
        return membership_list(viewer=viewer, include_revoked=True).get(pk=int(pk))
    except (Membership.DoesNotExist, TypeError, ValueError) as exc:
        raise Http404 from exc


# --- Checks -------------------------------------------------------------------------------------


def _deny(
    action: str,
    *,
    actor: Viewer | None,
    request: Any,
    region_code: str,
    object_type: str,
    object_id: Any,
    why: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write the refusal to the audit log (in its own transaction, so it survives the exception)."""
    audit.record(
        action,
        actor=actor,
        request=request,
        region_code=region_code,
        object_type=object_type,
        object_id=object_id,
        result=AuditResult.DENIED,
        detail={"why": why, **(detail or {})},
    )


def check_grantor(
    actor: Viewer | None,
    *,
    grantee_id: Any,
    perm: str,
    region_code: str,
    action: str,
    object_type: str,
    object_id: Any,
    request: Any,
    own: tuple[str, str],
    denied: tuple[str, str],
    also: tuple[Callable[[], bool], str] | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """The checks every grant or revocation of rights (roles, access to restricted tags) starts
    with, security requirement 7: nobody grants or changes rights of their own, and only holders of
    ``perm`` in the region grant there (``also``: one more condition and its reason). ``own`` and
    ``denied`` are (reason for the audit log, message for the user). A refusal is audited and
    raises ``PermissionDenied``; ``actor=None`` is the platform itself."""
    if actor is None:
        return
    why, message = "", ""
    if actor.pk == grantee_id:
        why, message = own
    elif not has_perm(actor, perm, region_code):
        why, message = denied
    elif also is not None and not also[0]():
        why, message = also[1], denied[1]
    if why:
        _deny(
            action,
            actor=actor,
            request=request,
            region_code=region_code,
            object_type=object_type,
            object_id=object_id,
            why=why,
            detail=detail,
        )
        raise PermissionDenied(message)


def _clean_reason(reason: str) -> str:
    reason = clean_text(reason, multiline=True, field="reason")
    if not reason:
        raise ValidationError({"reason": _("Give a reason.")})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": _("Keep the reason under %(n)d characters.") % {"n": REASON_MAX_LENGTH}}
        )
    return reason


# --- Accounts (system admin) --------------------------------------------------------------------


def user_create(
    *,
    actor: User | None,
    username: str,
    display_name: str,
    password: str | None,
    phone: str = "",
    email: str = "",
    region_code: str = "",
    temporary_password: bool | None = None,
    request: Any = None,
) -> User:
    """Create an account in the home region ``region_code``. ``password=None`` creates one that can
    only sign in through OIDC. A password chosen by someone else (``actor`` set, unless
    ``temporary_password=False``) is temporary: the user must change it at first sign-in."""
    region_code = (region_code or "").strip()
    if actor is not None and (not region_code or not has_perm(actor, Perm.MANAGE_USERS, region_code)):
        _deny(
            "user.create",
            actor=actor,
            request=request,
            region_code=region_code,
            object_type="user",
            object_id="",
            why="no account management permission in this region",
            detail={"username": username[:150]},
        )
        raise PermissionDenied(_("You may not create accounts in this region."))
    region = None
    if region_code:
        region = Region.objects.filter(code=region_code).first()
        if region is None:
            raise ValidationError({"region": _("No region has the code %(code)s.") % {"code": region_code}})
    username = username.strip()
    if not username:
        raise ValidationError({"username": _("A user name is required.")})
    if len(username) > 150:
        raise ValidationError({"username": _("Use at most 150 characters.")})
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as exc:
        raise ValidationError({"username": exc.messages}) from exc
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This user name is taken.")})
    display_name = clean_text(display_name, field="display_name")
    if len(display_name) > 50:
        raise ValidationError({"display_name": _("Use at most 50 characters.")})
    try:
        phone = clean_mobile(phone)
    except ValidationError as exc:
        raise ValidationError({"phone": exc.messages}) from exc
    email = email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise ValidationError({"email": exc.messages}) from exc
    user = User(
        username=username,
        display_name=display_name,
        phone=phone,
        email=email,
        region=region,
        region_code=region.code if region else "",
    )
    if password is None:
        user.set_unusable_password()
    else:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
        temporary = actor is not None if temporary_password is None else temporary_password
        # None forces a change at first sign-in; an expired password is the same signal.
        user.password_changed_at = None if temporary else timezone.now()
    with transaction.atomic():
        user.save()
        if password is not None:
            PasswordHistory.objects.create(user=user, password=user.password)
        audit.record(
            "user.create",
            actor=actor,
            request=request,
            region_code=user.region_code,
            object_type="user",
            object_id=user.pk,
            detail={"username": user.username},
        )
    return user


def user_set_password(
    *, user: User, new_password: str, actor: User | None = None, request: Any = None
) -> None:
    """Change a password under the policy: strength, not one of the last five (requirement 1, 2)."""
    validate_password(new_password, user)
    with transaction.atomic():
        user.set_password(new_password)
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "password_changed_at"])
        PasswordHistory.objects.create(user=user, password=user.password)
        stale = user.password_history.values_list("pk", flat=True)[settings.PASSWORD_HISTORY :]
        PasswordHistory.objects.filter(pk__in=list(stale)).delete()
        audit.record(
            "user.password_change",
            actor=actor or user,
            request=request,
            object_type="user",
            object_id=user.pk,
        )


def user_set_elderly_mode(*, user: User, enabled: bool) -> None:
    user.elderly_mode = enabled
    user.save(update_fields=["elderly_mode"])


def end_sessions(user: User) -> int:
    """Delete every session of ``user`` (logout everywhere)."""
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(user=user).delete()
    return len(keys)


def user_set_active(
    *, actor: User | None, user: User, active: bool, reason: str, request: Any = None
) -> None:
    """Disable or re-enable an account; disabling ends all its sessions (requirement 4).

    An account that holds an admin role is not switched by another admin: the security admin first
    revokes the role, so that a system admin cannot silence the auditor or the security admin."""
    action = "user.enable" if active else "user.disable"
    codes = user_region_codes(user)
    scope = codes[0] if codes else ""
    if actor is not None:
        why = ""
        if actor.pk == user.pk:
            why = "own account"
        elif not user_within(actor, Perm.MANAGE_USERS, user):
            why = "account outside the admin's region"
        elif any(
            m.role in ADMIN_ROLES for m in Membership.objects.filter(user=user, revoked_at__isnull=True)
        ):
            why = "account holds an admin role"
        if why:
            _deny(
                action,
                actor=actor,
                request=request,
                region_code=scope,
                object_type="user",
                object_id=user.pk,
                why=why,
            )
            if why == "own account":
                raise PermissionDenied(_("You cannot change your own account status."))
            if why == "account holds an admin role":
                raise PermissionDenied(
                    _(
                        "This account holds an administrator role; "
                        "the security administrator must revoke it first."
                    )
                )
            raise PermissionDenied(_("You may not change accounts outside your region."))
    reason = _clean_reason(reason)
    with transaction.atomic():
        user.is_active = active
        if active:
            user.failed_login_count = 0
            user.locked_until = None
        user.save(update_fields=["is_active", "failed_login_count", "locked_until"])
        ended = 0 if active else end_sessions(user)
        audit.record(
            action,
            actor=actor,
            request=request,
            region_code=scope,
            object_type="user",
            object_id=user.pk,
            reason=reason,
            detail={"sessions_ended": ended} if not active else {},
        )


# --- Roles (security admin) ---------------------------------------------------------------------


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
    exclusive, nobody grants themselves anything, and only a security admin grants roles, inside
    their region, to accounts they can see."""
    detail = {"role": role, "user": user.pk}
    check_grantor(
        actor,
        grantee_id=user.pk,
        perm=Perm.MANAGE_MEMBERSHIPS,
        region_code=region.code,
        action="membership.grant",
        object_type="user",
        object_id=user.pk,
        request=request,
        own=("self-grant", _("Nobody can grant rights to themselves.")),
        denied=("no role management permission in this region", _("You may not grant roles in this region.")),
        also=(
            lambda: user_visible_to(actor, Perm.MANAGE_MEMBERSHIPS, user),
            "account outside the admin's region",
        ),
        detail=detail,
    )
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    if region.level not in ROLE_LEVELS[role]:
        levels = ", ".join(
            str(RegionLevel(level).label) for level in RegionLevel.values if level in ROLE_LEVELS[role]
        )
        raise ValidationError(
            {
                "region": _("A %(role)s is bound to a region of this level: %(levels)s.")
                % {"role": Role(role).label, "levels": levels}
            }
        )
    if role == Role.DEPARTMENT_STAFF and department is None:
        raise ValidationError({"department": _("Department staff need a department.")})
    if role == Role.PROPERTY_MANAGER and (department is None or department.kind != DepartmentKind.PROPERTY):
        raise ValidationError({"department": _("A property manager works for a property company.")})
    if department is not None:
        if role not in (Role.DEPARTMENT_STAFF, Role.PROPERTY_MANAGER):
            raise ValidationError(
                {"department": _("Only department staff and property managers belong to a department.")}
            )
        if not region.code.startswith(department.region_code):
            raise ValidationError({"region": _("The region lies outside the department's area.")})
    if not user.is_active:
        raise ValidationError({"username": _("This account is disabled.")})
    with transaction.atomic():
        # Lock the account so two grants at once cannot both pass the exclusivity check.
        User.objects.select_for_update().filter(pk=user.pk).first()
        held = set(
            Membership.objects.filter(user=user, revoked_at__isnull=True).values_list("role", flat=True)
        )
        if role in ADMIN_ROLES and (held & ADMIN_ROLES) - {role}:
            raise ValidationError(
                {"role": _("System, security and audit administrator roles are mutually exclusive.")}
            )
        if role not in ADMIN_ROLES and held & ADMIN_ROLES:
            raise ValidationError({"role": _("An administrator account holds no other roles.")})
        if role in ADMIN_ROLES and held - ADMIN_ROLES:
            raise ValidationError({"role": _("An administrator role needs an account without other roles.")})
        if Membership.objects.filter(user=user, role=role, region=region, revoked_at__isnull=True).exists():
            raise ValidationError({"role": _("The user already has this role here.")})
        membership = Membership.objects.create(
            user=user,
            role=role,
            region=region,
            region_code=region.code,
            department=department,
            granted_by=actor,
        )
        forget_memberships(user)
        audit.record(
            "membership.grant",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="user",
            object_id=user.pk,
            detail={**detail, "membership": membership.pk},
        )
    return membership


def membership_revoke(
    *, actor: User | None, membership: Membership, reason: str = "", request: Any = None
) -> None:
    """End a role. The security admin gives a reason; the platform (``actor=None``) may omit it."""
    detail = {"role": membership.role, "user": membership.user_id}
    check_grantor(
        actor,
        grantee_id=membership.user_id,
        perm=Perm.MANAGE_MEMBERSHIPS,
        region_code=membership.region_code,
        action="membership.revoke",
        object_type="membership",
        object_id=membership.pk,
        request=request,
        own=("own role", _("You cannot change your own roles.")),
        denied=(
            "no role management permission in this region",
            _("You may not revoke roles in this region."),
        ),
        detail=detail,
    )
    if actor is not None:
        reason = _clean_reason(reason)
    if membership.revoked_at is not None:
        raise ValidationError({"membership": _("This role was already revoked.")})
    with transaction.atomic():
        updated = Membership.objects.filter(pk=membership.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=actor
        )
        if not updated:  # revoked by someone else a moment ago
            raise ValidationError({"membership": _("This role was already revoked.")})
        membership.refresh_from_db()
        forget_memberships(membership.user)
        audit.record(
            "membership.revoke",
            actor=actor,
            request=request,
            region_code=membership.region_code,
            object_type="membership",
            object_id=membership.pk,
            reason=reason,
            detail=detail,
        )
