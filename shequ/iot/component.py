"""The IoT app's manifest: navigation, permissions, events and audit labels."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component, NavEntry, Tile
from shequ.core.permissions import Viewer, has_perm
from shequ.iot.indicators import STATS
from shequ.iot.ledgers import LEDGERS
from shequ.iot.maplayers import MAP_LAYERS
from shequ.iot.permissions import ALL_PERMISSIONS
from shequ.iot.permissions import IotPerm as P
from shequ.iot.resources import RESOURCES


def tile_counts(user: Viewer) -> dict[str, int]:
    """Open alerts in the regions where the user may act on them (none: not their service)."""
    from shequ.iot.selectors import open_alert_count

    if not has_perm(user, P.ALERT):
        return {}
    return {"open_alerts": open_alert_count(viewer=user)}


# Access-control pages (shequ/iot/urls_access.py); the staff console adds its own entries.
ACCESS_NAV = (
    NavEntry(
        _("Visitor passes"), "iot:passes", perm=P.PASS, order=60, icon="key", tab=_("Passes"), tab_rank=60
    ),
    NavEntry(_("Gate check"), "iot:gate_check", perm=P.GUARD, order=61, icon="check"),
    NavEntry(_("Plates at the gates"), "iot:plates", perm=P.ACCESS, order=62, icon="list"),
    NavEntry(_("Feeds to departments"), "iot:feeds", perm=P.FEEDS, order=63, icon="route"),
    NavEntry(_("Import devices from Excel"), "iot:device_import", perm=P.MANAGE, order=64, icon="table"),
)


def device_processes(out: Any) -> Any:
    """The demo's simulated devices beside ``shequ serve --with-devices`` (``make demo``)."""
    from shequ.iot.simulator.processes import DeviceProcesses

    return DeviceProcesses(out)


def audit_labels() -> dict[str, Any]:
    return {
        "iot.device_register": _("Device registered"),
        "iot.device_token": _("Device token reset"),
        "iot.device_retire": _("Device retired"),
        "iot.rule_create": _("IoT rule created"),
        "iot.rule_enable": _("IoT rule switched on or off"),
        "iot.alert_ack": _("IoT alert acknowledged"),
        "iot.alert_clear": _("IoT alert cleared"),
        "iot.alert_ticket": _("Ticket asked for from an IoT alert"),
        "iot.access_read": _("Access records read"),
        "iot.resident_read": _("Residents of an alert's house read"),
        "iot.credential_register": _("Access card or plate registered"),
        "iot.credential_revoke": _("Access card or plate revoked"),
        "iot.credential_read": _("Access cards and plates read"),
        "iot.pass_create": _("Visitor pass given"),
        "iot.pass_revoke": _("Visitor pass revoked"),
        "iot.pass_check": _("Visitor pass checked at a gate"),
        "iot.feed_authorize": _("Department feed authorized"),
        "iot.feed_revoke": _("Department feed stopped"),
        "iot.feed_deliver": _("Feed batch delivered to a department"),
        "iot.feed_pull": _("Feed batch pulled by a department"),
        "iot.device_import": _("Devices imported from Excel"),
        "iot.device_import_check": _("Device import file checked"),
    }


COMPONENT = Component(
    name="iot",
    label=_("IoT sensing"),
    stats=STATS,
    resources=RESOURCES,
    nav=(
        *ACCESS_NAV,
        NavEntry(_("Device alerts"), "iot:alerts", perm=P.VIEW, order=30, icon="bell"),
        NavEntry(_("Devices"), "iot:devices", perm=P.VIEW, order=31, icon="grid"),
        NavEntry(_("Device map"), "iot:map", perm=P.VIEW, order=32, icon="map"),
        NavEntry(_("Alert rules"), "iot:rules", perm=P.VIEW, order=33, icon="route"),
        NavEntry(_("Refused device messages"), "iot:dead_letters", perm=P.MANAGE, order=34, icon="log"),
    ),
    tiles=(
        Tile(
            _("Device alerts"),
            "iot:alerts",
            "bell",
            perm=P.ALERT,
            order=6,
            count="open_alerts",
            tone="bad",
            hint=_("sensors, SOS buttons, welfare checks"),
        ),
    ),
    tile_counts=tile_counts,
    ledgers=LEDGERS,
    permissions=ALL_PERMISSIONS,
    events=("iot.alert_raised", "iot.alert_cleared"),
    audit_labels=audit_labels,
    companions=device_processes,
    map_layers=MAP_LAYERS,
)
