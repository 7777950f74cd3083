"""The sharing app's manifest: navigation, tiles, permissions, events (one section per area)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component, NavEntry, Tile
from shequ.sharing.permissions import ALL_PERMISSIONS

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
RIGHTS_NAV: tuple[NavEntry, ...] = ()
RIGHTS_TILES: tuple[Tile, ...] = ()
RIGHTS_AUDIT_LABELS: dict[str, object] = {}


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
