"""The emergency app's manifest: navigation, permissions, events and audit labels.

Each page area keeps its navigation in its own tuple below (warnings, call-outs, assistance and
risk, check-ins), next to its own route list (``urls_*.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component, NavEntry, Tile
from shequ.core.models import Role
from shequ.emergency.ledgers import LEDGERS
from shequ.emergency.permissions import ALL_PERMISSIONS
from shequ.emergency.permissions import EmergencyPerm as P

# Warnings (urls_warnings.py) ------------------------------------------------------------------

WARNING_NAV: tuple[NavEntry, ...] = (
    NavEntry(_("Warnings"), "emergency:warnings", perm=P.VIEW, order=30, icon="bell"),
    NavEntry(_("New warning"), "emergency:warning_new", perm=P.WARN, order=31, icon="plus"),
    # Residents: the public page of the warnings in force (also open without signing in).
    NavEntry(
        _("Current warnings"), "emergency:public", roles=frozenset({Role.RESIDENT}), order=30, icon="bell"
    ),
)
WARNING_TILE = Tile(
    _("Warnings in force"), "emergency:warnings", "bell", perm=P.VIEW, order=3, count="warnings", tone="bad"
)


# Call-outs and roll-calls (urls_callouts.py) -------------------------------------------------

CALLOUT_NAV: tuple[NavEntry, ...] = (
    NavEntry(_("Call-outs"), "emergency:callouts", perm=P.VIEW, order=41, icon="bell"),
    NavEntry(_("New call-out"), "emergency:callout_new", perm=P.MOBILIZE, order=42, icon="users"),
)
CALLOUT_TILES: tuple[Tile, ...] = (
    Tile(
        _("Call-outs"),
        "emergency:callouts",
        "users",
        perm=P.VIEW,
        order=8,
        count="callouts",
        tone="warn",
        query="?status=open",
        hint=_("one-click mobilization and roll-call"),
    ),
)


# Risk and the evacuation-assistance list (urls_assist.py) ------------------------------------

ASSIST_NAV: tuple[NavEntry, ...] = (
    NavEntry(_("Risk"), "emergency:risk", perm=P.VIEW, order=72, icon="chart"),
    NavEntry(_("Evacuation assistance"), "emergency:assistance", perm=P.ASSIST, order=73, icon="users"),
)


# Daily check-ins (urls_checkins.py) -----------------------------------------------------------

CHECKIN_NAV: tuple[NavEntry, ...] = (
    NavEntry(_("Daily check-ins"), "emergency:checkins", perm=P.VIEW, order=47, icon="check"),
)


def audit_labels() -> dict[str, Any]:
    return {
        "emergency.warning_draft": _("Warning drafted"),
        "emergency.warning_issued": _("Warning issued"),
        "emergency.warning_updated": _("Warning updated"),
        "emergency.warning_lifted": _("Warning lifted"),
        "emergency.warning_discarded": _("Warning draft discarded"),
        "emergency.mobilize": _("Call-out sent"),
        "emergency.mobilization_close": _("Call-out closed"),
        "emergency.answer": _("Answer to a call-out"),
        "emergency.answer_by_staff": _("Answer recorded for someone by staff"),
        "emergency.assistance_read": _("Evacuation-assistance list opened"),
        "emergency.helper_add": _("Helper assigned (一对一包保)"),
        "emergency.helper_remove": _("Helper removed"),
        "emergency.report_export": _("Call-out report exported"),
        "emergency.campaign_start": _("Daily check-in started"),
        "emergency.campaign_stop": _("Daily check-in stopped"),
    }


def tile_counts(user: Any) -> dict[str, int]:
    """Warnings in force and open call-outs where the user may see them."""
    from shequ.core.permissions import has_perm
    from shequ.emergency.selectors import live_counts

    if not has_perm(user, P.VIEW):
        return {}
    return live_counts(viewer=user)


COMPONENT = Component(
    name="emergency",
    label=_("Emergency response"),
    nav=(*WARNING_NAV, *CALLOUT_NAV, *ASSIST_NAV, *CHECKIN_NAV),
    tiles=(WARNING_TILE, *CALLOUT_TILES),
    tile_counts=tile_counts,
    ledgers=LEDGERS,
    permissions=ALL_PERMISSIONS,
    events=(
        "emergency.warning_issued",
        "emergency.warning_lifted",
        "emergency.help_requested",
        "emergency.checkin_followup",
    ),
    audit_labels=audit_labels,
)
