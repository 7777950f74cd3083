"""Visitor passes: a resident gives one for their own home; the guard's page and the gate's API
check it (allowed, or refused with the reason), every check is recorded and an entry is used."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from shequ.core.models import AuditEntry, AuditResult
from shequ.iot import services
from shequ.iot.models import PassCheck, VisitorPass
from shequ.iot.services import access
from shequ.iot.tests.access_world import Estate, pass_times

pytestmark = pytest.mark.django_db


def house_of(e: Estate) -> Any:
    assert e.me.house is not None
    return e.me.house


def make_pass(e: Estate, **extra: object) -> VisitorPass:
    data = {"visitor_name": "钱七", "max_uses": 2, **pass_times(), **extra}
    return services.visitor_pass_create(actor=e.world["resident"], house=e.me.house, **data)  # type: ignore[arg-type]


def test_resident_gets_passes_only_for_their_home(estate: Estate) -> None:
    assert access.pass_houses(estate.world["resident"]) == [estate.me.house]
    # Staff and residents not linked to a registered person have no house to give passes for.
    assert access.pass_houses(estate.world["grid_a"]) == []
    other = estate.reg.houses["a"][2]
    with pytest.raises(PermissionDenied):
        services.visitor_pass_create(
            actor=estate.world["resident"], house=other, visitor_name="钱七", **pass_times()
        )
    assert not VisitorPass.objects.exists()
    assert AuditEntry.objects.filter(action="iot.pass_create", result=AuditResult.DENIED).exists()


def test_pass_code_is_short_and_unambiguous(estate: Estate) -> None:
    vp = make_pass(estate, plate="湘A12345")
    assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}", vp.code)
    assert vp.plate_masked == "湘A·***45" and vp.plate_index and "12345" not in vp.plate_masked
    assert vp.region_code == house_of(estate).region_code


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"visitor_name": " "}, "visitor_name"),
        ({"plate": "ABC123"}, "plate"),
        ({"max_uses": 0}, "max_uses"),
        ({"max_uses": 21}, "max_uses"),
        # Times as offsets from the moment the test runs (not when pytest collected it: a CI run
        # reaches this test many minutes later).
        ({"valid_until": dt.timedelta(days=7, minutes=5)}, "valid_until"),
        ({"valid_until": -dt.timedelta(minutes=1)}, "valid_until"),
        ({"valid_from": -dt.timedelta(hours=2)}, "valid_from"),
    ],
)
def test_bad_pass_input_is_refused_and_changes_nothing(estate: Estate, change: dict, field: str) -> None:
    now = timezone.now()
    change = {k: now + v if isinstance(v, dt.timedelta) else v for k, v in change.items()}
    with pytest.raises(ValidationError) as exc:
        make_pass(estate, **change)
    assert field in exc.value.message_dict
    assert not VisitorPass.objects.exists()


def test_guard_checks_a_pass_until_its_entries_are_used(estate: Estate) -> None:
    vp = make_pass(estate)
    guard = estate.world["grid_a"]
    first = services.pass_check(code=vp.code.lower(), actor=guard)
    second = services.pass_check(code=f"https://example.test/iot/gate/?code={vp.code}", actor=guard)
    third = services.pass_check(code=vp.code, actor=guard)
    assert (first.allowed, second.allowed, third.allowed) == (True, True, False)
    assert third.reason == "used_up" and third.message == "次数已用完"
    vp.refresh_from_db()
    assert vp.uses == 2
    assert list(PassCheck.objects.order_by("pk").values_list("allowed", "reason")) == [
        (True, ""),
        (True, ""),
        (False, "used_up"),
    ]
    assert AuditEntry.objects.filter(action="iot.pass_check", actor_id=guard.pk).count() == 3


def test_refusal_reasons(estate: Estate) -> None:
    guard = estate.world["worker_a"]
    now = timezone.now()
    later = make_pass(estate, valid_from=now + dt.timedelta(hours=1), valid_until=now + dt.timedelta(hours=3))
    revoked = services.visitor_pass_revoke(actor=estate.world["resident"], visitor_pass=make_pass(estate))
    expired = make_pass(estate)
    assert services.pass_check(code=later.code, actor=guard).message == "未生效"
    assert services.pass_check(code=revoked.code, actor=guard).message == "已撤销"
    assert (
        services.pass_check(code=expired.code, actor=guard, now=now + dt.timedelta(hours=5)).message
        == "已过期"
    )
    assert services.pass_check(code="ZZZZZZZZ", actor=guard).reason == "unknown"
    # A guard of the sibling community learns only that it is not a pass for their community.
    elsewhere = services.pass_check(code=later.code, actor=estate.world["head_b"])
    assert (elsewhere.allowed, elsewhere.message, elsewhere.visitor_pass) == (False, "不属于本小区", None)
    assert PassCheck.objects.filter(reason="wrong_place", visitor_pass__isnull=True).count() == 1
    later.refresh_from_db()
    assert later.uses == 0


def test_checking_needs_the_guard_right(estate: Estate) -> None:
    vp = make_pass(estate)
    with pytest.raises(PermissionDenied):
        services.pass_check(code=vp.code, actor=estate.world["resident"])
    assert not PassCheck.objects.exists()
    assert AuditEntry.objects.filter(action="iot.pass_check", result=AuditResult.DENIED).exists()


def test_only_the_host_revokes(estate: Estate) -> None:
    vp = make_pass(estate)
    with pytest.raises(PermissionDenied):
        services.visitor_pass_revoke(actor=estate.world["head_a"], visitor_pass=vp)
    vp.refresh_from_db()
    assert vp.revoked_at is None


# --- The gate controller's API ---------------------------------------------------------------------


def gate_post(client: Client, device: str, token: str, code: str) -> tuple[int, dict]:
    response = client.post(
        f"/api/v1/iot/gate/{device}/check",
        data=json.dumps({"code": code}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    return response.status_code, response.json()


def test_gate_api_checks_with_the_device_token(estate: Estate, client: Client) -> None:
    vp = make_pass(estate, max_uses=1)
    status, body = gate_post(client, "gate-a", estate.tokens["a"], vp.code)
    assert (status, body["allowed"], body["entries_left"]) == (200, True, 0)
    status, body = gate_post(client, "gate-a", estate.tokens["a"], vp.code)
    assert (status, body["allowed"], body["reason"], body["message"]) == (200, False, "used_up", "次数已用完")
    # The sibling community's gate: not its pass, and nothing about it is told.
    status, body = gate_post(client, "gate-b", estate.tokens["b"], vp.code)
    assert (status, body["reason"], body["entries_left"]) == (200, "wrong_place", None)
    # Wrong or another gate's token, unknown device: 401, nothing recorded.
    before = PassCheck.objects.count()
    assert gate_post(client, "gate-a", estate.tokens["b"], vp.code)[0] == 401
    assert gate_post(client, "nope", estate.tokens["a"], vp.code)[0] == 401
    assert PassCheck.objects.count() == before
    assert PassCheck.objects.filter(device=estate.gates["a"]).count() == 2


def test_gate_api_refuses_a_sensor(estate: Estate, client: Client) -> None:
    from shequ.iot.tests.conftest import register

    _device, token = register(estate.world, "smoke-9", "smoke")
    status, body = gate_post(client, "smoke-9", token, "ABCDEFGH")
    assert (status, body["code"]) == (403, "not_a_gate")


def test_gate_api_refuses_bad_input(estate: Estate, client: Client) -> None:
    response = client.post(
        "/api/v1/iot/gate/gate-a/check",
        data=json.dumps({"code": "x" * 300}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {estate.tokens['a']}",
    )
    assert response.status_code == 400
    assert not PassCheck.objects.exists()


# --- Pages ----------------------------------------------------------------------------------------


def test_resident_makes_and_shows_a_pass(estate: Estate, client: Client) -> None:
    client.force_login(estate.world["resident"])
    page = client.get("/iot/passes/")
    assert page.status_code == 200 and "访客通行证" in page.content.decode()
    start = timezone.localtime() + dt.timedelta(minutes=5)
    form = {
        "visitor_name": "钱七",
        "plate": "",
        "valid_from": start.strftime("%Y-%m-%dT%H:%M"),
        "valid_until": (start + dt.timedelta(days=8)).strftime("%Y-%m-%dT%H:%M"),
        "max_uses": "1",
        "house": str(house_of(estate).pk),
    }
    refused = client.post("/iot/passes/", form)
    assert refused.status_code == 400 and "最多 7 天" in refused.content.decode()
    assert not VisitorPass.objects.exists()
    form["valid_until"] = (start + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    made = client.post("/iot/passes/", form)
    vp = VisitorPass.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/iot/passes/{vp.pk}/"
    shown = client.get(made["Location"]).content.decode()
    assert vp.code in shown and "data:image/svg+xml;base64," in shown
    assert client.post(f"/iot/passes/{vp.pk}/revoke/").status_code == 302
    vp.refresh_from_db()
    assert vp.revoked_at is not None


def test_unlinked_resident_is_told_why(estate: Estate, client: Client) -> None:
    estate.reg.register("孙八", estate.reg.houses["a"][2], phone=estate.me.phone)
    client.force_login(estate.world["resident"])
    page = client.get("/iot/passes/").content.decode()
    assert "登记您的手机号" in page
    assert client.post("/iot/passes/", {"visitor_name": "钱七"}).status_code == 200
    assert not VisitorPass.objects.exists()


def test_guard_page_shows_the_verdict(estate: Estate, client: Client) -> None:
    vp = make_pass(estate, max_uses=1)
    client.force_login(estate.world["grid_a"])
    prefilled = client.get(f"/iot/gate/?code={vp.code}")
    assert prefilled.status_code == 200 and vp.code in prefilled.content.decode()
    assert not PassCheck.objects.exists()  # opening the link uses no entry
    ok = client.post("/iot/gate/", {"code": vp.code}).content.decode()
    assert "放行" in ok and "钱七" in ok
    again = client.post("/iot/gate/", {"code": vp.code}).content.decode()
    assert "拒绝" in again and "次数已用完" in again
    assert client.post("/iot/gate/", {"code": ""}).status_code == 400
