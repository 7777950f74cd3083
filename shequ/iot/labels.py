"""Device data in words for the console pages: value names and units, event types, dead-letter
reasons and rule parameters ("燃气浓度 > 20 %LEL"). Payloads and rules keep stable English codes;
people read these."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from shequ.iot.models import AlertState, DeviceKind, RuleKind
from shequ.iot.payloads import Reason

# Telemetry fields: (label, unit). The detectors' ``level`` depends on the kind (LEVEL_UNITS).
VALUE_LABELS: dict[str, tuple[Any, str]] = {
    "temperature": (gettext_lazy("Temperature"), "°C"),
    "humidity": (gettext_lazy("Humidity"), "%"),
    "pm25": (gettext_lazy("PM2.5"), "μg/m³"),
    "pm10": (gettext_lazy("PM10"), "μg/m³"),
    "noise": (gettext_lazy("Noise"), "dB"),
    "co2": (gettext_lazy("CO₂"), "ppm"),
    "water_level": (gettext_lazy("Water level"), "m"),
    "rainfall": (gettext_lazy("Rainfall"), "mm"),
    "level": (gettext_lazy("Level"), ""),
    "battery": (gettext_lazy("Battery"), "%"),
    "rssi": (gettext_lazy("Signal"), "dBm"),
    "firmware": (gettext_lazy("Firmware"), ""),
    "reading": (gettext_lazy("Meter reading"), ""),
    "count": (gettext_lazy("People counted"), ""),
    "entered": (gettext_lazy("Came in"), ""),
    "left": (gettext_lazy("Went out"), ""),
    "last_event": (gettext_lazy("Last event"), ""),
}
# Event fields told elsewhere on the page (the type is the event's name) or in words below.
NOT_VALUES = frozenset({"type", "unit", "credential", "direction"})
# Alert states with their own context: "Active" alone is an account's 正常 elsewhere.
ALERT_STATE_LABELS: dict[str, Any] = {
    AlertState.ACTIVE: pgettext_lazy("iot alert state", "Active"),
    AlertState.ACKNOWLEDGED: pgettext_lazy("iot alert state", "Acknowledged"),
    AlertState.CLEARED: pgettext_lazy("iot alert state", "Cleared"),
}
LEVEL_LABELS: dict[str, tuple[Any, str]] = {
    DeviceKind.GAS: (gettext_lazy("Gas concentration"), "%LEL"),
    DeviceKind.SMOKE: (gettext_lazy("Smoke density"), "%/m"),
    DeviceKind.WATER_LEAK: (gettext_lazy("Water depth"), "mm"),
}
# Fields a threshold rule may watch (the rule form's choices), per payloads.py.
THRESHOLD_FIELDS = (
    "level",
    "temperature",
    "humidity",
    "pm25",
    "pm10",
    "noise",
    "co2",
    "water_level",
    "rainfall",
    "reading",
    "count",
)

EVENT_LABELS: dict[str, Any] = {
    "open": gettext_lazy("Door opened"),
    "denied": gettext_lazy("Entry refused"),
    "forced": gettext_lazy("Door forced open"),
    "held_open": gettext_lazy("Door held open"),
    "closed": gettext_lazy("Door closed"),
    "enter": gettext_lazy("Vehicle or person in"),
    "exit": gettext_lazy("Vehicle or person out"),
    "vehicle_enter": gettext_lazy("Vehicle arrived"),
    "vehicle_leave": gettext_lazy("Vehicle left"),
    "intrusion": gettext_lazy("Intrusion"),
    "crowd": gettext_lazy("Crowd"),
    "fall": gettext_lazy("Fall detected"),
    "fire_lane_parking": gettext_lazy("Parked in a fire lane"),
    "alarm": gettext_lazy("Alarm"),
    "clear": gettext_lazy("Alarm over"),
    "fault": gettext_lazy("Fault"),
    "low_battery": gettext_lazy("Low battery"),
    "tamper": gettext_lazy("Tampered with"),
    "test": gettext_lazy("Test"),
    "pressed": gettext_lazy("SOS pressed"),
    "cancelled": gettext_lazy("SOS cancelled"),
    "heartbeat": gettext_lazy("Heartbeat"),
    "reading": gettext_lazy("Reading"),
}
CREDENTIAL_LABELS: dict[str, Any] = {
    "card": gettext_lazy("card"),
    "plate": gettext_lazy("plate"),
    "pass": gettext_lazy("visitor pass"),
    "remote": gettext_lazy("remote control"),
    "password": gettext_lazy("password"),
}

REASON_LABELS: dict[str, Any] = {
    Reason.BAD_TOPIC: gettext_lazy("Topic not in the platform's scheme"),
    Reason.OVERSIZE: gettext_lazy("Message too large"),
    Reason.BAD_JSON: gettext_lazy("Not JSON"),
    Reason.BAD_VERSION: gettext_lazy("Unknown payload version"),
    Reason.BAD_SCHEMA: gettext_lazy("Does not match the device kind's schema"),
    Reason.FORBIDDEN: gettext_lazy("Carried images or biometrics (refused)"),
    Reason.UNKNOWN_DEVICE: gettext_lazy("Unknown device"),
    Reason.RETIRED: gettext_lazy("Retired device"),
    Reason.TOPIC_MISMATCH: gettext_lazy("Region or kind differs from the registration"),
    Reason.BAD_TOKEN: gettext_lazy("Missing or wrong device token"),
    Reason.BAD_TIME: gettext_lazy("Time too far from now"),
    "internal": gettext_lazy("Platform error while reading it"),
}


def reason_label(code: str) -> str:
    return str(REASON_LABELS.get(code, code))


def event_label(code: str) -> str:
    return str(EVENT_LABELS.get(code, code))


def alert_detail(detail: str, rule_kind: str) -> str:
    """An alert's detail for people: an event rule's detail is the event's code ("alarm")."""
    return event_label(detail) if rule_kind == RuleKind.EVENT else detail


def value_label(key: str, kind: str = "") -> tuple[str, str]:
    """A telemetry field's name and unit for a device of ``kind``."""
    if key == "level" and kind in LEVEL_LABELS:
        label, unit = LEVEL_LABELS[kind]
    else:
        label, unit = VALUE_LABELS.get(key, (key, ""))
    return str(label), unit


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:g}"


def values_in_words(values: dict[str, Any], kind: str = "") -> list[tuple[str, str]]:
    """Last values as (label, "23.5 °C") pairs, in the order of VALUE_LABELS."""
    order = {key: i for i, key in enumerate(VALUE_LABELS)}
    out = []
    unit_of_reading = str(values.get("unit", ""))
    for key in sorted(values, key=lambda k: (order.get(k, len(order)), k)):
        if key in NOT_VALUES:
            continue
        label, unit = value_label(key, kind)
        value = values[key]
        if key == "reading":
            unit = unit_of_reading
        shown = event_label(str(value)) if key == "last_event" else f"{_number(value)} {unit}".strip()
        out.append((label, shown))
    return out


def event_in_words(data: dict[str, Any], kind: str) -> str:
    """An event's data besides its type, in words (readings, count, direction, credential kind)."""
    parts = [f"{label} {shown}" for label, shown in values_in_words(data, kind)]
    credential = data.get("credential")
    if isinstance(credential, dict) and credential.get("kind"):
        parts.append(str(CREDENTIAL_LABELS.get(credential["kind"], credential["kind"])))
    direction = data.get("direction")
    if direction == "in":
        parts.append(_("in"))
    elif direction == "out":
        parts.append(_("out"))
    return " · ".join(parts)


def params_in_words(kind: str, device_kind: str, params: dict[str, Any]) -> str:
    """A rule's parameters as people say them: "燃气浓度 > 20 %LEL", "10 分钟内人数超过 50"."""
    if kind == RuleKind.THRESHOLD:
        label, unit = value_label(str(params.get("field", "")), device_kind)
        op = ">" if params.get("op") == "gt" else "<"
        return f"{label} {op} {_number(params.get('value'))} {unit}".strip()
    if kind == RuleKind.EVENT:
        return "、".join(event_label(str(t)) for t in params.get("types", []))
    if kind == RuleKind.ABSENCE:
        from shequ.registry.selectors import tag_label

        return _("No door activity for %(hours)s hours at a house with the tag “%(tag)s”") % {
            "hours": _number(params.get("hours")),
            "tag": tag_label(str(params.get("tag", ""))),
        }
    if kind == RuleKind.COUNT:
        return _("More than %(over)s people for %(minutes)s minutes") % {
            "over": _number(params.get("over")),
            "minutes": _number(params.get("minutes")),
        }
    if kind == RuleKind.DWELL:
        return _("A vehicle stays over %(minutes)s minutes in a no-parking zone") % {
            "minutes": _number(params.get("minutes"))
        }
    if kind == RuleKind.OFFLINE:
        return _("No message for %(minutes)s minutes") % {"minutes": _number(params.get("minutes"))}
    return ""


def ago(at: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """ "3 分钟前" — how long ago, in the largest whole unit."""
    if at is None:
        return _("never")
    seconds = int(((now or timezone.now()) - at).total_seconds())
    if seconds < 60:
        return _("just now")
    minutes = seconds // 60
    if minutes < 60:
        return ngettext("%(n)d minute ago", "%(n)d minutes ago", minutes) % {"n": minutes}
    hours = minutes // 60
    if hours < 48:
        return ngettext("%(n)d hour ago", "%(n)d hours ago", hours) % {"n": hours}
    days = hours // 24
    return ngettext("%(n)d day ago", "%(n)d days ago", days) % {"n": days}
