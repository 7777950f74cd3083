"""The reports app's permission codes and the roles that hold them.

The community fills and submits its reports (统一报送); the street and every level above review
what their children submitted and fill their own aggregate; auditors read.
"""

from __future__ import annotations

from shequ.core.models import Role
from shequ.core.permissions import ROLE_PERMISSIONS


class ReportPerm:
    VIEW = "reports.view"  # report instances and ledgers of the region
    FILL = "reports.fill"  # check, complete and submit the region's own instance
    REVIEW = "reports.review"  # approve or return the instances of the regions below
    TEMPLATES = "reports.templates"  # define report templates (a new version each change)
    LEDGERS = "reports.ledgers"  # generate ledgers on demand and schedule them


P = ReportPerm
_FILLERS = frozenset({P.VIEW, P.FILL, P.LEDGERS})
_REVIEWERS = frozenset({P.VIEW, P.FILL, P.REVIEW, P.LEDGERS})

REPORT_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.GRID_WORKER: frozenset({P.VIEW}),
    Role.COMMUNITY_WORKER: _FILLERS,
    Role.COMMUNITY_HEAD: _FILLERS,
    Role.STREET_OFFICER: _REVIEWERS,
    Role.COUNTY_OFFICER: _REVIEWERS,
    Role.CITY_OFFICER: _REVIEWERS,
    Role.PROVINCE_OFFICER: _REVIEWERS | {P.TEMPLATES},
    Role.AUDITOR: frozenset({P.VIEW}),
}

ALL_PERMISSIONS: tuple[str, ...] = tuple(
    sorted({c for codes in REPORT_ROLE_PERMISSIONS.values() for c in codes})
)


def register_role_permissions() -> None:
    """Add the codes to the core role policy (idempotent; called from ``ready()``)."""
    for role, codes in REPORT_ROLE_PERMISSIONS.items():
        ROLE_PERMISSIONS[role] = ROLE_PERMISSIONS.get(role, frozenset()) | codes
