"""The reports app's manifest: navigation, tiles, permissions, events (one section per area)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component, NavEntry, Tile
from shequ.reports.events import EVENT_NAMES
from shequ.reports.permissions import ALL_PERMISSIONS

# --- reports (统一报表) ---------------------------------------------------------------------------
REPORT_NAV: tuple[NavEntry, ...] = ()
REPORT_TILES: tuple[Tile, ...] = ()
REPORT_EVENTS: tuple[str, ...] = EVENT_NAMES
REPORT_AUDIT_LABELS: dict[str, object] = {
    "reports.fill": _("Reports filled from the data"),
    "reports.instance_refresh": _("Report recomputed"),
    "reports.instance_save": _("Report fields saved"),
    "reports.instance_submit": _("Report submitted"),
    "reports.instance_approve": _("Report approved"),
    "reports.instance_return": _("Report returned"),
    "reports.template_publish": _("Report template published"),
}

# --- ledgers (台账) ------------------------------------------------------------------------------
LEDGER_NAV: tuple[NavEntry, ...] = ()
LEDGER_TILES: tuple[Tile, ...] = ()
LEDGER_AUDIT_LABELS: dict[str, object] = {}


COMPONENT = Component(
    name="reports",
    label=_("Reports"),
    nav=(*REPORT_NAV, *LEDGER_NAV),
    permissions=ALL_PERMISSIONS,
    events=REPORT_EVENTS,
    tiles=(*REPORT_TILES, *LEDGER_TILES),
    audit_labels=lambda: {**REPORT_AUDIT_LABELS, **LEDGER_AUDIT_LABELS},
)
