"""The IoT app's permission codes and the roles that hold them.

Region roles act on devices, rules and alerts whose ``region_code`` lies in their scope. Access
records name residents: reading them is ``iot.access`` and every read is audited. Property
managers run the devices of their estate (register, acknowledge) but read no access records.
"""

from __future__ import annotations

from shequ.core.models import Role
from shequ.core.permissions import ROLE_PERMISSIONS


class IotPerm:
    VIEW = "iot.view"  # devices, their status and telemetry, alerts of the region
    MANAGE = "iot.manage"  # register and retire devices, bulk import, credentials
    RULES = "iot.rules"  # rules of the region
    ALERT = "iot.alert"  # acknowledge and clear alerts, open a ticket from one
    ACCESS = "iot.access"  # access records and per-house activity (personal data, audited)
    GUARD = "iot.guard"  # check visitor passes at a gate
    PASS = "iot.pass"  # residents: give visitor passes for their own house
    FEEDS = "iot.feeds"  # authorize department feeds


P = IotPerm
_STAFF = {P.VIEW, P.ALERT, P.ACCESS, P.GUARD}

IOT_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.GRID_WORKER: frozenset(_STAFF),
    Role.COMMUNITY_WORKER: frozenset(_STAFF | {P.MANAGE}),
    Role.COMMUNITY_HEAD: frozenset(_STAFF | {P.MANAGE, P.RULES}),
    Role.STREET_OFFICER: frozenset(_STAFF | {P.MANAGE, P.RULES, P.FEEDS}),
    Role.COUNTY_OFFICER: frozenset({P.VIEW, P.RULES, P.FEEDS}),
    Role.CITY_OFFICER: frozenset({P.VIEW, P.RULES}),
    Role.PROVINCE_OFFICER: frozenset({P.VIEW, P.RULES}),
    Role.PROPERTY_MANAGER: frozenset({P.VIEW, P.MANAGE, P.ALERT, P.GUARD}),
    Role.RESIDENT: frozenset({P.PASS}),
}

ALL_PERMISSIONS: tuple[str, ...] = tuple(
    sorted({c for codes in IOT_ROLE_PERMISSIONS.values() for c in codes})
)


def register_role_permissions() -> None:
    """Add the IoT codes to the core role policy (idempotent; called from ``ready()``)."""
    for role, codes in IOT_ROLE_PERMISSIONS.items():
        ROLE_PERMISSIONS[role] = ROLE_PERMISSIONS.get(role, frozenset()) | codes
