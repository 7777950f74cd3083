"""The government-service app's permission codes and the roles that hold them.

Community staff take applications at the counter and at home and handle what the community may
decide (授权办理); department staff decide what is forwarded to their department (they see those
applications through the department, not the region); the level above a unit reviews its
rectifications (好差评 supervision). The catalog is the county's and above: a community does not
rewrite the legal time limit of a province-wide item.
"""

from __future__ import annotations

from shequ.core.models import Role
from shequ.core.permissions import ROLE_PERMISSIONS


class GovPerm:
    VIEW = "govservice.view"  # applications, evaluations and statistics of the region
    HANDLE = "govservice.handle"  # take, accept, return, forward, decide (authorized), deliver
    ASSIST = "govservice.assist"  # apply on a resident's behalf (帮办代办), at the counter or at home
    RECTIFY = "govservice.rectify"  # answer a bad rating of the unit (整改)
    SUPERVISE = "govservice.supervise"  # review rectifications of the units below
    CATALOG = "govservice.catalog"  # edit the service item catalog (事项库)
    CARE = "govservice.care"  # home-care plans and their meal and visit records


P = GovPerm
_COUNTER = frozenset({P.VIEW, P.HANDLE, P.ASSIST, P.RECTIFY, P.CARE})

GOV_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.GRID_WORKER: frozenset({P.VIEW, P.ASSIST, P.CARE}),
    Role.COMMUNITY_WORKER: _COUNTER,
    Role.COMMUNITY_HEAD: _COUNTER,
    Role.STREET_OFFICER: _COUNTER | {P.SUPERVISE},
    Role.COUNTY_OFFICER: frozenset({P.VIEW, P.SUPERVISE, P.CATALOG}),
    Role.CITY_OFFICER: frozenset({P.VIEW, P.SUPERVISE, P.CATALOG}),
    Role.PROVINCE_OFFICER: frozenset({P.VIEW, P.CATALOG}),
    # Department staff act on the applications forwarded to their department (and rectify their
    # unit's bad ratings); ``department_ids`` in the services says which.
    Role.DEPARTMENT_STAFF: frozenset({P.RECTIFY}),
    Role.VOLUNTEER: frozenset({P.CARE}),
}

ALL_PERMISSIONS: tuple[str, ...] = tuple(
    sorted({c for codes in GOV_ROLE_PERMISSIONS.values() for c in codes})
)


def register_role_permissions() -> None:
    """Add the codes to the core role policy (idempotent; called from ``ready()``)."""
    for role, codes in GOV_ROLE_PERMISSIONS.items():
        ROLE_PERMISSIONS[role] = ROLE_PERMISSIONS.get(role, frozenset()) | codes
