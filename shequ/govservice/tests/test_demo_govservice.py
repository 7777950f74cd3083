"""The demo's government services: after the demo builder ran on a small generated town, the
street has applications in every state and by every channel, made through the services (each with
its timeline, deadlines consistent with its times), ratings on about 60 % of the closed ones with
some bad ones, their rectifications fed back and reviewed, departments for the forwarded items,
home-care plans with records and a couple of concerns that became grid tasks, and the demo
resident — linked to her registry record — with applications of several states. Run again: left
alone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from shequ.demo import generator
from shequ.emergency import demo as emergency_demo
from shequ.govservice import demo
from shequ.govservice.models import (
    Application,
    ApplicationStep,
    CarePlan,
    CareRecord,
    Channel,
    Evaluation,
    MaterialFile,
    Rectification,
    RectStatus,
    Status,
)
from shequ.govservice.services import applications as apps
from shequ.grid import demo as grid_demo
from shequ.grid.models import Ticket
from shequ.iot import demo as iot_demo
from shequ.registry import demo as registry_demo
from shequ.registry.models import Visit
from shequ.registry.selectors import person_for_account
from shequ.registry.tests.test_demo import load_regions


@pytest.fixture
def demo_street(
    db: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, settings: Any
) -> generator.DemoResult:
    """The demo generator with a smaller registry and fewer tickets, without the IoT history and
    the rainstorm (the government services at full size)."""
    settings.VAR_DIR = tmp_path
    load_regions()
    monkeypatch.setattr(registry_demo.generator, "PEOPLE_PER_SIZE", 3000)
    monkeypatch.setattr(grid_demo, "TICKETS_PER_SIZE", 20)
    monkeypatch.setattr(generator, "generate_iot", lambda **kw: iot_demo.IotSummary(skipped=True))
    monkeypatch.setattr(
        generator, "generate_emergency", lambda **kw: emergency_demo.EmergencySummary(skipped=True)
    )
    return generator.generate(size=1)


def test_demo_government_services(demo_street: generator.DemoResult) -> None:
    summary = demo_street.govservice
    assert summary is not None and not summary.skipped, summary
    states_and_channels(summary)
    made_through_the_services()
    ratings_and_rectifications(summary)
    home_care(summary)
    the_demo_resident(summary)
    assert "govservice:" in summary.line() and "resident" in summary.login_note()
    # Run again: left alone.
    again = demo.generate_govservice()
    assert again.skipped and Application.objects.count() == summary.applications


def states_and_channels(summary: demo.GovSummary) -> None:
    total = Application.objects.count()
    assert total == summary.applications and 300 <= total <= 400
    by_status = summary.by_status
    assert set(by_status) == set(Status.values), by_status
    assert by_status[Status.CLOSED] > total * 0.3 and all(n >= 5 for n in by_status.values()), by_status
    assert set(summary.by_channel) == set(Channel.values), summary.by_channel
    assert all(n >= 20 for n in summary.by_channel.values()), summary.by_channel
    # 帮办代办 records the helper and the consent; online ones have an account.
    home = Application.objects.filter(channel=Channel.HOME)
    assert not home.filter(on_behalf=False).exists() and not home.filter(helper__isnull=True).exists()
    assert not home.filter(consent="").exists()
    assert not Application.objects.filter(channel=Channel.ONLINE, applicant_user__isnull=True).exists()
    # Spread over the street's communities, the items and two months.
    assert Application.objects.values("region_code").distinct().count() >= 4
    assert Application.objects.values("item").distinct().count() >= 20
    oldest = Application.objects.order_by("submitted_at").first()
    assert oldest is not None and oldest.submitted_at < timezone.now() - dt.timedelta(days=40)
    returned = Application.objects.filter(status=Status.RETURNED)
    assert all(a.missing for a in returned)


def made_through_the_services() -> None:
    now = timezone.now()
    for application in Application.objects.select_related("item"):
        steps = list(ApplicationStep.objects.filter(application=application).order_by("at", "pk"))
        assert steps and steps[0].action in {"submit", "take"}
        assert steps[-1].to_status == application.status
        assert steps[0].at == application.submitted_at and all(s.at <= now for s in steps)
        if application.status in {Status.SUBMITTED, Status.ACCEPTED, Status.FORWARDED}:
            assert application.due_at is not None and application.due_at > application.submitted_at
        if application.closed_at is not None:
            assert application.closed_at >= application.submitted_at
    assert MaterialFile.objects.exists()
    stored = MaterialFile.objects.first()
    assert stored is not None and apps.open_file(stored).startswith(b"\x89PNG")
    forwarded = Application.objects.filter(status=Status.FORWARDED)
    assert forwarded.exists() and not forwarded.filter(department__isnull=True).exists()


def ratings_and_rectifications(summary: demo.GovSummary) -> None:
    closed = Application.objects.filter(status=Status.CLOSED).count()
    rated = Evaluation.objects.filter(application__status=Status.CLOSED).count()
    assert 0.45 * closed <= rated <= 0.75 * closed, (rated, closed)
    bad = Evaluation.objects.filter(stars__lte=2).count()
    assert bad == summary.bad and 0.04 * rated <= bad <= 0.2 * rated, (bad, rated)
    assert Rectification.objects.count() == bad
    statuses = set(Rectification.objects.values_list("status", flat=True))
    assert RectStatus.OPEN in statuses and summary.fed_back >= 1 and summary.reviewed >= 1, summary
    assert Rectification.objects.filter(fed_back_at__isnull=False).count() >= summary.fed_back


def home_care(summary: demo.GovSummary) -> None:
    assert 20 <= summary.care_plans <= 40
    assert CarePlan.objects.filter(active=True).count() >= summary.care_plans
    assert CareRecord.objects.count() == summary.care_records > summary.care_plans * 3
    assert summary.concerns == 2
    tickets = Ticket.objects.filter(external_ref__startswith="care-")
    assert tickets.count() == 2 and all(t.category and t.category.code == "special.care" for t in tickets)
    oldest = CareRecord.objects.order_by("at").first()
    assert oldest is not None and oldest.at < timezone.now() - dt.timedelta(days=14)
    # Meals and visits in the day, local time.
    assert {timezone.localtime(r.at).hour for r in CareRecord.objects.all()} <= {11, 12, 15, 16}
    assert Visit.objects.filter(purpose="care", findings__gt="").count() >= summary.visits


def the_demo_resident(summary: demo.GovSummary) -> None:
    resident = next(a for a in demo_accounts() if a.username == "resident")
    person = person_for_account(resident, [resident.memberships.get().region_code])
    assert person is not None and person.name == summary.resident
    mine = Application.objects.filter(applicant_user=resident, person_id=person.pk)
    states = set(mine.values_list("status", flat=True))
    assert {Status.SUBMITTED, Status.RETURNED, Status.CLOSED, Status.WITHDRAWN} <= states, states
    closed = mine.filter(status=Status.CLOSED)
    assert closed.filter(rating__isnull=False).exists() and closed.filter(rating__isnull=True).exists()


def demo_accounts() -> list[Any]:
    from shequ.core.models import User

    return list(User.objects.filter(username="resident"))
