"""The demo's votes: after the demo builder ran on a small generated town, 枇杷塘 has a decided
election whose board verifies, an open decision vote the demo resident can still vote in, an open
owners' vote weighted by floor area, and 泽盛 an election being prepared with its list published
and trustees to make their keys. Run again: left alone."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.demo import generator
from shequ.emergency import demo as emergency_demo
from shequ.govservice import demo as gov_demo
from shequ.grid import demo as grid_demo
from shequ.iot import demo as iot_demo
from shequ.participation.demo import votes as demo
from shequ.participation.models import Vote, VoteKind, VoteStatus
from shequ.participation.selectors_votes import resident_votes
from shequ.participation.services.votes.casting import voting_now
from shequ.registry import demo as registry_demo
from shequ.registry.tests.test_demo import load_regions

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_street(
    db: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, settings: Any
) -> generator.DemoResult:
    settings.VAR_DIR = tmp_path
    load_regions()
    monkeypatch.setattr(registry_demo.generator, "PEOPLE_PER_SIZE", 2000)
    monkeypatch.setattr(grid_demo, "TICKETS_PER_SIZE", 5)
    monkeypatch.setattr(generator, "generate_iot", lambda **kw: iot_demo.IotSummary(skipped=True))
    monkeypatch.setattr(
        generator, "generate_emergency", lambda **kw: emergency_demo.EmergencySummary(skipped=True)
    )
    monkeypatch.setattr(generator, "generate_govservice", lambda **kw: gov_demo.GovSummary(skipped=True))
    return generator.generate(size=1)


def test_demo_votes(demo_street: generator.DemoResult) -> None:
    assert demo_street.participation is not None
    summary = demo_street.participation.votes
    assert not summary.skipped and summary.verified, summary.line()
    election = Vote.objects.get(kind=VoteKind.ELECTION, status=VoteStatus.DECIDED)
    assert election.result["outcome"]["valid"]
    assert election.result["cast"] * 2 > election.result["electorate"]
    assert election.options.count() == demo.CANDIDATES > election.seats
    poll = Vote.objects.get(kind=VoteKind.POLL)
    owners = Vote.objects.get(kind=VoteKind.OWNERS)
    assert voting_now(poll) and voting_now(owners)
    assert owners.ballots.filter(current=True).exists() and owners.manifest["weighted"]
    from shequ.core.models import User

    resident = User.objects.get(username="resident")
    mine = {v.pk: lines for v, lines in resident_votes(resident)}
    assert poll.pk in mine and not any(line.voted for line, _proxy in mine[poll.pk])
    prepared = Vote.objects.get(status=VoteStatus.DRAFT)
    assert prepared.roll_published_at is not None and prepared.trustees.count() == 3
    assert not prepared.trustees.filter(keyed_at__isnull=False).exists()
    again = demo.generate_votes()
    assert again.skipped
