"""An election's term is its election day's year, never text a community types: the same person
cannot be on two communities' lists of one round of elections however each would have spelled it;
a void election holds no one, and platform-held keys are refused for elections."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shequ.participation.models import Vote, VoteStatus
from shequ.participation.services import votes as svc
from shequ.participation.tests.fixtures_votes import Votes
from shequ.registry import services as registry
from shequ.registry.tests.conftest import COMMUNITY_A, COMMUNITY_B

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

NEXT_YEAR = timezone.localdate().year + 1


def election(votes: Votes, region: str, day: dt.date, **extra: object) -> Vote:
    opens = timezone.make_aware(dt.datetime.combine(day, dt.time(8)))
    return svc.vote_create(
        actor=votes["head_a"] if region == COMMUNITY_A else votes["head_b"],
        region=votes.reg.region(region),
        kind="election",
        title="换届选举",
        cutoff_date=timezone.localdate(),
        opens_at=opens,
        closes_at=opens + dt.timedelta(hours=10),
        election_day=day,
        seats=2,
        **extra,  # type: ignore[arg-type]
    )


def test_two_communities_electing_in_one_year_share_the_term_whatever_they_call_it(votes: Votes) -> None:
    """Community A elects in March and types "第十二届" as the term's name in the form, community B
    in November with "2026年": both lists belong to the same year, so a person who moved from A
    to B is on A's list only."""
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(votes["head_a"])
    march = timezone.make_aware(dt.datetime(NEXT_YEAR, 3, 1, 8))
    form = {
        "region": COMMUNITY_A,
        "kind": "election",
        "title": "第十二届居民委员会选举",
        "electorate": "voters",
        "matter": "ordinary",
        "quorum": "none",
        "max_choices": 2,
        "seats": 2,
        "cutoff_date": timezone.localdate().isoformat(),
        "opens_at": march.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (march + dt.timedelta(hours=10)).strftime("%Y-%m-%dT%H:%M"),
        "election_day": march.date().isoformat(),
        "residence_rule": "community",
        "key_mode": "trustees",
        "term": "第十二届",  # a field the form no longer has: ignored
    }
    response = staff.post(reverse("participation:vote_new"), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    first = Vote.objects.get(region_code=COMMUNITY_A)
    assert first.term == str(NEXT_YEAR)
    svc.roll_compute(actor=votes["head_a"], vote=first)
    mover = votes.adults[2]
    registry.person_move(actor=None, person=mover, house=votes.reg.houses["c"][1], on=timezone.localdate())
    second = election(votes, COMMUNITY_B, dt.date(NEXT_YEAR, 11, 20))
    assert second.term == first.term
    assert svc.roll_compute(actor=votes["head_b"], vote=second).elsewhere == 1
    assert not second.voters.filter(person=mover).exists()
    with pytest.raises(svc.VoteError, match="another community"):
        svc.voter_add(actor=votes["head_b"], vote=second, person_id=mover.pk, note="本人申请")
    # Moving B's election day into the following year moves its list to that year's term …
    later = timezone.make_aware(dt.datetime(NEXT_YEAR + 1, 1, 10, 8))
    svc.vote_schedule(
        actor=votes["head_b"],
        vote=second,
        opens_at=later,
        closes_at=later + dt.timedelta(hours=10),
        election_day=later.date(),
    )
    second.refresh_from_db()
    assert second.term == str(NEXT_YEAR + 1)
    assert set(second.voters.values_list("term", flat=True)) <= {str(NEXT_YEAR + 1)}
    # … where the mover is on no other list.
    svc.voter_add(actor=votes["head_b"], vote=second, person_id=mover.pk, note="本人申请")


def test_a_void_election_holds_no_one_for_the_term(votes: Votes) -> None:
    """One voter in five takes part: the election is void, and its list no longer keeps its
    people off a new election of the same year."""
    vote = svc.vote_open(actor=votes["head_a"], vote=votes.election())
    votes.cast(vote, votes.adults[0], [1, 1, 0])
    vote = votes.decrypt(votes.close(vote))
    assert vote.status == VoteStatus.DECIDED and vote.result["outcome"]["valid"] is False
    assert vote.election_day is not None
    assert set(vote.voters.values_list("term", flat=True)) == {""}
    again = election(votes, COMMUNITY_A, vote.election_day)  # held again, the same year
    assert again.term == vote.term == str(vote.election_day.year)
    summary = svc.roll_compute(actor=votes["head_a"], vote=again)
    assert summary.elsewhere == 0 and summary.voters == vote.voters.count()


def test_an_election_refuses_a_key_held_by_the_platform(votes: Votes) -> None:
    """Ballot secrecy of an election rests on the trustees: the platform may not hold its key."""
    with pytest.raises(svc.VoteError) as refused:
        election(votes, COMMUNITY_A, dt.date(NEXT_YEAR, 3, 1), key_mode="platform")
    assert "trustees" in str(refused.value.message_dict["key_mode"])
    assert not Vote.objects.exists()


def test_the_migration_names_terms_and_a_void_election_gives_its_year_up(votes: Votes) -> None:
    """Migration 0007 on lists made before the term was the year: a void election of the year holds
    no one, so the community's re-run takes the year's name for its list."""
    import importlib

    from django.apps import apps

    from shequ.participation.models import Voter

    migration = importlib.import_module("shequ.participation.migrations.0007_term_is_the_election_year")
    void = votes.election()
    Vote.objects.filter(pk=void.pk).update(
        status=VoteStatus.DECIDED, result={"outcome": {"valid": False}}, term="2026年"
    )
    Voter.objects.filter(vote=void).update(term="2026年")
    people = list(Voter.objects.filter(vote=void).values_list("person_id", flat=True))
    rerun = votes.election()
    Voter.objects.filter(vote=rerun).delete()
    for person in people:  # the same people on the re-run's list, under another spelling
        Voter.objects.create(vote=rerun, person_id=person, label="x", term="第十二届")
    Vote.objects.filter(pk=rerun.pk).update(term="第十二届")
    assert people
    migration.name_terms(apps, None)
    assert rerun.election_day is not None
    year = str(rerun.election_day.year)
    assert set(Voter.objects.filter(vote=void).values_list("term", flat=True)) == {""}
    assert set(Voter.objects.filter(vote=rerun).values_list("term", flat=True)) == {year}
    assert Vote.objects.get(pk=rerun.pk).term == year
