"""The grid's manifest: navigation for staff, departments and residents, permissions, events, and
what waits for each on the home page."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component, ConsistencyCheck, NavEntry, Tile
from shequ.core.models import Role
from shequ.core.permissions import Viewer
from shequ.grid.indicators import STATS
from shequ.grid.ledgers import LEDGERS
from shequ.grid.permissions import ALL_PERMISSIONS
from shequ.grid.permissions import GridPerm as P
from shequ.grid.resources import RESOURCES


def tile_counts(user: Viewer) -> dict[str, int]:
    from shequ.grid.selectors import home_counts

    return home_counts(user)


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
        "grid.retrain_lifesafety": _("Life-safety detector retrained"),
        "grid.routing_set": _("Routing rule saved"),
        "grid.routing_delete": _("Routing rule deleted"),
        "grid.stats_export": _("Ticket statistics exported"),
    }


COMPONENT = Component(
    name="grid",
    label=_("Grid events"),
    stats=STATS,
    resources=RESOURCES,
    nav=(
        # Grid workers check and close on the spot from the queue, though they hold no HANDLE.
        NavEntry(
            _("Community queue"),
            "grid:queue",
            perm=P.HANDLE,
            roles=frozenset({Role.GRID_WORKER}),
            order=20,
            icon="task",
            tab=_("Tasks"),
            tab_rank=20,
        ),
        NavEntry(_("Tickets"), "grid:list", perm=P.VIEW, order=21, icon="list"),
        NavEntry(
            _("Department tickets"),
            "grid:department",
            perm=P.DEPARTMENT,
            order=22,
            icon="task",
            tab=_("Tickets"),
            tab_rank=20,
        ),
        NavEntry(
            _("Supervision"),
            "grid:supervision",
            perm=P.SUPERVISE,
            order=23,
            icon="flag",
            tab=_("Supervise"),
            tab_rank=40,
        ),
        NavEntry(_("Hot topics"), "grid:hot_topics", perm=P.VIEW, order=24, icon="fire"),
        NavEntry(_("Ticket map"), "grid:map", perm=P.VIEW, order=25, icon="map"),
        NavEntry(
            _("Ticket statistics"),
            "grid:stats",
            perm=P.STATS,
            order=60,
            icon="chart",
            tab=_("Statistics"),
            tab_rank=50,
        ),
        # Residents report here (offline too: kept on the phone, sent when the network is back);
        # staff enter tickets (patrols, walk-ins, calls) on grid:new.
        NavEntry(
            _("Report a problem"),
            "grid:report",
            roles=frozenset({Role.RESIDENT}),
            order=15,
            icon="plus",
            tab=_("Report"),
            tab_rank=10,
            offline=True,
        ),
        NavEntry(
            _("My reports"),
            "grid:my_tickets",
            roles=frozenset({Role.RESIDENT}),
            order=16,
            icon="list",
            tab=_("Progress"),
            tab_rank=15,
        ),
        # Grid workers enter what they find on patrol, in basements and lifts too: offline.
        NavEntry(_("New ticket"), "grid:new", perm=P.PATROL, order=19, icon="plus", offline=True),
        NavEntry(_("Routing rules"), "grid:routing", perm=P.ROUTING, order=70, icon="route"),
        NavEntry(_("Ticket categories"), "grid:categories", perm=P.CATALOG, order=71, icon="tree"),
    ),
    ledgers=LEDGERS,
    permissions=ALL_PERMISSIONS,
    events=(
        "grid.ticket_submitted",
        "grid.ticket_dispatched",
        "grid.ticket_changed",
        "grid.ticket_warned",
        "grid.ticket_escalated",
        "grid.urgent_alert_raised",
        "grid.urgent_alert_acknowledged",
    ),
    tiles=(
        # Residents.
        Tile(
            _("Report a problem"),
            "grid:report",
            "plus",
            roles=frozenset({Role.RESIDENT}),
            order=10,
            hint=_("Photos, place, sent in a minute"),
        ),
        Tile(
            _("My reports"),
            "grid:my_tickets",
            "list",
            roles=frozenset({Role.RESIDENT}),
            order=11,
            count="mine_open",
            hint=_("being handled"),
        ),
        # Community and grid staff.
        Tile(
            _("Urgent, not acknowledged"),
            "grid:queue",
            "flag",
            perm=P.VIEW,
            order=5,
            count="urgent_open",
            tone="bad",
            hint=_("acknowledge at once"),
            hide_zero=True,
        ),
        Tile(_("To do"), "grid:queue", "task", order=10, count="community", hint=_("tickets waiting")),
        Tile(
            _("Overdue"),
            "grid:queue",
            "clock",
            order=11,
            count="overdue",
            tone="bad",
            query="?colour=red",
            hint=_("past their deadline"),
        ),
        Tile(
            _("To check on site"),
            "grid:queue",
            "check",
            order=12,
            count="verify",
            tone="warn",
            query="?status=resolved",
            hint=_("resolved, waiting for your check"),
        ),
        Tile(_("New ticket"), "grid:new", "plus", perm=P.PATROL, order=13),
        Tile(_("Ticket map"), "grid:map", "map", perm=P.VIEW, order=24),
        # Departments and supervisors.
        Tile(
            _("Department tickets"), "grid:department", "task", order=10, count="department", hint=_("open")
        ),
        Tile(
            _("Supervision"),
            "grid:supervision",
            "flag",
            order=14,
            count="supervision",
            tone="warn",
            hint=_("escalated, overdue or reopened"),
        ),
        Tile(_("Hot topics"), "grid:hot_topics", "fire", perm=P.VIEW, order=40),
        Tile(_("Ticket statistics"), "grid:stats", "chart", perm=P.STATS, order=41),
    ),
    tile_counts=tile_counts,
    checks=(ConsistencyCheck("statistics rollup matches the tickets", rollup_problems),),
    audit_labels=audit_labels,
)
