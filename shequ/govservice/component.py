"""The government-service app's manifest: navigation, tiles, permissions, events and audit labels.

Each page area keeps its navigation in its own tuple below, next to its route list (``urls_*.py``).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.components import Component, NavEntry, Tile
from shequ.core.models import Role
from shequ.govservice.indicators import STATS
from shequ.govservice.ledgers import LEDGERS
from shequ.govservice.permissions import ALL_PERMISSIONS
from shequ.govservice.permissions import GovPerm as P
from shequ.govservice.resources import RESOURCES

_RESIDENT = frozenset({Role.RESIDENT})

# Residents: the catalog, applying, their applications (urls_resident.py) ---------------------------
RESIDENT_NAV: tuple[NavEntry, ...] = (
    NavEntry(
        _("Services"),
        "govservice:catalog",
        roles=_RESIDENT,
        order=20,
        icon="log",
        tab=pgettext_lazy("tab", "Services"),
        tab_rank=20,
    ),
    NavEntry(_("My applications"), "govservice:mine", roles=_RESIDENT, order=21, icon="list"),
)
RESIDENT_TILES: tuple[Tile, ...] = (
    Tile(
        _("Government services"),
        "govservice:catalog",
        "log",
        roles=_RESIDENT,
        order=2,
        hint=_("apply online, follow and rate"),
    ),
)

# Staff: applications, the counter and home visits, the catalog (urls_counter.py) ------------------
COUNTER_NAV: tuple[NavEntry, ...] = (
    NavEntry(_("Applications"), "govservice:applications", perm=P.VIEW, order=50, icon="log"),
    NavEntry(_("Counter"), "govservice:counter", perm=P.ASSIST, order=51, icon="plus"),
    NavEntry(_("Service catalog"), "govservice:catalog_admin", perm=P.CATALOG, order=58, icon="list"),
)
COUNTER_TILES: tuple[Tile, ...] = (
    Tile(
        _("Applications to handle"),
        "govservice:applications",
        "log",
        perm=P.VIEW,
        order=6,
        count="applications",
        tone="warn",
        query="?status=open",
        hint=_("accept, forward, decide, deliver"),
    ),
)

# The kiosk (urls_kiosk.py) -------------------------------------------------------------------------
KIOSK_NAV: tuple[NavEntry, ...] = (
    NavEntry(_("Self-service terminal"), "govservice:kiosk_open", perm=P.HANDLE, order=59, icon="log"),
)

# 好差评 and statistics (urls_review.py) --------------------------------------------------------------
REVIEW_NAV: tuple[NavEntry, ...] = (
    NavEntry(_("Rectifications"), "govservice:rectifications", perm=P.RECTIFY, order=52, icon="check"),
    NavEntry(_("Service statistics"), "govservice:stats", perm=P.VIEW, order=74, icon="chart"),
)

# Home care (urls_care.py) ----------------------------------------------------------------------------
CARE_NAV: tuple[NavEntry, ...] = (
    NavEntry(_("Home care"), "govservice:care_plans", perm=P.CARE, order=53, icon="users"),
)


def audit_labels() -> dict[str, Any]:
    return {
        "govservice.submit": _("Application submitted"),
        "govservice.take": _("Application taken by staff"),
        "govservice.accept": _("Application accepted"),
        "govservice.return": _("Application returned for missing materials"),
        "govservice.resubmit": _("Missing materials sent"),
        "govservice.reject": _("Application not accepted"),
        "govservice.withdraw": _("Application withdrawn"),
        "govservice.forward": _("Application forwarded to a department"),
        "govservice.decide": _("Application decided"),
        "govservice.deliver": _("Result delivered, application closed"),
        "govservice.close_on_receipt": _("Closed on receipt (即收即办)"),
        "govservice.rate": _("Application rated"),
        "govservice.rectify": _("Rectification fed back"),
        "govservice.rectification_open": _("Rectification opened after a bad rating"),
        "govservice.rectification_review": _("Rectification reviewed"),
        "govservice.item_save": _("Service item edited"),
        "govservice.material_read": _("Application material opened"),
        "govservice.care_plan_start": _("Home-care plan started"),
        "govservice.care_plan_end": _("Home-care plan ended"),
        "govservice.care_record": _("Meal or visit recorded"),
        "govservice.kiosk_signin": _("Signed in at a self-service terminal"),
    }


def tile_counts(user: Any) -> dict[str, int]:
    """Open applications where the user may see them."""
    from shequ.core.permissions import has_perm
    from shequ.govservice.selectors import application_list

    if not has_perm(user, P.VIEW):
        return {}
    return {"applications": application_list(viewer=user, status="open").count()}


COMPONENT = Component(
    name="govservice",
    label=_("Government services"),
    stats=STATS,
    resources=RESOURCES,
    nav=(*RESIDENT_NAV, *COUNTER_NAV, *KIOSK_NAV, *REVIEW_NAV, *CARE_NAV),
    tiles=(*RESIDENT_TILES, *COUNTER_TILES),
    tile_counts=tile_counts,
    ledgers=LEDGERS,
    permissions=ALL_PERMISSIONS,
    events=(
        "govservice.application_changed",
        "govservice.application_warned",
        "govservice.rectification_changed",
        "govservice.care_concern",
    ),
    audit_labels=audit_labels,
)
