"""The HTTP ingestion endpoint, and people's steps on alerts (acknowledge, clear, ask for a ticket)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from shequ.core import outbox
from shequ.core.models import AuditEntry, AuditResult
from shequ.iot import services
from shequ.iot.ingest import Pipeline
from shequ.iot.models import Alert, AlertState, DeadLetter, DeviceEvent
from shequ.iot.tests.conftest import Site, message, payload


def post(
    client: Client, device: str, channel: str, body: bytes, token: str | None
) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = client.post(
        f"/api/v1/iot/ingest/{device}/{channel}", body, content_type="application/json", headers=headers
    )
    return response.status_code, response.json()


def test_http_ingestion_stores_once_and_refuses_bad_tokens(site: Site, client: Client) -> None:
    token = site.tokens["smoke-1"]
    body = payload("h-1", type="alarm")
    assert post(client, "smoke-1", "event", body, token) == (202, {"status": "stored"})
    assert post(client, "smoke-1", "event", body, token) == (202, {"status": "duplicate"})
    assert DeviceEvent.objects.filter(msg_id="h-1").count() == 1
    status, error = post(client, "smoke-1", "event", payload("h-2", type="alarm"), site.tokens["gas-1"])
    assert status == 401 and error["code"] == "bad_token"
    status, error = post(client, "smoke-1", "event", payload("h-3", type="alarm"), None)
    assert status == 401
    # An unknown code is answered like a wrong token: the endpoint does not confirm which codes exist.
    status, error = post(client, "ghost", "event", payload("h-4", type="alarm"), token)
    assert status == 401 and error["code"] == "bad_token"
    status, error = post(client, "smoke-1", "event", b'{"v":1,"id":"h-5","ts":1,"type":"boom"}', token)
    assert status == 400 and error["code"] == "bad_schema" and "message" in error
    status, error = post(client, "smoke-1", "event", b"{" + b" " * 9000 + b"}", token)
    assert status == 413 and error["code"] == "oversize"
    assert set(DeadLetter.objects.values_list("reason", flat=True)) == {
        "bad_token",
        "unknown_device",
        "bad_schema",
        "oversize",
    }
    assert DeviceEvent.objects.count() == 1


def test_http_alarm_raises_the_alert(site: Site, client: Client) -> None:
    status, _ = post(client, "sos-1", "event", payload("p-1", type="pressed"), site.tokens["sos-1"])
    assert status == 202
    # No SOS rule in the fixture: stored, no alert. With a rule, the next press raises one.
    assert not Alert.objects.exists()
    from shequ.iot.models import RuleKind, Severity

    services.rule_create(
        actor=None,
        region=site.world.regions["430104002001"],
        name="一键呼救",
        kind=RuleKind.EVENT,
        device_kind="sos",
        params={"types": ["pressed"]},
        severity=Severity.CRITICAL,
        ticket_category="livelihood.elderly",
    )
    from shequ.iot import api

    api._PIPELINE.refresh(force=True)
    post(client, "sos-1", "event", payload("p-2", type="pressed"), site.tokens["sos-1"])
    assert Alert.objects.get().title == "一键呼救：sos-1"


@pytest.fixture
def alert(site: Site) -> Alert:
    Pipeline().process([message(site.devices["smoke-1"], "event", "a-1", type="alarm")])
    return Alert.objects.get()


def test_acknowledge_and_clear_are_audited(site: Site, alert: Alert) -> None:
    head = site.world["head_a"]
    services.alert_acknowledge(actor=head, alert=alert)
    with pytest.raises(ValidationError):
        services.alert_acknowledge(actor=head, alert=alert)
    with pytest.raises(ValidationError):
        services.alert_clear(actor=head, alert=alert, reason="ok")  # too short to say why
    services.alert_clear(actor=head, alert=alert, reason="误报，烟感被油烟触发")
    alert.refresh_from_db()
    assert alert.state == AlertState.CLEARED and not alert.open and alert.cleared_by == head
    actions = list(
        AuditEntry.objects.filter(object_type="iot.alert").order_by("pk").values_list("action", flat=True)
    )
    assert actions == ["iot.alert_ack", "iot.alert_clear"]
    # A new alarm after the clear opens a new alert.
    Pipeline().process([message(site.devices["smoke-1"], "event", "a-2", type="alarm")])
    assert Alert.objects.filter(open=True).count() == 1 and Alert.objects.count() == 2


@pytest.mark.parametrize("persona", ["head_b", "outsider", "resident", "dept", "nobody"])
def test_people_outside_the_region_cannot_act_on_alerts(site: Site, alert: Alert, persona: str) -> None:
    user = site.world[persona]
    for step in (
        lambda: services.alert_acknowledge(actor=user, alert=alert),
        lambda: services.alert_clear(actor=user, alert=alert, reason="不是我们的告警"),
        lambda: services.alert_request_ticket(actor=user, alert=alert),
    ):
        with pytest.raises(PermissionDenied):
            step()
    alert.refresh_from_db()
    assert alert.state == AlertState.ACTIVE
    assert AuditEntry.objects.filter(result=AuditResult.DENIED, object_type="iot.alert").count() == 3


def test_a_ticket_asked_for_from_an_alert_is_made_once(site: Site) -> None:
    from shequ.grid.models import Ticket

    counter = site.devices["counter-1"]
    import datetime as dt

    from django.utils import timezone

    start = timezone.now() - dt.timedelta(minutes=30)
    for minute in range(0, 25, 5):
        Pipeline().process(
            [message(counter, "telemetry", f"c-{minute}", at=start + dt.timedelta(minutes=minute), count=70)]
        )
    alert = Alert.objects.get()
    services.alert_request_ticket(actor=site.world["worker_a"], alert=alert, category="security.public_order")
    outbox.run_pending()
    alert.refresh_from_db()
    ticket = Ticket.objects.get(external_ref=f"iot-{alert.pk}")
    assert alert.ticket_id == ticket.pk and ticket.category is not None
    assert ticket.category.code == "security.public_order"
    with pytest.raises(ValidationError):
        services.alert_request_ticket(actor=site.world["worker_a"], alert=alert)


def test_rule_parameters_are_checked(site: Site) -> None:
    from shequ.iot.models import Rule, RuleKind

    region = site.world.regions["430104002001"]
    bad = [
        (RuleKind.THRESHOLD, {"field": "level", "op": "gte", "value": 3}),
        (RuleKind.THRESHOLD, {"field": "level", "op": "gt", "value": "high"}),
        (RuleKind.EVENT, {"types": []}),
        (RuleKind.COUNT, {"over": 10}),
        (RuleKind.ABSENCE, {"hours": 0}),
        (RuleKind.DWELL, {"minutes": True}),
        ("nonsense", {}),
    ]
    before = Rule.objects.count()
    for kind, params in bad:
        with pytest.raises(ValidationError):
            services.rule_create(actor=None, region=region, name="坏规则", kind=kind, params=params)
    assert Rule.objects.count() == before
    with pytest.raises(PermissionDenied):
        services.rule_create(
            actor=site.world["grid_a"],
            region=region,
            name="网格员不能建规则",
            kind=RuleKind.EVENT,
            params={"types": ["alarm"]},
        )
