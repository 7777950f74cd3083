"""The grid app's permission codes and the roles that hold them.

Region roles act on tickets whose ``region_code`` lies in their scope: a grid worker in the grid,
community workers and heads in the community, officers in their street, county or city. Department
staff act on tickets dispatched to their department (``Membership.department``), wherever the
ticket lies — never by region. Residents see the tickets they reported or follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shequ.core.models import Role
from shequ.core.permissions import ROLE_PERMISSIONS, Viewer, has_perm

if TYPE_CHECKING:
    from shequ.grid.models import UrgentAlert


class GridPerm:
    REPORT = "grid.report"  # submit a ticket (residents for themselves, staff for someone)
    VIEW = "grid.view"  # tickets of the region in scope
    HANDLE = "grid.handle"  # accept, dispatch, return, merge, handle, close on the spot (community)
    VERIFY = "grid.verify"  # check a resolved ticket on site and close it
    PATROL = "grid.patrol"  # report from a grid patrol, close small matters on the spot
    DEPARTMENT = "grid.department"  # accept, respond, resolve, return, ask for more time
    SUPERVISE = "grid.supervise"  # supervision page, extensions, decide reopened tickets
    STATS = "grid.stats"
    IMPORT = "grid.import"  # 12345 hotline files
    ROUTING = "grid.routing"  # routing rules of the region
    CATALOG = "grid.catalog"  # the category tree, its deadlines, the holiday calendar


P = GridPerm
_WORKER = {P.REPORT, P.VIEW, P.HANDLE, P.VERIFY, P.PATROL}

GRID_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.GRID_WORKER: frozenset({P.REPORT, P.VIEW, P.VERIFY, P.PATROL}),
    Role.COMMUNITY_WORKER: frozenset(_WORKER | {P.IMPORT}),
    Role.COMMUNITY_HEAD: frozenset(_WORKER | {P.IMPORT, P.SUPERVISE, P.STATS}),
    Role.STREET_OFFICER: frozenset({P.VIEW, P.HANDLE, P.SUPERVISE, P.STATS, P.IMPORT, P.ROUTING}),
    Role.COUNTY_OFFICER: frozenset({P.VIEW, P.SUPERVISE, P.STATS, P.ROUTING}),
    Role.CITY_OFFICER: frozenset({P.VIEW, P.SUPERVISE, P.STATS, P.ROUTING}),
    Role.PROVINCE_OFFICER: frozenset({P.VIEW, P.SUPERVISE, P.STATS, P.ROUTING, P.CATALOG}),
    Role.DEPARTMENT_STAFF: frozenset({P.DEPARTMENT}),
    Role.RESIDENT: frozenset({P.REPORT}),
    Role.PROPERTY_MANAGER: frozenset({P.DEPARTMENT}),
}

ALL_PERMISSIONS: tuple[str, ...] = tuple(
    sorted({code for codes in GRID_ROLE_PERMISSIONS.values() for code in codes})
)


def register_role_permissions() -> None:
    """Add the grid codes to the core role policy (idempotent; called from ``ready()``)."""
    for role, codes in GRID_ROLE_PERMISSIONS.items():
        ROLE_PERMISSIONS[role] = ROLE_PERMISSIONS.get(role, frozenset()) | codes


def can_acknowledge(user: Viewer | None, alert: UrgentAlert) -> bool:
    """Whoever the alert reached, and the region's grid staff who can act on the spot."""
    code = alert.ticket.region_code
    if any(has_perm(user, perm, code) for perm in (P.HANDLE, P.PATROL, P.SUPERVISE)):
        return True
    pk = getattr(user, "pk", None)
    return pk is not None and any(pk in step.get("users", []) for step in alert.reached)
