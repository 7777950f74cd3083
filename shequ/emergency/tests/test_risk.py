"""The risk model: reasons and levels from fixed inputs (no database), then the live inputs of the
test town (IoT readings, alerts, key places, vulnerable people, tickets) and the proposals the
periodic job and the IoT alert handler make from them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from shequ.core.models import AuditEntry
from shequ.emergency import handlers, risk
from shequ.emergency.models import Level, Warning, WarningSource, WarningStatus, WarningType
from shequ.emergency.risk import RiskInputs, assess
from shequ.emergency.services import warnings
from shequ.emergency.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_A, GRID_B, Registry

REGION = "430104002001"


def codes(assessment: risk.Assessment) -> list[str]:
    return sorted(r.code for r in assessment.reasons)


# --- Fixed inputs ---------------------------------------------------------------------------------


def test_no_inputs_no_risk() -> None:
    result = assess(RiskInputs(region_code=REGION))
    assert (result.score, result.level, result.types, result.reasons) == (0, None, (), ())


def test_quiet_readings_give_no_level_and_no_reason() -> None:
    result = assess(
        RiskInputs(
            region_code=REGION,
            water_level=0.02,
            water_rise=0.01,
            rain={3: 4.0, 6: 6.0, 12: 9.0},
            gas_level=1.0,
            smoke_level=0.2,
            places=(("school", "low", 2),),
            devices=4,
        )
    )
    assert (result.score, result.level, result.reasons) == (0, None, ())


def test_heavy_rain_and_rising_water_make_a_rainstorm_warning_with_reasons_in_chinese() -> None:
    result = assess(
        RiskInputs(
            region_code=REGION,
            rain={3: 62.0, 6: 70.0, 12: 75.0},  # 50 mm within 3 h: orange
            water_level=0.18,  # over the kerb: yellow
            water_where="麓山南路积水监测",
            water_rise=0.12,  # rising fast: the water's level one step up (orange)
            vulnerable=(("living_alone", 3), ("disabled", 2)),
            vulnerable_total=5,
            labels={"tag:living_alone": "独居老人", "tag:disabled": "残疾人"},
        )
    )
    assert result.level == Level.ORANGE
    storm = result.for_type(WarningType.RAINSTORM)
    assert storm is not None and storm.level == Level.ORANGE
    assert [t.kind for t in result.types] == [WarningType.RAINSTORM]  # no slope, no gas: nothing else
    by_code = {r.code: r for r in result.reasons}
    assert set(by_code) == {"rain", "water_level", "water_rise", "people"}
    assert (by_code["rain"].level, by_code["rain"].numbers) == (Level.ORANGE, {"hours": 3, "mm": 62.0})
    assert by_code["water_level"].level == Level.YELLOW and by_code["water_rise"].level == Level.ORANGE
    assert by_code["people"].level is None and by_code["people"].source == risk.Source.PEOPLE
    texts = {code: r.as_dict()["text"] for code, r in by_code.items()}
    assert texts["rain"] == "过去3小时降雨62毫米"
    assert texts["water_level"] == "麓山南路积水监测积水深0.18米"
    assert texts["water_rise"] == "过去3小时水位上涨0.12米"
    assert texts["people"] == "需协助撤离5人：独居老人 3、残疾人 2"
    assert result.score == 30 + 20 + 10 + 2
    # Weights, heaviest first; the people add to the score but do not raise a level.
    assert [r.weight for r in result.reasons] == sorted((r.weight for r in result.reasons), reverse=True)


@pytest.mark.parametrize(
    ("rain", "level"),
    [
        ({3: 120.0, 6: 130.0, 12: 140.0}, Level.RED),
        ({3: 49.0, 6: 55.0, 12: 60.0}, Level.YELLOW),
        ({3: 20.0, 6: 30.0, 12: 50.0}, Level.BLUE),
        ({3: 20.0, 6: 30.0, 12: 49.9}, None),
    ],
)
def test_rain_thresholds_follow_the_rainstorm_signals(rain: dict[int, float], level: Level | None) -> None:
    assert assess(RiskInputs(region_code=REGION, rain=rain)).level == level


def test_rain_over_a_building_site_is_also_a_geological_hazard() -> None:
    inputs = RiskInputs(
        region_code=REGION,
        rain={3: 55.0, 6: 60.0, 12: 60.0},
        places=(("construction_site", "medium", 1), ("school", "low", 3)),
        labels={"place:construction_site": "建筑工地", "risk:medium": "中"},
    )
    result = assess(inputs)
    geo = result.for_type(WarningType.GEOLOGICAL)
    assert geo is not None and geo.level == Level.ORANGE
    assert [r.code for r in geo.reasons] == ["geological", "places"]
    place = next(r for r in result.reasons if r.code == "places")
    assert place.as_dict()["text"] == "建筑工地1处（中风险）" and place.weight == 2
    # Without the rain the site is only a reason of the score, with no warning.
    dry = assess(RiskInputs(region_code=REGION, places=inputs.places, labels=inputs.labels))
    assert dry.level is None and codes(dry) == ["places"] and dry.score == 2


def test_gas_and_smoke_readings_and_alerts_raise_gas_and_fire_levels() -> None:
    result = assess(
        RiskInputs(
            region_code=REGION,
            gas_level=12.0,  # yellow
            gas_where="3栋燃气探测器",
            smoke_level=4.5,  # orange
            smoke_where="菜市场烟感",
            alerts=(("gas", 4, 1), ("smoke", 3, 2), ("door", 4, 5)),
            places=(("hazardous_goods", "high", 1),),
            labels={"severity:4": "紧急", "device:gas": "燃气探测器"},
        )
    )
    gas = result.for_type(WarningType.GAS)
    fire = result.for_type(WarningType.FIRE)
    assert gas is not None and fire is not None
    # Gas: reading yellow, critical alert orange, hazardous goods one step up: red.
    assert gas.level == Level.RED and fire.level == Level.RED
    assert sorted(r.code for r in gas.reasons) == ["alerts", "gas", "hazardous_goods", "places"]
    alert = next(r for r in gas.reasons if r.code == "alerts")
    assert alert.as_dict()["text"] == "燃气探测器有1条未关闭的紧急告警" and alert.weight == 20
    # A door controller's alerts are no hazard.
    assert all(r.numbers.get("device_kind") != "door" for r in result.reasons)
    assert result.score <= risk.SCORE_MAX


def test_safety_tickets_add_to_the_score_with_their_categories() -> None:
    result = assess(
        RiskInputs(
            region_code=REGION,
            safety_tickets=(("safety.gas", 2), ("incident.disaster", 1)),
            labels={"category:safety.gas": "燃气隐患", "category:incident.disaster": "自然灾害"},
        )
    )
    assert result.level is None and result.score == 9
    (reason,) = result.reasons
    assert reason.as_dict()["text"] == "近7天安全隐患或突发事件工单3件：燃气隐患 2、自然灾害 1"


# --- Live inputs ----------------------------------------------------------------------------------


def make_device(code: str, kind: str, region: str, name: str) -> Any:
    from shequ.core.models import Region
    from shequ.iot.models import Device

    return Device.objects.create(
        code=code,
        name=name,
        kind=kind,
        vendor="test",
        serial=code,
        region=Region.objects.get(code=region),
        region_code=region,
        active=True,
    )


def reading(device: Any, at: dt.datetime, n: int, **values: Any) -> None:
    from shequ.iot.models import DeviceEvent

    level = values.pop("level", None)
    DeviceEvent.objects.create(
        device_id=device.pk,
        region_code=device.region_code,
        channel="telemetry",
        type="reading",
        msg_id=f"m{n}",
        occurred_at=at,
        received_at=at,
        value=level,
        data=values if level is None else {"level": level},
    )


@pytest.fixture
def storm(town: Registry) -> Registry:
    """Grid A of community A: a water gauge whose water rose from 0.05 to 0.35 m over three hours
    with 30 mm of rain an hour; a gas detector at 2 %LEL; a living-alone old man and a disabled
    woman of grid A; community B: a quiet gauge."""
    now = timezone.now()
    gauge = make_device("gauge-a", "environment", GRID_A, "麓山南路积水监测")
    for i, (minutes, level, rain) in enumerate(
        [(170, 0.05, 30.0), (110, 0.12, 30.0), (50, 0.25, 30.0), (5, 0.35, 28.0)]
    ):
        reading(gauge, now - dt.timedelta(minutes=minutes), i, water_level=level, rainfall=rain)
    # Older than the window: not read.
    reading(gauge, now - dt.timedelta(hours=13), 99, water_level=0.9, rainfall=90.0)
    gas = make_device("gas-a", "gas", GRID_B, "4栋燃气探测器")
    reading(gas, now - dt.timedelta(minutes=3), 1, level=2.0)
    quiet = make_device("gauge-b", "environment", "430104002003001", "桃子湖路积水监测")
    reading(quiet, now - dt.timedelta(minutes=3), 1, water_level=0.0, rainfall=0.0)
    tag(town, town.people["a"], "living_alone")
    tag(town, town.people["b"], "disabled", subtype="physical", grade="2")
    from shequ.grid.services.intake import ticket_submit
    from shequ.registry.services.organizations import key_place_create

    key_place_create(
        actor=None,
        data={"name": "麓山南路工地", "kind": "construction_site", "risk_level": "high"},
        region=town.region(GRID_A),
    )
    for category, title in (("safety.gas", "楼道有燃气味"), ("environment.garbage", "垃圾未清运")):
        ticket_submit(
            actor=None,
            source="patrol",
            region=town.region(GRID_A),
            title=title,
            description=title,
            category=category,
        )
    return town


def tag(town: Registry, person: Any, code: str, **extra: Any) -> None:
    from shequ.registry.services.tags import tag_add

    tag_add(actor=None, person=person, category=code, **extra)


def test_gather_reads_levels_trend_and_hourly_rain_of_each_region(storm: Registry) -> None:
    inputs = risk.gather([COMMUNITY_A, GRID_A, GRID_B, COMMUNITY_B])
    a = inputs[COMMUNITY_A]
    assert a.water_level == pytest.approx(0.35) and a.water_where == "麓山南路积水监测"
    assert a.water_rise == pytest.approx(0.30)
    # Hour by hour, the highest reading of each: 30 + 30 + max(30, 28).
    assert a.rain[3] == pytest.approx(90.0) and a.rain[12] == pytest.approx(90.0)
    assert a.gas_level == pytest.approx(2.0) and a.devices == 2
    assert inputs[GRID_A].gas_level is None and inputs[GRID_B].water_level is None
    assert inputs[COMMUNITY_B].water_level == 0.0 and inputs[COMMUNITY_B].rain == {}
    assert a.vulnerable == (("disabled", 1), ("living_alone", 1)) and a.vulnerable_total == 2
    assert inputs[GRID_A].vulnerable_total == 1 and inputs[COMMUNITY_B].vulnerable_total == 0
    assert a.places == (("construction_site", "high", 1),) and inputs[GRID_B].places == ()
    assert a.safety_tickets == (("safety.gas", 1),) and inputs[COMMUNITY_B].safety_tickets == ()
    result = assess(a)
    assert result.level == Level.RED  # 0.35 m is orange, rising fast: red
    assert {r.code for r in result.reasons} >= {"rain", "water_level", "water_rise"}
    assert assess(inputs[COMMUNITY_B]).level is None


# --- Proposals ------------------------------------------------------------------------------------


def test_the_periodic_job_proposes_drafts_once_and_keeps_them_up_to_date(storm: Registry) -> None:
    made = handlers.proposals.propose_from_risk()
    proposed = Warning.objects.filter(source=WarningSource.RISK_MODEL)
    # Rain and rising water; rain over the building site: a geological hazard too. B is quiet.
    assert sorted(w.source_ref for w in proposed) == [
        f"risk:{COMMUNITY_A}:geological",
        f"risk:{COMMUNITY_A}:rainstorm",
    ]
    draft = proposed.get(kind=WarningType.RAINSTORM)
    assert sorted(w.pk for w in made) == sorted(w.pk for w in proposed)
    assert (draft.status, draft.level, draft.kind) == (WarningStatus.DRAFT, Level.RED, WarningType.RAINSTORM)
    assert draft.area_codes == [COMMUNITY_A] and draft.title == "枇杷塘社区红色暴雨洪涝预警"
    assert draft.created_by is None and draft.issued_at is None  # never issued by the platform
    texts = [r["text"] for r in draft.reasons]
    assert "过去3小时降雨90毫米" in texts and any(t.startswith("需协助撤离2人") for t in texts)
    assert "近7天安全隐患或突发事件工单1件：燃气隐患 1" in texts and "建筑工地1处（高风险）" in texts
    # Run again: nothing new, the same draft.
    handlers.propose_from_risk()
    assert Warning.objects.filter(source=WarningSource.RISK_MODEL).count() == 2
    assert AuditEntry.objects.filter(action="emergency.warning_draft").count() == 2
    # Staff discard it: the next run may propose it again (the risk is still there).
    warnings.warning_discard(actor=storm.world["head_a"], warning=draft)
    handlers.propose_from_risk()
    live = Warning.objects.filter(source=WarningSource.RISK_MODEL, status=WarningStatus.DRAFT)
    assert live.count() == 2 and live.get(kind=WarningType.RAINSTORM).pk != draft.pk


def test_a_community_without_risk_gets_no_proposal(town: Registry) -> None:
    quiet = make_device("gauge-q", "environment", GRID_A, "安静的积水监测")
    reading(quiet, timezone.now() - dt.timedelta(minutes=5), 1, water_level=0.0, rainfall=1.0)
    assert handlers.proposals.propose_from_risk() == []
    assert not Warning.objects.exists()


def raise_alert(device: Any, severity: int, field: str = "level", n: int = 1) -> Any:
    from shequ.iot.events import AlertRaised
    from shequ.iot.models import Alert, Rule

    rule = Rule.objects.create(
        region=device.region,
        region_code=device.region_code,
        name="阈值",
        kind="threshold",
        device_kind=device.kind,
        severity=severity,
        params={"field": field, "op": "gt", "value": 10},
    )
    now = timezone.now()
    alert = Alert.objects.create(
        rule=rule,
        origin=f"device:{device.pk}:{n}",
        region=device.region,
        region_code=device.region_code,
        device=device,
        severity=severity,
        title="燃气浓度超限",
        detail="燃气浓度 32 %LEL",
        first_at=now,
        last_at=now,
    )
    return AlertRaised(
        alert_id=alert.pk,
        rule_kind="threshold",
        severity=severity,
        region_code=device.region_code,
        title=alert.title,
        detail=alert.detail,
        ticket_category="",
        device_code=device.code,
        address="麓山南路14号",
    )


def test_a_major_gas_alert_proposes_a_gas_warning_for_its_community_once(town: Registry) -> None:
    gas = make_device("gas-b", "gas", GRID_B, "4栋燃气探测器")
    event = raise_alert(gas, 4)
    handlers.alert_raised(event)
    handlers.alert_raised(event)  # a retried event
    draft = Warning.objects.get(source=WarningSource.IOT)
    assert draft.source_ref == f"iot.alert:{event.alert_id}" and draft.status == WarningStatus.DRAFT
    assert (draft.kind, draft.level, draft.area_codes) == (WarningType.GAS, Level.ORANGE, [COMMUNITY_A])
    assert draft.reasons[0]["text"] == "燃气浓度超限：燃气浓度 32 %LEL（麓山南路14号）"
    # The open alert also counts in the risk model of grid B and its community.
    assessment = risk.assess_regions([GRID_B])[GRID_B]
    assert assessment.for_type(WarningType.GAS) is not None


def test_minor_alerts_and_other_devices_propose_nothing(town: Registry) -> None:
    gas = make_device("gas-c", "gas", GRID_A, "燃气探测器")
    handlers.alert_raised(raise_alert(gas, 2))  # a warning-level alert: the grid's ticket suffices
    env = make_device("env-c", "environment", GRID_A, "环境监测")
    handlers.alert_raised(raise_alert(env, 4, field="pm25"))  # dust is no flood
    door = make_device("door-c", "door", GRID_A, "单元门禁")
    handlers.alert_raised(raise_alert(door, 4, n=3))
    assert not Warning.objects.exists()
    water = make_device("env-w", "environment", GRID_A, "积水监测")
    handlers.alert_raised(raise_alert(water, 3, field="water_level", n=4))
    assert Warning.objects.get().kind == WarningType.RAINSTORM
