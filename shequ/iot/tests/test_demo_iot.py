"""The demo's IoT: every device kind in both demo communities, the rules, residents' cards and
plates stored as blind indexes only, three days of history whose incidents became alerts and grid
tickets the normal way; the same for the same seed; no card number or plate in clear anywhere."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from shequ.demo import generator
from shequ.grid import demo as grid_demo
from shequ.iot import demo
from shequ.iot import simulator as sim
from shequ.iot.models import (
    AccessCredential,
    Alert,
    AlertState,
    DeadLetter,
    Device,
    DeviceEvent,
    DeviceKind,
    HouseActivity,
    Rule,
    RuleKind,
)
from shequ.registry import demo as registry_demo
from shequ.registry.tests.test_demo import load_regions


@pytest.fixture
def demo_street(
    db: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, settings: Any
) -> generator.DemoResult:
    """The demo generator with a smaller registry and fewer tickets (the IoT part at full size)."""
    settings.VAR_DIR = tmp_path
    load_regions()
    monkeypatch.setattr(registry_demo.generator, "PEOPLE_PER_SIZE", 3000)
    monkeypatch.setattr(grid_demo, "TICKETS_PER_SIZE", 20)
    monkeypatch.setattr(
        generator, "generate_emergency", lambda **kw: None
    )  # its own gauges: test_demo_emergency
    return generator.generate(size=1)


def test_demo_iot(demo_street: generator.DemoResult) -> None:
    """One generation, checked from every side (it takes a while)."""
    summary = demo_street.iot
    assert summary is not None and not summary.skipped
    devices_rules_and_tokens(summary)
    history_alerts_and_tickets(summary)
    no_card_or_plate_in_clear()
    same_for_the_same_seed(summary)


def devices_rules_and_tokens(summary: demo.IotSummary) -> None:
    devices = Device.objects.filter(region_code__startswith=demo.STREET)
    assert summary.devices == devices.count() and 50 <= summary.devices <= 120
    for community in demo.COMMUNITIES:
        kinds = set(devices.filter(region_code__startswith=community).values_list("kind", flat=True))
        assert kinds == set(DeviceKind.values), community
        rules = Rule.objects.filter(region_code=community)
        assert rules.count() == len(demo.RULES)
        assert set(rules.values_list("kind", flat=True)) == set(RuleKind.values)
    assert devices.filter(kind=DeviceKind.CAMERA, no_parking=True).count() == 2
    # Home door sensors and SOS buttons sit in houses where an elderly person lives alone.
    from shequ.registry.selectors import houses_with_tag

    watched = houses_with_tag(region_code=demo.STREET, tag_code="living_alone")
    homes = devices.filter(kind__in=[DeviceKind.SOS, DeviceKind.DOOR], house__isnull=False)
    assert homes.count() >= 12 and all(d.house_id in watched for d in homes)
    assert {d.vendor for d in devices} >= {"海康威视", "海曼", "捷顺"}
    assert all(d.latitude is not None for d in devices)
    # Every device has its token in the file (only the hash in the database).
    tokens = sim.device_tokens(sim.Fleet.load(demo.STREET))
    assert summary.tokens is not None and set(tokens) == set(devices.values_list("code", flat=True))
    assert not Device.objects.filter(token_hash__in=list(tokens.values())).exists()
    credentials = AccessCredential.objects.filter(region_code__startswith=demo.STREET)
    assert summary.credentials == credentials.count() > 50
    assert set(credentials.values_list("kind", flat=True)) == {"card", "plate"}


def history_alerts_and_tickets(summary: demo.IotSummary) -> None:
    events = DeviceEvent.objects.filter(region_code__startswith=demo.STREET)
    assert summary.events == events.count() > 5000
    assert DeadLetter.objects.count() == 0
    first = events.order_by("occurred_at").values_list("occurred_at", flat=True).first()
    assert summary.now is not None and first is not None
    assert summary.now - dt.timedelta(days=demo.HISTORY_DAYS) <= first
    assert not events.filter(occurred_at__gt=timezone.now()).exists()
    # Access records name residents (their card matched a registered credential).
    assert events.filter(person_id__isnull=False).count() > 500
    assert HouseActivity.objects.count() >= 10
    alerts = Alert.objects.filter(region_code__startswith=demo.STREET).select_related("rule")
    kinds = {a.rule.kind for a in alerts}
    assert kinds == {
        RuleKind.EVENT,
        RuleKind.THRESHOLD,
        RuleKind.ABSENCE,
        RuleKind.COUNT,
        RuleKind.DWELL,
        RuleKind.OFFLINE,
    }
    assert summary.alerts == alerts.count()
    states = {a.rule.name: a.state for a in alerts}
    assert states["烟感报警"] == states["人员异常聚集"] == states["燃气浓度超标"] == AlertState.CLEARED
    assert states["一键呼救"] == AlertState.ACKNOWLEDGED
    assert states["独居老人关爱：24小时无开门"] == AlertState.ACTIVE
    # Exactly one welfare check: the second silent house is a quarter of an hour short of it.
    assert alerts.filter(rule__kind=RuleKind.ABSENCE).count() == 1
    # Seen when they happened, not when the demo was made.
    assert all(a.raised_at == a.first_at for a in alerts)
    # Every alert whose rule names a category became a grid ticket of the device's grid.
    from shequ.grid.models import Source, Ticket

    ticketed = [a for a in alerts if a.rule.ticket_category]
    assert ticketed and all(a.ticket_id is not None for a in ticketed)
    tickets = Ticket.objects.filter(pk__in=[a.ticket_id for a in ticketed])
    assert summary.tickets == tickets.count() == len(ticketed)
    assert {t.source for t in tickets} == {Source.SENSOR}
    assert {t.category.code for t in tickets if t.category} >= {
        "safety.fire",
        "livelihood.elderly",
        "cityscape.parking",
    }


CARD = re.compile(r"(?<!\d)\d{10}(?!\d)")
PLATE = re.compile(r"[\u4e00-\u9fa5][A-Z][A-Z0-9]{5,6}")


def _text_of_every_table() -> dict[str, str]:
    found = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            found[table] = "\n".join(repr(row) for row in cursor.fetchall())
    return found


def no_card_or_plate_in_clear() -> None:
    """Every table of the database read back: no resident's card number or plate, and in the IoT
    tables no plate of anybody (visitors' plates are kept as a blind index and a masked form)."""
    values = {
        sim.credential_value(kind, person)
        for kind, person in AccessCredential.objects.values_list("kind", "person_id")
    }
    assert any(v.isdigit() for v in values) and any(not v.isdigit() for v in values)
    for table, text in _text_of_every_table().items():
        assert not set(CARD.findall(text)) & values, table
        assert not set(PLATE.findall(text)) & values, table
        if table.startswith("iot_"):
            assert not PLATE.findall(text), table


def same_for_the_same_seed(summary: demo.IotSummary) -> None:
    before = demo.signature()
    again = demo.generate_iot(seed=2026)
    assert again.skipped  # a street with devices is left alone
    for model in (Alert, HouseActivity, DeviceEvent, AccessCredential, Rule, DeadLetter, Device):
        model.objects.all().delete()
    assert summary.now is not None
    demo.generate_iot(seed=2026, now=summary.now)
    assert demo.signature() == before


def test_demo_resident_can_give_visitor_passes(demo_street: generator.DemoResult) -> None:
    from shequ.core.models import User
    from shequ.registry.selectors import person_for_account

    resident = User.objects.get(username="resident")
    person = person_for_account(resident, ["430104002001001"])
    assert person is not None and person.house is not None
