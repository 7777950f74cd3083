"""The demo's consultations: after the demo builder ran on a small generated town, both demo
communities have topics at every stage made through the services (timelines in order, dated in
the past, meetings before their decisions), proposals with support, comments with one hidden
after reports and one hidden by a moderator and appealed, feedback on the finished ones, a
resident's proposal waiting and one declined; the demo ``resident`` takes part as her registry
person. Their public pages open without an account. Run again: left alone."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shequ.demo import generator
from shequ.emergency import demo as emergency_demo
from shequ.govservice import demo as govservice_demo
from shequ.grid import demo as grid_demo
from shequ.iot import demo as iot_demo
from shequ.participation.demo import consult
from shequ.participation.models import (
    Comment,
    CommentAppeal,
    CommentStatus,
    Feedback,
    Stage,
    Support,
    Topic,
    TopicFile,
    TopicStep,
)
from shequ.registry import demo as registry_demo
from shequ.registry.tests.test_demo import load_regions


@pytest.fixture
def demo_street(
    db: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, settings: Any
) -> generator.DemoResult:
    """The demo generator with a small registry and few tickets, without IoT, the rainstorm and the
    government services."""
    settings.VAR_DIR = tmp_path
    load_regions()
    monkeypatch.setattr(registry_demo.generator, "PEOPLE_PER_SIZE", 2000)
    monkeypatch.setattr(grid_demo, "TICKETS_PER_SIZE", 10)
    monkeypatch.setattr(generator, "generate_iot", lambda **kw: iot_demo.IotSummary(skipped=True))
    monkeypatch.setattr(
        generator, "generate_emergency", lambda **kw: emergency_demo.EmergencySummary(skipped=True)
    )
    monkeypatch.setattr(
        generator, "generate_govservice", lambda **kw: govservice_demo.GovSummary(skipped=True)
    )
    return generator.generate(size=1)


def test_demo_consultations(demo_street: generator.DemoResult) -> None:
    assert demo_street.participation is not None  # the demo builder made them
    summary = demo_street.participation.consult
    assert summary is not None and not summary.skipped, summary
    assert consult.generate_consultations(seed=7).skipped  # run again: left alone
    for community in consult.COMMUNITIES:
        stages = set(Topic.objects.filter(region_code__startswith=community).values_list("stage", flat=True))
        assert stages == {s.value for s in Stage}, (community, stages)
    assert summary.topics == Topic.objects.count() == 2 * (len(consult.SCRIPTS) + 2)
    assert Support.objects.count() == summary.supports > 0
    assert Feedback.objects.count() == summary.feedback > 0
    assert Comment.objects.filter(status=CommentStatus.HIDDEN_PENDING, body=consult.SPAM).count() == 2
    assert CommentAppeal.objects.filter(decided_at__isnull=True).count() == 2
    assert TopicFile.objects.filter(public=True).exists() and TopicFile.objects.filter(public=False).exists()
    now = timezone.now()
    for topic in Topic.objects.all():
        steps = list(TopicStep.objects.filter(topic=topic).order_by("pk"))
        assert [s.at for s in steps] == sorted(s.at for s in steps), topic.title
        assert all(s.at <= now for s in steps)
        if topic.decision:
            assert topic.meeting_at is not None and topic.meeting_at <= steps[-1].at
    assert any(a.username == "resident" for a in demo_street.accounts)
    mine = Topic.objects.filter(proposer_user__username="resident", proposed_by_resident=True)
    assert set(mine.values_list("stage", flat=True)) == {Stage.PROPOSED, Stage.DECLINED}
    assert (
        Comment.objects.filter(user__username="resident").exists()
        or Support.objects.filter(user__username="resident").exists()
    )
    closed = Topic.objects.filter(stage=Stage.CLOSED).first()
    assert closed is not None
    page = Client().get(reverse("participation:consult_public_topic", args=[closed.pk]))
    assert page.status_code == 200 and "楼道堆物清理" in page.content.decode()
    listing = Client().get(reverse("participation:consult_public_list", args=[consult.COMMUNITIES[1]]))
    assert "增设电动车充电桩" in listing.content.decode()
    assert consult.generate_consultations(seed=7).skipped  # idempotent
    assert "consultations:" in summary.line()
