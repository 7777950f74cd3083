"""Every read of the IoT app that leaves it, region-scoped: a row outside the viewer's regions is a
404 exactly like a missing one. Access records (events naming a resident) need ``iot.access`` and
every read of them is audited; other device events are machine data and are not."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from shequ.core import audit
from shequ.core.permissions import Viewer, codes_q, has_perm, scope_q, scoped, scopes_for
from shequ.iot.models import (
    AccessCredential,
    Alert,
    DeadLetter,
    DeadLetterCount,
    Device,
    DeviceEvent,
    DeviceKind,
    FeedSubscription,
    HouseActivity,
    Rule,
    VisitorPass,
)
from shequ.iot.permissions import IotPerm as P

EVENT_LIMIT = 500


def _get(qs: QuerySet[Any], pk: Any) -> Any:
    try:
        found = qs.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise Http404
    return found


def device_list(
    *, viewer: Viewer, region_code: str | None = None, kind: str | None = None, status: str | None = None
) -> QuerySet[Device]:
    qs = scoped(Device.objects.all(), viewer, P.VIEW)
    if region_code:
        qs = qs.filter(region_code__startswith=region_code)
    if kind:
        qs = qs.filter(kind=kind)
    if status == "online":
        qs = qs.filter(active=True, online=True)
    elif status == "offline":
        qs = qs.filter(active=True, online=False)
    elif status == "retired":
        qs = qs.filter(active=False)
    return qs.order_by("region_code", "kind", "name")


def get_device_for(viewer: Viewer, pk: Any) -> Device:
    return _get(scoped(Device.objects.select_related("region"), viewer, P.VIEW), pk)


def device_counts(*, viewer: Viewer, region_code: str | None = None) -> dict[str, int]:
    qs = device_list(viewer=viewer, region_code=region_code).filter(active=True)
    row = qs.aggregate(total=Count("pk"), online=Count("pk", filter=Q(online=True)))
    return {"total": row["total"], "online": row["online"], "offline": row["total"] - row["online"]}


def alert_list(
    *, viewer: Viewer, region_code: str | None = None, state: str = "open", severity: int | None = None
) -> QuerySet[Alert]:
    qs = scoped(Alert.objects.select_related("rule", "device"), viewer, P.VIEW)
    if region_code:
        qs = qs.filter(region_code__startswith=region_code)
    if state == "open":
        qs = qs.filter(open=True)
    elif state in ("active", "acknowledged", "cleared"):
        qs = qs.filter(state=state)
    if severity:
        qs = qs.filter(severity__gte=severity)
    return qs.order_by("-open", "-severity", "-last_at")


def get_alert_for(viewer: Viewer, pk: Any) -> Alert:
    qs = Alert.objects.select_related("rule", "device", "acknowledged_by", "cleared_by")
    return _get(scoped(qs, viewer, P.VIEW), pk)


def open_alert_count(*, viewer: Viewer) -> int:
    return scoped(Alert.objects.filter(open=True), viewer, P.ALERT).count()


def rule_list(*, viewer: Viewer) -> QuerySet[Rule]:
    return scoped(Rule.objects.all(), viewer, P.VIEW).order_by("region_code", "kind", "name")


def get_rule_for(viewer: Viewer, pk: Any) -> Rule:
    return _get(scoped(Rule.objects.all(), viewer, P.VIEW), pk)


def event_list(
    *,
    viewer: Viewer,
    device: Device | None = None,
    house_id: int | None = None,
    building_id: int | None = None,
    key_place_id: int | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    limit: int = EVENT_LIMIT,
    request: HttpRequest | None = None,
) -> list[DeviceEvent]:
    """Events by device, place and time range, newest first. Events naming a resident are left out
    unless the viewer holds ``iot.access`` there; when they are shown, the read is audited."""
    qs = scoped(DeviceEvent.objects.all(), viewer, P.VIEW)
    if device is not None:
        qs = qs.filter(device_id=device.pk)
    if house_id is not None:
        qs = qs.filter(house_id=house_id)
    if building_id is not None or key_place_id is not None:
        places = Device.objects.all()
        if building_id is not None:
            places = places.filter(building_id=building_id)
        if key_place_id is not None:
            places = places.filter(key_place_id=key_place_id)
        qs = qs.filter(device_id__in=places.values("pk"))
    if start is not None:
        qs = qs.filter(occurred_at__gte=start)
    if end is not None:
        qs = qs.filter(occurred_at__lt=end)
    people = Q(person_id__isnull=False)
    qs = qs.filter(~people | scope_q(viewer, P.ACCESS))
    rows = list(qs.order_by("-occurred_at", "-id")[: max(1, min(limit, EVENT_LIMIT))])
    named = [r for r in rows if r.person_id is not None]
    if named:
        audit.record(
            "iot.access_read",
            actor=viewer,
            request=request,
            region_code=_common_prefix([r.region_code for r in named]),
            object_type="iot.access_record",
            object_id=f"{len(named)} records",
            fields=["person"],
            detail={"people": sorted({r.person_id for r in named if r.person_id is not None})[:50]},
        )
    return rows


def _common_prefix(codes: list[str]) -> str:
    if not codes:
        return ""
    first, last = min(codes), max(codes)
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    return first[:i]


def house_activity(*, viewer: Viewer, house_id: int) -> HouseActivity | None:
    """The last door activity at a house (welfare checks): ``iot.access`` in the house's region."""
    found = HouseActivity.objects.filter(house_id=house_id).first()
    if found is None or not has_perm(viewer, P.ACCESS, found.region_code):
        return None
    return found


def dead_letter_list(*, viewer: Viewer, reason: str | None = None) -> QuerySet[DeadLetter]:
    """Dead letters of devices in the viewer's regions (those naming no known region are the
    operators': ``shequ iot dead-letters``)."""
    qs = scoped(DeadLetter.objects.all(), viewer, P.MANAGE)
    if reason:
        qs = qs.filter(reason=reason)
    return qs.order_by("-received_at")


def dead_letter_counts() -> dict[str, int]:
    return dict(DeadLetterCount.objects.values_list("reason", "count"))


def visitor_pass_list(*, viewer: Viewer) -> QuerySet[VisitorPass]:
    """A resident's own passes."""
    return VisitorPass.objects.filter(host_id=getattr(viewer, "pk", None)).order_by("-valid_from")


def feed_list(*, viewer: Viewer) -> QuerySet[FeedSubscription]:
    return FeedSubscription.objects.filter(
        pk__in=[f.pk for f in FeedSubscription.objects.all() if _feed_visible(viewer, f)]
    )


def _feed_visible(viewer: Viewer, feed: FeedSubscription) -> bool:
    return any(has_perm(viewer, P.FEEDS, code) for code in feed.region_codes)


def _ancestor_codes(codes: list[str]) -> set[str]:
    return {code[:n] for code in codes for n in (2, 4, 6, 9, 12) if n < len(code)}


def rules_in_force(*, viewer: Viewer) -> QuerySet[Rule]:
    """The rules that apply in the viewer's regions: their own and those of the regions above
    (a grid worker sees the community's rules that watch their grid)."""
    scopes = scopes_for(viewer, P.VIEW)
    above = Q(region_code__in=_ancestor_codes(scopes)) if scopes else Q(pk__in=[])
    return Rule.objects.filter(scope_q(viewer, P.VIEW) | above).order_by("region_code", "kind", "name")


def get_rule_in_force_for(viewer: Viewer, pk: Any) -> Rule:
    return _get(rules_in_force(viewer=viewer), pk)


def dead_letter_reasons(*, viewer: Viewer) -> dict[str, int]:
    """Dead letters kept (the table is trimmed) of the viewer's regions, by reason."""
    qs = scoped(DeadLetter.objects.all(), viewer, P.MANAGE).order_by()
    return dict(qs.values_list("reason").annotate(n=Count("pk")).values_list("reason", "n"))


# --- Access control -------------------------------------------------------------------------------


def credential_list(
    *, viewer: Viewer, person_id: int | None = None, house_id: int | None = None, kind: str | None = None
) -> QuerySet[AccessCredential]:
    """Active credentials (masked) in the viewer's ``iot.access`` or ``iot.manage`` regions. Whoever
    shows them audits the read (``record_credential_read``): they tie a card or a car to a person."""
    qs = AccessCredential.objects.filter(active=True).filter(
        scope_q(viewer, P.ACCESS) | scope_q(viewer, P.MANAGE)
    )
    if person_id is not None:
        qs = qs.filter(person_id=person_id)
    if house_id is not None:
        qs = qs.filter(house_id=house_id)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("person", "house").order_by("region_code", "kind", "pk")


def get_credential_for(viewer: Viewer, pk: Any) -> AccessCredential:
    return _get(credential_list(viewer=viewer), pk)


def record_credential_read(
    *, viewer: Viewer, rows: list[AccessCredential], request: HttpRequest | None, what: str
) -> None:
    if not rows:
        return
    audit.record(
        "iot.credential_read",
        actor=viewer,
        request=request,
        region_code=_common_prefix([r.region_code for r in rows]),
        object_type="iot.credential",
        object_id=what[:100],
        fields=["credential"],
        detail={"people": sorted({r.person_id for r in rows})[:50], "count": len(rows)},
    )


@dataclass
class UnknownPlate:
    subject_ref: str
    masked: str
    count: int
    last_at: dt.datetime
    device_name: str


def unknown_plates(*, viewer: Viewer, days: int = 7, limit: int = 200) -> list[UnknownPlate]:
    """Plates seen at gates and cameras that belong to no registered resident, by plate (blind
    index), latest first. They name nobody: reading them is ``iot.access`` but not a personal-data
    read of a resident."""
    since = timezone.now() - dt.timedelta(days=days)
    cameras = Device.objects.filter(kind__in=[DeviceKind.GATE, DeviceKind.CAMERA])
    rows = (
        scoped(DeviceEvent.objects.all(), viewer, P.ACCESS)
        .filter(occurred_at__gte=since, person_id__isnull=True, device_id__in=cameras.values("pk"))
        .exclude(subject_ref="")
        .values("subject_ref", "subject_masked")
        .annotate(count=Count("id"), last_at=Max("occurred_at"), device_id=Max("device_id"))
        .order_by("-last_at")[:limit]
    )
    found = list(rows)
    names = dict(Device.objects.filter(pk__in={r["device_id"] for r in found}).values_list("pk", "name"))
    return [
        UnknownPlate(
            r["subject_ref"], r["subject_masked"], r["count"], r["last_at"], names.get(r["device_id"], "")
        )
        for r in found
    ]


def my_pass_list(*, viewer: Viewer) -> QuerySet[VisitorPass]:
    """The passes a resident gave, newest first."""
    return visitor_pass_list(viewer=viewer).select_related("house")


def get_my_pass(viewer: Viewer, pk: Any) -> VisitorPass:
    """One of the viewer's own passes (404 for anyone else's)."""
    return _get(my_pass_list(viewer=viewer), pk)


def get_feed_for(viewer: Viewer, pk: Any) -> FeedSubscription:
    found = _get(FeedSubscription.objects.select_related("department", "client", "authorized_by"), pk)
    if not _feed_visible(viewer, found):
        raise Http404
    return found


# --- Readings for the emergency risk model --------------------------------------------------------

# Device kinds whose readings and alerts the risk model weighs.
HAZARD_DEVICE_KINDS = (DeviceKind.ENVIRONMENT, DeviceKind.GAS, DeviceKind.SMOKE, DeviceKind.WATER_LEAK)


@dataclass(frozen=True)
class HazardReading:
    device_id: int
    device_kind: str
    device_name: str
    region_code: str
    at: dt.datetime
    values: dict[str, Any]  # environment: the telemetry fields; detectors: {"level": …}


def hazard_readings(
    *, region_codes: list[str], since: dt.datetime, limit: int = 50000
) -> list[HazardReading]:
    """Telemetry of the active environment monitors and gas/smoke/water detectors under
    ``region_codes`` since ``since``, oldest first. A platform read: the caller checks access
    (machine data, no person in it)."""
    if not region_codes:
        return []
    devices = {
        d.pk: d
        for d in Device.objects.filter(codes_q(region_codes), kind__in=HAZARD_DEVICE_KINDS, active=True).only(
            "pk", "kind", "name", "region_code"
        )
    }
    if not devices:
        return []
    rows = (
        DeviceEvent.objects.filter(codes_q(region_codes), channel="telemetry", occurred_at__gte=since)
        .filter(device_id__in=list(devices))
        .order_by("-occurred_at", "-id")
        .values_list("device_id", "occurred_at", "value", "data")[:limit]
    )
    found = []
    for device_id, at, value, data in reversed(list(rows)):  # the newest ``limit``, oldest first
        device = devices[device_id]
        values = dict(data or {}) if device.kind == DeviceKind.ENVIRONMENT else {"level": value}
        found.append(HazardReading(device_id, device.kind, device.name, device.region_code, at, values))
    return found


def hazard_device_regions(*, region_codes: list[str]) -> list[str]:
    """Region codes of the active hazard devices under ``region_codes`` (which communities the
    risk model watches). A platform read: the caller checks access."""
    qs = Device.objects.filter(codes_q(region_codes), kind__in=HAZARD_DEVICE_KINDS, active=True)
    return sorted(set(qs.values_list("region_code", flat=True)))


def open_hazard_alerts(*, region_codes: list[str]) -> list[tuple[str, str, int, int]]:
    """(region code, device kind, severity, open alerts) of the open alerts under ``region_codes``
    raised by hazard devices or rules watching them. A platform read: the caller checks access."""
    rows = (
        Alert.objects.filter(codes_q(region_codes), open=True)
        .values("region_code", "device__kind", "rule__device_kind", "severity")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("region_code", "device__kind", "rule__device_kind", "severity", "n")
    )
    found: dict[tuple[str, str, int], int] = {}
    for code, device_kind, rule_kind, severity, n in rows:
        kind = device_kind or rule_kind
        if kind in HAZARD_DEVICE_KINDS:
            key = (code, kind, severity)
            found[key] = found.get(key, 0) + n
    return [(code, kind, severity, n) for (code, kind, severity), n in sorted(found.items())]


def alert_source(alert_id: int) -> tuple[str, str] | None:
    """(device kind, the field a threshold rule watches or "") of an alert, for consumers of
    ``iot.alert_raised``. A platform read: the caller checks access."""
    row = (
        Alert.objects.filter(pk=alert_id)
        .values_list("device__kind", "rule__device_kind", "rule__params")
        .first()
    )
    if row is None:
        return None
    device_kind, rule_kind, params = row
    field = params.get("field", "") if isinstance(params, dict) else ""
    return (device_kind or rule_kind or "", str(field))
