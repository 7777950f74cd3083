"""The sharing app's manifest: navigation, tiles, permissions, events (one section per area)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component, NavEntry, Tile
from shequ.sharing.permissions import ALL_PERMISSIONS, SHARE_ROLE_PERMISSIONS
from shequ.sharing.permissions import SharePerm as P

# --- catalog, clients, grants and the access log ---------------------------------------------------
ACCESS_NAV: tuple[NavEntry, ...] = ()
ACCESS_TILES: tuple[Tile, ...] = ()
ACCESS_AUDIT_LABELS: dict[str, object] = {}


def _roles(*perms: str) -> frozenset[str]:
    """The roles holding any of ``perms`` (one menu entry for a page several permissions open)."""
    return frozenset(role for role, codes in SHARE_ROLE_PERMISSIONS.items() if codes & set(perms))


# --- data requests (供需对接) -----------------------------------------------------------------------
REQUEST_NAV: tuple[NavEntry, ...] = (
    NavEntry(_("Data requests"), "sharing:requests", perm=P.REQUEST, order=80, icon="list"),
    NavEntry(
        _("Data requests to decide"),
        "sharing:request_queue",
        roles=_roles(P.OWN, P.GRANT),
        order=81,
        icon="check",
    ),
)
REQUEST_TILES: tuple[Tile, ...] = (
    Tile(
        _("Data requests"),
        "sharing:requests",
        "list",
        perm=P.REQUEST,
        order=40,
        hint=_("ask for shared data (供需对接)"),
    ),
)
REQUEST_AUDIT_LABELS: dict[str, object] = {
    "sharing.request_create": _("Data request filed"),
    "sharing.request_decide": _("Data request decided"),
}

# --- subscriptions (webhooks) ----------------------------------------------------------------------
SUBSCRIPTION_NAV: tuple[NavEntry, ...] = (
    NavEntry(
        _("Event subscriptions"),
        "sharing:subscriptions",
        roles=_roles(P.SUBSCRIBE, P.REQUEST),
        order=82,
        icon="bell",
    ),
    NavEntry(_("Failed deliveries"), "sharing:dead_letters", perm=P.SUBSCRIBE, order=83, icon="flag"),
)
SUBSCRIPTION_TILES: tuple[Tile, ...] = ()
SUBSCRIPTION_AUDIT_LABELS: dict[str, object] = {
    "sharing.subscription_create": _("Event subscription registered"),
    "sharing.subscription_pause": _("Event subscription paused"),
    "sharing.subscription_resume": _("Event subscription resumed"),
    "sharing.subscription_rotate": _("Event subscription's signing secret replaced"),
    "sharing.subscription_delete": _("Event subscription deleted"),
    "sharing.delivery_redeliver": _("Failed event delivery sent again"),
    "sharing.delivery_discard": _("Failed event delivery discarded"),
}

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
