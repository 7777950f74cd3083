"""The statistics page and its export: who may open them for which region, what the export holds
and that it is audited."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from shequ.conftest import World
from shequ.core.models import AuditEntry, AuditResult
from shequ.grid import services
from shequ.grid.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_A, new_ticket

STREET = "430104002"
PHONE = "13912345678"


@pytest.fixture
def tickets(world: World) -> None:
    a = new_ticket(world, contact_name="赵大爷", contact_phone=PHONE)
    a = services.ticket_accept(actor=world["worker_a"], ticket=a)
    services.ticket_dispatch(actor=world["worker_a"], ticket=a, department=world.department)
    new_ticket(world, grid=COMMUNITY_B, code="environment.noise", title="夜间施工噪音")
    new_ticket(world, grid="430104003001", code="environment.noise", title="别的街道")


def client_for(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world[persona])
    return client


def test_street_officer_sees_the_street_by_community(world: World, tickets: None) -> None:
    response = client_for(world, "street").get(reverse("grid:stats"), {"region": STREET})
    assert response.status_code == 200
    report = response.context["report"]
    assert report.total.submitted == 2
    assert [r.key for r in report.regions] == [COMMUNITY_A, COMMUNITY_B]
    body = response.content.decode()
    assert "枇杷塘社区" in body and "泽盛社区" in body and "岳麓派出所" in body
    assert f"?region={COMMUNITY_A}" in body.replace("&amp;", "&")  # drill down to the community
    assert 'data-chart="status"' in body and "stats-charts" in body


@pytest.mark.parametrize(
    ("persona", "region", "status"),
    [
        ("head_a", COMMUNITY_A, 200),
        ("head_a", GRID_A, 200),
        ("head_b", COMMUNITY_A, 404),  # the sibling community's head
        ("head_a", COMMUNITY_B, 404),
        ("head_a", STREET, 404),  # above the head's own community
        ("outsider", COMMUNITY_A, 404),
        ("street", "430104003", 404),  # the next street
        ("grid_a", GRID_A, 403),  # no grid.stats
        ("worker_a", COMMUNITY_A, 403),
        ("resident", GRID_A, 403),
        ("auditor", "", 403),
    ],
)
def test_scope(world: World, tickets: None, persona: str, region: str, status: int) -> None:
    response = client_for(world, persona).get(reverse("grid:stats"), {"region": region})
    assert response.status_code == status
    if status != 200:
        assert AuditEntry.objects.filter(
            action="grid.stats_view", actor_id=world[persona].pk, result=AuditResult.DENIED
        ).exists()


def test_default_region_is_the_viewers_scope(world: World, tickets: None) -> None:
    response = client_for(world, "head_b").get(reverse("grid:stats"))
    assert response.status_code == 200
    assert response.context["report"].query.region_code == COMMUNITY_B
    assert response.context["report"].total.submitted == 1


def test_department_staff_see_their_department_only(world: World, tickets: None, urban: object) -> None:
    other = new_ticket(world, code="environment.garbage")
    other = services.ticket_accept(actor=world["worker_a"], ticket=other)
    services.ticket_dispatch(actor=world["worker_a"], ticket=other, department=urban)  # type: ignore[arg-type]
    response = client_for(world, "dept").get(reverse("grid:stats"))
    assert response.status_code == 200
    report = response.context["report"]
    assert response.context["department_view"]
    assert report.query.region_code == STREET  # the area the police station serves
    assert report.total.submitted == 1
    assert [d.label for d in report.departments] == [world.department.name]
    assert "城管中队" not in response.content.decode()
    assert client_for(world, "dept").get(reverse("grid:stats"), {"region": "430104"}).status_code == 404


def test_bad_filters_are_explained(world: World, tickets: None) -> None:
    client = client_for(world, "street")
    response = client.get(reverse("grid:stats"), {"start": "2026-03-10", "end": "2026-03-01"})
    assert response.status_code == 400
    assert "report" not in response.context
    response = client.get(reverse("grid:stats"), {"start": "2024-01-01", "end": "2026-01-01"})
    assert response.status_code == 400
    response = client.get(reverse("grid:stats"), {"start": "yesterday"})
    assert response.status_code == 400
    response = client.get(reverse("grid:stats"), {"category": "no.such"})
    assert response.status_code == 400


def test_export_is_audited_and_holds_no_personal_data(world: World, tickets: None) -> None:
    today = timezone.localdate()
    data = {"region": STREET, "start": today.replace(day=1).isoformat(), "end": today.isoformat()}
    response = client_for(world, "street").post(reverse("grid:stats_export"), data)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[:2] == ["概况", "按区域"]
    cells = [str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row if c]
    text = " ".join(cells)
    for personal in (PHONE, PHONE[-4:], "赵大爷", "小区门口有人聚集打架", "夜间施工噪音"):
        assert personal not in text
    summary = book.worksheets[0]
    assert "street" in str(summary["A2"].value)  # the watermark names the exporter
    assert summary.cell(row=4, column=2).value == 2  # submitted in the street
    entry = AuditEntry.objects.get(action="grid.stats_export")
    assert entry.actor_id == world["street"].pk and entry.region_code == STREET
    assert entry.detail["start"] == data["start"] and entry.detail["rows"] >= 4


def test_export_outside_scope_is_refused_and_audited(world: World, tickets: None) -> None:
    response = client_for(world, "head_b").post(reverse("grid:stats_export"), {"region": COMMUNITY_A})
    assert response.status_code == 404
    assert AuditEntry.objects.filter(action="grid.stats_export", result=AuditResult.DENIED).count() == 1
    assert client_for(world, "grid_a").post(reverse("grid:stats_export"), {}).status_code == 403
    assert not AuditEntry.objects.filter(action="grid.stats_export", result=AuditResult.SUCCESS).exists()


def test_elderly_mode_shows_tables_without_charts(world: World, tickets: None) -> None:
    user = world["street"]
    user.elderly_mode = True
    user.save(update_fields=["elderly_mode"])
    body = client_for(world, "street").get(reverse("grid:stats")).content.decode()
    assert "echarts" not in body and "<table" in body


def test_the_period_shows_in_the_date_pickers_in_chinese(world: World, tickets: None) -> None:
    client = client_for(world, "street")
    html = client.get(
        reverse("grid:stats"), {"region": STREET, "start": "2026-03-01", "end": "2026-03-31"}
    ).content.decode()
    assert 'name="start" value="2026-03-01"' in html and 'name="end" value="2026-03-31"' in html
    first = timezone.localdate().replace(day=1).isoformat()
    assert f'name="start" value="{first}"' in client.get(reverse("grid:stats")).content.decode()
