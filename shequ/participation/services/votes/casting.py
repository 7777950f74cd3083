"""Casting a ballot. The voter's browser encrypted it under the vote's key with the voter's
credential; the box checks every proof, appends it to the board and then, in a separate
transaction, marks the roll line as voted — the roll learns that the person voted and on which
day, never which ballot is theirs.

A later ballot under the same credential replaces the earlier one (re-voting until closing): the
board keeps both, the index marks which counts. Casts of one vote are ordered by the vote's row
lock, so two ballots sent at once by one voter end with exactly one counted.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.participation.crypto.ballots import BallotError, tracker, verify_ballot
from shequ.participation.crypto.group import element
from shequ.participation.models import CastBallot, Proxy, Vote, Voter, VoteStatus
from shequ.participation.services.votes._common import VoteError, append, centi, lock, now


@dataclass(frozen=True)
class Receipt:
    tracker: str
    replaced: bool
    seq: int


def credential_for(vote: Vote, voter: Voter) -> str:
    """The voter's pseudonym in this vote: a keyed hash of the roll line. The key exists only while
    the vote is open, so afterwards nobody (the platform included) can say whose it was."""
    if not vote.credential_key:
        raise VoteError(_("Voting is not open."))
    return hmac.new(
        bytes.fromhex(vote.credential_key), f"voter:{voter.pk}".encode(), hashlib.sha256
    ).hexdigest()


def voted_lines(vote: Vote, lines: Sequence[Voter]) -> set[int]:
    """Which of ``lines`` have voted: while the vote is open, those with a counted ballot under
    their credential (the roll holds no mark yet); once it is closed, the roll's marks."""
    return voted_in([(vote, lines)])


def voted_in(groups: Sequence[tuple[Vote, Sequence[Voter]]]) -> set[int]:
    """``voted_lines`` for several votes in one query (a resident's list of votes)."""
    done: set[int] = set()
    wanted: dict[str, int] = {}
    for vote, lines in groups:
        if not vote.credential_key:
            done |= {line.pk for line in lines if line.voted}
        else:
            wanted.update({credential_for(vote, line): line.pk for line in lines})
    if wanted:
        cast = CastBallot.objects.filter(current=True, credential__in=list(wanted)).values_list(
            "credential", flat=True
        )
        done |= {wanted[c] for c in cast}
    return done


def voted_count(vote: Vote) -> int:
    """How many on the roll have voted (a counted ballot each while open; the marks after)."""
    if vote.credential_key:
        return CastBallot.objects.filter(vote=vote, current=True).count()
    return vote.voters.filter(removed_at__isnull=True, voted=True).count()


def area_weight(voter: Voter) -> int:
    """An owner's weight in the area tally, in 0.01 m² (integers keep the count exact)."""
    return centi(voter.area)


def voting_now(vote: Vote) -> bool:
    at = now()
    return (
        vote.status == VoteStatus.OPEN
        and vote.opens_at is not None
        and vote.closes_at is not None
        and vote.opens_at <= at < vote.closes_at
    )


def ballot_cast(*, voter: Voter, ballot: Any, request: HttpRequest | None = None) -> Receipt:
    """Put ``ballot`` in the box for ``voter`` (the view resolved who the signed-in person votes
    for: themselves, an owners' line they own, or a voter who entrusted them). Whether it was cast
    by proxy is the roll's to say at closing (the line has an entrustment)."""
    # Read afresh: a voter object fetched earlier may carry the vote as it was before opening.
    vote = Vote.objects.get(pk=voter.vote_id)
    if not voting_now(vote):
        raise VoteError(_("Voting is not open."))
    if voter.removed_at is not None:
        raise VoteError(_("You are not on this vote's list."))
    expected = credential_for(vote, voter)
    if not isinstance(ballot, dict) or ballot.get("credential") != expected:
        raise VoteError(_("This ballot was not prepared for you: reload the ballot page and vote again."))
    options = len(vote.manifest["options"])
    try:
        # The expensive part (about 30 ms for seven options) runs before any lock is taken.
        verify_ballot(
            key=element(vote.public_key),
            manifest_hash=vote.manifest_hash,
            ballot=ballot,
            options=options,
            max_choices=vote.max_choices,
        )
    except BallotError as exc:
        raise VoteError(_("The ballot was refused: %(why)s") % {"why": exc}) from exc
    weight = area_weight(voter) if vote.manifest.get("weighted") else 1
    code = tracker(ballot)
    with transaction.atomic():
        vote = lock(vote)
        if not voting_now(vote):
            raise VoteError(_("Voting is not open."))
        previous = CastBallot.objects.filter(vote=vote, credential=expected, current=True).update(
            current=False
        )
        entry = append(vote, "ballot", {"ballot": ballot, "tracker": code, "weight": weight})
        CastBallot.objects.create(
            vote=vote,
            credential=expected,
            tracker=code,
            entry=entry,
            weight=Decimal(weight) / 100 if vote.manifest.get("weighted") else Decimal(0),
        )
    # No mark on the roll line while the vote is open: a row written per voter as they vote would
    # carry a transaction id next to their ballot's (PostgreSQL keeps them in the table's pages even
    # after a VACUUM). Who has voted is read from the ballots (``voted_lines``) until closing,
    # which writes every mark at once.
    # No audit entry: its time and actor beside the board's order would link voter and ballot.
    return Receipt(tracker=code, replaced=bool(previous), seq=entry.seq)


def voters_for_person(vote: Vote, person_id: int) -> list[tuple[Voter, bool]]:
    """The roll lines ``person_id`` may cast a ballot for: their own (or an owners' line they are
    an owner of), then those who entrusted them in writing (``True``: by proxy)."""
    return lines_for_person([vote], person_id).get(vote.pk, [])


def lines_for_person(votes: Sequence[Vote], person_id: int) -> dict[int, list[tuple[Voter, bool]]]:
    """``voters_for_person`` for several votes at once, in a fixed number of queries."""
    by_pk = {v.pk: v for v in votes}
    own: dict[int, Voter] = {
        line.vote_id: line
        for line in Voter.objects.filter(vote__in=list(by_pk), person_id=person_id, removed_at__isnull=True)
    }
    # An owners' line names its co-owners in JSON, which SQLite cannot search: read the lines with
    # co-owners of the owners' votes where the person has no line of their own.
    weighted = [pk for pk, v in by_pk.items() if v.manifest.get("weighted") and pk not in own]
    if weighted:
        for line in Voter.objects.filter(vote__in=weighted, removed_at__isnull=True).exclude(co_owner_ids=[]):
            if person_id in line.co_owner_ids:
                own.setdefault(line.vote_id, line)
    entrusted = set(Proxy.objects.filter(voter__in=list(own.values())).values_list("voter_id", flat=True))
    held: dict[int, list[Voter]] = {}
    for proxy in Proxy.objects.filter(holder__in=list(own.values())).select_related("voter").order_by("pk"):
        held.setdefault(proxy.holder_id or 0, []).append(proxy.voter)  # holder__in: never None
    out: dict[int, list[tuple[Voter, bool]]] = {}
    for vote_id, line in own.items():
        lines = [] if line.pk in entrusted else [(line, False)]
        lines += [(other, True) for other in held.get(line.pk, [])]
        if lines:
            out[vote_id] = lines
    for lines in out.values():
        for line, _proxy in lines:
            line.vote = by_pk[line.vote_id]  # the vote as the caller read it, not read again
    return out
