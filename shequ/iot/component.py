"""The IoT app's manifest: navigation, permissions, events and audit labels."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component
from shequ.iot.permissions import ALL_PERMISSIONS


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
    }


COMPONENT = Component(
    name="iot",
    label=_("IoT sensing"),
    nav=(),
    permissions=ALL_PERMISSIONS,
    events=("iot.alert_raised", "iot.alert_cleared"),
    audit_labels=audit_labels,
)
