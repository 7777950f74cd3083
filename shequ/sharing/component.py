"""The sharing app's manifest: navigation, tiles, permissions, events (one section per area)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component, NavEntry, Tile
from shequ.core.models import Role
from shequ.sharing.permissions import ALL_PERMISSIONS
from shequ.sharing.permissions import SharePerm as P

# --- catalog, clients, grants and the access log ---------------------------------------------------
ACCESS_NAV: tuple[NavEntry, ...] = ()
ACCESS_TILES: tuple[Tile, ...] = ()
ACCESS_AUDIT_LABELS: dict[str, object] = {}

# --- data requests (供需对接) -----------------------------------------------------------------------
REQUEST_NAV: tuple[NavEntry, ...] = ()
REQUEST_TILES: tuple[Tile, ...] = ()
REQUEST_AUDIT_LABELS: dict[str, object] = {}

# --- subscriptions (webhooks) ----------------------------------------------------------------------
SUBSCRIPTION_NAV: tuple[NavEntry, ...] = ()
SUBSCRIPTION_TILES: tuple[Tile, ...] = ()
SUBSCRIPTION_AUDIT_LABELS: dict[str, object] = {}

# --- residents' rights (PIPL) ----------------------------------------------------------------------
_RESIDENT = frozenset({Role.RESIDENT})
RIGHTS_NAV: tuple[NavEntry, ...] = (
    NavEntry(_("My personal information"), "sharing:rights_mine", roles=_RESIDENT, order=90, icon="lock"),
    NavEntry(
        _("Personal information requests"), "sharing:rights_staff", perm=P.RIGHTS, order=88, icon="lock"
    ),
)
RIGHTS_TILES: tuple[Tile, ...] = (
    Tile(
        _("My personal information"),
        "sharing:rights_mine",
        "lock",
        roles=_RESIDENT,
        order=40,
        hint=_("who used my data; ask for a copy, a correction or a deletion"),
    ),
)
RIGHTS_AUDIT_LABELS: dict[str, object] = {
    "sharing.rights_submit": _("Personal information request made by a resident"),
    "sharing.rights_copy": _("Copy of a resident's data generated"),
    "sharing.rights_copy_download": _("Copy of personal data downloaded"),
    "sharing.rights_correct": _("Resident's correction applied to the record"),
    "sharing.rights_done": _("Resident's request carried out"),
    "sharing.rights_refuse": _("Resident's request refused"),
    "sharing.rights_proof_read": _("Proof of a correction request opened"),
}


COMPONENT = Component(
    name="sharing",
    label=_("Data sharing"),
    nav=(*ACCESS_NAV, *REQUEST_NAV, *SUBSCRIPTION_NAV, *RIGHTS_NAV),
    permissions=ALL_PERMISSIONS,
    tiles=(*ACCESS_TILES, *REQUEST_TILES, *SUBSCRIPTION_TILES, *RIGHTS_TILES),
    audit_labels=lambda: {
        **ACCESS_AUDIT_LABELS,
        **REQUEST_AUDIT_LABELS,
        **SUBSCRIPTION_AUDIT_LABELS,
        **RIGHTS_AUDIT_LABELS,
    },
)
