"""Reads of polls, owners' votes and elections: the staff's lists (region-scoped), the resident's
open votes and roll lines, the public results and the board export the verifier reads."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from shequ.core.permissions import Viewer, scope_q
from shequ.core.selectors import resident_regions
from shequ.participation.crypto.verifier import FORMAT
from shequ.participation.models import (
    BoardEntry,
    CastBallot,
    Objection,
    Proxy,
    Trustee,
    Vote,
    Voter,
    VoteStatus,
)
from shequ.participation.permissions import PartPerm as P
from shequ.participation.services.votes.casting import lines_for_person, voters_for_person
from shequ.registry.selectors import person_for_account

PUBLIC_STATUSES = (VoteStatus.OPEN, VoteStatus.CLOSED, VoteStatus.DECIDED)


def vote_list(*, viewer: Viewer, status: str = "", kind: str = "") -> QuerySet[Vote]:
    votes = Vote.objects.filter(scope_q(viewer, P.VIEW))
    if status:
        votes = votes.filter(status=status)
    if kind:
        votes = votes.filter(kind=kind)
    return votes.select_related("region").order_by("-created_at", "-pk")


def get_vote_for(viewer: Viewer, pk: Any) -> Vote:
    vote = vote_list(viewer=viewer).filter(pk=_pk(pk)).first()
    if vote is None:
        raise Http404("no such vote here")
    return vote


def get_public_vote(uid: Any) -> Vote:
    """A vote as everyone may see it once it is open (results, the board): by its public id."""
    try:
        vote = Vote.objects.select_related("region").filter(uid=str(uid), status__in=PUBLIC_STATUSES).first()
    except Exception:  # a malformed uuid
        vote = None
    if vote is None:
        raise Http404("no such vote")
    return vote


def public_votes(region_code: str) -> QuerySet[Vote]:
    return Vote.objects.filter(region_code__startswith=region_code, status__in=PUBLIC_STATUSES).order_by(
        "-opens_at", "-pk"
    )


def resident_person(user: Viewer) -> Any:
    regions = resident_regions(user)
    return person_for_account(user, [r.code for r in regions]) if regions else None


def resident_votes(
    user: Viewer, *, open_only: bool = False, person: Any = None
) -> list[tuple[Vote, list[tuple[Voter, bool]]]]:
    """Votes the signed-in resident takes part in (open, counting or decided), each with the roll
    lines they may cast a ballot for (``person``: the resident's registry person, when the caller
    has already looked it up), and the developer's lines the account represents."""
    person = person or resident_person(user)
    statuses = (VoteStatus.OPEN,) if open_only else PUBLIC_STATUSES
    held = _represented(user).filter(vote__status__in=statuses)
    where = Q(pk__in=held.values("vote_id"))
    if person is not None:
        where |= Q(region_code__in=_codes_above(person.region_code))
    elif not held.exists():
        return []
    votes = list(Vote.objects.filter(where, status__in=statuses).order_by("-opens_at", "-pk")[:50])
    lines = lines_for_person(votes, person.pk) if person is not None else {}
    for vote_id, line in account_lines(votes, user).items():
        lines.setdefault(vote_id, []).extend(line)
    return [(vote, lines[vote.pk]) for vote in votes if vote.pk in lines]


def _represented(user: Viewer) -> QuerySet[Proxy]:
    """The developer's lines this account was recorded as the representative of."""
    if not getattr(user, "is_authenticated", False):
        return Proxy.objects.none()
    return Proxy.objects.filter(holder_account_id=user.pk or 0, voter__removed_at__isnull=True)


def account_lines(votes: list[Vote], user: Viewer) -> dict[int, list[tuple[Voter, bool]]]:
    """The developer's lines of ``votes`` the account casts (by proxy), in one query."""
    by_pk = {v.pk: v for v in votes}
    out: dict[int, list[tuple[Voter, bool]]] = {}
    for proxy in _represented(user).filter(vote__in=list(by_pk)).select_related("voter"):
        proxy.voter.vote = by_pk[proxy.vote_id]
        out.setdefault(proxy.vote_id, []).append((proxy.voter, True))
    return out


def _codes_above(code: str) -> list[str]:
    """A region code and the codes of the regions above it (a vote of a community reaches its grids)."""
    from shequ.core.models import LEVEL_CODE_LENGTH

    return sorted({code[:n] for n in LEVEL_CODE_LENGTH.values() if n <= len(code)})


def get_resident_vote(user: Viewer, uid: Any) -> tuple[Vote, list[tuple[Voter, bool]]]:
    vote = get_public_vote(uid)
    person = resident_person(user)
    lines = voters_for_person(vote, person.pk) if person is not None else []
    return vote, lines + account_lines([vote], user).get(vote.pk, [])


def board_export(vote: Vote) -> dict[str, Any]:
    """The board as the verifier reads it (the public page offers it as JSON)."""
    entries = [
        {"seq": seq, "kind": kind, "payload": json.loads(payload), "prev_hash": prev, "hash": h}
        for seq, kind, payload, prev, h in BoardEntry.objects.filter(vote=vote)
        .order_by("seq")
        .values_list("seq", "kind", "payload", "prev_hash", "hash")
        .iterator(chunk_size=2000)
    ]
    return {"format": FORMAT, "vote": str(vote.uid), "entries": entries}


def board_chunks(vote: Vote) -> Iterator[str]:
    """The same export as text, produced entry by entry: a board of 10,000 ballots is about 100 MB
    of JSON, which the public page streams rather than builds in memory. Payloads are stored as
    canonical JSON and go out as stored."""
    yield json.dumps({"format": FORMAT, "vote": str(vote.uid)})[:-1] + ',"entries":['
    rows = (
        BoardEntry.objects.filter(vote=vote)
        .order_by("seq")
        .values_list("seq", "kind", "payload", "prev_hash", "hash")
        .iterator(chunk_size=500)
    )
    for n, (seq, kind, payload, prev, h) in enumerate(rows):
        yield ("," if n else "") + (
            f'{{"seq":{int(seq)},"kind":{json.dumps(kind)},"payload":{payload},'
            f'"prev_hash":{json.dumps(prev)},"hash":{json.dumps(h)}}}'
        )
    yield "]}"


def find_tracker(vote: Vote, code: str) -> CastBallot | None:
    """The ballot with this tracker (its board entry with it), or None."""
    return CastBallot.objects.filter(vote=vote, tracker=code.strip().lower()).select_related("entry").first()


def objections_of(vote: Vote) -> QuerySet[Objection]:
    return vote.objections.order_by("filed_at", "pk")


def _uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404("no such vote") from None


def _pk(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404("no such vote") from None


def trustee_roles(user: Viewer) -> QuerySet[Trustee]:
    """The user's trustee roles, newest vote first."""
    if not getattr(user, "is_authenticated", False):
        return Trustee.objects.none()
    return (
        Trustee.objects.filter(user_id=user.pk or 0)
        .select_related("vote")
        .order_by("-vote__created_at", "position")
    )


def lists_open_for_objection(user: Viewer) -> list[Vote]:
    """Elections of the resident's communities whose voter list is published and open to objections."""
    regions = resident_regions(user)
    if not regions:
        return []
    from shequ.core.permissions import codes_q

    communities = {r.code[:12] for r in regions}
    return list(
        Vote.objects.filter(
            codes_q(communities),
            status=VoteStatus.DRAFT,
            roll_published_at__isnull=False,
            objection_deadline__gt=timezone.now(),
        ).order_by("objection_deadline")[:20]
    )


def get_objectable_vote(user: Viewer, uid: Any) -> Vote:
    for vote in lists_open_for_objection(user):
        if str(vote.uid) == str(uid):
            return vote
    raise Http404("no voter list open for objections here")


def published_rolls(region_code: str) -> QuerySet[Vote]:
    """Elections whose voter list is published (公布选民名单) and not yet voted on."""
    return Vote.objects.filter(
        region_code__startswith=region_code, status=VoteStatus.DRAFT, roll_published_at__isnull=False
    ).order_by("-roll_published_at")


def get_published_roll(uid: Any) -> Vote:
    try:
        vote = Vote.objects.filter(uid=str(uid), roll_published_at__isnull=False).first()
    except Exception:  # a malformed uuid
        vote = None
    if vote is None:
        raise Http404("no published voter list")
    return vote
