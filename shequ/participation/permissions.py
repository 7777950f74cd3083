"""The participation app's permission codes and the roles that hold them.

Residents take part through their registry person (``registry.selectors.person_for_account``), not
through a permission: commenting, supporting, voting and asking need no code here. Staff codes:
the community runs consultations, votes and disclosure; the street and above supervise
(民主监督: unanswered challenges, overdue disclosure) and see everything below them.
"""

from __future__ import annotations

from shequ.core.models import Role
from shequ.core.permissions import ROLE_PERMISSIONS


class PartPerm:
    VIEW = "participation.view"  # consultations, votes and disclosure of the region, as staff
    CONSULT = "participation.consult"  # open and run consultations (议事协商): stages, meetings
    MODERATE = "participation.moderate"  # hide or restore comments, decide appeals
    RUN_VOTES = "participation.run_votes"  # set up and run polls, owners' votes and elections
    DISCLOSE = "participation.disclose"  # publish disclosure items and answer questions (居务公开)
    SUPERVISE = "participation.supervise"  # see unanswered challenges and overdue items below


P = PartPerm
_COMMUNITY = frozenset({P.VIEW, P.CONSULT, P.MODERATE, P.RUN_VOTES, P.DISCLOSE})

PART_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.GRID_WORKER: frozenset({P.VIEW}),
    Role.COMMUNITY_WORKER: _COMMUNITY,
    Role.COMMUNITY_HEAD: _COMMUNITY,
    Role.STREET_OFFICER: frozenset({P.VIEW, P.SUPERVISE, P.RUN_VOTES}),
    Role.COUNTY_OFFICER: frozenset({P.VIEW, P.SUPERVISE}),
    Role.CITY_OFFICER: frozenset({P.VIEW, P.SUPERVISE}),
    Role.PROVINCE_OFFICER: frozenset({P.VIEW, P.SUPERVISE}),
    Role.AUDITOR: frozenset({P.VIEW, P.SUPERVISE}),
}

ALL_PERMISSIONS: tuple[str, ...] = tuple(
    sorted({c for codes in PART_ROLE_PERMISSIONS.values() for c in codes})
)


def register_role_permissions() -> None:
    """Add the codes to the core role policy (idempotent; called from ``ready()``)."""
    for role, codes in PART_ROLE_PERMISSIONS.items():
        ROLE_PERMISSIONS[role] = ROLE_PERMISSIONS.get(role, frozenset()) | codes
