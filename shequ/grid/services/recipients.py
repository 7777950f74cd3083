"""Who is told: a department's staff, a region's staff with a permission."""

from __future__ import annotations

from shequ.core.models import Membership, Role, User

# --- Recipients ---------------------------------------------------------------------------------


def department_staff(department_id: int) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True,
            memberships__department_id=department_id,
            memberships__revoked_at__isnull=True,
            memberships__role__in=[Role.DEPARTMENT_STAFF, Role.PROPERTY_MANAGER],
        ).distinct()
    )


def region_staff(code: str, perm: str, *, exact: bool = True) -> list[User]:
    """Active users holding ``perm`` through a membership at ``code`` (exactly, or above it)."""
    from shequ.core.permissions import ROLE_PERMISSIONS

    roles = [role for role, perms in ROLE_PERMISSIONS.items() if perm in perms]
    memberships = Membership.objects.filter(revoked_at__isnull=True, role__in=roles, user__is_active=True)
    if exact:
        memberships = memberships.filter(region_code=code)
    else:
        prefixes = [code[:n] for n in range(2, len(code) + 1)]
        memberships = memberships.filter(region_code__in=prefixes)
    return list(User.objects.filter(pk__in=memberships.values("user_id")))
