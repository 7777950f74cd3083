"""Draft warnings the platform proposes: from the risk model (every few minutes, per community with
hazard devices and per warning type whose level is reached) and from major or critical gas, smoke
and water alerts of IoT devices. A proposal is a draft for staff to issue — never issued here — and
one live draft per source (``risk:<community>:<type>``, ``iot.alert:<id>``) is kept up to date.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import override

from shequ.core.selectors import region_names
from shequ.emergency import risk
from shequ.emergency.models import Level, Warning, WarningSource, WarningType
from shequ.emergency.services import warnings

COMMUNITY_LENGTH = 12
# The lowest level the model proposes a warning at (a blue draft is cheap to discard).
PROPOSE_FROM = Level.BLUE
BATCH = 200  # communities assessed together
# The level an IoT alert's draft starts at, by severity (3 major, 4 critical): see risk.ALERT_LEVELS.
ALERT_SEVERITY_MIN = 3
# Which device kinds (and, for environment monitors, which watched fields) speak for which type.
ALERT_TYPES: dict[str, str] = {
    "gas": WarningType.GAS,
    "smoke": WarningType.FIRE,
    "water_leak": WarningType.RAINSTORM,
}
WATER_FIELDS = frozenset({"water_level", "rainfall"})


def source_ref(region_code: str, kind: str) -> str:
    return f"risk:{region_code}:{kind}"


def advice(kind: str) -> str:
    """What people should do, the draft's text (staff edit it before issuing)."""
    texts: dict[str, str] = {
        WarningType.RAINSTORM: _(
            "Keep away from low roads, underpasses and basements. People living on low ground floors "
            "get ready to move to higher floors. Grid workers and helpers check on the people on the "
            "evacuation-assistance list."
        ),
        WarningType.GEOLOGICAL: _(
            "Keep away from slopes, retaining walls and building-site pits. People living below "
            "slopes get ready to leave. Report cracks or falling stones to the community at once."
        ),
        WarningType.GAS: _(
            "Do not light fires or switch electrical things on or off near the smell of gas. Open "
            "the windows, leave the building and call the gas company or 119."
        ),
        WarningType.FIRE: _(
            "Leave by the stairs, never the lift; cover your mouth and nose; call 119. Grid workers "
            "help the people on the evacuation-assistance list out."
        ),
    }
    return str(texts.get(kind, _("Follow the community's instructions.")))


def title_for(region_name: str, kind: str, level: int) -> str:
    return _("%(region)s %(level)s %(kind)s warning") % {
        "region": region_name,
        "level": Level(level).label,
        "kind": WarningType(kind).label,
    }


def propose(
    *, assessment: risk.Assessment, kind: str, region_name: str, actor: Any = None, request: Any = None
) -> Warning | None:
    """The draft of one warning type of an assessment: proposed by the platform (``actor`` None),
    or drafted by staff from the risk page. None when a live draft or warning of this source exists
    (its level and reasons are then brought up to date for a platform proposal)."""
    found = assessment.for_type(kind)
    if found is None or found.level is None:
        return None
    reasons = [r.as_dict() for r in found.reasons]
    with override("zh-hans"):
        title = title_for(region_name, kind, found.level)[:100]
        text = advice(kind)
    ref = source_ref(assessment.region_code, kind)
    if actor is None:
        return warnings.warning_propose(
            source=WarningSource.RISK_MODEL,
            source_ref=ref,
            kind=kind,
            level=int(found.level),
            title=title,
            text=text,
            area_codes=[assessment.region_code],
            reasons=reasons,
        )
    if live_proposal(ref) is not None:
        return None
    return warnings.warning_draft(
        actor=actor,
        kind=kind,
        level=int(found.level),
        title=title,
        text=text,
        area_codes=[assessment.region_code],
        source=WarningSource.RISK_MODEL,
        source_ref=ref,
        reasons=reasons,
        request=request,
    )


def live_proposal(ref: str) -> Warning | None:
    """The live draft or warning of a source (the database allows one)."""
    return Warning.objects.filter(source_ref=ref, status__in=["draft", "issued"]).first()


def watched_communities() -> list[str]:
    """Communities with active hazard devices (gauges, gas and smoke detectors)."""
    from shequ.iot import selectors as iot_selectors

    codes = iot_selectors.hazard_device_regions(region_codes=[""])
    return sorted({c[:COMMUNITY_LENGTH] for c in codes if len(c) >= COMMUNITY_LENGTH})


def propose_from_risk(communities: Sequence[str] | None = None) -> list[Warning]:
    """Assess ``communities`` (by default those watched) and propose what their levels call for."""
    codes = list(communities) if communities is not None else watched_communities()
    made: list[Warning] = []
    for start in range(0, len(codes), BATCH):
        chunk = codes[start : start + BATCH]
        names = region_names(chunk)
        for code, assessment in risk.assess_regions(chunk).items():
            for found in assessment.types:
                if found.level is None or found.level < PROPOSE_FROM:
                    continue
                draft = propose(assessment=assessment, kind=found.kind, region_name=names.get(code, code))
                if draft is not None:
                    made.append(draft)
    return made


def propose_from_alert(event: Any) -> Warning | None:
    """An ``iot.alert_raised`` of a gas, smoke or water device, major or critical: a draft for the
    alert's community (once per alert)."""
    from shequ.iot import selectors as iot_selectors

    if event.severity < ALERT_SEVERITY_MIN:
        return None
    facts = iot_selectors.alert_source(event.alert_id)
    if facts is None:
        return None
    device_kind, watched = facts
    kind = ALERT_TYPES.get(device_kind)
    if device_kind == "environment" and watched in WATER_FIELDS:
        kind = WarningType.RAINSTORM
    if kind is None:
        return None
    level = risk.ALERT_LEVELS.get(min(event.severity, 4), Level.ORANGE)
    community = event.region_code[:COMMUNITY_LENGTH]
    name = region_names([community]).get(community, community)
    with override("zh-hans"):
        text = advice(kind)
        title = title_for(name, kind, level)[:100]
        where = f"{event.title}：{event.detail}" if event.detail else event.title
        if event.address:
            where = f"{where}（{event.address}）"
    reason = {
        "code": "iot_alert",
        "kind": kind,
        "source": risk.Source.IOT,
        "weight": risk.ALERT_WEIGHTS.get(min(event.severity, 4), 0),
        "level": int(level),
        "numbers": {"alert_id": event.alert_id, "severity": event.severity, "device_kind": device_kind},
        "text": where[:300],
    }
    return warnings.warning_propose(
        source=WarningSource.IOT,
        source_ref=f"iot.alert:{event.alert_id}",
        kind=kind,
        level=int(level),
        title=title,
        text=text,
        area_codes=[community],
        reasons=[reason],
    )
