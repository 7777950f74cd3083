"""The sharing app's permission codes and the roles that hold them.

Departments use shared data through grants (精准化授权), never through a role: their staff may
only ask for data here. The security administrator decides grants and requests with the data's
owner; auditors and the regions concerned read the access log; residents see who used their data
through their registry person, not through a permission.
"""

from __future__ import annotations

from shequ.core.models import Role
from shequ.core.permissions import ROLE_PERMISSIONS


class SharePerm:
    ACCESS_LOG = "sharing.access_log"  # read the sharing calls that touched the region's data
    GRANT = "sharing.grant"  # create and revoke department clients and grants (security admin)
    OWN = "sharing.own"  # decide data requests as the data's owner (数源单位) for the region
    REQUEST = "sharing.request"  # ask for data (供需对接) as a department
    SUBSCRIBE = "sharing.subscribe"  # manage webhook subscriptions and their dead letters
    RIGHTS = "sharing.rights"  # answer residents' requests (copy, correction, deletion)


P = SharePerm

SHARE_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.COMMUNITY_WORKER: frozenset({P.ACCESS_LOG, P.RIGHTS}),
    Role.COMMUNITY_HEAD: frozenset({P.ACCESS_LOG, P.RIGHTS}),
    Role.STREET_OFFICER: frozenset({P.ACCESS_LOG, P.RIGHTS}),
    Role.COUNTY_OFFICER: frozenset({P.ACCESS_LOG, P.OWN}),
    Role.CITY_OFFICER: frozenset({P.ACCESS_LOG, P.OWN}),
    Role.PROVINCE_OFFICER: frozenset({P.ACCESS_LOG, P.OWN}),
    Role.DEPARTMENT_STAFF: frozenset({P.REQUEST}),
    Role.SECURITY_ADMIN: frozenset({P.ACCESS_LOG, P.GRANT, P.SUBSCRIBE}),
    Role.AUDITOR: frozenset({P.ACCESS_LOG}),
}

ALL_PERMISSIONS: tuple[str, ...] = tuple(
    sorted({c for codes in SHARE_ROLE_PERMISSIONS.values() for c in codes})
)


def register_role_permissions() -> None:
    """Add the codes to the core role policy (idempotent; called from ``ready()``)."""
    for role, codes in SHARE_ROLE_PERMISSIONS.items():
        ROLE_PERMISSIONS[role] = ROLE_PERMISSIONS.get(role, frozenset()) | codes
