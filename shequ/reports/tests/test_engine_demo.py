"""The demo's reports: filled for the street's communities, one approved, one returned and submitted
again with its history; a second run changes no snapshot."""

from __future__ import annotations

from shequ.conftest import World
from shequ.reports.demo import COMMUNITY_A, COMMUNITY_B, generate_reports
from shequ.reports.models import InstanceStatus, ReportInstance, ReportSnapshot


def test_demo_reports_show_every_state_and_are_idempotent(world: World) -> None:
    summary = generate_reports()
    assert summary.templates >= 10 and summary.submitted == 6
    # Current and last period of every template, for 3 communities and 2 streets (root: the street).
    assert summary.filled == summary.templates * 2 * 3
    last = ReportInstance.objects.filter(template__key="grid_tickets", revision__gt=0)
    a = last.get(region_code=COMMUNITY_A)
    b = last.get(region_code=COMMUNITY_B)
    assert a.status == InstanceStatus.APPROVED
    assert b.status == InstanceStatus.SUBMITTED and b.revision == 2
    history = list(b.snapshots.order_by("revision").values_list("outcome", "manual"))
    assert history[0][0] == "returned" and history[0][1]["patrols"] == 6400
    assert history[1][0] == "" and history[1][1]["patrols"] == 64
    snapshots = ReportSnapshot.objects.count()
    assert generate_reports().submitted == 0
    assert ReportSnapshot.objects.count() == snapshots
