"""Polls, owners' votes and elections end to end through the services: the electorate, casting
and re-voting, closing, the trustees' decryption, the decision, the board and its verifier."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from shequ.participation.crypto.ballots import tracker
from shequ.participation.crypto.verifier import verify
from shequ.participation.models import BoardEntry, CastBallot, Vote, VoteStatus
from shequ.participation.selectors_votes import board_export
from shequ.participation.services import votes as svc
from shequ.participation.tests.fixtures_votes import Votes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def open_vote(votes: Votes, vote: Vote) -> Vote:
    return svc.vote_open(actor=votes["head_a"], vote=vote)


def test_a_poll_counts_the_ballots_and_decides_after_closing(votes: Votes) -> None:
    vote = open_vote(votes, votes.poll())
    assert vote.voters.filter(removed_at__isnull=True).count() == 5  # the 17-year-old is not on it
    for person, choice in zip(votes.adults, ([1, 0, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0]), strict=False):
        votes.cast(vote, person, choice)
    assert vote.result == {}  # nothing is known before closing
    vote = votes.close(vote)
    assert vote.status == VoteStatus.DECIDED  # the platform's key: counted at once
    assert vote.result["counts"] == [3, 1, 0]
    assert vote.result["cast"] == 4
    assert vote.result["outcome"] == {"valid": True, "passed": [0], "reasons": []}
    report = verify(board_export(vote))
    assert report.ok, report.problems
    assert report.counts == [3, 1, 0]
    assert verify(board_export(vote), jobs=2).counts == [3, 1, 0]  # the same on two processes
    assert vote.platform_secret == "" and vote.credential_key == ""


def test_a_revote_replaces_the_earlier_ballot(votes: Votes) -> None:
    vote = open_vote(votes, votes.poll())
    first = votes.cast(vote, votes.adults[0], [0, 1, 0])
    second = votes.cast(vote, votes.adults[0], [1, 0, 0])
    assert second.replaced and not first.replaced
    assert CastBallot.objects.filter(vote=vote, current=True).count() == 1
    vote = votes.close(vote)
    assert vote.result["counts"] == [1, 0, 0]
    report = verify(board_export(vote), [first.tracker, second.tracker])
    assert report.ok, report.problems
    assert report.trackers == {first.tracker: "superseded", second.tracker: "counted"}
    assert report.ballots == 2 and report.counted == 1


def test_a_ballot_prepared_for_someone_else_is_refused(votes: Votes) -> None:
    vote = open_vote(votes, votes.poll())
    mine, theirs = votes.voter(vote, votes.adults[0]), votes.voter(vote, votes.adults[1])
    ballot = votes.ballot(vote, theirs, [1, 0, 0])
    with pytest.raises(svc.VoteError, match="not prepared for you"):
        svc.ballot_cast(voter=mine, ballot=ballot)
    # A ballot copied from the board and relabelled with one's own credential fails its proofs.
    ballot["credential"] = svc.credential_for(vote, mine)
    with pytest.raises(svc.VoteError, match="refused"):
        svc.ballot_cast(voter=mine, ballot=ballot)
    assert not BoardEntry.objects.filter(vote=vote, kind="ballot").exists()
    assert not vote.voters.filter(voted=True).exists()


def test_a_ballot_over_the_allowed_choices_is_refused(votes: Votes) -> None:
    vote = open_vote(votes, votes.poll())  # one choice
    voter = votes.voter(vote, votes.adults[0])
    honest = votes.ballot(vote, voter, [1, 0, 0])
    two = votes.ballot(vote, voter, [0, 1, 0])
    # Splice a second "yes" into a valid ballot: each choice proves 0 or 1, the total cannot prove ≤ 1.
    forged = {**honest, "choices": [honest["choices"][0], two["choices"][1], honest["choices"][2]]}
    with pytest.raises(svc.VoteError, match="refused"):
        svc.ballot_cast(voter=voter, ballot=forged)


def test_voting_before_opening_or_after_closing_is_refused(votes: Votes) -> None:
    vote = open_vote(votes, votes.poll())
    voter = votes.voter(vote, votes.adults[0])
    ballot = votes.ballot(vote, voter, [1, 0, 0])
    Vote.objects.filter(pk=vote.pk).update(closes_at=timezone.now() - dt.timedelta(seconds=1))
    vote.refresh_from_db()
    with pytest.raises(svc.VoteError, match="not open"):
        svc.ballot_cast(voter=votes.voter(vote, votes.adults[0]), ballot=ballot)
    with pytest.raises(svc.VoteError, match="not before"):
        Vote.objects.filter(pk=vote.pk).update(closes_at=timezone.now() + dt.timedelta(hours=1))
        vote.refresh_from_db()
        svc.vote_close(actor=votes["head_a"], vote=vote)


def test_an_election_needs_the_trustees_to_count(votes: Votes) -> None:
    vote = open_vote(votes, votes.election(seats=2, candidates=3))
    picks = ([1, 1, 0], [1, 0, 1], [1, 1, 0], [0, 1, 1])
    receipts = [votes.cast(vote, p, s) for p, s in zip(votes.adults, picks, strict=False)]
    vote = votes.close(vote)
    assert vote.status == VoteStatus.CLOSED and vote.result == {}  # waits for the trustees
    first = vote.trustees.order_by("position").first()
    assert first is not None
    with pytest.raises(PermissionDenied):
        svc.trustee_decrypt_submit(actor=votes.trustees[1], trustee=first, shares=[])
    vote = votes.decrypt(vote)
    assert vote.status == VoteStatus.DECIDED
    assert vote.result["counts"] == [3, 3, 2]
    # 4 of 5 voted (valid); more than half of 4 ballots is 3: candidates 1 and 2 are elected.
    assert vote.result["outcome"]["valid"] and vote.result["outcome"]["elected"] == [0, 1]
    report = verify(board_export(vote), [r.tracker for r in receipts])
    assert report.ok, report.problems
    assert set(report.trackers.values()) == {"counted"}


def test_a_trustees_wrong_share_is_refused(votes: Votes) -> None:
    vote = votes.close(open_vote(votes, votes.election()))
    trustee = vote.trustees.order_by("position").first()
    assert trustee is not None
    other = votes.shares[2]  # another trustee's secret
    from shequ.participation.crypto.elgamal import Ciphertext
    from shequ.participation.crypto.trustees import count_shares
    from shequ.participation.services.votes.counting import close_entry

    totals = [Ciphertext.from_json(t) for t in close_entry(vote)["totals"]]
    with pytest.raises(svc.VoteError, match="does not verify"):
        svc.trustee_decrypt_submit(
            actor=trustee.user,
            trustee=trustee,
            shares=count_shares(other.secret, vote.manifest_hash, trustee.position, totals),
        )


def test_the_verifier_detects_a_missing_tracker_and_a_rewritten_board(votes: Votes) -> None:
    vote = open_vote(votes, votes.poll())
    kept = votes.cast(vote, votes.adults[0], [1, 0, 0])
    dropped = votes.cast(vote, votes.adults[1], [0, 1, 0])
    vote = votes.close(vote)
    board = board_export(vote)
    # Cut the second ballot out: the chain breaks.
    cut = json.loads(json.dumps(board))
    cut["entries"] = [e for e in cut["entries"] if e["payload"].get("tracker") != dropped.tracker]
    report = verify(cut, [kept.tracker, dropped.tracker])
    assert not report.ok and any("chain" in p for p in report.problems)
    # Rebuild the chain without it (a server rewriting its board): the voter's tracker is missing
    # and the counts no longer add up.
    from shequ.participation.crypto.ballots import canonical
    from shequ.participation.crypto.verifier import GENESIS, entry_hash

    prev = GENESIS
    for n, e in enumerate(cut["entries"]):
        e["seq"], e["prev_hash"] = n, prev
        e["hash"] = prev = entry_hash(prev, n, e["kind"], canonical(e["payload"]))
    report = verify(cut, [kept.tracker, dropped.tracker])
    assert report.trackers[dropped.tracker] == "missing"
    assert not report.ok


def test_the_verifier_recomputes_the_announced_result(votes: Votes) -> None:
    vote = open_vote(votes, votes.poll())
    votes.cast(vote, votes.adults[0], [1, 0, 0])
    vote = votes.close(vote)
    board = board_export(vote)
    tally = board["entries"][-1]
    assert tally["kind"] == "tally"
    tally["payload"]["counts"] = [0, 1, 0]  # a false announcement, re-hashed to look consistent
    from shequ.participation.crypto.ballots import canonical
    from shequ.participation.crypto.verifier import entry_hash

    tally["hash"] = entry_hash(tally["prev_hash"], tally["seq"], "tally", canonical(tally["payload"]))
    report = verify(board)
    assert not report.ok
    assert report.counts == [1, 0, 0]


def test_no_table_joins_a_voter_to_a_ballot() -> None:
    """Who voted (the roll) and what was voted (the board and its index) never meet: no table with
    a ballot column refers to a person, an account or a roll line, directly or through its foreign
    keys, and no roll table refers to a ballot.

    This covers the schema only. The columns PostgreSQL adds to every row — the writing
    transaction's id (``xmin``) and the row's place (``ctid``) — are covered by
    ``test_vote_secrecy.test_after_closing_no_row_stamp_or_row_order_joins_a_voter_to_a_ballot``
    (marks and ballots written apart; after closing one stamp for all, roll order, vacuumed), and
    the staff pages by ``test_staff_see_who_voted_line_by_line_only_after_closing``. Copies made
    while the vote was open (WAL, backups) are docs/security.md's to explain."""
    from django.apps import apps

    ballot_columns = {"payload", "credential", "tracker"}

    def reachable(model: Any, seen: set[str]) -> set[str]:
        label = model._meta.label_lower
        if label in seen:
            return seen
        seen.add(label)
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model is not None:
                reachable(f.related_model, seen)
        return seen

    ballot_models = [
        m
        for m in apps.get_app_config("participation").get_models()
        if ballot_columns & {f.name for f in m._meta.concrete_fields}
    ]
    assert {m.__name__ for m in ballot_models} == {"BoardEntry", "CastBallot"}
    for model in ballot_models:
        # Following foreign keys from a ballot reaches the vote (and its creator, a staff account:
        # the vote row has no choice), never a roll line or the person who voted.
        reached = reachable(model, set()) - {model._meta.label_lower}
        assert not reached & {"registry.person", "participation.voter", "participation.proxy"}, model
    for label in ("participation.voter", "participation.proxy"):
        assert not reachable(apps.get_model(label), set()) & {
            "participation.castballot",
            "participation.boardentry",
        }


def test_the_roll_records_a_day_not_a_time() -> None:
    from shequ.participation.models import Voter

    field = Voter._meta.get_field("voted_on")
    assert field.get_internal_type() == "DateField"


def test_staff_of_a_sibling_community_cannot_run_the_vote(votes: Votes) -> None:
    vote = votes.poll()
    with pytest.raises(PermissionDenied):
        svc.vote_open(actor=votes["head_b"], vote=vote)
    with pytest.raises(PermissionDenied):
        svc.option_add(actor=votes["head_b"], vote=vote, label="另一个")


def test_results_are_tracked_by_tracker(votes: Votes) -> None:
    vote = open_vote(votes, votes.poll())
    voter = votes.voter(vote, votes.adults[0])
    ballot = votes.ballot(vote, voter, [0, 0, 1])
    receipt = svc.ballot_cast(voter=voter, ballot=ballot)
    assert receipt.tracker == tracker(ballot)
    assert CastBallot.objects.get(vote=vote, current=True).tracker == receipt.tracker


@pytest.mark.django_db(transaction=True)
def test_two_ballots_sent_at_once_leave_one_counted(votes: Votes) -> None:
    """Two simultaneous submissions by one voter: both are checked and appended in turn under the
    vote's lock, the later replaces the earlier, exactly one counts (the partial unique index
    would refuse a second counted ballot even without the lock)."""
    import threading

    vote = open_vote(votes, votes.poll())
    voter = votes.voter(vote, votes.adults[0])
    ballots = [votes.ballot(vote, voter, [1, 0, 0]), votes.ballot(vote, voter, [0, 1, 0])]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def cast(ballot: dict[str, Any]) -> None:
        try:
            barrier.wait()
            svc.ballot_cast(voter=voter, ballot=ballot)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=cast, args=(b,)) for b in ballots]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors or all(isinstance(e, svc.VoteError) for e in errors), errors
    assert CastBallot.objects.filter(vote=vote, current=True).count() == 1
    assert svc.voted_count(vote) == 1
    seqs = list(BoardEntry.objects.filter(vote=vote).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(len(seqs)))  # no gap, no duplicate


def test_numbers_as_json_integers_or_extra_keys_are_refused_at_the_box(votes: Votes) -> None:
    """A ballot re-spelled (integers for hex) or padded (extra keys in a proof) verifies the same
    mathematics under another tracker: both are refused, so closing never meets a number it cannot
    read."""
    vote = open_vote(votes, votes.poll())
    voter = votes.voter(vote, votes.adults[0])
    ballot = votes.ballot(vote, voter, [1, 0, 0])
    spelled = json.loads(json.dumps(ballot))
    spelled["choices"][0]["a"] = int(spelled["choices"][0]["a"], 16)
    padded = json.loads(json.dumps(ballot))
    padded["total"]["note"] = "x"
    for bad in (spelled, padded):
        with pytest.raises(svc.VoteError, match="refused"):
            svc.ballot_cast(voter=voter, ballot=bad)
    assert not CastBallot.objects.filter(vote=vote).exists()


def test_one_vote_that_cannot_close_does_not_keep_the_others_open(votes: Votes, monkeypatch: Any) -> None:
    first, second = open_vote(votes, votes.poll(title="甲")), open_vote(votes, votes.poll(title="乙"))
    Vote.objects.filter(pk__in=[first.pk, second.pk]).update(
        closes_at=timezone.now() - dt.timedelta(seconds=1)
    )
    Vote.objects.filter(pk=first.pk).update(closes_at=timezone.now() - dt.timedelta(minutes=5))
    from shequ.participation.services.votes import counting

    real = counting.vote_close

    def broken_first(*, actor: Any, vote: Vote, request: Any = None) -> Vote:
        if vote.pk == first.pk:
            raise TypeError("a board this box cannot read")
        return real(actor=actor, vote=vote, request=request)

    monkeypatch.setattr(counting, "vote_close", broken_first)
    assert svc.close_due() == 1
    assert Vote.objects.get(pk=second.pk).status == VoteStatus.DECIDED
    assert Vote.objects.get(pk=first.pk).status == VoteStatus.OPEN


def test_the_verifier_refuses_odd_weights(votes: Votes) -> None:
    from shequ.participation.crypto.ballots import canonical
    from shequ.participation.crypto.verifier import entry_hash

    vote = open_vote(votes, votes.poll())
    votes.cast(vote, votes.adults[0], [1, 0, 0])
    board = board_export(votes.close(vote))
    entry = next(e for e in board["entries"] if e["kind"] == "ballot")
    entry["payload"]["weight"] = 5  # a headcount vote counts each ballot once
    prev = entry["prev_hash"]
    for e in board["entries"][entry["seq"] :]:
        e["prev_hash"] = prev
        e["hash"] = prev = entry_hash(prev, e["seq"], e["kind"], canonical(e["payload"]))
    report = verify(board)
    assert not report.ok and any("counts once" in p for p in report.problems)
