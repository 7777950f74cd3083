"""Committee elections and owners' votes through the services: registration rules, one list per
person and term, publication and objections, 差额, proxies, the by-election path, and an owners'
vote counted on headcount and floor area alike (recomputed by the verifier)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from shequ.participation.crypto.verifier import verify
from shequ.participation.models import Objection, Vote, VoteKind, VoteStatus
from shequ.participation.selectors_votes import board_export
from shequ.participation.services import votes as svc
from shequ.participation.tests.fixtures_votes import Votes, register
from shequ.registry import services as registry
from shequ.registry.models import House
from shequ.registry.tests.conftest import COMMUNITY_A, COMMUNITY_B

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def election(votes: Votes, *, region: str = COMMUNITY_A, days: int = 25, **extra: object) -> Vote:
    now = timezone.now()
    return svc.vote_create(
        actor=votes["head_a"] if region == COMMUNITY_A else votes["head_b"],
        region=votes.reg.region(region),
        kind="election",
        title="换届选举",
        cutoff_date=now.date(),
        opens_at=now + dt.timedelta(days=days),
        closes_at=now + dt.timedelta(days=days, hours=10),
        election_day=(now + dt.timedelta(days=days)).date(),
        seats=2,
        **extra,  # type: ignore[arg-type]
    )


def test_a_person_is_on_one_list_per_term(votes: Votes) -> None:
    first = election(votes)
    svc.roll_compute(actor=votes["head_a"], vote=first)
    mover = votes.adults[2]
    # Community B registers a newcomer who is still on A's list: left out, and added by hand refused.
    registry.person_move(actor=None, person=mover, house=votes.reg.houses["c"][1], on=timezone.localdate())
    second = election(votes, region=COMMUNITY_B)
    summary = svc.roll_compute(actor=votes["head_b"], vote=second)
    assert summary.elsewhere == 1
    assert not second.voters.filter(person=mover).exists()
    with pytest.raises(svc.VoteError, match="another community"):
        svc.voter_add(actor=votes["head_b"], vote=second, person_id=mover.pk, note="本人申请")


def test_the_village_rule_needs_local_household_registration(votes: Votes) -> None:
    vote = election(votes, residence_rule="village")
    local = register(
        votes.reg,
        "本村",
        votes.reg.houses["a"][1],
        birth="19700101",
        since=dt.date(2020, 1, 1),
        hukou_region_code=COMMUNITY_A,
    )
    svc.roll_compute(actor=votes["head_a"], vote=vote)
    on_list = set(vote.voters.values_list("person_id", flat=True))
    assert on_list == {local.pk}  # the others' household registration is elsewhere
    # Registered elsewhere, here over a year, accepted by the villagers' meeting: added with a reason.
    voter = svc.voter_add(
        actor=votes["head_a"],
        vote=vote,
        person_id=votes.adults[2].pk,
        note="户籍在外，居住满一年，村民会议同意",
    )
    assert voter.source == "added"
    with pytest.raises(svc.VoteError, match="18"):
        svc.voter_add(actor=votes["head_a"], vote=vote, person_id=votes.minor.pk, note="申请")


def test_publication_objections_and_their_deadlines(votes: Votes) -> None:
    vote = election(votes, days=19)
    svc.roll_compute(actor=votes["head_a"], vote=vote)
    svc.roll_publish(actor=votes["head_a"], vote=vote)
    vote.refresh_from_db()
    assert "roll" in svc.readiness(vote)  # fewer than 20 days before election day
    objection = svc.objection_file(
        actor=votes["resident"], vote=vote, person_id=votes.minor.pk, kind="left_out", reason="已满18岁"
    )
    svc.objection_decide(
        actor=votes["head_a"], objection=objection, upheld=False, answer="选举日未满十八周岁"
    )
    with pytest.raises(svc.VoteError, match="already decided"):
        svc.objection_decide(actor=votes["head_a"], objection=objection, upheld=True, answer="改判")
    Vote.objects.filter(pk=vote.pk).update(objection_deadline=timezone.now() - dt.timedelta(seconds=1))
    vote.refresh_from_db()
    with pytest.raises(svc.VoteError, match="ended"):
        svc.objection_file(
            actor=votes["resident"],
            vote=vote,
            person_id=votes.adults[0].pk,
            kind="not_eligible",
            reason="迟到",
        )
    assert Objection.objects.count() == 1


def test_an_election_needs_more_candidates_than_seats(votes: Votes) -> None:
    vote = election(votes)
    svc.roll_compute(actor=votes["head_a"], vote=vote)
    for person in votes.adults[:2]:
        svc.option_add(actor=votes["head_a"], vote=vote, person_id=person.pk)
    with pytest.raises(svc.VoteError, match="差额"):
        svc.candidates_finalize(actor=votes["head_a"], vote=vote)
    with pytest.raises(svc.VoteError, match="voter on this election"):
        svc.option_add(actor=votes["head_a"], vote=vote, person_id=votes.minor.pk)
    svc.option_add(actor=votes["head_a"], vote=vote, person_id=votes.adults[2].pk)
    svc.candidates_finalize(actor=votes["head_a"], vote=vote)
    assert list(vote.options.values_list("position", flat=True)) == [1, 2, 3]


def test_an_election_cannot_open_without_three_keyed_trustees(votes: Votes) -> None:
    votes.trustees = votes.trustees[:2]
    vote = votes.election()
    with pytest.raises(svc.VoteError) as refused:
        svc.vote_open(actor=votes["head_a"], vote=vote)
    assert "trustees" in refused.value.message_dict
    assert Vote.objects.get(pk=vote.pk).status == VoteStatus.DRAFT


def test_proxies_are_recorded_limited_and_marked(votes: Votes) -> None:
    vote = votes.election(allow_proxy=True)
    lines = {p.pk: votes.voter(vote, p) for p in votes.adults}
    holder = lines[votes.adults[0].pk]
    for absent in votes.adults[1:4]:
        svc.proxy_record(
            actor=votes["head_a"],
            voter=lines[absent.pk],
            holder=holder,
            relation="配偶",
            document="委托书001",
        )
    with pytest.raises(svc.VoteError, match="at most 3"):
        svc.proxy_record(
            actor=votes["head_a"],
            voter=lines[votes.adults[4].pk],
            holder=holder,
            relation="子女",
            document="委托书002",
        )
    vote = svc.vote_open(actor=votes["head_a"], vote=vote)
    lines_for_holder = svc.voters_for_person(vote, votes.adults[0].pk)
    assert len(lines_for_holder) == 4 and sum(1 for _v, proxy in lines_for_holder if proxy) == 3
    entrusted, _proxy = next(x for x in lines_for_holder if x[1])
    svc.ballot_cast(voter=entrusted, ballot=votes.ballot(vote, entrusted, [1, 0, 0]))
    assert svc.voted_lines(vote, [entrusted]) == {entrusted.pk}
    votes.close(vote)
    entrusted.refresh_from_db()
    assert entrusted.voted and entrusted.by_proxy  # marked at closing, from the entrustment
    # Someone who entrusted their vote cannot also vote themselves.
    assert svc.voters_for_person(vote, votes.adults[1].pk) == []


def test_empty_seats_go_to_a_by_election(votes: Votes) -> None:
    vote = svc.vote_open(actor=votes["head_a"], vote=votes.election(seats=2, candidates=3))
    for person, picks in zip(votes.adults, ([1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 0, 0]), strict=False):
        votes.cast(vote, person, picks)
    vote = votes.decrypt(votes.close(vote))
    assert vote.result["counts"] == [4, 1, 1]
    assert vote.result["outcome"]["elected"] == [0] and vote.result["outcome"]["empty_seats"] == 1
    child = svc.by_election_create(actor=votes["head_a"], vote=vote)
    assert child.kind == VoteKind.BY_ELECTION and child.seats == 1
    assert (
        list(child.options.values_list("label", flat=True))
        == [o.label for o in vote.options.order_by("position")][1:]
    )
    assert (
        child.voters.count()
        == vote.voters.filter(removed_at__isnull=False).count()
        + vote.voters.filter(removed_at__isnull=True).count()
    )
    now = timezone.now()
    svc.vote_schedule(
        actor=votes["head_a"],
        vote=child,
        opens_at=now - dt.timedelta(minutes=1),
        closes_at=now + dt.timedelta(hours=1),
        election_day=now.date(),
    )
    for trustee in child.trustees.order_by("position"):
        from shequ.participation.crypto.trustees import make_key_share

        share = make_key_share(str(child.uid), trustee.position)
        votes.shares[trustee.position] = share
        svc.trustee_key_submit(
            actor=trustee.user, trustee=trustee, public_key=share.public_hex, proof=share.proof
        )
    child = svc.vote_open(actor=votes["head_a"], vote=child)
    for person, picks in zip(votes.adults, ([1, 0], [0, 1], [0, 1], [0, 0]), strict=False):
        votes.cast(child, person, picks)
    child = votes.decrypt(votes.close(child))
    # 2 of 4 ballots is at least a third: elected in the by-election.
    assert child.result["outcome"]["elected"] == [1]
    assert verify(board_export(child)).ok
    with pytest.raises(svc.VoteError, match="already called"):
        svc.by_election_create(actor=votes["head_a"], vote=vote)


def test_an_owners_vote_counts_headcount_and_floor_area(votes: Votes) -> None:
    reg = votes.reg
    since = dt.date(2020, 1, 1)
    owners = votes.adults[:5]
    houses = [*reg.houses["a"], *reg.houses["b"][:2]]
    areas = [Decimal("60"), Decimal("80"), Decimal("100"), Decimal("120"), Decimal("140")]
    for person, house, area in zip(owners, houses, areas, strict=True):
        House.objects.filter(pk=house.pk).update(area=area)
        if person.house_id != house.pk:
            registry.residence_add(actor=None, person=person, house=house, relation="owner", since=since)
        else:
            from shequ.registry.models import Residence

            Residence.objects.filter(person=person, house=house).update(relation="owner")
    House.objects.filter(pk=reg.houses["b"][2].pk).update(area=Decimal("100"))  # unsold
    vote = votes.poll(
        kind="owners", options=("同意", "不同意"), title="使用专项维修资金维修电梯", matter="ordinary"
    )
    assert vote.voters.count() == 6  # five owners and the developer's one voice
    vote = svc.vote_open(actor=votes["head_a"], vote=vote)
    # Four owners take part: 4 of 6 voices, 440 of 600 m², two thirds of both; yes 3 voices, 320 m².
    for person, yes in zip(owners[1:], (1, 1, 0, 1), strict=True):
        votes.cast(vote, person, [yes, 1 - yes])
    vote = votes.close(vote)
    assert vote.result["counts"] == [3, 1] and vote.result["counts_area"] == [32000, 12000]
    assert vote.result["cast_area"] == 44000 and vote.result["electorate_area"] == 60000
    assert vote.result["outcome"] == {"valid": True, "passed": [0], "reasons": []}
    report = verify(board_export(vote))
    assert report.ok, report.problems
    assert report.counts_area == [32000, 12000]


def test_voting_cannot_open_during_the_objection_period(votes: Votes) -> None:
    vote = votes.election()
    Vote.objects.filter(pk=vote.pk).update(objection_deadline=timezone.now() + dt.timedelta(days=2))
    vote.refresh_from_db()
    assert "roll" in svc.readiness(vote)
    with pytest.raises(svc.VoteError):
        svc.vote_open(actor=votes["head_a"], vote=vote)


def test_election_day_is_fixed_once_the_list_is_published(votes: Votes) -> None:
    vote = election(votes)
    svc.roll_compute(actor=votes["head_a"], vote=vote)
    svc.roll_publish(actor=votes["head_a"], vote=vote)
    vote.refresh_from_db()
    assert vote.opens_at is not None
    earlier = vote.opens_at - dt.timedelta(days=3)
    with pytest.raises(svc.VoteError, match="published"):
        svc.vote_schedule(
            actor=votes["head_a"],
            vote=vote,
            opens_at=earlier,
            closes_at=earlier + dt.timedelta(hours=8),
            election_day=earlier.date(),
        )


def test_an_unpublished_list_is_computed_again_when_election_day_moves(votes: Votes) -> None:
    vote = election(votes)
    svc.roll_compute(actor=votes["head_a"], vote=vote)
    assert vote.opens_at is not None
    later = vote.opens_at + dt.timedelta(days=3)
    svc.vote_schedule(
        actor=votes["head_a"],
        vote=vote,
        opens_at=later,
        closes_at=later + dt.timedelta(hours=8),
        election_day=later.date(),
    )
    assert not vote.voters.exists()  # ages are counted again with the new day
    assert "voters" in svc.readiness(Vote.objects.get(pk=vote.pk))


def test_a_second_objection_about_the_same_person(votes: Votes) -> None:
    vote = election(votes)
    svc.roll_compute(actor=votes["head_a"], vote=vote)
    svc.roll_publish(actor=votes["head_a"], vote=vote)
    vote.refresh_from_db()
    person = votes.adults[1]
    first = svc.objection_file(
        actor=votes["resident"], vote=vote, person_id=person.pk, kind="not_eligible", reason="已迁出"
    )
    with pytest.raises(svc.VoteError, match="already waiting"):
        svc.objection_file(
            actor=votes["head_a"], vote=vote, person_id=person.pk, kind="not_eligible", reason="已迁出"
        )
    svc.voter_remove(actor=votes["head_a"], voter=votes.voter(vote, person), reason="核实已迁出")
    # Upholding after the line went: recorded, nothing else to change, no error.
    decided = svc.objection_decide(actor=votes["head_a"], objection=first, upheld=True, answer="成立")
    assert decided.upheld and not vote.voters.filter(person=person, removed_at__isnull=True).exists()


def test_owners_decide_in_an_owners_vote_not_a_poll(votes: Votes) -> None:
    now = timezone.now()
    with pytest.raises(svc.VoteError) as refused:
        svc.vote_create(
            actor=votes["head_a"],
            region=votes.reg.region(COMMUNITY_A),
            kind="poll",
            electorate="owners",
            matter="special",
            title="筹集维修资金",
            cutoff_date=now.date(),
            opens_at=now,
            closes_at=now + dt.timedelta(days=1),
        )
    assert "electorate" in refused.value.message_dict
