"""Linking the demo's resident account to a registry person (one way, for every app's demo)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from shequ.core.models import User
from shequ.registry import selectors
from shequ.registry import services as registry_services
from shequ.registry.models import Person, PersonStatus


def link_demo_resident(user: User) -> Person | None:
    """The registry person the demo resident's account belongs to: an adult living in her grid,
    given her mobile number and her name (accounts and people are linked by the number,
    ``selectors.person_for_account``; the same name keeps her greeting, her applications and her
    visitor passes about one person). Already linked: that person."""
    grid = (
        user.memberships.filter(revoked_at__isnull=True).values_list("region_code", flat=True).first() or ""
    )
    if not grid or not user.phone:
        return None
    person = selectors.person_for_account(user, [grid])
    if person is not None:
        return person
    adult = timezone.localdate() - dt.timedelta(days=365 * 30)
    person = (
        Person.objects.filter(
            region_code__startswith=grid,
            status=PersonStatus.ACTIVE,
            house__isnull=False,
            birth_date__lte=adult,
        )
        .order_by("pk")
        .first()
    )
    if person is None:
        return None
    changes = {"phone": user.phone}
    if user.display_name:
        changes["name"] = user.display_name
    registry_services.person_correct(
        actor=None, person=person, changes=changes, reason="演示：与居民账号关联"
    )
    return selectors.person_for_account(user, [grid])
