"""The risk model: per grid and community, a score and a level for each type of warning, from
live inputs, each input that counts giving a reason (text, weight, source, numbers).

``assess(inputs)`` is pure: fixed inputs in (``RiskInputs``), an ``Assessment`` out, so that the
reasons can be tested. ``gather(codes)`` reads the live inputs of regions — the IoT readings of the
last ``TREND_HOURS`` (through ``iot.selectors``), open IoT alerts, key places and vulnerable people
(``registry.outreach``) and the safety tickets of the last ``TICKET_DAYS`` days (``grid.selectors``)
— one query per source for all the regions together.

What the readings mean (``iot.payloads.EnvironmentTelemetry``, ``DetectorTelemetry``):

* ``water_level``: depth of standing water at the gauge, in metres (a waterlogging gauge on a road
  or at an underpass, 内涝积水深度);
* ``rainfall``: the rain gauge's hourly rainfall (小时雨量, mm in the hour before the reading), as the
  automatic weather stations report it: rain over N hours is the sum, over the N hours before now,
  of each hour's highest reading;
* gas detectors' ``level``: %LEL; smoke detectors' ``level``: obscuration %/m.

Levels follow the hazard (rain, water, gas, smoke; hazard places for a geological warning), as the
public warning-signal rules do. The people who need help to leave and recent safety tickets add to
the score and are shown as reasons, but do not raise a level: they shape the response (the
evacuation-assistance list), not the warning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from shequ.emergency.models import Level, WarningType

# --- Thresholds --------------------------------------------------------------------------------

# Observed rain (mm) over 3, 6 and 12 hours, after the meteorological rainstorm signals (DOMAIN.md):
# blue 50 mm within 12 h, yellow 50 mm within 6 h, orange 50 mm within 3 h, red 100 mm within 3 h.
RAIN_LEVELS: tuple[tuple[int, float, Level], ...] = (
    (3, 100.0, Level.RED),
    (3, 50.0, Level.ORANGE),
    (6, 50.0, Level.YELLOW),
    (12, 50.0, Level.BLUE),
)
# Standing water (m): 0.10 water stands on the road; 0.15 over the kerb, into ground-floor doorways;
# 0.30 cars stall and old people cannot wade; 0.50 ground floors flood, people must be moved.
WATER_LEVELS: tuple[tuple[float, Level], ...] = (
    (0.50, Level.RED),
    (0.30, Level.ORANGE),
    (0.15, Level.YELLOW),
    (0.10, Level.BLUE),
)
# Water rising this much (m) within TREND_HOURS raises the water's level one step (at least blue):
# at that pace a road becomes impassable within the next hours.
WATER_RISE_FAST = 0.10
TREND_HOURS = 3
# Hours of readings read: the longest rain window.
READ_HOURS = 12
# Gas (%LEL): detectors alarm between 3 and 25 %LEL (GB 15322); 25 %LEL is the usual high alarm,
# 50 %LEL half-way to an explosive mixture.
GAS_LEVELS: tuple[tuple[float, Level], ...] = (
    (50.0, Level.RED),
    (25.0, Level.ORANGE),
    (10.0, Level.YELLOW),
    (5.0, Level.BLUE),
)
# Smoke (obscuration %/m): photoelectric detectors alarm at about 2–4 %/m; 8 %/m is thick smoke.
SMOKE_LEVELS: tuple[tuple[float, Level], ...] = (
    (8.0, Level.RED),
    (4.0, Level.ORANGE),
    (2.0, Level.YELLOW),
    (1.0, Level.BLUE),
)
# Open alerts of hazard devices (iot severity 3 major, 4 critical): one device's alarm is one place,
# so it brings its warning type to yellow (major) or orange (critical), not to red.
ALERT_LEVELS: dict[int, Level] = {3: Level.YELLOW, 4: Level.ORANGE}
ALERT_WEIGHTS: dict[int, int] = {3: 10, 4: 20}
ALERT_WEIGHT_MAX = 30
# Which warning type each hazard device kind speaks for.
DEVICE_WARNING: dict[str, str] = {
    "environment": WarningType.RAINSTORM,
    "water_leak": WarningType.RAINSTORM,
    "gas": WarningType.GAS,
    "smoke": WarningType.FIRE,
}
# Key places that can slide or cave in after heavy rain (slopes and pits of building sites), and
# places whose goods make a gas leak or a fire worse. Any place staff marked "high" risk counts too.
GEOLOGICAL_PLACE_KINDS = frozenset({"construction_site"})
FIRE_PLACE_KINDS = frozenset({"hazardous_goods"})
PLACE_WEIGHTS = {"high": 5, "medium": 2, "low": 1}
PLACE_WEIGHT_MAX = 15
# Points per level of a hazard reading (the score is the sum of the reasons' weights, at most 100).
LEVEL_WEIGHTS: dict[Level, int] = {Level.BLUE: 10, Level.YELLOW: 20, Level.ORANGE: 30, Level.RED: 40}
WATER_RISE_WEIGHT = 10
# People who need help to leave: a point per 4 people, at most 15.
PEOPLE_PER_POINT = 4
PEOPLE_WEIGHT_MAX = 15
# Safety and incident tickets of the last TICKET_DAYS days: 3 points each, at most 15.
TICKET_DAYS = 7
TICKET_WEIGHT = 3
TICKET_WEIGHT_MAX = 15
SCORE_MAX = 100
# The warning types the model proposes (the others have no input here).
MODEL_TYPES = (WarningType.RAINSTORM, WarningType.GEOLOGICAL, WarningType.GAS, WarningType.FIRE)


class Source:
    IOT = "iot"
    PLACE = "place"
    PEOPLE = "people"
    TICKET = "ticket"


# --- Inputs and reasons --------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskInputs:
    """What the model weighs for one region (all optional: a region without gauges has no rain)."""

    region_code: str
    water_level: float | None = None  # m, the deepest latest reading of the region's gauges
    water_where: str = ""  # the gauge's name
    water_rise: float | None = None  # m over the last TREND_HOURS, the fastest gauge
    rain: dict[int, float] = field(default_factory=dict)  # hours (3, 6, 12) → mm, the wettest gauge
    gas_level: float | None = None  # %LEL, the highest latest detector reading
    gas_where: str = ""
    smoke_level: float | None = None  # %/m
    smoke_where: str = ""
    alerts: tuple[tuple[str, int, int], ...] = ()  # (device kind, severity, open alerts)
    places: tuple[tuple[str, str, int], ...] = ()  # (key-place kind, risk level, places)
    vulnerable: tuple[tuple[str, int], ...] = ()  # (care tag code, people)
    vulnerable_total: int = 0  # people holding any of them
    safety_tickets: tuple[tuple[str, int], ...] = ()  # (category code, tickets of TICKET_DAYS)
    devices: int = 0  # hazard devices that reported in the window
    # Labels of tags, place kinds, risk levels, device kinds and ticket categories (code → words).
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reason:
    code: str  # what it is: rain, water_level, water_rise, gas, smoke, alerts, places, people, tickets
    kind: str  # the warning type it speaks for ("" for every type)
    source: str  # Source.*
    weight: int  # points it adds to the score
    numbers: dict[str, Any]
    level: int | None = None  # the level it alone calls for

    @property
    def text(self) -> str:
        return reason_text(self)

    def as_dict(self) -> dict[str, Any]:
        """For ``Warning.reasons``: the numbers and the text in Chinese (as proposed)."""
        with override("zh-hans"):
            text = self.text
        return {
            "code": self.code,
            "kind": self.kind,
            "source": self.source,
            "weight": self.weight,
            "level": self.level,
            "numbers": self.numbers,
            "text": text,
        }


@dataclass(frozen=True)
class TypeRisk:
    kind: str  # WarningType
    level: Level | None
    reasons: tuple[Reason, ...]

    @property
    def score(self) -> int:
        return min(SCORE_MAX, sum(r.weight for r in self.reasons))

    @property
    def kind_label(self) -> str:
        return str(WarningType(self.kind).label)

    @property
    def color(self) -> str:
        return level_color(self.level)


@dataclass(frozen=True)
class Assessment:
    region_code: str
    score: int
    level: Level | None  # the highest of the types
    types: tuple[TypeRisk, ...]  # the types with a level, highest first
    reasons: tuple[Reason, ...]  # every reason, heaviest first

    @property
    def color(self) -> str:
        return level_color(self.level)

    def for_type(self, kind: str) -> TypeRisk | None:
        return next((t for t in self.types if t.kind == kind), None)


def level_color(level: int | None) -> str:
    return {1: "blue", 2: "yellow", 3: "orange", 4: "red"}.get(int(level or 0), "none")


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def reason_text(reason: Reason) -> str:
    """The reason in words (the active language)."""
    n = reason.numbers
    if reason.code == "rain":
        return _("%(mm)s mm of rain in the last %(hours)d hours") % {"mm": _fmt(n["mm"]), "hours": n["hours"]}
    if reason.code == "water_level":
        return _("Standing water %(m)s m deep at %(where)s") % {
            "m": _fmt(n["m"]),
            "where": n.get("where", ""),
        }
    if reason.code == "water_rise":
        return _("The water rose %(m)s m in the last %(hours)d hours") % {
            "m": _fmt(n["m"]),
            "hours": n["hours"],
        }
    if reason.code == "gas":
        return _("Gas at %(value)s %%LEL at %(where)s") % {
            "value": _fmt(n["value"]),
            "where": n.get("where", ""),
        }
    if reason.code == "smoke":
        return _("Smoke density %(value)s %%/m at %(where)s") % {
            "value": _fmt(n["value"]),
            "where": n.get("where", ""),
        }
    if reason.code == "alerts":
        return _("%(n)d open %(severity)s alerts of %(device)s") % {
            "n": n["count"],
            "severity": n.get("severity_label", ""),
            "device": n.get("device_label", ""),
        }
    if reason.code == "places":
        return _("%(n)d %(kind)s (%(risk)s risk)") % {
            "n": n["count"],
            "kind": n.get("kind_label", ""),
            "risk": n.get("risk_label", ""),
        }
    if reason.code == "people":
        return _("%(n)d people need help to leave: %(detail)s") % {
            "n": n["count"],
            "detail": n.get("detail", ""),
        }
    if reason.code == "tickets":
        return _("%(n)d safety or incident tickets in the last %(days)d days: %(detail)s") % {
            "n": n["count"],
            "days": n["days"],
            "detail": n.get("detail", ""),
        }
    if reason.code == "geological":
        return _("Heavy rain where %(n)d places may slide or cave in") % {"n": n["count"]}
    if reason.code == "hazardous_goods":
        return _("%(n)d hazardous goods sites make a leak or fire worse") % {"n": n["count"]}
    return reason.code


# --- The model -----------------------------------------------------------------------------------


def _ladder(value: float | None, ladder: Sequence[tuple[float, Level]]) -> Level | None:
    if value is None:
        return None
    return next((level for threshold, level in ladder if value >= threshold), None)


def _up(level: Level | None) -> Level:
    return Level(min(Level.RED, (level or 0) + 1))


def _rain_level(rain: dict[int, float]) -> tuple[Level, int, float] | None:
    for hours, mm, level in RAIN_LEVELS:
        if rain.get(hours, 0.0) >= mm:
            return level, hours, rain[hours]
    return None


def assess(inputs: RiskInputs) -> Assessment:
    """Score, level and reasons of one region from fixed inputs."""
    labels = inputs.labels
    by_type: dict[str, list[Reason]] = {t: [] for t in MODEL_TYPES}
    levels: dict[str, Level | None] = dict.fromkeys(MODEL_TYPES)
    shared: list[Reason] = []

    def raise_to(kind: str, level: Level | None) -> None:
        if level is not None and (levels[kind] is None or level > (levels[kind] or 0)):
            levels[kind] = level

    def add(kind: str, reason: Reason) -> None:
        by_type[kind].append(reason)
        raise_to(kind, Level(reason.level) if reason.level else None)

    # Rain: rainstorm, and with places that may slide, a geological hazard.
    rain = _rain_level(inputs.rain)
    if rain is not None:
        level, hours, mm = rain
        add(
            WarningType.RAINSTORM,
            Reason(
                "rain",
                WarningType.RAINSTORM,
                Source.IOT,
                LEVEL_WEIGHTS[level],
                {"hours": hours, "mm": mm},
                level,
            ),
        )
    # Standing water, and how fast it rises.
    water = _ladder(inputs.water_level, WATER_LEVELS)
    if water is not None and inputs.water_level is not None:
        add(
            WarningType.RAINSTORM,
            Reason(
                "water_level",
                WarningType.RAINSTORM,
                Source.IOT,
                LEVEL_WEIGHTS[water],
                {"m": inputs.water_level, "where": inputs.water_where},
                water,
            ),
        )
    if inputs.water_rise is not None and inputs.water_rise >= WATER_RISE_FAST:
        add(
            WarningType.RAINSTORM,
            Reason(
                "water_rise",
                WarningType.RAINSTORM,
                Source.IOT,
                WATER_RISE_WEIGHT,
                {"m": inputs.water_rise, "hours": TREND_HOURS},
                _up(water),
            ),
        )
    gas = _ladder(inputs.gas_level, GAS_LEVELS)
    if gas is not None and inputs.gas_level is not None:
        add(
            WarningType.GAS,
            Reason(
                "gas",
                WarningType.GAS,
                Source.IOT,
                LEVEL_WEIGHTS[gas],
                {"value": inputs.gas_level, "where": inputs.gas_where},
                gas,
            ),
        )
    smoke = _ladder(inputs.smoke_level, SMOKE_LEVELS)
    if smoke is not None and inputs.smoke_level is not None:
        add(
            WarningType.FIRE,
            Reason(
                "smoke",
                WarningType.FIRE,
                Source.IOT,
                LEVEL_WEIGHTS[smoke],
                {"value": inputs.smoke_level, "where": inputs.smoke_where},
                smoke,
            ),
        )
    # Open alerts of hazard devices, per warning type and severity.
    alert_weight: dict[str, int] = {}
    for device_kind, severity, count in sorted(inputs.alerts, key=lambda a: (-a[1], a[0])):
        kind = DEVICE_WARNING.get(device_kind)
        if kind is None or count <= 0:
            continue
        room = ALERT_WEIGHT_MAX - alert_weight.get(kind, 0)
        weight = max(0, min(room, ALERT_WEIGHTS.get(severity, 0) * count))
        alert_weight[kind] = alert_weight.get(kind, 0) + weight
        add(
            kind,
            Reason(
                "alerts",
                kind,
                Source.IOT,
                weight,
                {
                    "count": count,
                    "severity": severity,
                    "device_kind": device_kind,
                    "severity_label": labels.get(f"severity:{severity}", str(severity)),
                    "device_label": labels.get(f"device:{device_kind}", device_kind),
                },
                ALERT_LEVELS.get(severity),
            ),
        )
    # Hazard places: every place adds to the score; slopes and pits make heavy rain a geological
    # hazard; hazardous goods make a gas leak or a fire one step worse.
    place_weight = 0
    slide_places = 0
    goods_places = 0
    for kind_code, risk, count in inputs.places:
        if count <= 0:
            continue
        is_slide = kind_code in GEOLOGICAL_PLACE_KINDS or risk == "high"
        if kind_code in GEOLOGICAL_PLACE_KINDS:
            slide_places += count
        if kind_code in FIRE_PLACE_KINDS:
            goods_places += count
        if not (is_slide or kind_code in FIRE_PLACE_KINDS or risk == "medium"):
            continue  # an ordinary place of low risk is no hazard
        weight = max(0, min(PLACE_WEIGHT_MAX - place_weight, PLACE_WEIGHTS.get(risk, 1) * count))
        place_weight += weight
        shared.append(
            Reason(
                "places",
                "",
                Source.PLACE,
                weight,
                {
                    "count": count,
                    "kind": kind_code,
                    "risk": risk,
                    "kind_label": labels.get(f"place:{kind_code}", kind_code),
                    "risk_label": labels.get(f"risk:{risk}", risk),
                },
            )
        )
    if rain is not None and slide_places:
        level = rain[0]
        add(
            WarningType.GEOLOGICAL,
            Reason(
                "geological",
                WarningType.GEOLOGICAL,
                Source.PLACE,
                LEVEL_WEIGHTS[level],
                {"count": slide_places, "hours": rain[1], "mm": rain[2]},
                level,
            ),
        )
    if goods_places:
        for kind in (WarningType.GAS, WarningType.FIRE):
            if levels[kind] is not None:
                add(
                    kind,
                    Reason(
                        "hazardous_goods", kind, Source.PLACE, 5, {"count": goods_places}, _up(levels[kind])
                    ),
                )
    # People who need help to leave.
    if inputs.vulnerable_total > 0:
        detail = "、".join(
            f"{labels.get(f'tag:{tag}', tag)} {n}"
            for tag, n in sorted(inputs.vulnerable, key=lambda v: -v[1])
            if n
        )
        shared.append(
            Reason(
                "people",
                "",
                Source.PEOPLE,
                min(PEOPLE_WEIGHT_MAX, 1 + inputs.vulnerable_total // PEOPLE_PER_POINT),
                {"count": inputs.vulnerable_total, "by_tag": dict(inputs.vulnerable), "detail": detail},
            )
        )
    tickets = sum(n for _c, n in inputs.safety_tickets)
    if tickets > 0:
        detail = "、".join(
            f"{labels.get(f'category:{c}', c)} {n}"
            for c, n in sorted(inputs.safety_tickets, key=lambda t: -t[1])
        )
        shared.append(
            Reason(
                "tickets",
                "",
                Source.TICKET,
                min(TICKET_WEIGHT_MAX, TICKET_WEIGHT * tickets),
                {
                    "count": tickets,
                    "days": TICKET_DAYS,
                    "by_category": dict(inputs.safety_tickets),
                    "detail": detail,
                },
            )
        )
    types = tuple(
        sorted(
            (
                TypeRisk(kind, levels[kind], tuple(by_type[kind]) + tuple(shared))
                for kind in MODEL_TYPES
                if levels[kind] is not None
            ),
            key=lambda t: (-(t.level or 0), -t.score, t.kind),
        )
    )
    reasons = tuple(sorted([r for k in MODEL_TYPES for r in by_type[k]] + shared, key=lambda r: -r.weight))
    score = min(SCORE_MAX, sum(r.weight for r in reasons))
    top: Level | None = types[0].level if types else None
    return Assessment(inputs.region_code, score, top, types, reasons)


# --- Live inputs ---------------------------------------------------------------------------------


def _under(code: str, targets: Iterable[str]) -> list[str]:
    """The targets ``code`` lies under (a grid's row counts for its grid and its community)."""
    return [t for t in targets if code.startswith(t)]


@dataclass
class _Acc:
    water: tuple[float, str] | None = None
    water_rise: float | None = None
    rain: dict[int, float] = field(default_factory=dict)
    gas: tuple[float, str] | None = None
    smoke: tuple[float, str] | None = None
    devices: set[int] = field(default_factory=set)
    alerts: dict[tuple[str, int], int] = field(default_factory=dict)
    places: dict[tuple[str, str], int] = field(default_factory=dict)
    vulnerable: dict[str, int] = field(default_factory=dict)
    vulnerable_total: int = 0
    tickets: dict[str, int] = field(default_factory=dict)


def _higher(current: tuple[float, str] | None, value: float, where: str) -> tuple[float, str]:
    return (value, where) if current is None or value > current[0] else current


def gather(region_codes: Sequence[str], *, now: dt.datetime | None = None) -> dict[str, RiskInputs]:
    """The live inputs of each region (grids and communities alike). A platform read: the caller
    checks that the viewer may see the regions."""
    from shequ.grid import selectors as grid_selectors
    from shequ.iot import selectors as iot_selectors
    from shequ.iot.models import DeviceKind, Severity
    from shequ.registry import outreach

    targets = sorted(set(region_codes))
    if not targets:
        return {}
    now = now or timezone.now()
    acc = {t: _Acc() for t in targets}
    readings = iot_selectors.hazard_readings(region_codes=targets, since=now - dt.timedelta(hours=READ_HOURS))
    # Per device: latest values, water level at the start of the trend window, hourly rain maxima.
    latest: dict[int, dict[str, Any]] = {}
    first_water: dict[int, float] = {}
    rain_hours: dict[int, dict[int, float]] = {}
    about: dict[int, tuple[str, str, str]] = {}
    trend_start = now - dt.timedelta(hours=TREND_HOURS)
    for r in readings:
        about[r.device_id] = (r.device_kind, r.device_name, r.region_code)
        latest.setdefault(r.device_id, {}).update({k: v for k, v in r.values.items() if v is not None})
        water = r.values.get("water_level")
        if water is not None and r.at >= trend_start:
            first_water.setdefault(r.device_id, float(water))
        rain = r.values.get("rainfall")
        if rain is not None:
            hour = int((now - r.at).total_seconds() // 3600)
            buckets = rain_hours.setdefault(r.device_id, {})
            buckets[hour] = max(buckets.get(hour, 0.0), float(rain))
    for device_id, values in latest.items():
        kind, name, code = about[device_id]
        for target in _under(code, targets):
            a = acc[target]
            a.devices.add(device_id)
            if kind == DeviceKind.ENVIRONMENT and values.get("water_level") is not None:
                level = float(values["water_level"])
                a.water = _higher(a.water, level, name)
                if device_id in first_water:
                    rise = level - first_water[device_id]
                    a.water_rise = rise if a.water_rise is None else max(a.water_rise, rise)
            if device_id in rain_hours:
                for hours in (3, 6, 12):
                    mm = sum(v for h, v in rain_hours[device_id].items() if h < hours)
                    a.rain[hours] = max(a.rain.get(hours, 0.0), mm)
            if kind == DeviceKind.GAS and values.get("level") is not None:
                a.gas = _higher(a.gas, float(values["level"]), name)
            if kind == DeviceKind.SMOKE and values.get("level") is not None:
                a.smoke = _higher(a.smoke, float(values["level"]), name)
    for code, device_kind, severity, n in iot_selectors.open_hazard_alerts(region_codes=targets):
        for target in _under(code, targets):
            key = (device_kind, severity)
            acc[target].alerts[key] = acc[target].alerts.get(key, 0) + n
    for code, kind, risk, n in outreach.key_place_counts(region_codes=targets):
        for target in _under(code, targets):
            acc[target].places[(kind, risk)] = acc[target].places.get((kind, risk), 0) + n
    by_tag, people = outreach.vulnerable_counts(region_codes=targets)
    for code, tag, n in by_tag:
        for target in _under(code, targets):
            acc[target].vulnerable[tag] = acc[target].vulnerable.get(tag, 0) + n
    for code, n in people:
        for target in _under(code, targets):
            acc[target].vulnerable_total += n
    since = now - dt.timedelta(days=TICKET_DAYS)
    for code, category, n in grid_selectors.safety_ticket_counts(region_codes=targets, since=since):
        for target in _under(code, targets):
            acc[target].tickets[category] = acc[target].tickets.get(category, 0) + n

    kinds, risks = outreach.key_place_labels()
    labels: dict[str, str] = {f"place:{k}": v for k, v in kinds.items()}
    labels.update({f"risk:{k}": v for k, v in risks.items()})
    labels.update({f"tag:{k}": v for k, v in outreach.care_tag_labels(outreach.VULNERABLE_TAGS).items()})
    labels.update({f"device:{k}": str(v) for k, v in DeviceKind.choices})
    labels.update({f"severity:{k}": str(v) for k, v in Severity.choices})
    labels.update({f"category:{k}": v for k, v in grid_selectors.category_names().items()})
    found = {}
    for target, a in acc.items():
        found[target] = RiskInputs(
            region_code=target,
            water_level=a.water[0] if a.water else None,
            water_where=a.water[1] if a.water else "",
            water_rise=a.water_rise,
            rain={h: mm for h, mm in a.rain.items() if mm > 0},
            gas_level=a.gas[0] if a.gas else None,
            gas_where=a.gas[1] if a.gas else "",
            smoke_level=a.smoke[0] if a.smoke else None,
            smoke_where=a.smoke[1] if a.smoke else "",
            alerts=tuple((k, s, n) for (k, s), n in sorted(a.alerts.items())),
            places=tuple((k, r, n) for (k, r), n in sorted(a.places.items())),
            vulnerable=tuple(sorted(a.vulnerable.items())),
            vulnerable_total=a.vulnerable_total,
            safety_tickets=tuple(sorted(a.tickets.items())),
            devices=len(a.devices),
            labels=labels,
        )
    return found


def assess_regions(region_codes: Sequence[str], *, now: dt.datetime | None = None) -> dict[str, Assessment]:
    """``assess`` of each region's live inputs. A platform read: the caller checks access."""
    return {code: assess(inputs) for code, inputs in gather(region_codes, now=now).items()}
