"""The IoT app's marks on other apps' maps (``Component.map_layers``): devices by status and open
alerts by severity, for the grid worker's map. Read through ``selectors`` (the viewer's
``iot.view`` scope) and cut to the map's area; the grid app does not import this module, the core
calls it through the manifest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core import geo
from shequ.core.components import MapLayer
from shequ.core.permissions import codes_q
from shequ.iot import labels, selectors
from shequ.iot.models import Alert, Device, DeviceKind, Severity
from shequ.iot.permissions import IotPerm as P

MAX_POINTS = 2000  # a street's devices; a wider area picks a region first

STATUS_LABELS = {
    "alert": lambda: _("Open alert"),
    "online": lambda: _("Online"),
    "offline": lambda: _("Offline"),
    "retired": lambda: _("Retired"),
}
SEVERITY_STATES = {
    Severity.CRITICAL: "critical",
    Severity.MAJOR: "major",
    Severity.WARNING: "warning",
    Severity.INFO: "info",
}


def status_of(device: Device, alerted: set[int] | None = None) -> str:
    """``alert`` (an open alert), ``online``, ``offline`` or ``retired``: the map's colour and the
    list's words."""
    if not device.active:
        return "retired"
    if alerted and device.pk in alerted:
        return "alert"
    return "online" if device.online else "offline"


def device_feature(d: Device, status: str) -> dict[str, Any]:
    assert d.latitude is not None and d.longitude is not None
    return geo.feature(
        geo.point(float(d.longitude), float(d.latitude)),
        {
            "kind": "device",
            "id": d.pk,
            "label": d.name,
            "state": status,
            "state_label": str(STATUS_LABELS[status]()),
            "kind_label": str(DeviceKind(d.kind).label),
            "region": d.region_code,
            "url": reverse("iot:device", args=[d.pk]),
        },
    )


def located_devices(viewer: Any, codes: Sequence[str]) -> tuple[list[tuple[str, Device]], bool]:
    """The area's active devices with a point and their status, those with an open alert first,
    then offline ones, then by name; and whether the list was cut at ``MAX_POINTS``. Ordered in the
    query, before the cut, so that an alerting device is never the one left off the map."""
    area = codes_q(codes)
    open_alert = selectors.alert_list(viewer=viewer).filter(area, device_id=OuterRef("pk"))
    rows = list(
        selectors.device_list(viewer=viewer)
        .filter(area, active=True, latitude__isnull=False, longitude__isnull=False)
        .annotate(alerting=Exists(open_alert))
        .select_related("house", "building", "key_place")
        .order_by("-alerting", "online", "name", "pk")[: MAX_POINTS + 1]
    )
    alerted = {d.pk for d in rows if d.alerting}
    return [(status_of(d, alerted), d) for d in rows[:MAX_POINTS]], len(rows) > MAX_POINTS


def device_features(viewer: Any, codes: Sequence[str]) -> list[dict[str, Any]]:
    """The area's active devices with a point, those with an open alert first, then offline ones."""
    shown, _cut = located_devices(viewer, codes)
    return [device_feature(d, status) for status, d in shown]


def _alert_point(a: Alert) -> tuple[Any, Any] | None:
    """Where an alert is: its device's point, else its building's (a welfare check's house)."""
    for place in (a.device, a.building, a.house.building if a.house is not None else None):
        if place is not None and place.latitude is not None and place.longitude is not None:
            return place.latitude, place.longitude
    return None


def alert_features(viewer: Any, codes: Sequence[str]) -> list[dict[str, Any]]:
    """The area's open alerts with a point, most severe first."""
    alerts = (
        selectors.alert_list(viewer=viewer)
        .filter(codes_q(codes))
        .select_related("building", "house__building")[:MAX_POINTS]
    )
    out = []
    for a in alerts:
        point = _alert_point(a)
        if point is None:
            continue
        state = SEVERITY_STATES.get(Severity(a.severity), "info")
        words = f"{a.get_severity_display()} · {labels.ALERT_STATE_LABELS.get(a.state, a.state)}"
        out.append(
            geo.feature(
                geo.point(float(point[1]), float(point[0])),
                {
                    "kind": "alert",
                    "id": a.pk,
                    "label": a.title,
                    "state": state,
                    "state_label": words,
                    "region": a.region_code,
                    "url": reverse("iot:alert", args=[a.pk]),
                },
            )
        )
    return out


MAP_LAYERS = (
    MapLayer(
        key="iot.alerts",
        label=gettext_lazy("Device alerts"),
        kind="alert",
        perm=P.VIEW,
        features=alert_features,
        legend=tuple((state, Severity(level).label) for level, state in SEVERITY_STATES.items()),
    ),
    MapLayer(
        key="iot.devices",
        label=gettext_lazy("Devices"),
        kind="device",
        perm=P.VIEW,
        features=device_features,
        legend=(
            ("alert", gettext_lazy("Open alert")),
            ("offline", gettext_lazy("Offline")),
            ("online", gettext_lazy("Online")),
        ),
    ),
)
