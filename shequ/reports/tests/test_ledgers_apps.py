"""The ledgers other apps declare (grid events, government-service applications, IoT alerts,
warnings, disclosure): one row in community A and one in its sibling community B each, made through
the apps' services; every ledger shows each community its own rows only — in the query, on the
page and in the export — and exports in the official layout with its own columns."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from shequ.core.components import components
from shequ.core.models import AuditEntry, User
from shequ.core.personal import mask_name
from shequ.registry.tests.conftest import COMMUNITY_A, GRID_A, GRID_C, Registry
from shequ.reports.selectors_ledgers import all_ledgers


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def client_for(user: User) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


# --- One row per community, through each app's services -----------------------------------------


def grid_ticket(reg: Registry, grid: str, marker: str) -> None:
    from shequ.grid.models import Source
    from shequ.grid.services import ticket_submit

    ticket_submit(
        actor=None,
        source=Source.HOTLINE,
        region=reg.region(grid),
        title=marker,
        description="楼道里堆满了杂物，影响通行，请尽快处理。",
        category="security.public_order",
        contact_name="王小明",
        contact_phone="13912345678",
    )


def gov_application(reg: Registry, grid: str, marker: str) -> None:
    from shequ.govservice.models import Channel, ServiceItem
    from shequ.govservice.services import applications

    head = reg.world["head_a" if grid == GRID_A else "head_b"]
    applications.application_submit(
        actor=head,
        item=ServiceItem.objects.get(code="residence_certificate"),
        channel=Channel.COUNTER,
        region=reg.region(grid[:12]),
        applicant=applications.Applicant(name=marker, phone="13912345678"),
        answers={"purpose": "租房"},
        paper=["id_card", "residence", "household"],
    )


def iot_alert(reg: Registry, grid: str, marker: str) -> None:
    from shequ.iot.models import Alert, RuleKind, Severity
    from shequ.iot.services import devices

    rule = devices.rule_create(
        actor=None,
        region=reg.region(grid[:12]),
        name=f"{marker}规则",
        kind=RuleKind.ABSENCE,
        params={"hours": 24, "tag": "living_alone"},
        severity=Severity.MAJOR,
    )
    house = reg.houses["a" if grid == GRID_A else "c"][0]
    now = timezone.now()
    # Alerts are raised by the rule engine from device messages; the row is what it writes.
    Alert.objects.create(
        rule=rule,
        origin=f"house:{house.pk}",
        region=house.region,
        region_code=house.region_code,
        house=house,
        severity=rule.severity,
        title=marker,
        first_at=now,
        last_at=now,
    )


def emergency_warning(reg: Registry, grid: str, marker: str) -> None:
    from shequ.emergency.services import warnings

    head = reg.world["head_a" if grid == GRID_A else "head_b"]
    draft = warnings.warning_draft(
        actor=head,
        kind="rainstorm",
        level=3,
        title=marker,
        text="低洼处住户做好转移准备。",
        area_codes=[grid[:12]],
    )
    warnings.warning_issue(actor=head, warning=draft)


def disclosure(reg: Registry, grid: str, marker: str) -> None:
    from shequ.participation.services.disclosure import items

    head = reg.world["head_a" if grid == GRID_A else "head_b"]
    today = timezone.localdate()
    item = items.item_create(
        actor=head,
        region_code=grid[:12],
        kind="affairs",
        period_key=f"{today.year}Q{(today.month - 1) // 3 + 1}",
        title=marker,
        body="社区活动室开放时间调整。",
    )
    items.item_publish(actor=head, item=item)


MAKERS: dict[str, Callable[[Registry, str, str], None]] = {
    "grid_tickets": grid_ticket,
    "govservice_applications": gov_application,
    "iot_alerts": iot_alert,
    "emergency_warnings": emergency_warning,
    "disclosures": disclosure,
}
MARK_A, MARK_B = "甲社区事项", "乙社区事项"


def shown(key: str, marker: str) -> str:
    """How a ledger shows the marker: an applicant's name is masked (甲***项)."""
    return mask_name(marker) if key == "govservice_applications" else marker


@pytest.fixture
def made(reg: Registry, request: pytest.FixtureRequest) -> tuple[Registry, str]:
    key = request.param
    MAKERS[key](reg, GRID_A, MARK_A)
    MAKERS[key](reg, GRID_C, MARK_B)
    return reg, key


def test_the_new_ledgers_are_declared_by_their_apps() -> None:
    owners = {ledger.key: comp.name for comp in components() for ledger in comp.ledgers}
    assert {k: owners[k] for k in MAKERS} == {
        "grid_tickets": "grid",
        "govservice_applications": "govservice",
        "iot_alerts": "iot",
        "emergency_warnings": "emergency",
        "disclosures": "participation",
    }
    # Keys are unique across apps: the pages find a ledger by its key alone.
    keys = [ledger.key for comp in components() for ledger in comp.ledgers]
    assert len(keys) == len(set(keys)) == 21


def _texts(ledger_key: str, viewer: User, **filters: Any) -> str:
    ledger = all_ledgers()[ledger_key]
    rows = ledger.query(viewer, {"region": "", **filters})
    return " ".join(str(v) for obj in rows for v in ledger.row(obj, filters, False).values())


@pytest.mark.parametrize("made", list(MAKERS), indirect=True)
def test_each_community_sees_its_own_rows_only(made: tuple[Registry, str]) -> None:
    reg, key = made
    w = reg.world
    a, b = shown(key, MARK_A), shown(key, MARK_B)
    seen_a, seen_b = _texts(key, w["head_a"]), _texts(key, w["head_b"])
    assert a in seen_a and b not in seen_a
    assert b in seen_b and a not in seen_b
    street = _texts(key, w["street"])
    assert a in street and b in street
    assert _texts(key, w["outsider"]) == "" and _texts(key, w["resident"]) == ""
    # A region filter narrows within the scope and never widens it.
    assert b not in _texts(key, w["street"], region=COMMUNITY_A)
    assert _texts(key, w["head_b"], region=COMMUNITY_A) == ""
    # The page: the sibling's head sees none of community A's rows, and may not pick it.
    page = reverse("reports:ledger", args=[key])
    body_b = client_for(w["head_b"]).get(page).content.decode()
    assert b in body_b and a not in body_b
    refused = client_for(w["head_b"]).get(page, {"region": COMMUNITY_A})
    assert refused.status_code == 400 and a not in refused.content.decode()
    # A period before the rows leaves them out.
    old = client_for(w["head_a"]).get(page, {"start": "2020-01-01", "end": "2020-01-31"})
    assert old.status_code == 200 and a not in old.content.decode()


@pytest.mark.parametrize("made", list(MAKERS), indirect=True)
def test_export_holds_the_community_rows_with_the_ledger_columns(made: tuple[Registry, str]) -> None:
    reg, key = made
    ledger = all_ledgers()[key]
    response = client_for(reg.world["head_a"]).post(reverse("reports:ledger_export", args=[key]))
    assert response.status_code == 200, response.content[:300]
    ws = load_workbook(io.BytesIO(response.content)).active
    assert ws is not None
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0][0] == f"岳麓街道枇杷塘社区: {ledger.title}"
    today = timezone.localdate()
    assert f"Period: {today.replace(day=1).isoformat()} to {today.isoformat()}" in rows[1][0]
    assert rows[2] == ["No.", *(str(c.title) for c in ledger.columns)]
    data = [r for r in rows[3:] if isinstance(r[0], int)]
    assert len(data) == 1 and shown(key, MARK_A) in [str(v) for v in data[0]]
    assert not any(shown(key, MARK_B) in str(v) for r in rows for v in r)
    entry = AuditEntry.objects.get(action="reports.ledger_export")
    assert entry.object_id == key and entry.region_code == COMMUNITY_A and entry.detail["rows"] == 1
    # Nothing to reveal here: a request for full numbers is refused and audited.
    refused = client_for(reg.world["head_a"]).post(
        reverse("reports:ledger_export", args=[key]), {"full": "on", "reason": "核对"}
    )
    assert refused.status_code == 403
    assert AuditEntry.objects.filter(action="personal.reveal", result="denied").count() == 1


@pytest.mark.parametrize("made", ["grid_tickets", "govservice_applications"], indirect=True)
def test_people_in_the_new_ledgers_are_masked(made: tuple[Registry, str]) -> None:
    reg, key = made
    body = client_for(reg.world["head_a"]).get(reverse("reports:ledger", args=[key])).content.decode()
    assert "13912345678" not in body
    if key == "grid_tickets":
        assert "王*明" in body and "王小明" not in body
    else:
        assert "甲***项" in body and MARK_A not in body


def test_sibling_head_may_not_export_the_other_community(reg: Registry) -> None:
    grid_ticket(reg, GRID_A, MARK_A)
    response = client_for(reg.world["head_b"]).post(
        reverse("reports:ledger_export", args=["grid_tickets"]), {"region": COMMUNITY_A}
    )
    assert response.status_code == 400 and "Choose a region within your area." in response.content.decode()
    assert not AuditEntry.objects.filter(action="reports.ledger_export").exists()
