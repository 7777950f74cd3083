"""The registry's permission codes and the roles that hold them.

Writes follow the worker's own region: a grid worker changes data in their grid, community
workers and heads in their community; street and county officers read. Restricted population tags
need, on top of the role, a ``TagGrant`` (see ``selectors.can_view_tag``).
"""

from __future__ import annotations

from shequ.core.models import Role
from shequ.core.permissions import ROLE_PERMISSIONS


class RegistryPerm:
    VIEW_PLACES = "registry.view_places"  # roads, buildings, houses, organizations, key places
    VIEW_PEOPLE = "registry.view_people"  # people, households, residences, normal tags, visits
    VIEW_STATS = "registry.view_stats"  # aggregated counts only
    EDIT = "registry.edit"  # register, move, correct people; create and change houses and units
    MANAGE_TAGS = "registry.manage_tags"  # add and end population tags
    VERIFY_TAGS = "registry.verify_tags"  # confirm a tag someone else added
    VISIT = "registry.visit"  # record visits and follow-ups
    IMPORT = "registry.import"
    EXPORT = "registry.export"  # whole-area exports; with core.reveal_personal_data, full numbers
    EXPORT_MASKED = "registry.export_masked"  # ledger exports with ID and phone numbers masked
    GRANT_TAGS = "registry.grant_tags"  # the security admin: who may see restricted tags


P = RegistryPerm
# Workers export ledgers of their area masked, as pages show them; full numbers stay with heads.
_WORKER = {P.VIEW_PLACES, P.VIEW_PEOPLE, P.VIEW_STATS, P.EDIT, P.MANAGE_TAGS, P.VISIT, P.EXPORT_MASKED}

REGISTRY_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.GRID_WORKER: frozenset(_WORKER),
    Role.COMMUNITY_WORKER: frozenset(_WORKER | {P.IMPORT}),
    Role.COMMUNITY_HEAD: frozenset(_WORKER | {P.IMPORT, P.EXPORT, P.VERIFY_TAGS}),
    Role.STREET_OFFICER: frozenset({P.VIEW_PLACES, P.VIEW_PEOPLE, P.VIEW_STATS, P.EXPORT, P.EXPORT_MASKED}),
    Role.COUNTY_OFFICER: frozenset({P.VIEW_PLACES, P.VIEW_PEOPLE, P.VIEW_STATS, P.EXPORT, P.EXPORT_MASKED}),
    Role.CITY_OFFICER: frozenset({P.VIEW_STATS}),
    Role.PROVINCE_OFFICER: frozenset({P.VIEW_STATS}),
    # Police, civil affairs, health: they read people of their area and keep their own tags.
    Role.DEPARTMENT_STAFF: frozenset(
        {P.VIEW_PLACES, P.VIEW_PEOPLE, P.VIEW_STATS, P.MANAGE_TAGS, P.VERIFY_TAGS}
    ),
    Role.PROPERTY_MANAGER: frozenset({P.VIEW_PLACES}),
    Role.SECURITY_ADMIN: frozenset({P.GRANT_TAGS}),
}

ALL_PERMISSIONS: tuple[str, ...] = tuple(
    sorted({code for codes in REGISTRY_ROLE_PERMISSIONS.values() for code in codes})
)


def register_role_permissions() -> None:
    """Add the registry's codes to the core role policy (idempotent; called from ``ready()``)."""
    for role, codes in REGISTRY_ROLE_PERMISSIONS.items():
        ROLE_PERMISSIONS[role] = ROLE_PERMISSIONS.get(role, frozenset()) | codes
