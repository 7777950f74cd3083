"""The sharing app's manifest: navigation, tiles, permissions, events (one section per area)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component, NavEntry, Tile
from shequ.core.models import Role
from shequ.core.permissions import ADMIN_ROLES, STAFF_ROLES
from shequ.sharing.permissions import ALL_PERMISSIONS, SHARE_ROLE_PERMISSIONS
from shequ.sharing.permissions import SharePerm as P

# --- catalog, clients, grants and the access log ---------------------------------------------------
_CATALOG_READERS = frozenset(STAFF_ROLES | ADMIN_ROLES)
ACCESS_NAV: tuple[NavEntry, ...] = (
    NavEntry(_("Resource catalog"), "sharing:catalog", roles=_CATALOG_READERS, order=75, icon="table"),
    NavEntry(_("Department clients"), "sharing:clients", perm=P.GRANT, order=76, icon="key"),
    NavEntry(_("Data grants"), "sharing:grants", perm=P.GRANT, order=77, icon="lock"),
    NavEntry(_("Data access log"), "sharing:access_log", perm=P.ACCESS_LOG, order=78, icon="log"),
)
ACCESS_TILES: tuple[Tile, ...] = (
    Tile(_("Data access log"), "sharing:access_log", "log", perm=P.ACCESS_LOG, order=95,
         hint=_("Which departments read your area's data")),
)  # fmt: skip
ACCESS_AUDIT_LABELS: dict[str, object] = {
    "sharing.grant_create": _("Data grant created"),
    "sharing.grant_revoke": _("Data grant revoked"),
    "sharing.call": _("Shared data read by a department"),
    "sharing.client_create": _("Department client created"),
    "sharing.client_token_issue": _("Department client token issued"),
    "sharing.client_token_revoke": _("Department client token revoked"),
}


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
