"""The demo's rainstorm: after the demo builder ran, the community head of 枇杷塘 finds rising
waterlogging readings, a warning in force (orange, rainstorm, not a drill) proposed by the risk
model with its reasons, another proposal for 泽盛, an older lifted warning, a call-out with answers,
one call for help that became an urgent grid task, silent people passed to their grid workers,
and helpers for vulnerable people."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.core.models import AuditEntry, Message
from shequ.demo import generator
from shequ.emergency import demo, selectors
from shequ.emergency.models import (
    Answer,
    AssistanceLink,
    Level,
    MobilizationStep,
    Recipient,
    Response,
    WarningSource,
    WarningStatus,
    WarningType,
)
from shequ.grid import demo as grid_demo
from shequ.grid.models import Source, Ticket, Urgency
from shequ.iot import demo as iot_demo
from shequ.iot.models import Device, DeviceEvent
from shequ.registry import demo as registry_demo
from shequ.registry.tests.test_demo import load_regions


@pytest.fixture
def demo_street(
    db: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, settings: Any
) -> generator.DemoResult:
    """The demo generator with a smaller registry, fewer tickets and without the IoT history (the
    emergency part at full size: it registers its own gauges)."""
    settings.VAR_DIR = tmp_path
    load_regions()
    monkeypatch.setattr(registry_demo.generator, "PEOPLE_PER_SIZE", 3000)
    monkeypatch.setattr(grid_demo, "TICKETS_PER_SIZE", 20)
    monkeypatch.setattr(generator, "generate_iot", lambda **kw: iot_demo.IotSummary(skipped=True))
    return generator.generate(size=1)


def test_demo_rainstorm(demo_street: generator.DemoResult) -> None:
    summary = demo_street.emergency
    assert summary is not None and not summary.skipped, summary
    assert summary.issued is not None and summary.call_out is not None
    rising_gauges(summary)
    warnings_proposed_issued_lifted(summary)
    call_out_with_answers_help_and_the_silent(summary)
    helpers_and_the_head_sees_it(summary)
    # Run again: left alone.
    again = demo.generate_emergency()
    assert again.skipped


def rising_gauges(summary: demo.EmergencySummary) -> None:
    gauges = Device.objects.filter(code__in=[g[0] for g in demo.GAUGES])
    assert summary.gauges == gauges.count() == 3
    for gauge in gauges:
        readings = list(
            DeviceEvent.objects.filter(device_id=gauge.pk, channel="telemetry").order_by("occurred_at")
        )
        assert len(readings) > 30
        levels = [e.data["water_level"] for e in readings]
        assert levels[-1] > levels[0] + 0.08 and max(levels[-3:]) == max(levels)
        assert readings[-1].data["rainfall"] > readings[0].data["rainfall"]


def warnings_proposed_issued_lifted(summary: demo.EmergencySummary) -> None:
    issued = summary.issued
    assert issued is not None
    assert (issued.status, issued.kind, issued.level, issued.is_drill) == (
        WarningStatus.ISSUED,
        WarningType.RAINSTORM,
        Level.ORANGE,
        False,
    )
    assert issued.source == WarningSource.RISK_MODEL and issued.area_codes == [demo.COMMUNITY_A]
    assert any("积水" in r["text"] for r in issued.reasons) and issued.recipients > 0
    public = list(selectors.warnings_in_force(region_code=demo.COMMUNITY_A))
    assert public == [issued]
    proposal = selectors.warning_list(viewer=_user("head_b"), status=WarningStatus.DRAFT).get()
    assert proposal.source == WarningSource.RISK_MODEL and proposal.reasons
    lifted = selectors.warning_list(viewer=_user("head_a"), status=WarningStatus.LIFTED).get()
    assert lifted.lifted_at is not None and lifted.issued_at is not None
    assert lifted.lifted_at < issued.issued_at  # type: ignore[operator]


def call_out_with_answers_help_and_the_silent(summary: demo.EmergencySummary) -> None:
    call = summary.call_out
    assert call is not None and call.warning_id == summary.issued.pk  # type: ignore[union-attr]
    assert call.response == Response.STATUS and not call.is_drill and call.total > 50
    people = Recipient.objects.filter(mobilization=call)
    counts = {a: people.filter(answer=a).count() for a in (Answer.SAFE, Answer.HELP, Answer.PENDING)}
    assert counts[Answer.HELP] == 1 and counts[Answer.PENDING] >= 3 and counts[Answer.SAFE] > call.total // 2
    assert summary.answered == counts[Answer.SAFE] + counts[Answer.HELP]
    # The help answer became an urgent task of the person's grid.
    helped = people.get(answer=Answer.HELP)
    ticket = Ticket.objects.get(source=Source.EMERGENCY, pk=int(helped.ticket_ref))
    assert ticket.urgency == Urgency.URGENT and ticket.region_code == helped.region_code
    # The silent were sent again, then passed to their grid workers.
    steps = list(call.entries.values_list("step", flat=True))
    assert steps[:1] == [MobilizationStep.SENT]
    assert {MobilizationStep.RESENT, MobilizationStep.ESCALATED, MobilizationStep.HELP} <= set(steps)
    assert people.filter(answer=Answer.PENDING, escalated_at__isnull=False).exists()
    assert Message.objects.filter(topic="emergency.escalation", recipient__username="grid_a").exists()
    # Times lie in the past, in order.
    entries = list(call.entries.order_by("at"))
    assert entries[0].step == MobilizationStep.SENT and entries[0].at == call.created_at
    assert all(r.answered_at >= call.created_at for r in people.exclude(answered_at=None))  # type: ignore[operator]
    assert AuditEntry.objects.filter(action="emergency.mobilize", object_id=str(call.pk)).count() == 1


def helpers_and_the_head_sees_it(summary: demo.EmergencySummary) -> None:
    links = AssistanceLink.objects.filter(region_code__startswith=demo.COMMUNITY_A)
    assert summary.helpers == links.count() == demo.HELPERS
    assert {link.relation for link in links} >= {"grid_worker", "family"}
    family = links.filter(relation="family").first()
    assert family is not None and family.helper_phone.startswith("139")
    # The community head sees the call-out and its roll-call; the sibling head does not.
    call = summary.call_out
    assert call is not None
    head = _user("head_a")
    assert selectors.mobilization_get_for(head, call.pk) == call
    view = selectors.roll_call(mobilization=call, viewer=head)
    assert view.total == call.total and view.pending >= 3 and len(view.help_needed) == 1
    assert not selectors.mobilization_list(viewer=_user("head_b")).filter(pk=call.pk).exists()


def _user(username: str) -> Any:
    from shequ.core.models import User

    return User.objects.get(username=username)
