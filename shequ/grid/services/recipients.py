"""Who is told: a department's staff, a region's staff with a permission."""

from __future__ import annotations

from shequ.core.models import Role, User
from shequ.core.selectors import region_staff

__all__ = ["department_staff", "region_staff"]

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
