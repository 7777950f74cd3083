"""The grid's manifest: navigation for staff, departments and residents, permissions, events, and
what waits for each on the home page."""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component, ConsistencyCheck, HomeItem, NavEntry
from shequ.core.models import Role
from shequ.core.permissions import Viewer
from shequ.grid.permissions import ALL_PERMISSIONS
from shequ.grid.permissions import GridPerm as P


def _url(name: str, fallback: str = "/grid/") -> str:
    # Some grid pages are written in parallel; a missing one must not break the home page.
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


def home_items(user: Viewer) -> list[HomeItem]:
    from shequ.grid.selectors import home_counts

    counts = home_counts(user)
    items = []
    if "community" in counts:
        items.append(
            HomeItem(_("Tickets waiting for the community"), counts["community"], _url("grid:queue"))
        )
    if "verify" in counts:
        items.append(
            HomeItem(
                _("Resolved tickets to check on site"),
                counts["verify"],
                _url("grid:queue") + "?status=resolved",
            )
        )
    if "department" in counts:
        items.append(
            HomeItem(_("Tickets for your department"), counts["department"], _url("grid:department"))
        )
    if "supervision" in counts:
        items.append(
            HomeItem(_("Tickets under supervision"), counts["supervision"], _url("grid:supervision"), "warn")
        )
    return items


def rollup_problems() -> list[str]:
    """The statistics rollup against a recompute from the tickets (``shequ grid rollup --check``)."""
    from shequ.grid import stats_rollup

    return [f"statistics rollup differs: {difference}" for difference in stats_rollup.check()]


def audit_labels() -> dict[str, Any]:
    """The grid's audit actions in words: every ticket step as the ticket's history names it."""
    from shequ.grid.views import ACTION_LABELS

    return {f"grid.{step}": label for step, label in ACTION_LABELS.items()} | {
        "grid.category_create": _("Ticket category created"),
        "grid.category_update": _("Ticket category changed"),
        "grid.holiday_set": _("Holiday or working day set"),
        "grid.holiday_remove": _("Holiday or working day removed"),
        "grid.hotline_check": _("12345 file checked"),
        "grid.hotline_errors": _("12345 error list downloaded"),
        "grid.hotline_import": _("12345 tickets imported"),
        "grid.retrain": _("Classifier retrained"),
        "grid.routing_set": _("Routing rule saved"),
        "grid.routing_delete": _("Routing rule deleted"),
        "grid.stats_export": _("Ticket statistics exported"),
    }


COMPONENT = Component(
    name="grid",
    label=_("Grid events"),
    nav=(
        # Grid workers check and close on the spot from the queue, though they hold no HANDLE.
        NavEntry(
            _("Community queue"),
            "grid:queue",
            perm=P.HANDLE,
            roles=frozenset({Role.GRID_WORKER}),
            order=20,
            icon="inbox",
        ),
        NavEntry(_("Tickets"), "grid:list", perm=P.VIEW, order=21, icon="list"),
        NavEntry(_("Department tickets"), "grid:department", perm=P.DEPARTMENT, order=22, icon="inbox"),
        NavEntry(_("Supervision"), "grid:supervision", perm=P.SUPERVISE, order=23, icon="flag"),
        NavEntry(_("Hot topics"), "grid:hot_topics", perm=P.VIEW, order=24, icon="chart"),
        NavEntry(_("Ticket statistics"), "grid:stats", perm=P.STATS, order=60, icon="chart"),
        # Residents report here; staff enter tickets (patrols, walk-ins, calls) on grid:new.
        NavEntry(
            _("Report a problem"), "grid:report", roles=frozenset({Role.RESIDENT}), order=15, icon="plus"
        ),
        NavEntry(_("My reports"), "grid:my_tickets", roles=frozenset({Role.RESIDENT}), order=16, icon="list"),
        NavEntry(_("New ticket"), "grid:new", perm=P.PATROL, order=19, icon="plus"),
        NavEntry(_("Routing rules"), "grid:routing", perm=P.ROUTING, order=70, icon="route"),
        NavEntry(_("Ticket categories"), "grid:categories", perm=P.CATALOG, order=71, icon="tree"),
    ),
    permissions=ALL_PERMISSIONS,
    events=(
        "grid.ticket_submitted",
        "grid.ticket_dispatched",
        "grid.ticket_changed",
        "grid.ticket_warned",
        "grid.ticket_escalated",
    ),
    home_items=home_items,
    checks=(ConsistencyCheck("statistics rollup matches the tickets", rollup_problems),),
    audit_labels=audit_labels,
)
