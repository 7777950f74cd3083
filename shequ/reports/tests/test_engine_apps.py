"""The grid's, the government services' and IoT's numbers in the seeded templates: filled from the
apps' statistics and, for every computed cell, the drill-down lists exactly the rows counted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from shequ.govservice.models import Application, Evaluation, Status
from shequ.govservice.tests.conftest import (  # noqa: F401 - fixtures
    COMMUNITY_A,
    COMMUNITY_B,
    GRID_A,
    GRID_B,
    Gov,
    _fast_password_hasher,
    gov,
    reg,
)
from shequ.govservice.tests.test_application_pages import counter_app, sibling_app
from shequ.grid.models import Source, Ticket
from shequ.grid.models import Status as TicketStatus
from shequ.grid.tests.conftest import new_ticket
from shequ.reports.models import ReportInstance, ReportTemplate
from shequ.reports.selectors_reports import cell_records, table
from shequ.reports.services import fill_period, seed_templates


@pytest.fixture
def data(gov: Gov) -> Gov:  # noqa: F811 - the imported fixture
    world = gov.world
    now = timezone.now()
    for grid, source, code in (
        (GRID_A, Source.HOTLINE, "security.public_order"),
        (GRID_A, Source.RESIDENT, "environment.garbage"),
        (GRID_B, Source.PATROL, "environment.garbage"),
        (GRID_B, Source.HOTLINE, "environment.noise"),
    ):
        new_ticket(world, grid=grid, code=code, source=source)
    first, second = Ticket.objects.filter(region_code__startswith=COMMUNITY_A).order_by("pk")[:2]
    Ticket.objects.filter(pk=first.pk).update(
        status=TicketStatus.CLOSED, resolved_at=now, responded_at=now, rating=5
    )
    Ticket.objects.filter(pk=second.pk).update(due_at=now - timedelta(days=1))
    closed = counter_app(gov)
    counter_app(gov)
    sibling_app(gov)
    Application.objects.filter(pk=closed.pk).update(status=Status.CLOSED, closed_at=now)
    Evaluation.objects.create(
        application=closed, item=closed.item, region_code=closed.region_code, stars=4, channel=closed.channel
    )
    return gov


@pytest.mark.parametrize("key", ["grid_tickets", "govservice", "ratings", "iot_alerts"])
def test_app_numbers_and_their_drill_down_match(data: Gov, key: str) -> None:
    seed_templates()
    template = ReportTemplate.objects.get(key=key, active=True)
    fill_period(template=template, period_start=timezone.localdate())
    nonzero = 0
    for code, viewer in ((COMMUNITY_A, data["worker_a"]), (COMMUNITY_B, data["head_b"])):
        instance = ReportInstance.objects.get(template=template, region_code=code)
        for row in table(instance).rows:
            for cell in row.cells:
                if not cell.computed:
                    continue
                _stat, records = cell_records(viewer=viewer, instance=instance, cell_key=cell.key)
                assert len(list(records)) == cell.value, (key, code, cell.key)
                nonzero += bool(cell.value)
    if key != "iot_alerts":
        assert nonzero


def test_expected_numbers_of_the_grid_and_government_services(data: Gov) -> None:
    seed_templates()
    found: dict[str, Any] = {}
    for key in ("grid_tickets", "govservice", "ratings"):
        template = ReportTemplate.objects.get(key=key, active=True)
        fill_period(template=template, period_start=timezone.localdate())
        found[key] = ReportInstance.objects.get(template=template, region_code=COMMUNITY_A).values
    grid = found["grid_tickets"]
    assert grid["submitted:total"] == 4 and grid["submitted:hotline"] == 2 and grid["submitted:patrol"] == 1
    assert grid["closed:total"] == 1 and grid["closed_ratio:total"] == 25.0
    assert (
        grid["cat_environment:total"] == 3 and grid["good:total"] == 1 and grid["satisfaction:total"] == 100.0
    )
    services = found["govservice"]
    assert (
        services["received:total"] == 2 and services["closed:total"] == 1 and services["counter:total"] == 2
    )
    assert found["ratings"]["ratings:total"] == 1 and found["ratings"]["satisfied:total"] == 1
    assert found["ratings"]["good_ratio:total"] == 100.0
