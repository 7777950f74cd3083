"""The IoT console pages: what they show (in words, masked, in scope), the steps they take (and
audit), and bad input that gets a specific Chinese error and changes nothing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shequ.conftest import World
from shequ.core import accounts
from shequ.core.models import AuditEntry, AuditResult, OutboxTask, Role
from shequ.iot import services
from shequ.iot.ingest import Message, Pipeline
from shequ.iot.models import Alert, AlertState, DeadLetter, Device, DeviceKind, Rule, RuleKind, Severity
from shequ.iot.services.devices import token_hash
from shequ.iot.tests.conftest import message
from shequ.iot.tests.console_fixtures import CARD, Console, card_credential, console, resident

__all__ = ["console"]  # fixture
pytestmark = pytest.mark.django_db


def as_user(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world[persona])
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def audits(action: str, result: str = AuditResult.SUCCESS) -> int:
    return AuditEntry.objects.filter(action=action, result=result).count()


# --- Devices ------------------------------------------------------------------------------------


def test_device_list_counts_filters_and_words(world: World, console: Console) -> None:
    client = as_user(world, "head_a")
    page = text(client.get(reverse("iot:devices")))
    assert "总数 <strong>7</strong>" in page and "在线 <strong>4</strong>" in page
    assert "离线 <strong>3</strong>" in page
    assert "燃气探测器" in page and "电量 87%" in page and "最后在线 2 分钟前" not in page
    assert "泽盛烟感" not in page  # the sibling community's
    assert "最后在线 刚刚" in page and "从未上线" in page
    gas = text(client.get(reverse("iot:devices"), {"kind": DeviceKind.GAS}))
    assert "gas-1" in gas and "smoke-1" not in gas
    offline = text(client.get(reverse("iot:devices"), {"status": "offline"}))
    assert "sos-1" in offline and "gas-1" not in offline
    services.device_retire(actor=None, device=console.devices["sos-1"])
    retired = text(client.get(reverse("iot:devices"), {"status": "retired"}))
    assert "sos-1" in retired and "gas-1" not in retired
    assert "sos-1" not in text(client.get(reverse("iot:devices")))


def test_device_list_refuses_an_area_outside_the_scope(world: World, console: Console) -> None:
    response = as_user(world, "head_a").get(reverse("iot:devices"), {"region": "430104002003"})
    assert response.status_code == 400
    assert "不在您的管辖范围内" in text(response)
    assert "smoke-b" not in text(response) and "gas-1" not in text(response)


def test_device_page_shows_values_in_words_and_alerts(world: World, console: Console) -> None:
    client = as_user(world, "grid_a")
    page = text(client.get(reverse("iot:device", args=[console.devices["gas-1"].pk])))
    assert "燃气浓度" in page and "30.5 %LEL" in page and "电量" in page
    assert "燃气浓度超标：gas-1" in page and "待处理" in page
    env = text(client.get(reverse("iot:device", args=[console.devices["env-1"].pk])))
    assert "温度" in env and "23.5 °C" in env and "湿度" in env and "61 %" in env and "PM2.5" in env
    assert "重置令牌" not in env  # a grid worker does not manage devices


def test_access_records_on_a_device_page_are_masked_scoped_and_audited(
    world: World, console: Console
) -> None:
    house = console.houses["a"]
    card_credential(world, house, resident(house))
    door = console.devices["door-1"]
    Pipeline().process(
        [
            message(
                door, "event", "c-1", type="open", credential={"kind": "card", "value": CARD}, direction="in"
            )
        ]
    )
    before = audits("iot.access_read")
    page = text(as_user(world, "head_a").get(reverse("iot:device", args=[door.pk])))
    assert "****C3D4" in page and "登记住户" in page and CARD not in page and "张奶奶" not in page
    assert "门禁卡" in page and "进" in page
    assert audits("iot.access_read") == before + 1


def test_register_a_device_shows_the_token_once(world: World, console: Console) -> None:
    client = as_user(world, "worker_a")
    before = audits("iot.device_register")
    response = client.post(
        reverse("iot:device_new"),
        {
            "region": "430104002001001",
            "kind": DeviceKind.WATER_LEAK,
            "name": "地下室水浸",
            "code": "leak-7",
            "vendor": "大华",
            "serial": "DH-0007",
            "latitude": "28.18",
            "longitude": "112.94",
        },
    )
    assert response.status_code == 200
    device = Device.objects.get(code="leak-7")
    token = response.context["token"]
    assert device.token_hash == token_hash(token) and token in text(response)
    assert "shequ/430104002001001/water_leak/leak-7/event" in text(response)
    assert "仅显示这一次" in text(response)
    assert audits("iot.device_register") == before + 1
    assert token not in text(client.get(reverse("iot:device", args=[device.pk])))


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"code": "smoke-1"}, "code", "此设备编码已登记"),
        ({"code": "bad code/#"}, "code", "只能使用字母、数字"),
        ({"serial": "SN-gas-1"}, "serial", "该厂商此序列号的设备已登记"),
        ({"latitude": "north"}, "latitude", "不是数字"),
        ({"region": "430104002003001"}, "region", "不在您的管辖范围内"),
        ({"kind": "toaster"}, "kind", ""),
        ({"name": ""}, "name", ""),
    ],
)
def test_bad_device_input_is_refused_and_changes_nothing(
    world: World, console: Console, change: dict[str, str], field: str, words: str
) -> None:
    data = {
        "region": "430104002001001",
        "kind": DeviceKind.SMOKE,
        "name": "新烟感",
        "code": "smoke-new",
        "vendor": "海康威视",
        "serial": "SN-new",
        **change,
    }
    count = Device.objects.count()
    response = as_user(world, "head_a").post(reverse("iot:device_new"), data)
    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert words in text(response)
    assert Device.objects.count() == count


def test_a_house_outside_the_scope_is_refused(world: World, console: Console) -> None:
    data = {
        "region": "430104002001001",
        "kind": DeviceKind.DOOR,
        "name": "门磁",
        "code": "door-x",
        "vendor": "海康威视",
        "serial": "SN-x",
        "house": console.houses["b"].pk,
    }
    response = as_user(world, "head_a").post(reverse("iot:device_new"), data)
    assert response.status_code == 400 and "本辖区没有此编号的房屋" in text(response)
    assert not Device.objects.filter(code="door-x").exists()


def _owner_places(world: World) -> dict[str, Any]:
    from shequ.registry.services.organizations import key_place_create, organization_create

    return {
        "owner": organization_create(
            actor=None,
            data={"name": "麓山物业公司", "type": "enterprise"},
            region=world.regions["430104002001001"],
        ),
        "market": key_place_create(
            actor=None,
            data={"name": "麓山农贸市场", "kind": "market", "risk_level": "medium"},
            region=world.regions["430104002001001"],
        ),
        "sibling": organization_create(
            actor=None,
            data={"name": "桃子湖物业", "type": "enterprise"},
            region=world.regions["430104002003001"],
        ),
        "sibling_place": key_place_create(
            actor=None,
            data={"name": "桃子湖市场", "kind": "market", "risk_level": "low"},
            region=world.regions["430104002003001"],
        ),
    }


GAS = {
    "region": "430104002001001",
    "kind": DeviceKind.GAS,
    "name": "市场燃气",
    "code": "gas-market",
    "vendor": "汉威",
    "serial": "HW-1",
}


def test_a_device_gets_its_owning_organization_and_key_place(world: World, console: Console) -> None:
    made = _owner_places(world)
    client = as_user(world, "worker_a")
    form = text(client.get(reverse("iot:device_new")))
    assert "麓山物业公司" in form and "麓山农贸市场" in form
    assert "桃子湖物业" not in form and "桃子湖市场" not in form  # the sibling community's
    data = {**GAS, "organization": made["owner"].pk, "key_place": made["market"].pk}
    assert client.post(reverse("iot:device_new"), data).status_code == 200
    device = Device.objects.get(code="gas-market")
    assert (device.organization, device.key_place) == (made["owner"], made["market"])
    page = text(client.get(reverse("iot:device", args=[device.pk])))
    assert "麓山物业公司" in page and "麓山农贸市场" in page


@pytest.mark.parametrize(
    ("persona", "field", "key", "words"),
    [
        ("worker_a", "organization", "sibling", "有效的选项"),  # not offered: not a choice
        ("worker_a", "key_place", "sibling_place", "有效的选项"),
        ("street", "organization", "sibling", "另一个社区"),  # offered, but not the device's community
        ("street", "key_place", "sibling_place", "不在设备所属社区"),
    ],
)
def test_a_sibling_communitys_organization_or_key_place_is_refused(
    world: World, console: Console, persona: str, field: str, key: str, words: str
) -> None:
    made = _owner_places(world)
    count = Device.objects.count()
    response = as_user(world, persona).post(reverse("iot:device_new"), {**GAS, field: made[key].pk})
    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert words in text(response), response.context["form"].errors
    assert Device.objects.count() == count


def test_token_reset_and_retire_need_a_confirmation(world: World, console: Console) -> None:
    client = as_user(world, "head_a")
    device = console.devices["gas-1"]
    old = device.token_hash
    response = client.post(reverse("iot:device_token", args=[device.pk]), {})
    assert response.status_code == 400 and "请勾选以确认" in text(response)
    device.refresh_from_db()
    assert device.token_hash == old
    response = client.post(reverse("iot:device_token", args=[device.pk]), {"token-confirm": "on"})
    device.refresh_from_db()
    assert response.status_code == 200 and device.token_hash == token_hash(response.context["token"]) != old
    response = client.post(reverse("iot:device_retire", args=[device.pk]), {})
    assert response.status_code == 400
    device.refresh_from_db()
    assert device.active
    response = client.post(reverse("iot:device_retire", args=[device.pk]), {"retire-confirm": "on"})
    assert response.status_code == 302
    device.refresh_from_db()
    assert not device.active and device.token_hash == ""
    again = client.post(reverse("iot:device_retire", args=[device.pk]), {"retire-confirm": "on"})
    assert again.status_code == 400 and "此设备已停用" in text(again)
    token = client.post(reverse("iot:device_token", args=[device.pk]), {"token-confirm": "on"})
    assert token.status_code == 400 and "已停用的设备不能生成新令牌" in text(token)


# --- Alerts -------------------------------------------------------------------------------------


def test_alert_console_open_first_by_severity_and_refreshable(world: World, console: Console) -> None:
    client = as_user(world, "grid_a")
    page = text(client.get(reverse("iot:alerts")))
    assert page.index("烟感报警：smoke-1") < page.index("燃气浓度超标：gas-1")  # critical before major
    assert 'hx-trigger="every 15s"' in page and "停止自动刷新" in page
    assert "泽盛烟感" not in page
    paused = text(client.get(reverse("iot:alerts"), {"auto": "0"}))
    assert "hx-trigger" not in paused and "自动刷新" in paused
    fragment = client.get(reverse("iot:alerts"), headers={"HX-Request": "true"})
    assert "<html" not in text(fragment) and "烟感报警：smoke-1" in text(fragment)
    services.alert_clear(actor=world["grid_a"], alert=console.alerts["gas"], reason="现场已处置")
    assert "燃气浓度超标" not in text(client.get(reverse("iot:alerts")))
    cleared = text(client.get(reverse("iot:alerts"), {"state": AlertState.CLEARED}))
    assert "燃气浓度超标" in cleared and "已解除" in cleared


def test_acknowledge_clear_and_ticket_steps(world: World, console: Console) -> None:
    client = as_user(world, "grid_a")
    alert = console.alerts["a"]
    page = text(client.get(reverse("iot:alert", args=[alert.pk])))
    assert "报警" in page and "(事件匹配: 报警)" in page and "正在为网格员生成" in page
    assert client.post(reverse("iot:alert_ack", args=[alert.pk])).status_code == 302
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.acknowledged_by == world["grid_a"]
    again = client.post(reverse("iot:alert_ack", args=[alert.pk]))
    assert again.status_code == 400 and "只有待处理的告警可以确认" in text(again)
    short = client.post(reverse("iot:alert_clear", args=[alert.pk]), {"clear-reason": "好 "})
    assert short.status_code == 400 and "至少 4 个字" in text(short)
    alert.refresh_from_db()
    assert alert.open
    done = client.post(reverse("iot:alert_clear", args=[alert.pk]), {"clear-reason": "误报：厨房油烟"})
    assert done.status_code == 302
    alert.refresh_from_db()
    assert not alert.open and alert.clear_reason == "误报：厨房油烟"
    assert audits("iot.alert_ack") == 1 and audits("iot.alert_clear") == 1
    ticket = client.post(reverse("iot:alert_ticket", args=[alert.pk]))
    assert ticket.status_code == 400 and "此告警已解除" in text(ticket)


def test_a_ticket_asked_for_goes_to_the_grid_and_is_linked(world: World, console: Console) -> None:
    rule = services.rule_create(
        actor=None,
        region=world.regions["430104002001"],
        name="温度过高",
        kind=RuleKind.THRESHOLD,
        device_kind=DeviceKind.ENVIRONMENT,
        params={"field": "temperature", "op": "gt", "value": 30},
    )
    Pipeline().process([message(console.devices["env-1"], "telemetry", "e-9", temperature=38.5)])
    alert = Alert.objects.get(rule=rule)
    client = as_user(world, "worker_a")
    page = text(client.get(reverse("iot:alert", args=[alert.pk])))
    assert "温度 &gt; 30 °C" in page and "为网格员生成工单" in page
    tasks = OutboxTask.objects.filter(event_type="iot.alert_raised").count()
    assert client.post(reverse("iot:alert_ticket", args=[alert.pk])).status_code == 302
    assert OutboxTask.objects.filter(event_type="iot.alert_raised").count() > tasks
    assert audits("iot.alert_ticket") == 1
    services.alert_link_ticket(alert_id=alert.pk, ticket_id=4242)
    page = text(client.get(reverse("iot:alert", args=[alert.pk])))
    assert reverse("grid:ticket", args=[4242]) in page
    assert reverse("iot:alert_ticket", args=[alert.pk]) not in page
    again = client.post(reverse("iot:alert_ticket", args=[alert.pk]))
    assert again.status_code == 400 and "此告警已生成工单" in text(again)


def test_steps_without_the_alert_right_are_refused_and_audited(world: World, console: Console) -> None:
    officer = accounts.user_create(actor=None, username="county", display_name="区级", password=None)
    accounts.membership_grant(
        actor=None, user=officer, role=Role.COUNTY_OFFICER, region=world.regions["430104"]
    )
    client = Client()
    client.force_login(officer)
    alert = console.alerts["a"]
    page = client.get(reverse("iot:alert", args=[alert.pk]))
    assert page.status_code == 200 and "确认收到" not in text(page)
    for name, data in [
        ("iot:alert_ack", {}),
        ("iot:alert_clear", {"clear-reason": "误报误报"}),
        ("iot:alert_ticket", {}),
    ]:
        denied = audits("access.denied", AuditResult.DENIED)
        assert client.post(reverse(name, args=[alert.pk]), data).status_code == 403, name
        assert audits("access.denied", AuditResult.DENIED) == denied + 1, name
    alert.refresh_from_db()
    assert alert.state == AlertState.ACTIVE and alert.open


# --- House activity -----------------------------------------------------------------------------


def test_house_activity_is_audited_and_linked_from_absence_alerts(world: World, console: Console) -> None:
    house = console.houses["a"]
    door = console.devices["door-house-a"]
    now = timezone.now()
    Pipeline().process(
        [
            *[
                message(door, "event", f"o-{i}", now - dt.timedelta(days=2, minutes=i), type="open")
                for i in range(3)
            ],
            message(door, "event", "f-1", now - dt.timedelta(days=3), type="forced"),
        ]
    )
    rule = services.rule_create(
        actor=None,
        region=world.regions["430104002001"],
        name="独居老人无活动",
        kind=RuleKind.ABSENCE,
        params={"hours": 24, "tag": "living_alone"},
        severity=Severity.MAJOR,
    )
    alert = Alert.objects.create(
        rule=rule,
        origin=f"house:{house.pk}",
        region=house.region,
        region_code=house.region_code,
        house=house,
        severity=rule.severity,
        title="独居老人无活动",
        first_at=now,
        last_at=now,
    )
    client = as_user(world, "grid_a")
    page = text(client.get(reverse("iot:alert", args=[alert.pk])))
    assert reverse("iot:house", args=[house.pk]) in page
    assert "“独居老人”标签" in page and "living_alone" not in page  # the tag's name, not its code
    before = audits("iot.access_read")
    page = text(client.get(reverse("iot:house", args=[house.pk])))
    assert audits("iot.access_read") == before + 1
    entry = AuditEntry.objects.filter(action="iot.access_read").latest("pk")
    assert entry.object_type == "registry.house" and entry.object_id == str(house.pk)
    assert "3 次" in page and "1 次" in page and "无开门记录" in page and "独居老人无活动" in page
    assert "5 小时前" in page  # the last door activity of the fixture
    assert page.count('class="hour lvl-') == 7 * 24
    assert "门被强行打开" in page  # listed, though not counted as someone living there


# --- Rules --------------------------------------------------------------------------------------


def test_rules_in_words_and_switching(world: World, console: Console) -> None:
    page = text(as_user(world, "grid_a").get(reverse("iot:rules")))
    assert "燃气浓度 &gt; 20 %LEL" in page and "10 分钟内人数超过 50" in page
    assert "safety.fire" in page and "停用" not in page  # grid workers do not switch rules
    client = as_user(world, "head_a")
    rule = console.rules["gas"]
    assert client.post(reverse("iot:rule_toggle", args=[rule.pk]), {"enabled": "0"}).status_code == 302
    rule.refresh_from_db()
    assert not rule.enabled and audits("iot.rule_enable") == 1
    bad = client.post(reverse("iot:rule_toggle", args=[rule.pk]), {"enabled": "maybe"})
    assert bad.status_code == 400 and "请选择启用或停用规则" in text(bad)
    rule.refresh_from_db()
    assert not rule.enabled


def test_new_rule(world: World, console: Console) -> None:
    client = as_user(world, "head_a")
    data = {
        "region": "430104002001",
        "name": "PM2.5 超标",
        "kind": RuleKind.THRESHOLD,
        "device_kind": DeviceKind.ENVIRONMENT,
        "severity": Severity.WARNING,
        "field": "pm25",
        "op": "gt",
        "value": "75",
        "minutes": "abc",  # another kind's field: ignored
    }
    assert client.post(reverse("iot:rule_new"), data).status_code == 302
    rule = Rule.objects.get(name="PM2.5 超标")
    assert rule.params == {"field": "pm25", "op": "gt", "value": 75.0} and rule.region_code == "430104002001"
    assert "PM2.5 &gt; 75 μg/m³" in text(client.get(reverse("iot:rules")))


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"value": ""}, "value", "此类规则必须填写"),
        ({"kind": RuleKind.COUNT, "over": "50", "minutes": "0"}, "minutes", "请填写 1 到 10080 之间的数字"),
        ({"kind": RuleKind.ABSENCE, "hours": "", "tag": "living_alone"}, "hours", "此类规则必须填写"),
        ({"kind": RuleKind.EVENT}, "types", "此类规则必须填写"),
        ({"region": "430104002003"}, "region", "不在您的管辖范围内"),
        ({"name": ""}, "name", ""),
        ({"ticket_category": "x" * 41}, "ticket_category", ""),
    ],
)
def test_bad_rule_input_is_refused_per_field(
    world: World, console: Console, change: dict[str, str], field: str, words: str
) -> None:
    data = {
        "region": "430104002001",
        "name": "新规则",
        "kind": RuleKind.THRESHOLD,
        "severity": Severity.WARNING,
        "field": "level",
        "op": "gt",
        "value": "20",
        **change,
    }
    count = Rule.objects.count()
    response = as_user(world, "head_a").post(reverse("iot:rule_new"), data)
    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert words in text(response)
    assert Rule.objects.count() == count


# --- Dead letters -------------------------------------------------------------------------------


def test_dead_letters_in_words_escaped_truncated_and_scoped(world: World, console: Console) -> None:
    smoke, other = console.devices["smoke-1"], console.devices["smoke-b"]
    hostile = json.dumps({"v": 1, "id": "x", "ts": 1, "type": "<script>alert(1)</script>", "pad": "A" * 800})
    Pipeline().process(
        [
            Message(f"shequ/{smoke.region_code}/smoke/{smoke.code}/event", hostile.encode()),
            Message(f"shequ/{other.region_code}/smoke/{other.code}/event", b"not json"),
        ]
    )
    assert DeadLetter.objects.count() == 2
    page = text(as_user(world, "worker_a").get(reverse("iot:dead_letters")))
    assert "不符合该类设备的消息格式" in page and "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "A" * 300 not in page and "…" in page
    assert "不是 JSON" in page  # the platform-wide counter names it …
    assert other.code not in page  # … but the sibling's row is not shown
    only = text(as_user(world, "worker_a").get(reverse("iot:dead_letters"), {"reason": "bad_json"}))
    assert smoke.code not in only.split("最近")[-1]


# --- Home and navigation ------------------------------------------------------------------------


def test_home_tile_counts_open_alerts_for_alert_holders(world: World, console: Console) -> None:
    page = text(as_user(world, "grid_a").get(reverse("core:home")))
    assert "设备告警" in page and reverse("iot:alerts") in page
    dept = text(as_user(world, "dept").get(reverse("core:home")))
    assert reverse("iot:alerts") not in dept
    from shequ.iot.component import tile_counts

    assert tile_counts(world["grid_a"]) == {"open_alerts": 2}
    assert tile_counts(world["head_b"]) == {"open_alerts": 1}
    assert tile_counts(world["dept"]) == {}


# --- The people an alert is about ---------------------------------------------------------------


def _welfare_alert(world: World, console: Console) -> Alert:
    """A welfare check of house a, where 张奶奶 (living alone) and a tenant are registered."""
    from shequ.registry import services as registry_services
    from shequ.registry.tests.conftest import resident_id

    house = console.houses["a"]
    grandma = resident(house)
    registry_services.tag_add(actor=None, person=grandma, category="living_alone")
    registry_services.person_register(
        actor=None,
        data={"name": "王租客", "id_number": resident_id(birth="19950101", seq=33), "phone": "13912345678"},
        house=house,
    )
    rule = services.rule_create(
        actor=None,
        region=world.regions["430104002001"],
        name="独居老人无活动",
        kind=RuleKind.ABSENCE,
        params={"hours": 24, "tag": "living_alone"},
        severity=Severity.MAJOR,
    )
    now = timezone.now()
    return Alert.objects.create(
        rule=rule,
        origin=f"house:{house.pk}",
        region=house.region,
        region_code=house.region_code,
        house=house,
        severity=rule.severity,
        title="独居老人无活动",
        first_at=now,
        last_at=now,
    )


def test_a_welfare_check_names_the_living_alone_resident_audited(world: World, console: Console) -> None:
    alert = _welfare_alert(world, console)
    before = audits("iot.resident_read")
    page = text(as_user(world, "grid_a").get(reverse("iot:alert", args=[alert.pk])))
    assert "张奶奶" in page and "王租客" not in page  # the person the rule watches, not the tenant
    entry = AuditEntry.objects.filter(action="iot.resident_read").latest("pk")
    assert audits("iot.resident_read") == before + 1
    assert entry.object_type == "registry.house" and entry.object_id == str(console.houses["a"].pk)
    assert len(entry.detail["people"]) == 1 and entry.detail["alert"] == alert.pk
    # The house page names them too, in its one audited read.
    house = text(as_user(world, "grid_a").get(reverse("iot:house", args=[console.houses["a"].pk])))
    assert "张奶奶" in house and "王租客" not in house
    read = AuditEntry.objects.filter(action="iot.access_read", object_type="registry.house").latest("pk")
    assert read.fields == ["door_activity", "residents"] and len(read.detail["people"]) == 1


def test_an_sos_alert_names_the_households_residents_with_phones_masked(
    world: World, console: Console
) -> None:
    from shequ.registry import services as registry_services
    from shequ.registry.tests.conftest import resident_id

    house = console.houses["a"]
    registry_services.person_register(
        actor=None,
        data={"name": "李爷爷", "id_number": resident_id(birth="19380101", seq=55), "phone": "13812345678"},
        house=house,
    )
    sos = console.devices["sos-1"]
    Device.objects.filter(pk=sos.pk).update(house=house, building=house.building)
    sos.refresh_from_db()
    rule = services.rule_create(
        actor=None,
        region=world.regions["430104002001"],
        name="SOS求助",
        kind=RuleKind.EVENT,
        device_kind=DeviceKind.SOS,
        params={"types": ["pressed"]},
        severity=Severity.CRITICAL,
    )
    Pipeline().process([message(sos, "event", "p-1", type="pressed")])
    alert = Alert.objects.get(rule=rule)
    before = audits("iot.resident_read")
    page = text(as_user(world, "grid_a").get(reverse("iot:alert", args=[alert.pk])))
    assert "李爷爷" in page and "138****5678" in page and "13812345678" not in page
    assert audits("iot.resident_read") == before + 1


def test_a_sibling_communitys_staff_get_404_for_the_alert_and_its_residents(
    world: World, console: Console
) -> None:
    alert = _welfare_alert(world, console)
    before = audits("iot.resident_read")
    for persona in ("head_b", "grid_b"):  # the sibling community's head; the sibling grid's worker
        response = as_user(world, persona).get(reverse("iot:alert", args=[alert.pk]))
        assert response.status_code == 404 and "张奶奶" not in text(response)
    assert (
        as_user(world, "head_b").get(reverse("iot:house", args=[console.houses["a"].pk])).status_code == 404
    )
    assert audits("iot.resident_read") == before


def test_an_alerts_ticket_carries_its_building_and_key_place(world: World, console: Console) -> None:
    from shequ.core import outbox
    from shequ.grid.models import Source, Ticket
    from shequ.registry.services.organizations import key_place_create

    market = key_place_create(
        actor=None,
        data={"name": "麓山农贸市场", "kind": "market", "risk_level": "medium"},
        region=world.regions["430104002001001"],
    )
    house = console.houses["a"]
    from shequ.iot.tests.conftest import register

    smoke, _token = register(
        world, "smoke-market", DeviceKind.SMOKE, building=house.building, key_place=market
    )
    Pipeline().process([message(smoke, "event", "m-1", type="alarm")])
    outbox.run_pending()
    alert = Alert.objects.get(device=smoke)
    ticket = Ticket.objects.get(source=Source.SENSOR, external_ref=f"iot-{alert.pk}")
    assert (ticket.building_id, ticket.key_place_id) == (house.building_id, market.pk)
