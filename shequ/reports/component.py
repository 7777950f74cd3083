"""The reports app's manifest: navigation, tiles, permissions, events (one section per area)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component, NavEntry, Tile
from shequ.reports.permissions import ALL_PERMISSIONS

# --- reports (统一报表) ---------------------------------------------------------------------------
REPORT_NAV: tuple[NavEntry, ...] = ()
REPORT_TILES: tuple[Tile, ...] = ()
REPORT_EVENTS: tuple[str, ...] = ()
REPORT_AUDIT_LABELS: dict[str, object] = {}

# --- ledgers (台账) ------------------------------------------------------------------------------
# The menu entry and tile to the ledgers are the registry's (its staff use them most); the
# generated files are reached from the ledger pages.
LEDGER_NAV: tuple[NavEntry, ...] = ()
LEDGER_TILES: tuple[Tile, ...] = ()
LEDGER_AUDIT_LABELS: dict[str, object] = {
    "reports.ledger_export": _("Ledger exported"),
    "reports.ledger_run": _("Ledger generation requested"),
    "reports.ledger_generated": _("Ledger generated"),
    "reports.ledger_download": _("Generated ledger downloaded"),
    "reports.ledger_schedule": _("Ledger scheduled"),
    "reports.ledger_schedule_stop": _("Ledger schedule stopped"),
}


COMPONENT = Component(
    name="reports",
    label=_("Reports"),
    nav=(*REPORT_NAV, *LEDGER_NAV),
    permissions=ALL_PERMISSIONS,
    events=REPORT_EVENTS,
    tiles=(*REPORT_TILES, *LEDGER_TILES),
    audit_labels=lambda: {**REPORT_AUDIT_LABELS, **LEDGER_AUDIT_LABELS},
)
