"""Demo emergency for 岳麓街道: a rainstorm tonight, told the way the platform lives it.

* Waterlogging gauges (environment monitors with ``water_level`` in metres and the hourly
  ``rainfall`` in mm, ``iot.payloads.EnvironmentTelemetry``) at low spots of the two demo
  communities, with ``HOURS`` of rising readings ending now, through the IoT ingestion pipeline.
* Two warnings proposed by the risk model with their reasons (the readings): 枇杷塘 orange, which
  the community head (``head_a``) issued an hour and a half ago, and 泽盛 yellow, still a proposal.
* A call-out of 枇杷塘's two low-lying grids for the warning in force (residents and staff, "safe
  or need help?"): most answered safe, one asked for help (an urgent grid task), the silent were
  sent again after 10 minutes and passed to their grid workers after 20, some answered after that.
* An older blue rainstorm warning of 枇杷塘, issued three days ago and lifted the next day.
* Helpers (一对一包保) for a few of 枇杷塘's vulnerable people: the grid worker, the volunteer, a
  relative.

Everything goes through the emergency, IoT and messaging services, as the staff's clicks would;
only the times are moved back to when it happened. Idempotent: a street that has the scenario
already (its lifted warning) is left alone.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from shequ.core import outbox
from shequ.core.models import Region, User
from shequ.emergency.models import (
    Answer,
    HelperRelation,
    Level,
    Mobilization,
    MobilizationEntry,
    MobilizationStep,
    Recipient,
    Response,
    Via,
    Warning,
    WarningEntry,
    WarningSource,
    WarningType,
)
from shequ.emergency.services import answers, mobilization, warnings
from shequ.registry import outreach

STREET = "430104002"  # 岳麓街道
COMMUNITY_A = "430104002001"  # 枇杷塘社区: the demo accounts' community, where the warning is in force
COMMUNITY_B = "430104002003"  # 泽盛社区: a proposal not yet issued
GRIDS_CALLED = (COMMUNITY_A + "001", COMMUNITY_A + "002")  # the low-lying grids called out
HOURS = 6  # of gauge readings, every READING_MINUTES
READING_MINUTES = 10
ISSUED_AGO = dt.timedelta(minutes=90)
CALLED_AGO = dt.timedelta(minutes=75)
SILENT_SHARE = 0.12  # of the called-out residents who have not answered
HELPERS = 5

# gauge code suffix, name, community, (water level m at the start, at the end), (rain mm/h start, end)
GAUGES = [
    ("ppt-waterlevel-01", "麓山南路下穿通道积水监测", COMMUNITY_A, (0.02, 0.42), (6.0, 38.0)),
    ("ppt-waterlevel-02", "枇杷塘小区地下车库入口积水监测", COMMUNITY_A, (0.0, 0.26), (6.0, 35.0)),
    ("zs-waterlevel-01", "泽盛路低洼路段积水监测", COMMUNITY_B, (0.0, 0.12), (4.0, 22.0)),
]
OLD_TITLE = "枇杷塘社区暴雨蓝色预警"  # three days ago, lifted: also marks that the scenario exists
TEXT_A = (
    "受强降雨影响，预计未来3小时本社区降雨量将达50毫米以上，麓山南路下穿通道和低洼小区已出现积水。"
    "请低洼处、地下室和一楼住户做好转移准备，车辆驶离地下车库，不要涉水通行；独居老人由包保人员上门协助。"
)
TEXT_B = "预计未来6小时累计降雨量将达50毫米以上，请注意防范城市内涝，低洼路段行人车辆注意绕行。"


@dataclass
class EmergencySummary:
    gauges: int = 0
    readings: int = 0
    warnings: int = 0
    called: int = 0
    answered: int = 0
    helpers: int = 0
    seconds: float = 0.0
    skipped: bool = False
    issued: Warning | None = None
    call_out: Mobilization | None = None

    def line(self) -> str:
        if self.skipped:
            return "emergency: the demo street has its rainstorm already; left alone"
        return (
            f"emergency: {self.gauges} waterlogging gauges with {self.readings} readings over {HOURS} h, "
            f"{self.warnings} warnings (one in force, one proposed, one lifted), a call-out of "
            f"{self.called} people ({self.answered} answered), {self.helpers} helpers, "
            f"in {self.seconds:.1f} s"
        )


# --- Gauges and their readings --------------------------------------------------------------------


def _gauges(rng: random.Random, now: dt.datetime) -> tuple[int, int]:
    """Register the gauges (IoT device service) and send their rising readings through the
    ingestion pipeline, on a clock ending now."""
    from shequ.iot import services as iot_services
    from shequ.iot import simulator as sim
    from shequ.iot.models import Channel, DeviceKind
    from shequ.registry import selectors as registry

    viewer = User.objects.get(username="street")
    devices: list[tuple[Any, tuple[float, float], tuple[float, float]]] = []
    for code, name, community, water, rain in GAUGES:
        building = (
            registry.building_list(viewer=viewer, region_code=community)
            .filter(latitude__isnull=False)
            .order_by("pk")
            .first()
        )
        if building is None or building.latitude is None or building.longitude is None:
            continue  # a community without registry places (the registry demo left out)
        region = Region.objects.get(code=building.region_code)
        shift = Decimal("0.0009") * (len(devices) + 1)
        device, _token = iot_services.device_register(
            actor=None,
            region=region,
            code=code,
            name=name,
            kind=DeviceKind.ENVIRONMENT,
            vendor="建大仁科",
            model="RS-SW-N01-JS",
            serial=f"RKJS{rng.randrange(10**8):08d}",
            location_note=name,
            latitude=building.latitude - shift,
            longitude=building.longitude + shift,
            building=building,
        )
        devices.append((device, water, rain))
    if not devices:
        return 0, 0
    fleet = {d.code: d for d in sim.Fleet.load(STREET).devices}
    steps = HOURS * 60 // READING_MINUTES
    out: list[Any] = []
    for device, (w0, w1), (r0, r1) in devices:
        for i in range(steps + 1):
            at = now - dt.timedelta(minutes=READING_MINUTES * (steps - i))
            share = (i / steps) ** 2  # the rain grew heavier in the last hours
            body = {
                "water_level": round(w0 + (w1 - w0) * share + rng.uniform(-0.005, 0.005), 3),
                "rainfall": round(max(0.0, r0 + (r1 - r0) * share + rng.uniform(-1.5, 1.5)), 1),
                "temperature": round(9.5 - 2 * share + rng.uniform(-0.3, 0.3), 1),
                "humidity": round(min(100.0, 88 + 10 * share), 1),
            }
            body["water_level"] = max(0.0, body["water_level"])
            out.append(sim.Outgoing(at, fleet[device.code], Channel.TELEMETRY, body))
    out.sort(key=lambda m: m.at)
    transport = sim.DirectTransport(checks=False)
    transport.send(out, now)
    return len(devices), transport.stats.stored


# --- Warnings -------------------------------------------------------------------------------------


def _reason(code: str, weight: int, level: int | None, numbers: dict[str, Any], text: str) -> dict[str, Any]:
    """A reason as the risk model writes it in ``Warning.reasons``."""
    return {
        "code": code,
        "kind": WarningType.RAINSTORM,
        "source": "iot",
        "weight": weight,
        "level": level,
        "numbers": numbers,
        "text": text,
    }


def _propose(community: str, level: int, reasons: list[dict[str, Any]], text: str) -> Warning | None:
    region = Region.objects.get(code=community)
    return warnings.warning_propose(
        source=WarningSource.RISK_MODEL,
        source_ref=f"risk:{community}:{WarningType.RAINSTORM}",
        kind=WarningType.RAINSTORM,
        level=level,
        title=f"{region.name}暴雨{Level(level).label}预警"[:100],
        text=text,
        area_codes=[community],
        reasons=reasons,
    )


def _back(warning: Warning, at: dt.datetime, steps: dict[str, dt.datetime]) -> None:
    """Move a warning's times back to when it happened."""
    fields: dict[str, Any] = {"created_at": at, "updated_at": max([at, *steps.values()])}
    if "issued" in steps:
        fields["issued_at"] = steps["issued"]
    if "lifted" in steps:
        fields["lifted_at"] = steps["lifted"]
    Warning.objects.filter(pk=warning.pk).update(**fields)
    for entry in WarningEntry.objects.filter(warning=warning):
        WarningEntry.objects.filter(pk=entry.pk).update(at=steps.get(entry.step, at))


def _warnings(head: User, now: dt.datetime) -> tuple[Warning | None, int]:
    made = 0
    # Three days ago: a blue rainstorm warning, lifted the next morning.
    old = warnings.warning_draft(
        actor=head,
        kind=WarningType.RAINSTORM,
        level=Level.BLUE,
        title=OLD_TITLE,
        text="预计未来12小时降雨量将达50毫米以上，请关好门窗，低洼处住户注意防范积水。",
        area_codes=[COMMUNITY_A],
    )
    warnings.warning_issue(actor=head, warning=old)
    warnings.warning_lift(actor=head, warning=old, reason="降雨已停止，积水已排除")
    start = now - dt.timedelta(days=3, hours=2)
    _back(
        old,
        start,
        {
            "drafted": start,
            "issued": start + dt.timedelta(minutes=8),
            "lifted": start + dt.timedelta(hours=15),
        },
    )
    made += 1
    # Now: the risk model proposes from the gauges' readings; the head issues 枇杷塘's.
    gauge_a, gauge_b = GAUGES[0][1], GAUGES[2][1]
    reasons_a = [
        _reason(
            "rain",
            30,
            Level.ORANGE,
            {"hours": 3, "mm": 86.4},
            "近3小时累计降雨86.4毫米（3小时50毫米以上：橙色）",
        ),
        _reason(
            "water_level",
            30,
            Level.ORANGE,
            {"m": 0.42, "where": gauge_a},
            f"{gauge_a}积水深0.42米（0.3米以上：橙色）",
        ),
        _reason(
            "water_rise",
            10,
            None,
            {"m": 0.38, "hours": 3, "where": gauge_a},
            f"{gauge_a}近3小时水位上涨0.38米",
        ),
        {
            "code": "people",
            "kind": "",
            "source": "people",
            "weight": 15,
            "level": None,
            "numbers": {"people": 0},
            "text": "辖区内有独居、失能老人等需协助转移人员",
        },
    ]
    reasons_b = [
        _reason(
            "rain",
            20,
            Level.YELLOW,
            {"hours": 6, "mm": 58.0},
            "近6小时累计降雨58.0毫米（6小时50毫米以上：黄色）",
        ),
        _reason("water_level", 10, Level.BLUE, {"m": 0.12, "where": gauge_b}, f"{gauge_b}积水深0.12米"),
    ]
    issued = _propose(COMMUNITY_A, Level.ORANGE, reasons_a, TEXT_A)
    if issued is not None:
        made += 1
        warnings.warning_issue(actor=head, warning=issued)
        proposed_at = now - ISSUED_AGO - dt.timedelta(minutes=12)
        _back(issued, proposed_at, {"proposed": proposed_at, "issued": now - ISSUED_AGO})
        issued.refresh_from_db()
    if _propose(COMMUNITY_B, Level.YELLOW, reasons_b, TEXT_B) is not None:
        made += 1
    return issued, made


# --- The call-out -----------------------------------------------------------------------------------


def _call_out(head: User, warning: Warning, rng: random.Random, now: dt.datetime) -> tuple[Mobilization, int]:
    call = mobilization.mobilization_start(
        actor=head,
        title="暴雨转移准备：请报平安",
        body="枇杷塘社区暴雨橙色预警生效中。低洼处、一楼和地下室住户请做好转移准备。请回复您是否安全，需要帮助请说明位置。",
        response=Response.STATUS,
        targets=[
            *({"kind": "residents", "region": g} for g in GRIDS_CALLED),
            {"kind": "staff", "region": COMMUNITY_A},
        ],
        warning=warning,
        resend_after_minutes=10,
        resends=1,
        escalate_after_minutes=20,
    )
    sent_at = now - CALLED_AGO
    Mobilization.objects.filter(pk=call.pk).update(created_at=sent_at)
    Recipient.objects.filter(mobilization=call).update(last_sent_at=sent_at)
    MobilizationEntry.objects.filter(mobilization=call).update(at=sent_at)
    call.refresh_from_db()
    people = list(Recipient.objects.filter(mobilization=call).select_related("mobilization").order_by("pk"))
    residents = [r for r in people if r.person_id is not None]
    rng.shuffle(residents)
    silent_n = max(3, round(len(residents) * SILENT_SHARE))
    helper = residents[0]
    late = residents[1 : 1 + silent_n // 3]  # answered after their grid worker was told
    silent = residents[1 : 1 + silent_n]
    quiet = {r.pk for r in silent} | {helper.pk}
    # Staff answer at once, but for grid B's worker (busy at the underpass: passed on too).
    grid_b = User.objects.filter(username="grid_b").values_list("pk", flat=True).first()
    staff = [r for r in people if r.user_id is not None and r.user_id != grid_b]

    def answered(minutes: float) -> dt.datetime:
        return sent_at + dt.timedelta(minutes=minutes)

    first = [r for r in residents if r.pk not in quiet]
    given = [
        answers.Given(
            r, Answer.SAFE, rng.choice([Via.SMS, Via.SMS, Via.PAGE]), at=answered(rng.uniform(1, 9))
        )
        for r in first
    ]
    given += [answers.Given(r, Answer.SAFE, Via.PAGE, at=answered(rng.uniform(0.5, 5))) for r in staff]
    for start in range(0, len(given), 500):
        answers.record(given[start : start + 500])
    answers.record(
        [
            answers.Given(
                helper,
                Answer.HELP,
                Via.PAGE,
                location="一楼家中进水约30厘米，老人腿脚不便无法自行转移",
                at=answered(7),
            )
        ]
    )
    # 10 minutes on: sent again to the silent; 20 minutes on: their names to their grid workers.
    mobilization.resend_due(call, now=sent_at + dt.timedelta(minutes=10, seconds=5))
    mobilization.escalate_due(call, now=sent_at + dt.timedelta(minutes=20, seconds=5))
    answers.record([answers.Given(r, Answer.SAFE, Via.SMS, at=answered(rng.uniform(22, 40))) for r in late])
    # The timeline's own steps at their times (the services stamp the entries when they run).
    for step, minutes in (
        (MobilizationStep.RESENT, 10),
        (MobilizationStep.ESCALATED, 20),
        (MobilizationStep.HELP, 7),
    ):
        MobilizationEntry.objects.filter(mobilization=call, step=step).update(at=answered(minutes))
    outbox.run_pending()  # the grid makes the urgent task of the help answer, as the worker would
    return call, Recipient.objects.filter(mobilization=call).exclude(answer=Answer.PENDING).count()


# --- Helpers (一对一包保) --------------------------------------------------------------------------


def _helpers(head: User) -> int:
    """A helper for a few vulnerable people of 枇杷塘: the grid worker, the volunteer or a relative,
    named by the community head through the helpers' service (audited there)."""
    from shequ.emergency.services import helpers

    people = outreach.vulnerable_people(region_codes=[COMMUNITY_A])[:HELPERS]
    accounts = {u.username: u for u in User.objects.filter(username__in=["grid_a", "grid_b", "volunteer"])}
    made = 0
    for n, person in enumerate(people):
        grid_worker = accounts.get("grid_a" if person.region_code.endswith("001") else "grid_b")
        user: User | None = None
        name = phone = ""
        if n % 3 == 0 and grid_worker is not None:
            relation, user, note = HelperRelation.GRID_WORKER, grid_worker, "网格员负责上门协助转移"
        elif n % 3 == 1 and "volunteer" in accounts:
            relation, user, note = HelperRelation.VOLUNTEER, accounts["volunteer"], "志愿者协助，需轮椅"
        else:
            relation, name, phone, note = HelperRelation.FAMILY, "李建华", f"1390731{n:04d}", "女儿，住同小区"
        helpers.helper_add(
            actor=head,
            person_id=person.person_id,
            relation=relation,
            helper_user_id=user.pk if user else None,
            helper_name=name,
            helper_phone=phone,
            note=note,
        )
        made += 1
    return made


def generate_emergency(*, seed: int = 2026, now: dt.datetime | None = None) -> EmergencySummary:
    """The demo street's rainstorm (needs the registry and the demo accounts of ``shequ.demo``)."""
    summary = EmergencySummary()
    started = time.perf_counter()
    if Warning.objects.filter(region_code=COMMUNITY_A, title=OLD_TITLE).exists():
        summary.skipped = True  # made by an earlier run
        return summary
    head = User.objects.filter(username="head_a").first()
    if head is None or not Region.objects.filter(code=COMMUNITY_A).exists():
        summary.skipped = True
        return summary
    now = now or timezone.now()
    rng = random.Random(seed)
    summary.gauges, summary.readings = _gauges(rng, now)
    with transaction.atomic():
        summary.helpers = _helpers(head)
    issued, summary.warnings = _warnings(head, now)
    summary.issued = issued
    if issued is not None:
        call, summary.answered = _call_out(head, issued, rng, now)
        summary.call_out = call
        summary.called = call.total
    outbox.run_pending()
    summary.seconds = time.perf_counter() - started
    return summary
