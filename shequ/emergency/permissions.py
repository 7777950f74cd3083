"""The emergency app's permission codes and the roles that hold them.

Warnings and call-outs act on the regions in the holder's scope: a community head warns and
mobilizes their community, never a sibling one. The evacuation-assistance list names vulnerable
people and their needs: reading it is ``emergency.assist`` and every opening is audited.
"""

from __future__ import annotations

from shequ.core.models import Role
from shequ.core.permissions import ROLE_PERMISSIONS


class EmergencyPerm:
    VIEW = "emergency.view"  # warnings, risk scores, call-outs and their roll-calls of the region
    WARN = "emergency.warn"  # draft, issue, update and lift warnings
    MOBILIZE = "emergency.mobilize"  # start and close call-outs and check-ins
    ASSIST = "emergency.assist"  # the evacuation-assistance list (personal data, audited)
    HELPERS = "emergency.helpers"  # who helps whom (一对一包保)


P = EmergencyPerm
_OFFICER = frozenset({P.VIEW, P.WARN, P.MOBILIZE, P.ASSIST, P.HELPERS})

EMERGENCY_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.GRID_WORKER: frozenset({P.VIEW, P.ASSIST}),
    Role.COMMUNITY_WORKER: frozenset({P.VIEW, P.ASSIST, P.HELPERS}),
    Role.COMMUNITY_HEAD: _OFFICER,
    Role.STREET_OFFICER: _OFFICER,
    Role.COUNTY_OFFICER: frozenset({P.VIEW, P.WARN, P.MOBILIZE}),
    Role.CITY_OFFICER: frozenset({P.VIEW, P.WARN, P.MOBILIZE}),
    Role.PROVINCE_OFFICER: frozenset({P.VIEW, P.WARN}),
}

ALL_PERMISSIONS: tuple[str, ...] = tuple(
    sorted({c for codes in EMERGENCY_ROLE_PERMISSIONS.values() for c in codes})
)


def register_role_permissions() -> None:
    """Add the emergency codes to the core role policy (idempotent; called from ``ready()``)."""
    for role, codes in EMERGENCY_ROLE_PERMISSIONS.items():
        ROLE_PERMISSIONS[role] = ROLE_PERMISSIONS.get(role, frozenset()) | codes
