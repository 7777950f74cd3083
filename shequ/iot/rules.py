"""Rules: what turns device events into alerts.

Three kinds are decided as events arrive, inside the ingester's transaction (so an alert exists
exactly when the event that caused it does): ``threshold``, ``event`` and ``count`` (a count over N
for M minutes: a gathering). Three are decided by time passing, in the worker's periodic jobs
(``handlers``): ``absence`` (no door activity at a watched house for N hours: a welfare check),
``dwell`` (a vehicle in a no-parking zone over N minutes) and ``offline`` (no heartbeat).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from shequ.iot.models import Channel, DeviceEvent, DeviceKind, Rule, RuleKind
from shequ.iot.storage import EventRow

ARRIVAL_KINDS = frozenset({RuleKind.THRESHOLD, RuleKind.EVENT, RuleKind.COUNT})
MAX_HOURS = 24 * 30
MAX_MINUTES = 24 * 60 * 7


@dataclass(frozen=True)
class DeviceInfo:
    """What the ingester and the rules need of a device, cached per process."""

    id: int
    code: str
    name: str
    kind: str
    region_code: str
    region_id: int
    active: bool
    token_hash: str
    house_id: int | None
    building_id: int | None
    key_place_id: int | None
    latitude: float | None
    longitude: float | None
    location_note: str
    no_parking: bool


def device_info(d: Any) -> DeviceInfo:
    return DeviceInfo(
        id=d.pk,
        code=d.code,
        name=d.name,
        kind=d.kind,
        region_code=d.region_code,
        region_id=d.region_id,
        active=d.active,
        token_hash=d.token_hash,
        house_id=d.house_id,
        building_id=d.building_id,
        key_place_id=d.key_place_id,
        latitude=float(d.latitude) if d.latitude is not None else None,
        longitude=float(d.longitude) if d.longitude is not None else None,
        location_note=d.location_note,
        no_parking=d.no_parking,
    )


@dataclass(frozen=True)
class RuleSpec:
    id: int
    name: str
    kind: str
    region_code: str
    device_kind: str
    severity: int
    params: dict[str, Any]
    ticket_category: str

    def covers(self, device: DeviceInfo) -> bool:
        return device.region_code.startswith(self.region_code) and (
            not self.device_kind or self.device_kind == device.kind
        )


@dataclass
class Hit:
    """A rule that fired for an origin; several hits of one batch fold into one alert write."""

    rule: RuleSpec
    origin: str
    at: dt.datetime
    value: float | None
    detail: str
    device: DeviceInfo | None = None
    house_id: int | None = None
    region_code: str = ""
    count: int = 1
    place: str = ""  # what the alert's title names when there is no device (a house's address)


def spec_of(rule: Rule) -> RuleSpec:
    return RuleSpec(
        rule.pk,
        rule.name,
        rule.kind,
        rule.region_code,
        rule.device_kind,
        rule.severity,
        dict(rule.params),
        rule.ticket_category,
    )


def load(kinds: Iterable[str] | None = None) -> list[RuleSpec]:
    qs = Rule.objects.filter(enabled=True)
    if kinds is not None:
        qs = qs.filter(kind__in=list(kinds))
    return [spec_of(r) for r in qs.order_by("pk")]


# --- Parameters ---------------------------------------------------------------------------------


def _number(params: dict[str, Any], key: str, low: float, high: float) -> float:
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValidationError(
            {
                "params": _("%(key)s must be a number from %(low)s to %(high)s.")
                % {"key": key, "low": low, "high": high}
            }
        )
    return float(value)


def clean_params(kind: str, device_kind: str, params: Any) -> dict[str, Any]:
    """The parameters of a rule of ``kind``, checked; ``ValidationError`` names what is wrong."""
    if not isinstance(params, dict):
        raise ValidationError({"params": _("Parameters must be an object.")})
    if kind == RuleKind.THRESHOLD:
        field = params.get("field")
        if not isinstance(field, str) or not field.isidentifier():
            raise ValidationError({"params": _("A threshold rule needs the field it watches.")})
        if params.get("op") not in ("gt", "lt"):
            raise ValidationError({"params": _("A threshold rule's op is gt (over) or lt (under).")})
        return {"field": field, "op": params["op"], "value": _number(params, "value", -1e9, 1e9)}
    if kind == RuleKind.EVENT:
        types = params.get("types")
        if not isinstance(types, list) or not types or not all(isinstance(t, str) and t for t in types):
            raise ValidationError({"params": _("An event rule needs the event types it matches.")})
        return {"types": sorted(set(types))}
    if kind == RuleKind.ABSENCE:
        tag = params.get("tag", "living_alone")
        if not isinstance(tag, str) or not tag:
            raise ValidationError({"params": _("An absence rule needs the population tag it watches.")})
        return {"hours": _number(params, "hours", 1, MAX_HOURS), "tag": tag}
    if kind == RuleKind.COUNT:
        return {
            "over": _number(params, "over", 1, 1e6),
            "minutes": _number(params, "minutes", 1, MAX_MINUTES),
        }
    if kind in (RuleKind.DWELL, RuleKind.OFFLINE):
        return {"minutes": _number(params, "minutes", 1, MAX_MINUTES)}
    raise ValidationError({"kind": _("Unknown rule kind.")})


# --- Decided on arrival -------------------------------------------------------------------------


class Matcher:
    """The arrival rules indexed by device kind (a rule without a device kind serves every kind)."""

    def __init__(self, rules: Iterable[RuleSpec]) -> None:
        self.by_kind: dict[str, list[RuleSpec]] = defaultdict(list)
        for rule in rules:
            if rule.kind not in ARRIVAL_KINDS:
                continue
            for kind in [rule.device_kind] if rule.device_kind else DeviceKind.values:
                self.by_kind[kind].append(rule)

    def hits(self, rows: list[EventRow], devices: dict[int, DeviceInfo]) -> list[Hit]:
        """Hits of threshold and event rules, and the candidates of count rules (``count_hits``
        confirms those against the stored window)."""
        found: dict[tuple[int, str], Hit] = {}
        for row in rows:
            if row.channel == Channel.HEARTBEAT:
                continue
            device = devices[row.device_id]
            for rule in self.by_kind.get(device.kind, ()):
                if not rule.covers(device):
                    continue
                hit = _arrival_hit(rule, device, row)
                if hit is None:
                    continue
                key = (rule.id, hit.origin)
                earlier = found.get(key)
                if earlier is None:
                    found[key] = hit
                else:  # fold repeats of one batch: the latest value, every occurrence counted
                    hit.count += earlier.count
                    if hit.at < earlier.at:
                        hit.at, hit.value, hit.detail = earlier.at, earlier.value, earlier.detail
                    found[key] = hit
        return list(found.values())


def _arrival_hit(rule: RuleSpec, device: DeviceInfo, row: EventRow) -> Hit | None:
    params = rule.params
    origin = f"device:{device.id}"
    if rule.kind == RuleKind.EVENT:
        if row.type not in params["types"]:
            return None
        return Hit(
            rule, origin, row.occurred_at, row.value, row.type, device, device.house_id, device.region_code
        )
    field = params.get("field", "")
    value = row.data.get(field) if rule.kind == RuleKind.THRESHOLD else row.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    limit = params["value"] if rule.kind == RuleKind.THRESHOLD else params["over"]
    over = value > limit if params.get("op", "gt") == "gt" else value < limit
    if not over:
        return None
    detail = f"{field or 'count'}={value:g}"
    return Hit(
        rule, origin, row.occurred_at, float(value), detail, device, device.house_id, device.region_code
    )


def count_hits(hits: list[Hit]) -> list[Hit]:
    """Keep the count-rule hits whose device has stayed over the limit for the rule's minutes: the
    first reading over it since the last one at or under it lies that long back (read from the
    stored events, so ingesters sharing a device's stream agree)."""
    kept = []
    for hit in hits:
        if hit.rule.kind != RuleKind.COUNT:
            kept.append(hit)
            continue
        assert hit.device is not None
        limit = hit.rule.params["over"]
        window = dt.timedelta(minutes=hit.rule.params["minutes"])
        readings = DeviceEvent.objects.filter(device_id=hit.device.id, occurred_at__lte=hit.at).exclude(
            channel=Channel.HEARTBEAT
        )
        last_low = (
            readings.filter(value__lte=limit, occurred_at__gte=hit.at - window * 4)
            .order_by("-occurred_at")
            .values_list("occurred_at", flat=True)
            .first()
        )
        since = readings.filter(value__gt=limit, occurred_at__gte=hit.at - window * 4)
        if last_low is not None:
            since = since.filter(occurred_at__gt=last_low)
        start = since.order_by("occurred_at").values_list("occurred_at", flat=True).first()
        if start is not None and hit.at - start >= window:
            minutes = int((hit.at - start).total_seconds() // 60)
            hit.detail = _("%(count)g people for %(minutes)d minutes") % {
                "count": hit.value,
                "minutes": minutes,
            }
            kept.append(hit)
    return kept
