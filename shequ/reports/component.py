"""The reports app's manifest: navigation, tiles, permissions, events (one section per area)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.components import Component, NavEntry, Tile
from shequ.reports.events import EVENT_NAMES
from shequ.reports.permissions import ALL_PERMISSIONS
from shequ.reports.permissions import ReportPerm as RP

# --- reports (统一报表) ---------------------------------------------------------------------------
REPORT_NAV: tuple[NavEntry, ...] = (
    NavEntry(
        _("Reports"),
        "reports:index",
        perm=RP.VIEW,
        order=70,
        icon="chart",
        tab=pgettext_lazy("tab", "Reports"),
        tab_rank=70,
    ),
    NavEntry(_("Report templates"), "reports:templates", perm=RP.TEMPLATES, order=71, icon="table"),
)
REPORT_TILES: tuple[Tile, ...] = (
    Tile(
        _("Reports to submit"),
        "reports:index",
        "chart",
        perm=RP.FILL,
        order=14,
        count="reports_to_fill",
        tone="warn",
        hint=_("filled from the data: check, complete, submit"),
    ),
    Tile(
        _("Reports to review"),
        "reports:index",
        "check",
        perm=RP.REVIEW,
        order=15,
        count="reports_to_review",
        tone="warn",
        query="?status=submitted",
        hint=_("submitted by the regions below"),
    ),
)
REPORT_EVENTS: tuple[str, ...] = EVENT_NAMES
REPORT_AUDIT_LABELS: dict[str, object] = {
    "reports.fill": _("Reports filled from the data"),
    "reports.instance_refresh": _("Report recomputed"),
    "reports.instance_save": _("Report fields saved"),
    "reports.instance_submit": _("Report submitted"),
    "reports.instance_approve": _("Report approved"),
    "reports.instance_return": _("Report returned"),
    "reports.template_publish": _("Report template published"),
    "reports.export": _("Report downloaded as Excel"),
    "reports.drilldown": _("Records behind a report number viewed"),
}


def report_tile_counts(user: Any) -> dict[str, int]:
    """Reports the user's own regions still have to submit, and those waiting for their review."""
    from shequ.core.permissions import has_perm
    from shequ.reports import selectors_reports

    counts: dict[str, int] = {}
    if has_perm(user, RP.FILL):
        counts["reports_to_fill"] = selectors_reports.to_fill_count(user)
    if has_perm(user, RP.REVIEW):
        counts["reports_to_review"] = selectors_reports.to_review_count(user)
    return counts


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
    tile_counts=report_tile_counts,
    audit_labels=lambda: {**REPORT_AUDIT_LABELS, **LEDGER_AUDIT_LABELS},
)
